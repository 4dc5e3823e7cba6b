//! Building a cluster from manifests: every error names the file, the document and
//! the field.

use super::secret::{self, str_field, string_map};
use super::{Cluster, Namespace, Policy, Project, SYSTEM_NAMESPACE};
use crate::manifest::Document;
use anyhow::{Result, anyhow, bail};
use guest::names::is_dns1123_label;
use guest::shown::shown;
use serde_json::{Map, Value};

/// Policy kinds the cluster stores and hands to the plugin.
pub const POLICY_KINDS: &[&str] = &[
    "SecretPolicy",
    "TrainingPolicy",
    "InteractivePolicy",
    "DistributedPolicy",
    "InferencePolicy",
];

/// How the cluster labels V2 policies, which have no `kind` of their own.
pub const V2_KIND: &str = "V2Policy";

/// A V2 policy: no `kind` (as `Document::kind` reads it), a `meta` and a `policy`.
pub fn is_v2_policy(doc: &Value) -> bool {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    kind.is_empty() && doc.get("meta").is_some() && doc.get("policy").is_some()
}

/// Applies manifests to a cluster, in order; later objects replace earlier ones.
/// Tenancy is checked once all are in (a file may hold a Secret before the Project
/// whose namespace it lives in). On an error the cluster may be half-changed:
/// callers apply to a copy or drop it.
pub fn load_documents(cluster: &mut Cluster, docs: &[Document]) -> Result<()> {
    for doc in docs {
        apply(cluster, doc)?;
    }
    cluster.check_tenancy(None)?;
    let projects = cluster.project_namespaces();
    for doc in docs.iter().filter(|d| d.kind() == "Secret") {
        let namespace = doc.str_at("/metadata/namespace").unwrap_or("");
        Cluster::check_secret_namespace(namespace, &doc.source, &projects)?;
    }
    Ok(())
}

/// Applies one manifest without the checks across objects (tenancy, where Secrets may
/// live) that `load_documents` makes once all are in: for a caller that places objects
/// itself, as the live view does.
pub fn apply_document(cluster: &mut Cluster, doc: &Document) -> Result<()> {
    apply(cluster, doc)
}

fn apply(cluster: &mut Cluster, doc: &Document) -> Result<()> {
    let src = &doc.source;
    let map = doc
        .value
        .as_object()
        .ok_or_else(|| anyhow!("{src}: expected an object"))?;
    match doc.kind() {
        "Secret" => {
            let secret = secret::from_document(doc)?;
            let key = (secret.namespace.clone(), secret.name.clone());
            // As the API server: an immutable Secret's data and type never change.
            // (Only key names and sizes are kept, so a same-size change of a value
            // cannot be seen.)
            if let Some(old) = cluster.secrets.get(&key)
                && old.immutable
                && (old.keys != secret.keys
                    || old.secret_type != secret.secret_type
                    || !secret.immutable)
            {
                bail!(
                    "{src}: Secret {}/{} is immutable (applied from {}): its data, type and \
                     `immutable` cannot change; delete and recreate it",
                    secret.namespace,
                    secret.name,
                    old.source
                );
            }
            cluster.secrets.insert(key, secret);
        }
        "Namespace" => {
            let (name, metadata) = name_and_metadata(map, src, "Namespace")?;
            let labels = string_map(metadata.get("labels"), src, "metadata.labels")?;
            cluster.namespaces.insert(
                name.to_string(),
                Namespace {
                    name: name.to_string(),
                    labels,
                },
            );
        }
        "Project" => {
            let project = project(map, src)?;
            cluster.projects.insert(project.name.clone(), project);
        }
        "Department" => {
            let (name, _) = name_and_metadata(map, src, "Department")?;
            cluster.departments.insert(name.to_string(), src.clone());
        }
        kind if POLICY_KINDS.contains(&kind) => {
            let (name, metadata) = name_and_metadata(map, src, kind)?;
            let namespace = str_field(metadata, "namespace", src, "metadata.namespace")?
                .unwrap_or(SYSTEM_NAMESPACE);
            let policy = Policy {
                kind: kind.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                source: src.clone(),
                json: doc.value.to_string(),
            };
            cluster.policies.retain(|p| {
                (p.kind.as_str(), p.namespace.as_str(), p.name.as_str()) != (kind, namespace, name)
            });
            cluster.policies.push(policy);
        }
        // V2 policies (Run:ai REST API) have no kind; they are scoped by `meta.scope`.
        "" if is_v2_policy(&doc.value) => {
            let name = map
                .get("meta")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    anyhow!("{src}: V2 policy: `meta.name` is missing or not a string")
                })?;
            cluster
                .policies
                .retain(|p| (p.kind.as_str(), p.name.as_str()) != (V2_KIND, name));
            cluster.policies.push(Policy {
                kind: V2_KIND.to_string(),
                name: name.to_string(),
                namespace: SYSTEM_NAMESPACE.to_string(),
                source: src.clone(),
                json: doc.value.to_string(),
            });
        }
        "" => bail!(
            "{src}: `kind` is missing: expected one of Namespace, Project, Department, Secret, {}, \
             or a V2 policy (`meta` and `policy`)",
            POLICY_KINDS.join(", ")
        ),
        other => bail!(
            "{src}: unsupported kind `{}` in a cluster file: expected one of Namespace, Project, \
             Department, Secret, {}",
            shown(other),
            POLICY_KINDS.join(", ")
        ),
    }
    Ok(())
}

fn name_and_metadata<'a>(
    map: &'a Map<String, Value>,
    src: &str,
    kind: &str,
) -> Result<(&'a str, &'a Map<String, Value>)> {
    let metadata = match map.get("metadata") {
        Some(Value::Object(m)) => m,
        _ if map.contains_key("name") => bail!(
            "{src}: {kind}: `metadata` is missing: `name` is at the top level but belongs under `metadata.name`"
        ),
        _ => {
            bail!("{src}: {kind}: `metadata` is missing or not an object: expected `metadata.name`")
        }
    };
    let name = str_field(metadata, "name", src, "metadata.name")?
        .ok_or_else(|| anyhow!("{src}: {kind}: `metadata.name` is missing"))?;
    Ok((name, metadata))
}

fn project(map: &Map<String, Value>, src: &str) -> Result<Project> {
    let (name, _) = name_and_metadata(map, src, "Project")?;
    if !is_dns1123_label(name) {
        let name = shown(name);
        bail!(
            "{src}: Project: `metadata.name` `{name}` is not a DNS-1123 label (lower-case letters, digits \
             and '-', at most 63 characters)"
        );
    }
    let empty = Map::new();
    let spec = match map.get("spec") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => bail!("{src}: Project {name}: `spec` must be an object"),
    };
    let namespace = str_field(spec, "namespace", src, "spec.namespace")?.map(str::to_string);
    let effective = namespace.clone().unwrap_or_else(|| format!("runai-{name}"));
    if effective.len() > 63 || !is_dns1123_label(&effective) {
        let effective = shown(&effective);
        bail!(
            "{src}: Project {name}: namespace `{effective}` is not a valid namespace name (a DNS-1123 label \
             of at most 63 characters); set `spec.namespace` or choose a shorter project name"
        );
    }
    Ok(Project {
        name: name.to_string(),
        namespace,
        department: str_field(spec, "department", src, "spec.department")?.map(str::to_string),
        id: match spec.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => bail!("{src}: Project {name}: `spec.id` must be a string or a number"),
        },
        source: src.to_string(),
    })
}

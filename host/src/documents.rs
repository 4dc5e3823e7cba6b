//! The documents of a workload file, as `simulate`, `host test` and `bench` read the
//! file a user `kubectl apply`s: workloads are evaluated; Secrets and policies are
//! applied to the simulated cluster (in memory, never to a state) as `host apply -f`
//! applies them, before the workloads that follow them; every other document (a
//! Service, a ConfigMap, a Namespace, a kind or API version the plugin does not read)
//! is skipped, listed, and changes no exit code.

use crate::cluster::{Cluster, POLICY_KINDS, is_v2_policy};
use crate::manifest::Document;
use anyhow::{Result, anyhow};
use guest::workload::{Recognised, recognise};
use serde::Serialize;
use serde_json::Value;

/// The reason given for a kind the plugin does not read.
pub const NOT_A_WORKLOAD: &str = "not a workload";

/// A document that is neither evaluated nor applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its `kind`; empty when it has none.
    pub kind: String,
    /// `metadata.name` (or `generateName`); empty when it has none.
    pub name: String,
    /// `file` or `file#N`, as reports name documents.
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub enum Entry {
    Workload(Document),
    /// A Secret or a policy: applied to the cluster the later workloads see.
    Apply(Document),
    Skip(Skipped),
}

/// What a document is. The plugin's own table says which kinds are workloads
/// (`guest::workload::recognise`); the cluster's loader says what `apply -f` takes.
pub fn sort(doc: Document) -> Entry {
    let kind = doc.kind();
    if kind == "Secret" || POLICY_KINDS.contains(&kind) || is_v2_policy(&doc.value) {
        return Entry::Apply(doc);
    }
    let reason = match recognise(&doc.value.to_string()) {
        Recognised::Workload => return Entry::Workload(doc),
        Recognised::NotAWorkload => NOT_A_WORKLOAD.to_string(),
        Recognised::UnknownVersion { expected } => format!(
            "apiVersion `{}` of {} is not one the plugin reads (it reads {expected})",
            crate::text::shown(doc.str_at("/apiVersion").unwrap_or_default()),
            crate::text::shown(kind)
        ),
    };
    Entry::Skip(skipped(&doc, reason))
}

fn skipped(doc: &Document, reason: String) -> Skipped {
    let name = doc
        .str_at("/metadata/name")
        .or_else(|| doc.str_at("/metadata/generateName"))
        .unwrap_or_default();
    Skipped {
        kind: doc.kind().to_string(),
        name: name.to_string(),
        file: doc.source.clone(),
        reason,
    }
}

/// The documents given as one path (a file, a directory, a suite step's `simulate`),
/// sorted. Nothing to check is not a pass: a path that holds no workload is an error,
/// as `kubectl apply` says "no objects passed" (a file of a directory may hold only a
/// Service; the directory may not).
pub fn sort_path(docs: Vec<Document>, path: &str) -> Result<Vec<Entry>> {
    let first = docs.first().cloned();
    let entries: Vec<Entry> = docs.into_iter().map(sort).collect();
    if entries.iter().any(|e| matches!(e, Entry::Workload(_))) {
        return Ok(entries);
    }
    Err(no_workload(path, &skipped_in(&entries), first.as_ref()))
}

/// The skipped documents among `entries`.
pub fn skipped_in(entries: &[Entry]) -> Vec<Skipped> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Skip(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// For a path that holds no workload: what the plugin makes of its first document
/// (`unsupported kind ...: expected ...`), so the user learns what it reads.
fn no_workload(path: &str, skipped: &[Skipped], first: Option<&Document>) -> anyhow::Error {
    let Some(doc) = first else {
        return anyhow!(
            "no workload documents in {path}: expected at least one workload (YAML or JSON)"
        );
    };
    let why = match guest::identify(&doc.value.to_string()) {
        Err(e) => {
            let e = crate::plugin::InputError {
                field: e.field,
                message: e.message,
            };
            crate::simulate::input_error(&doc.source, e).to_string()
        }
        Ok(_) => format!("{}: {NOT_A_WORKLOAD}", doc.source),
    };
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        let all: Vec<String> = skipped.iter().map(describe).collect();
        format!(" (skipped: {})", crate::text::some(&all))
    };
    anyhow!("no workload documents in {path}{skipped}: {why}")
}

/// `Service web`, `(no kind)`: as written, to be shown through `text::shown`.
pub fn describe(s: &Skipped) -> String {
    let kind = if s.kind.is_empty() {
        "(no kind)"
    } else {
        s.kind.as_str()
    };
    if s.name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {}", s.name)
    }
}

/// An applied document that names no namespace takes the one its workloads are
/// submitted to (`simulate -n`, `-p`), as `kubectl apply -n` places it; one that names
/// another is refused, as a workload is. V2 policies have no namespace.
pub fn place(mut doc: Document, namespace: Option<&str>) -> Result<Document> {
    let namespaced = doc.kind() == "Secret" || POLICY_KINDS.contains(&doc.kind());
    let (Some(target), true) = (namespace, namespaced) else {
        return Ok(doc);
    };
    let Some(Value::Object(metadata)) = doc.value.get_mut("metadata") else {
        // The loader says what is wrong with the metadata.
        return Ok(doc);
    };
    match metadata.get("namespace") {
        None | Some(Value::Null) => {
            metadata.insert("namespace".into(), Value::String(target.to_string()));
        }
        Some(Value::String(ns)) if ns != target => {
            return Err(anyhow!(
                "{}: the namespace of the document ({}) does not match the namespace it is submitted to ({})",
                doc.source,
                crate::text::shown(ns),
                crate::text::shown(target)
            ));
        }
        _ => {}
    }
    Ok(doc)
}

/// The namespace documents of a scope land in: `-n`, else the project's of `-p`.
pub fn scope_namespace(cluster: &Cluster, scope: &crate::simulate::Scope) -> Option<String> {
    scope.namespace.clone().or_else(|| {
        scope
            .project
            .as_deref()
            .and_then(|p| cluster.find_project(p))
            .map(|p| cluster.project_namespace(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> Document {
        Document {
            source: "f.yaml#0".into(),
            value,
        }
    }

    #[test]
    fn documents_are_workloads_applied_or_skipped() {
        let cases = [
            (
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
                "skip not a workload",
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                "skip not a workload",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ray"}}),
                "skip not a workload",
            ),
            (json!({"images": ["x"]}), "skip not a workload"),
            (
                json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
                "workload",
            ),
            (
                json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment"}),
                "workload",
            ),
            (
                json!({"apiVersion": "ray.io/v1", "kind": "RayCluster"}),
                "workload",
            ),
            (
                json!({"apiVersion": "ray.io/v2", "kind": "RayCluster"}),
                "skip apiVersion `ray.io/v2` of RayCluster is not one the plugin reads (it reads ray.io/v1 or ray.io/v1alpha1)",
            ),
            (
                json!({"apiVersion": "kubeflow.org/v1beta1", "kind": "PyTorchJob"}),
                "skip apiVersion `kubeflow.org/v1beta1` of PyTorchJob",
            ),
            (
                json!({"name": "b", "spec": {"environmentVariables": []}}),
                "workload",
            ),
            (
                json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}),
                "workload",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
                "apply",
            ),
            (json!({"kind": "SecretPolicy"}), "apply"),
            (json!({"meta": {"name": "p"}, "policy": {}}), "apply"),
        ];
        for (value, expected) in cases {
            let got = match sort(doc(value.clone())) {
                Entry::Workload(_) => "workload".to_string(),
                Entry::Apply(_) => "apply".to_string(),
                Entry::Skip(s) => format!("skip {}", s.reason),
            };
            assert!(got.starts_with(expected), "{value}: {got}");
        }
    }

    #[test]
    fn applied_documents_take_the_namespace_they_are_submitted_to() {
        let secret = || doc(json!({"kind": "Secret", "metadata": {"name": "s"}}));
        let placed = place(secret(), Some("runai-team-a")).unwrap();
        assert_eq!(placed.str_at("/metadata/namespace"), Some("runai-team-a"));
        assert!(
            place(secret(), None)
                .unwrap()
                .str_at("/metadata/namespace")
                .is_none()
        );
        let other =
            doc(json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "runai-team-b"}}));
        let err = place(other, Some("runai-team-a")).unwrap_err().to_string();
        assert!(
            err.contains("does not match the namespace it is submitted to"),
            "{err}"
        );
        let v2 = doc(json!({"meta": {"name": "p"}, "policy": {}}));
        assert!(
            place(v2, Some("runai-team-a"))
                .unwrap()
                .value
                .get("metadata")
                .is_none()
        );
    }
}

//! Form C: Kubernetes objects that carry a pod spec (Pod, Job, CronJob, Deployment,
//! StatefulSet, DaemonSet, ReplicaSet). Every container list, env, envFrom, secret
//! volumes, projected secrets and imagePullSecrets.
//!
//! The structs below mirror the Kubernetes API field names (as in k8s-openapi) but
//! only the fields that can reference a secret, and borrow strings from the input.
//! k8s-openapi's full types made the component 3.0 MB instead of 0.8 MB and its
//! compilation take 1.2 s per load in a release host, for fields we never read.

use super::map_entries::{MapEntries, Str};
use super::{
    Arg, Container, EnvEntry, EnvFrom, EnvLayout, EnvValue, Loc, SecretRef, SecretUse, UseKind,
    Workload,
};
use crate::decision::{InputError, WorkloadForm, WorkloadId};
use serde::Deserialize;

/// The kinds this form covers, with their apiVersion.
pub const KINDS: &[(&str, &str)] = &[
    ("Pod", "v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
];

#[derive(Deserialize)]
struct Object<'a, S> {
    #[serde(borrow, default)]
    metadata: Option<ObjectMeta<'a>>,
    spec: Option<S>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectMeta<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    generate_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    namespace: Option<Str<'a>>,
    #[serde(borrow, default)]
    labels: Option<MapEntries<'a, Str<'a>>>,
}

/// `spec.template` of Job, Deployment, StatefulSet, DaemonSet, ReplicaSet.
#[derive(Deserialize)]
struct WithTemplate<'a> {
    #[serde(borrow)]
    template: Option<Template<'a>>,
}

#[derive(Deserialize)]
struct Template<'a> {
    #[serde(borrow)]
    spec: Option<PodSpec<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronJobSpec<'a> {
    #[serde(borrow)]
    job_template: Option<JobTemplate<'a>>,
}

#[derive(Deserialize)]
struct JobTemplate<'a> {
    #[serde(borrow)]
    spec: Option<WithTemplate<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec<'a> {
    #[serde(borrow, default)]
    containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default)]
    init_containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default)]
    ephemeral_containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default)]
    volumes: Option<Vec<Volume<'a>>>,
    #[serde(borrow, default)]
    image_pull_secrets: Option<Vec<LocalObjectReference<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sContainer<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    command: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    args: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    env: Option<Vec<K8sEnvVar<'a>>>,
    #[serde(borrow, default)]
    env_from: Option<Vec<EnvFromSource<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sEnvVar<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(borrow, default)]
    value_from: Option<EnvVarSource<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVarSource<'a> {
    #[serde(borrow, default)]
    secret_key_ref: Option<KeySelector<'a>>,
    #[serde(borrow, default)]
    config_map_key_ref: Option<KeySelector<'a>>,
    #[serde(borrow, default)]
    field_ref: Option<ObjectFieldSelector<'a>>,
    #[serde(borrow, default)]
    resource_field_ref: Option<ResourceFieldSelector<'a>>,
}

#[derive(Deserialize)]
struct KeySelector<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    #[serde(borrow)]
    key: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectFieldSelector<'a> {
    #[serde(borrow)]
    field_path: Str<'a>,
}

#[derive(Deserialize)]
struct ResourceFieldSelector<'a> {
    #[serde(borrow)]
    resource: Str<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvFromSource<'a> {
    #[serde(borrow, default)]
    prefix: Option<Str<'a>>,
    #[serde(borrow, default)]
    secret_ref: Option<SecretEnvSource<'a>>,
}

#[derive(Deserialize)]
struct SecretEnvSource<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
}

#[derive(Deserialize)]
struct LocalObjectReference<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
}

#[derive(Deserialize)]
struct Volume<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    secret: Option<SecretVolumeSource<'a>>,
    #[serde(borrow, default)]
    projected: Option<ProjectedVolumeSource<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolumeSource<'a> {
    #[serde(borrow, default)]
    secret_name: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(borrow, default)]
    items: Option<Vec<KeyToPath<'a>>>,
}

#[derive(Deserialize)]
struct ProjectedVolumeSource<'a> {
    #[serde(borrow, default)]
    sources: Option<Vec<VolumeProjection<'a>>>,
}

#[derive(Deserialize)]
struct VolumeProjection<'a> {
    #[serde(borrow, default)]
    secret: Option<SecretProjection<'a>>,
}

#[derive(Deserialize)]
struct SecretProjection<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(borrow, default)]
    items: Option<Vec<KeyToPath<'a>>>,
}

#[derive(Deserialize)]
struct KeyToPath<'a> {
    #[serde(borrow)]
    key: Str<'a>,
}

const TEMPLATE: &str = "spec.template.spec";

pub fn parse(json: &str, kind: &str) -> Result<Workload, InputError> {
    let (metadata, spec, path) = match kind {
        "Pod" => {
            let o: Object<PodSpec> = super::parse_json(json)?;
            (o.metadata, o.spec, "spec")
        }
        "CronJob" => {
            let o: Object<CronJobSpec> = super::parse_json(json)?;
            let spec = o
                .spec
                .and_then(|s| s.job_template)
                .and_then(|t| t.spec)
                .and_then(|s| s.template)
                .and_then(|t| t.spec);
            (o.metadata, spec, "spec.jobTemplate.spec.template.spec")
        }
        _ => {
            let o: Object<WithTemplate> = super::parse_json(json)?;
            let spec = o.spec.and_then(|s| s.template).and_then(|t| t.spec);
            (o.metadata, spec, TEMPLATE)
        }
    };
    let spec =
        spec.ok_or_else(|| InputError::new(path, format!("missing: a {kind} needs a pod spec")))?;
    let metadata = metadata.unwrap_or_default();
    // A controller's pods carry `generateName` (a prefix the API server completes).
    let (name, problem) = match (metadata.name, metadata.generate_name) {
        (Some(name), _) if !name.is_empty() => {
            let problem =
                crate::names::object_name_problem(kind, &name).map(|p| ("metadata.name", p));
            (name, problem)
        }
        (_, Some(prefix)) => {
            let problem = crate::names::object_name_problem(kind, &format!("{}x", &*prefix))
                .map(|p| ("metadata.generateName", p));
            (prefix, problem)
        }
        _ => {
            return Err(InputError::new(
                "metadata.name",
                "missing: the object needs a name",
            ));
        }
    };
    if let Some((field, problem)) = problem {
        return Err(InputError::new(field, problem));
    }
    let project = metadata
        .labels
        .and_then(|l| l.0.into_iter().find(|(k, _)| k == "project"))
        .map(|(_, v)| v.to_string());
    Ok(Workload {
        layout: EnvLayout::Kubernetes,
        id: WorkloadId {
            form: WorkloadForm::Kubernetes,
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: metadata.namespace.map(|n| n.to_string()),
            project,
            workload_type: None,
        },
        secret_uses: secret_uses(&spec, path),
        containers: containers(spec, path),
    })
}

/// In the kubelet's order: init containers, containers, ephemeral containers.
fn containers(spec: PodSpec, path: &str) -> Vec<Container> {
    let lists = [
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
        ("ephemeralContainers", spec.ephemeral_containers),
    ];
    let mut out = Vec::new();
    for (list, containers) in lists {
        for (i, c) in containers.into_iter().flatten().enumerate() {
            out.push(container(c, &format!("{path}.{list}[{i}]")));
        }
    }
    out
}

fn container(c: K8sContainer, path: &str) -> Container {
    let shared: std::rc::Rc<str> = path.into();
    let args = [("command", c.command), ("args", c.args)]
        .into_iter()
        .flat_map(|(list, items)| {
            items
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(i, v)| Arg {
                    field: format!("{path}.{list}[{i}]"),
                    value: v.to_string(),
                })
        })
        .collect();
    Container {
        name: c.name.to_string(),
        args,
        env_from: c
            .env_from
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(j, from)| {
                let secret = from.secret_ref?;
                Some(EnvFrom {
                    secret: secret.name.to_string(),
                    prefix: from.prefix.map(|p| p.to_string()).unwrap_or_default(),
                    optional: secret.optional.unwrap_or(false),
                    field: format!("{path}.envFrom[{j}]"),
                })
            })
            .collect(),
        env: c
            .env
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(j, var)| {
                let loc = Loc::PodEnv {
                    container: shared.clone(),
                    index: j,
                };
                env_entry(var, loc)
            })
            .collect(),
    }
}

fn env_entry(var: K8sEnvVar, loc: Loc) -> EnvEntry {
    let mut sources = Vec::new();
    if var.value.is_some() {
        sources.push("value");
    }
    let mut value = EnvValue::Literal {
        value: var.value.map(|v| v.to_string()).unwrap_or_default(),
        secret_like_prefix: false,
    };
    if let Some(from) = var.value_from {
        // The API server rejects more than one source; if there are several, the
        // secret is the one that matters for the checks.
        if let Some(r) = from.resource_field_ref {
            sources.push("valueFrom.resourceFieldRef");
            value = EnvValue::FieldRef(format!("resource:{}", &*r.resource));
        }
        if let Some(r) = from.field_ref {
            sources.push("valueFrom.fieldRef");
            value = EnvValue::FieldRef(r.field_path.to_string());
        }
        if let Some(r) = from.config_map_key_ref {
            sources.push("valueFrom.configMapKeyRef");
            value = EnvValue::ConfigMap {
                name: r.name.to_string(),
                key: r.key.to_string(),
            };
        }
        if let Some(r) = from.secret_key_ref {
            sources.push("valueFrom.secretKeyRef");
            value = EnvValue::Secret(SecretRef {
                name: r.name.to_string(),
                key: r.key.to_string(),
                optional: r.optional.unwrap_or(false),
            });
        }
    }
    EnvEntry {
        name: var.name.to_string(),
        loc,
        value,
        excluded: false,
        sources: if sources.len() > 1 {
            sources
        } else {
            Vec::new()
        },
        origin: None,
    }
}

fn secret_uses(spec: &PodSpec, path: &str) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    for (i, volume) in spec.volumes.iter().flatten().enumerate() {
        let field = format!("{path}.volumes[{i}]");
        if let Some(s) = &volume.secret {
            let at = format!("{field}.secret");
            uses.push(SecretUse {
                kind: UseKind::Volume(volume.name.to_string()),
                secret: s.secret_name.to_string(),
                field: format!("{at}.secretName"),
                optional: s.optional.unwrap_or(false),
                keys: keys(s.items.as_deref(), &at),
            });
        }
        let projections = volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten());
        for (m, source) in projections.enumerate() {
            if let Some(s) = &source.secret {
                let at = format!("{field}.projected.sources[{m}].secret");
                uses.push(SecretUse {
                    kind: UseKind::Volume(volume.name.to_string()),
                    secret: s.name.to_string(),
                    field: format!("{at}.name"),
                    optional: s.optional.unwrap_or(false),
                    keys: keys(s.items.as_deref(), &at),
                });
            }
        }
    }
    for (i, pull) in spec.image_pull_secrets.iter().flatten().enumerate() {
        uses.push(SecretUse {
            kind: UseKind::ImagePull,
            secret: pull.name.to_string(),
            field: format!("{path}.imagePullSecrets[{i}].name"),
            optional: false,
            keys: Vec::new(),
        });
    }
    uses
}

fn keys(items: Option<&[KeyToPath]>, at: &str) -> Vec<(String, String)> {
    items
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(k, item)| (item.key.to_string(), format!("{at}.items[{k}].key")))
        .collect()
}

//! Form C: Kubernetes objects that carry pod templates: Pods, the pod controllers
//! (Job, CronJob, Deployment, StatefulSet, DaemonSet, ReplicaSet) and the wrappers of
//! `templates::POD_KINDS` (Ray, JobSet, LeaderWorkerSet, Kubeflow training jobs). Every
//! container list, env, envFrom, secret volumes, projected secrets and
//! imagePullSecrets of every template.
//!
//! The structs below mirror the Kubernetes API field names (as in k8s-openapi) but
//! only the fields that can reference a secret, and borrow strings from the input.
//! k8s-openapi's full types made the component 3.0 MB instead of 0.8 MB and its
//! compilation take 1.2 s per load in a release host, for fields we never read.

use super::map_entries::{MapEntries, Str};
use super::templates::{self, PodKind};
use super::{
    Arg, Container, EnvEntry, EnvFrom, EnvLayout, EnvValue, Loc, SecretRef, SecretUse, UseKind,
    Workload,
};
use crate::decision::{InputError, WorkloadForm, WorkloadId};
use serde::Deserialize;

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

/// A PodTemplateSpec, or a Pod, for its `spec` (a template's own metadata holds no
/// secret and is skipped unread).
#[derive(Deserialize)]
struct Template<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    spec: Option<PodSpec<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    init_containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    ephemeral_containers: Option<Vec<K8sContainer<'a>>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    volumes: Option<Vec<Volume<'a>>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
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
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    env: Option<Vec<K8sEnvVar<'a>>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    env_from: Option<Vec<EnvFromSource<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sEnvVar<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    value_from: Option<EnvVarSource<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVarSource<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    secret_key_ref: Option<KeySelector<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    config_map_key_ref: Option<KeySelector<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    field_ref: Option<ObjectFieldSelector<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
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
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
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
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    secret: Option<SecretVolumeSource<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    projected: Option<ProjectedVolumeSource<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolumeSource<'a> {
    #[serde(borrow, default)]
    secret_name: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    items: Option<Vec<KeyToPath<'a>>>,
}

#[derive(Deserialize)]
struct ProjectedVolumeSource<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    sources: Option<Vec<VolumeProjection<'a>>>,
}

#[derive(Deserialize)]
struct VolumeProjection<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    secret: Option<SecretProjection<'a>>,
}

#[derive(Deserialize)]
struct SecretProjection<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    items: Option<Vec<KeyToPath<'a>>>,
}

#[derive(Deserialize)]
struct KeyToPath<'a> {
    #[serde(borrow)]
    key: Str<'a>,
}

pub fn parse(json: &str, kind: &PodKind) -> Result<Workload, InputError> {
    let mut read: templates::Read<ObjectMeta, Template> = templates::read(json, kind)?;
    if read.is_empty() && kind.needs_template {
        return Err(no_template(kind));
    }
    let metadata = read.metadata.take().unwrap_or_default();
    // A controller's pods carry `generateName` (a prefix the API server completes).
    let kind_name = kind.kind;
    let (name, name_problem) = match (metadata.name, metadata.generate_name) {
        (Some(name), _) if !name.is_empty() => {
            let problem = super::check_name(kind_name, &name, "metadata.name")?;
            (name, problem)
        }
        (_, Some(prefix)) => {
            let problem = super::check_name(
                kind_name,
                &format!("{}x", &*prefix),
                "metadata.generateName",
            )?;
            (prefix, problem)
        }
        _ => {
            return Err(InputError::new(
                "metadata.name",
                "missing: the object needs a name",
            ));
        }
    };
    let several = kind.has_several_pods();
    let mut containers = Vec::new();
    let mut secret_uses = Vec::new();
    for (pod, mut template) in read.templates().enumerate() {
        let spec_path = join(&template.path, "spec");
        let spec = template.template.spec.take().ok_or_else(|| {
            InputError::new(
                &spec_path,
                format!("missing: a {kind_name} needs a pod spec"),
            )
        })?;
        secret_uses.extend(self::secret_uses(&spec, &spec_path, pod));
        let pod_label = several.then_some(template.label());
        containers.extend(self::containers(spec, &spec_path, pod, pod_label));
    }
    let project = metadata
        .labels
        .and_then(|l| l.0.into_iter().find(|(k, _)| k == "project"))
        .map(|(_, v)| v.to_string());
    Ok(Workload {
        layout: EnvLayout::Kubernetes,
        id: WorkloadId {
            form: WorkloadForm::Kubernetes,
            kind: kind_name.to_string(),
            name: name.to_string(),
            namespace: metadata.namespace.map(|n| n.to_string()),
            project,
            workload_type: None,
        },
        secret_uses,
        containers,
        name_problem,
    })
}

/// A kind that needs a pod template, without one: the field where the first one
/// would be (up to a varying part).
fn no_template(kind: &PodKind) -> InputError {
    let first = kind.templates.first().copied().unwrap_or_default();
    if !kind.has_several_pods() {
        return InputError::new(
            join(first, "spec"),
            format!("missing: a {} needs a pod spec", kind.kind),
        );
    }
    let fixed = first
        .split(['*', '['])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    InputError::new(
        fixed,
        format!(
            "missing: a {} needs a pod template (at {})",
            kind.kind,
            kind.templates.join(" or ")
        ),
    )
}

fn join(path: &str, field: &str) -> String {
    match (path.is_empty(), field.is_empty()) {
        (true, _) => field.to_string(),
        (_, true) => path.to_string(),
        _ => format!("{path}.{field}"),
    }
}

/// In the kubelet's order: init containers, containers, ephemeral containers. In a
/// kind with several pods a container is named after its pod's template too.
fn containers(spec: PodSpec, path: &str, pod: usize, pod_label: Option<&str>) -> Vec<Container> {
    let lists = [
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
        ("ephemeralContainers", spec.ephemeral_containers),
    ];
    let mut out = Vec::new();
    for (list, containers) in lists {
        for (i, c) in containers.into_iter().flatten().enumerate() {
            let mut container = container(c, &format!("{path}.{list}[{i}]"));
            container.pod = pod;
            if let Some(label) = pod_label {
                container.name = format!("{label}/{}", container.name);
            }
            out.push(container);
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
        pod: 0,
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

fn secret_uses(spec: &PodSpec, path: &str, pod: usize) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    for (i, volume) in spec.volumes.iter().flatten().enumerate() {
        let field = format!("{path}.volumes[{i}]");
        if let Some(s) = &volume.secret {
            let at = format!("{field}.secret");
            uses.push(SecretUse {
                kind: UseKind::Volume(volume.name.to_string()),
                pod,
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
                    pod,
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
            pod,
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

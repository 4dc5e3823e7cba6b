//! The Pods that stand for a recorded workload in a re-check, one per pod template:
//! exactly its references (env `secretKeyRef`s with the workload's own variable
//! names, `envFrom`, secret volumes with their items, `imagePullSecrets`, each with
//! its `optional`), in its namespace, and nothing else. The plugin decides them like
//! any Pod; each finding's field is then mapped back to the workload's own document.

use super::offline::Stored;
use crate::workloads::Reference;
use crate::workloads::record::Use;
use serde_json::{Map, Value, json};

/// The container that holds references recorded without one.
const CONTAINER: &str = "main";

/// Where one reference sits in the skeleton and in the workload's document.
struct Anchor {
    /// Its path in the skeleton (`spec.containers[0].env[2]`).
    skeleton: String,
    /// The same place in the document, when the document is shaped alike (a pod
    /// spec, a REST API entry): the rest of a finding's field carries over.
    original: Option<String>,
    /// Parts of the rest that the document spells differently.
    renames: &'static [(&'static str, &'static str)],
    /// The reference's own field: where a finding goes when the shapes differ.
    field: String,
}

pub struct Skeleton {
    pub document: Value,
    anchors: Vec<Anchor>,
}

impl Skeleton {
    /// The field of the workload's document that a finding about the skeleton's
    /// `field` is about.
    pub fn original_field(&self, field: &str) -> String {
        let anchor = self
            .anchors
            .iter()
            .filter(|a| {
                field == a.skeleton
                    || field
                        .strip_prefix(a.skeleton.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
            .max_by_key(|a| a.skeleton.len());
        let Some(anchor) = anchor else {
            // Not about a reference (none is expected): no field of the document.
            return String::new();
        };
        let rest = &field[anchor.skeleton.len()..];
        match &anchor.original {
            Some(prefix) => {
                let rest = anchor
                    .renames
                    .iter()
                    .find_map(|(from, to)| {
                        rest.strip_prefix(from)
                            .filter(|r| r.is_empty() || r.starts_with(['.', '[']))
                            .map(|r| format!("{to}{r}"))
                    })
                    .unwrap_or_else(|| rest.to_string());
                format!("{prefix}{rest}")
            }
            None => anchor.field.clone(),
        }
    }
}

/// `field` without `suffix`, when it ends with it.
fn prefix(field: &str, suffix: &str) -> Option<String> {
    field.strip_suffix(suffix).map(str::to_string)
}

/// A secret volume of the skeleton: one per volume of the document, secret and
/// `optional` (a projected volume's sources are one each).
struct Volume {
    /// The volume's field in the document, up to its secret source.
    group: String,
    secret: String,
    optional: bool,
    name: Option<String>,
    items: Vec<Value>,
}

#[derive(Default)]
struct Container {
    env: Vec<Value>,
    env_from: Vec<Value>,
}

/// The volume a volume reference belongs to: its field up to the secret source.
fn volume_of(field: &str) -> &str {
    match field.find(".items[") {
        Some(at) => &field[..at],
        None => field.rsplit_once('.').map_or(field, |(head, _)| head),
    }
}

/// The fields of a pod spec that hold references: what comes before one of them is
/// the path of the pod template (empty for a Pod and the Run:ai forms).
const POD_SPEC_LISTS: &[&str] = &[
    "spec.initContainers[",
    "spec.containers[",
    "spec.ephemeralContainers[",
    "spec.volumes[",
    "spec.imagePullSecrets[",
];

/// The pod template a reference is in (`spec.workerGroupSpecs[1].template`).
fn template_of(field: &str) -> &str {
    POD_SPEC_LISTS
        .iter()
        .filter_map(|list| field.find(list))
        .min()
        .map_or("", |at| &field[..at])
}

/// One Pod per pod template of the workload (a Ray worker group, a Kubeflow replica
/// type): a volume that cannot be mounted holds the containers of its own pod only.
pub fn pods(stored: &Stored) -> Vec<Skeleton> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, r) in stored.record.references.iter().enumerate() {
        let template = template_of(&r.field);
        match groups.iter_mut().find(|(t, _)| *t == template) {
            Some((_, indexes)) => indexes.push(i),
            None => groups.push((template, vec![i])),
        }
    }
    if groups.is_empty() {
        return vec![pod(stored, &[])];
    }
    groups
        .iter()
        .map(|(_, indexes)| pod(stored, indexes))
        .collect()
}

/// The Pod of the references at `indexes`.
fn pod(stored: &Stored, indexes: &[usize]) -> Skeleton {
    let record = &stored.record;
    let mut containers: Vec<(String, Container)> = Vec::new();
    // (group, secret, optional, volume name, items)
    let mut volumes: Vec<Volume> = Vec::new();
    let mut pulls: Vec<Value> = Vec::new();
    let mut anchors = Vec::new();
    for &i in indexes {
        let Some(r) = record.references.get(i) else {
            continue;
        };
        match r.kind {
            Use::Env | Use::EnvFrom => {
                let name = if r.container.is_empty() {
                    CONTAINER
                } else {
                    &r.container
                };
                let c = match containers.iter().position(|(n, _)| n == name) {
                    Some(c) => c,
                    None => {
                        containers.push((name.to_string(), Container::default()));
                        containers.len() - 1
                    }
                };
                let container = &mut containers[c].1;
                if r.kind == Use::Env {
                    let Some(key) = &r.key else { continue };
                    let var = stored
                        .names
                        .get(i)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| format!("SECRET_REF_{i}"));
                    anchors.push(env_anchor(r, c, container.env.len()));
                    container
                        .env
                        .push(json!({"name": var, "valueFrom": {"secretKeyRef":
                        {"name": r.secret, "key": key, "optional": r.optional}}}));
                } else {
                    anchors.push(Anchor {
                        skeleton: format!(
                            "spec.containers[{c}].envFrom[{}]",
                            container.env_from.len()
                        ),
                        original: prefix(&r.field, ".secretRef.name"),
                        renames: &[],
                        field: r.field.to_string(),
                    });
                    container
                        .env_from
                        .push(json!({"secretRef": {"name": r.secret, "optional": r.optional}}));
                }
            }
            Use::Volume => {
                let group = volume_of(&r.field);
                let v = match volumes.iter().position(|v| {
                    v.group == group && v.secret == r.secret && v.optional == r.optional
                }) {
                    Some(v) => v,
                    None => {
                        let name = stored.names.get(i).cloned().flatten();
                        volumes.push(Volume {
                            group: group.to_string(),
                            secret: r.secret.to_string(),
                            optional: r.optional,
                            name,
                            items: Vec::new(),
                        });
                        // The volume itself (a missing secret is reported on its name).
                        let projected = group.contains(".projected.");
                        anchors.push(Anchor {
                            skeleton: format!("spec.volumes[{}].secret", volumes.len() - 1),
                            original: Some(group.to_string()),
                            renames: if projected {
                                &[(".secretName", ".name")]
                            } else {
                                &[]
                            },
                            field: r.field.to_string(),
                        });
                        volumes.len() - 1
                    }
                };
                if let Some(key) = &r.key {
                    let items = &mut volumes[v].items;
                    anchors.push(Anchor {
                        skeleton: format!("spec.volumes[{v}].secret.items[{}]", items.len()),
                        original: prefix(&r.field, ".key"),
                        renames: &[],
                        field: r.field.to_string(),
                    });
                    items.push(json!({"key": key, "path": format!("k{}", items.len())}));
                }
            }
            Use::ImagePull => {
                anchors.push(Anchor {
                    skeleton: format!("spec.imagePullSecrets[{}]", pulls.len()),
                    original: prefix(&r.field, ".name"),
                    renames: &[],
                    field: r.field.to_string(),
                });
                pulls.push(json!({"name": r.secret}));
            }
        }
    }
    if containers.is_empty() {
        containers.push((CONTAINER.to_string(), Container::default()));
    }
    let containers: Vec<Value> = containers
        .into_iter()
        .map(|(name, c)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert("image".into(), json!("audit"));
            if !c.env.is_empty() {
                m.insert("env".into(), Value::Array(c.env));
            }
            if !c.env_from.is_empty() {
                m.insert("envFrom".into(), Value::Array(c.env_from));
            }
            Value::Object(m)
        })
        .collect();
    let volumes: Vec<Value> = volumes
        .into_iter()
        .enumerate()
        .map(|(v, volume)| {
            let mut s = json!({"secretName": volume.secret, "optional": volume.optional});
            if !volume.items.is_empty() {
                s["items"] = Value::Array(volume.items);
            }
            // Two sources of one projected volume are two volumes here: names repeat.
            let name = volume.name.unwrap_or_else(|| format!("v{v}"));
            json!({"name": name, "secret": s})
        })
        .collect();
    let mut spec = json!({"containers": containers});
    if !volumes.is_empty() {
        spec["volumes"] = Value::Array(volumes);
    }
    if !pulls.is_empty() {
        spec["imagePullSecrets"] = Value::Array(pulls);
    }
    Skeleton {
        document: json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": record.key.name, "namespace": record.key.namespace},
            "spec": spec,
        }),
        anchors,
    }
}

/// An env reference: a pod's `valueFrom.secretKeyRef` carries over whole, a REST API
/// entry's `secret` under another name; a Run:ai CRD's `SECRET:` value is one field.
fn env_anchor(r: &Reference, c: usize, j: usize) -> Anchor {
    let skeleton = format!("spec.containers[{c}].env[{j}]");
    if let Some(p) = prefix(&r.field, ".valueFrom.secretKeyRef.name") {
        return Anchor {
            skeleton,
            original: Some(p),
            renames: &[],
            field: r.field.to_string(),
        };
    }
    if let Some(p) = prefix(&r.field, ".secret.name") {
        return Anchor {
            skeleton,
            original: Some(p),
            renames: &[(".valueFrom.secretKeyRef", ".secret")],
            field: r.field.to_string(),
        };
    }
    Anchor {
        skeleton,
        original: None,
        renames: &[],
        field: r.field.to_string(),
    }
}

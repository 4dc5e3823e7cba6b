//! The JSON Patch (RFC 6902) that injects policy defaults into the submitted document.
//!
//! Operations are typed rather than `serde_json::Value` maps: the text is then the
//! same bytes in every build (a map's key order depends on serde_json's
//! `preserve_order` feature, which the host's build turns on and the component's does
//! not), and building one allocates no map.

use crate::policy::env_rules::DefaultValue;
use crate::workload::{EnvLayout, Loc, Workload};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

/// The patch being built, and what it has created so far.
pub struct Patch {
    ops: Vec<Op>,
    layout: EnvLayout,
    /// Entries in a REST API list before any were appended.
    list_len: usize,
}

/// One `add` operation: defaults only ever add.
struct Op {
    path: String,
    value: Added,
}

/// What an operation adds.
enum Added {
    /// A missing parent object: `{}`.
    Object,
    /// A missing REST API list: `[]`.
    List,
    /// A CRD item, `{"value": ...}` in `SECRET:` notation; `name` is the variable's.
    CrdItem { name: String, value: String },
    /// A REST API entry: `{"name": ..., "<source>": ...}`.
    ApiEntry { name: String, value: DefaultValue },
}

impl Patch {
    pub fn new(workload: &Workload) -> Self {
        Patch {
            ops: Vec::new(),
            layout: workload.layout,
            list_len: workload.containers.first().map_or(0, |c| c.env.len()),
        }
    }

    fn add(&mut self, path: impl Into<String>, value: Added) {
        self.ops.push(Op {
            path: path.into(),
            value,
        });
    }

    /// Adds the default and returns where the new entry is.
    pub fn inject(&mut self, name: &str, value: &DefaultValue) -> Loc {
        match &mut self.layout {
            EnvLayout::RunaiCrd {
                has_spec,
                has_environment,
                has_items,
            } => {
                let (spec, environment, items) = (*has_spec, *has_environment, *has_items);
                (*has_spec, *has_environment, *has_items) = (true, true, true);
                if !spec {
                    self.add("/spec", Added::Object);
                }
                if !environment {
                    self.add("/spec/environment", Added::Object);
                }
                if !items {
                    self.add("/spec/environment/items", Added::Object);
                }
                self.add(
                    format!("/spec/environment/items/{}", pointer_escape(name)),
                    Added::CrdItem {
                        name: name.to_string(),
                        value: notation(value),
                    },
                );
                Loc::CrdItem
            }
            EnvLayout::RunaiApi { has_spec, has_list } => {
                let (spec, list) = (*has_spec, *has_list);
                (*has_spec, *has_list) = (true, true);
                if !spec {
                    self.add("/spec", Added::Object);
                }
                if !list {
                    self.add("/spec/environmentVariables", Added::List);
                }
                self.add(
                    "/spec/environmentVariables/-",
                    Added::ApiEntry {
                        name: name.to_string(),
                        value: value.clone(),
                    },
                );
                let loc = Loc::ApiItem {
                    index: self.list_len,
                    injected: true,
                };
                self.list_len += 1;
                loc
            }
            // Run:ai policies never apply to pod specs (see `defaults::apply`).
            EnvLayout::Kubernetes => Loc::CrdItem,
        }
    }

    /// Replaces the injected literals of names `is_sensitive` accepts.
    pub fn redact(&mut self, is_sensitive: &dyn Fn(&str) -> bool, with: &str) {
        for op in &mut self.ops {
            let (name, literal) = match &mut op.value {
                Added::CrdItem { name, value } if !value.starts_with(crate::secret_ref::PREFIX) => {
                    (name, value)
                }
                Added::ApiEntry {
                    name,
                    value: DefaultValue::Literal(value),
                } => (name, value),
                _ => continue,
            };
            if is_sensitive(name) {
                *literal = with.to_string();
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.ops).unwrap_or_else(|_| "[]".to_string())
    }
}

/// RFC 6901: `~` and `/` in a name are escaped in a JSON pointer.
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// A default in the `SECRET:` notation of Run:ai workload CRDs.
fn notation(value: &DefaultValue) -> String {
    match value {
        DefaultValue::Literal(v) => v.clone(),
        DefaultValue::Secret { name, key } => format!("{}{name},{key}", crate::secret_ref::PREFIX),
        // CRD items carry strings only; other sources are shown for what they are.
        DefaultValue::ConfigMap { name, key } => format!("CONFIGMAP:{name},{key}"),
        DefaultValue::FieldRef(path) => format!("FIELDREF:{path}"),
        DefaultValue::UserCredential { name, key } => format!("CREDENTIAL:{name},{key}"),
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut op = serializer.serialize_struct("Op", 3)?;
        op.serialize_field("op", "add")?;
        op.serialize_field("path", &self.path)?;
        op.serialize_field("value", &self.value)?;
        op.end()
    }
}

impl Serialize for Added {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Added::Object => serializer.serialize_map(Some(0))?.end(),
            Added::List => serializer.collect_seq(std::iter::empty::<()>()),
            Added::CrdItem { value, .. } => {
                let mut item = serializer.serialize_map(Some(1))?;
                item.serialize_entry("value", value)?;
                item.end()
            }
            Added::ApiEntry { name, value } => {
                let mut entry = serializer.serialize_map(Some(2))?;
                entry.serialize_entry("name", name)?;
                match value {
                    DefaultValue::Literal(v) => entry.serialize_entry("value", v)?,
                    DefaultValue::Secret { name, key } => {
                        entry.serialize_entry("secret", &KeyRef { name, key })?
                    }
                    DefaultValue::ConfigMap { name, key } => {
                        entry.serialize_entry("configMap", &KeyRef { name, key })?
                    }
                    DefaultValue::FieldRef(path) => {
                        entry.serialize_entry("podFieldRef", &FieldPath { path })?
                    }
                    DefaultValue::UserCredential { name, key } => {
                        entry.serialize_entry("userCredential", &KeyRef { name, key })?
                    }
                }
                entry.end()
            }
        }
    }
}

#[derive(serde::Serialize)]
struct KeyRef<'a> {
    name: &'a str,
    key: &'a str,
}

#[derive(serde::Serialize)]
struct FieldPath<'a> {
    path: &'a str,
}

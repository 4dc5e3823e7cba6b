//! Run:ai V2 policies (REST API, Run:ai 2.18+): `{type?, meta: {name, scope, ...},
//! policy: {defaults, rules}}`. Scopes nest tenant > cluster > department > project;
//! per env name the default of the lowest scope wins, and a rule field set twice in
//! one branch is a conflict.

use super::env_rules::{CanAdd, DefaultValue, EnvDefault, EnvRules, ItemRule};
use super::v1::check_secret_names;
use crate::decision::InputError;
use crate::request::ProjectInfo;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    System,
    Tenant,
    Cluster,
    Department,
    Project,
}

#[derive(Debug, Clone, PartialEq)]
pub struct V2Policy {
    pub name: String,
    pub level: Level,
    /// `projectId` or `departmentId` for those scopes.
    pub scope_id: Option<String>,
    /// `training`, `workspace`, `distributed`, `inference`; none: every type.
    pub workload_type: Option<String>,
    pub defaults: Vec<(String, DefaultValue)>,
    pub can_add: Option<bool>,
    pub locked: Option<Vec<String>>,
    pub source: String,
}

impl V2Policy {
    pub fn id(&self) -> String {
        let scope = match (&self.level, &self.scope_id) {
            (level, Some(id)) => format!("{} {id}", level_name(*level)),
            (level, None) => level_name(*level).to_string(),
        };
        let kind = self.workload_type.as_deref().unwrap_or("any type");
        format!("V2 policy {} ({kind}, scope {scope})", self.name)
    }

    /// Whether it governs a workload of `workload_type` in `project`.
    pub fn applies_to(&self, workload_type: &str, project: Option<&ProjectInfo>) -> bool {
        if self
            .workload_type
            .as_deref()
            .is_some_and(|t| t != workload_type)
        {
            return false;
        }
        match self.level {
            Level::System | Level::Tenant | Level::Cluster => true,
            Level::Department => {
                project.and_then(|p| p.department.as_deref()) == self.scope_id.as_deref()
            }
            Level::Project => project.is_some_and(|p| {
                let id = self.scope_id.as_deref();
                p.id.as_deref() == id || Some(p.name.as_str()) == id
            }),
        }
    }

    /// Whether the two policies can govern the same workload: same types, and one
    /// scope contains the other.
    pub fn same_branch(&self, other: &V2Policy, projects: &[ProjectInfo]) -> bool {
        let types_meet = match (&self.workload_type, &other.workload_type) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if !types_meet {
            return false;
        }
        let (high, low) = if self.level <= other.level {
            (self, other)
        } else {
            (other, self)
        };
        match (high.level, low.level) {
            (Level::System | Level::Tenant | Level::Cluster, _) => true,
            (Level::Department, Level::Department) | (Level::Project, Level::Project) => {
                high.scope_id == low.scope_id
            }
            (Level::Department, Level::Project) => projects.iter().any(|p| {
                let id = low.scope_id.as_deref();
                (p.id.as_deref() == id || Some(p.name.as_str()) == id)
                    && p.department.as_deref() == high.scope_id.as_deref()
            }),
            _ => false,
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::System => "system",
        Level::Tenant => "tenant",
        Level::Cluster => "cluster",
        Level::Department => "department",
        Level::Project => "project",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "type", default)]
    workload_type: Option<WorkloadType>,
    #[serde(deserialize_with = "crate::workload::map_only::plain")]
    meta: Meta,
    #[serde(deserialize_with = "crate::workload::map_only::plain")]
    policy: Body,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum WorkloadType {
    Training,
    Workspace,
    Distributed,
    Inference,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: String,
    scope: Level,
    #[serde(default)]
    project_id: Option<Id>,
    #[serde(default)]
    department_id: Option<Id>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

/// Only the environment parts are read; the rest of a policy governs other fields.
#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    defaults: Option<Defaults>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    rules: Option<Rules>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Defaults {
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    environment_variables: Option<DefaultInstances>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultInstances {
    #[serde(default, deserialize_with = "crate::workload::map_only::vec")]
    instances: Vec<Variable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Variable {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    secret: Option<NameKey>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    config_map: Option<NameKey>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    pod_field_ref: Option<PathRef>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    user_credential: Option<NameKey>,
    #[serde(default)]
    exclude: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameKey {
    name: String,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathRef {
    path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rules {
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    environment_variables: Option<RuleInstances>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleInstances {
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    instances: Option<ItemRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ItemRules {
    #[serde(default)]
    can_add: Option<bool>,
    #[serde(default)]
    locked: Option<Vec<String>>,
    #[serde(default, rename = "sourceOfRule")]
    _source_of_rule: Option<serde::de::IgnoredAny>,
}

/// A V2 policy has no `kind`: it is recognised by `meta` and `policy`.
pub fn looks_like(json: &serde_json::Value) -> bool {
    json.get("meta").is_some() && json.get("policy").is_some()
}

pub fn parse(json: &str, source: &str) -> Result<V2Policy, InputError> {
    let doc: Document = crate::workload::parse_json(json)?;
    let scope_id = match doc.meta.scope {
        Level::Project => Some(doc.meta.project_id.map(Id::into_string).ok_or_else(|| {
            InputError::new(
                "meta.projectId",
                "missing: a project-scope policy names its project",
            )
        })?),
        Level::Department => {
            Some(doc.meta.department_id.map(Id::into_string).ok_or_else(|| {
                InputError::new(
                    "meta.departmentId",
                    "missing: a department-scope policy names its department",
                )
            })?)
        }
        _ => None,
    };
    let mut defaults = Vec::new();
    let instances = doc
        .policy
        .defaults
        .and_then(|d| d.environment_variables)
        .map(|e| e.instances)
        .unwrap_or_default();
    for (i, var) in instances.into_iter().enumerate() {
        let field = format!("policy.defaults.environmentVariables.instances[{i}]");
        if var.exclude == Some(true) {
            continue;
        }
        let _ = var.description;
        let mut values = Vec::new();
        if let Some(v) = var.value {
            values.push(DefaultValue::Literal(v));
        }
        if let Some(s) = var.secret {
            check_secret_names(&s.name, &s.key, &|| format!("{field}.secret"))?;
            values.push(DefaultValue::Secret {
                name: s.name,
                key: s.key,
            });
        }
        if let Some(c) = var.config_map {
            values.push(DefaultValue::ConfigMap {
                name: c.name,
                key: c.key,
            });
        }
        if let Some(p) = var.pod_field_ref {
            values.push(DefaultValue::FieldRef(p.path));
        }
        if let Some(u) = var.user_credential {
            values.push(DefaultValue::UserCredential {
                name: u.name,
                key: u.key,
            });
        }
        if values.len() != 1 {
            return Err(InputError::new(
                field,
                format!(
                    "default `{}` sets {} sources: expected exactly one of value, secret, configMap, podFieldRef, userCredential",
                    crate::shown::Shown(&var.name),
                    values.len()
                ),
            ));
        }
        defaults.push((var.name, values.remove(0)));
    }
    let rules = doc
        .policy
        .rules
        .and_then(|r| r.environment_variables)
        .and_then(|e| e.instances);
    let (can_add, locked) = match rules {
        Some(r) => (r.can_add, r.locked),
        None => (None, None),
    };
    Ok(V2Policy {
        name: doc.meta.name,
        level: doc.meta.scope,
        scope_id,
        workload_type: doc.workload_type.map(|t| {
            match t {
                WorkloadType::Training => "training",
                WorkloadType::Workspace => "workspace",
                WorkloadType::Distributed => "distributed",
                WorkloadType::Inference => "inference",
            }
            .to_string()
        }),
        defaults,
        can_add,
        locked,
        source: source.to_string(),
    })
}

/// The effective rules of the V2 policies that apply to one workload, broadest scope
/// first: lower scopes replace defaults of the same name.
pub fn effective(policies: &[&V2Policy]) -> Option<EnvRules> {
    if policies.is_empty() {
        return None;
    }
    let mut sorted: Vec<&V2Policy> = policies.to_vec();
    sorted.sort_by_key(|p| p.level);
    let mut rules = EnvRules::default();
    for p in &sorted {
        for (name, value) in &p.defaults {
            let default = EnvDefault {
                name: name.clone(),
                value: value.clone(),
                policy: p.id(),
            };
            match rules.defaults.iter_mut().find(|d| d.name == *name) {
                Some(existing) => *existing = default,
                None => rules.defaults.push(default),
            }
        }
    }
    for p in &sorted {
        if let Some(allowed) = p.can_add {
            rules.can_add = Some(CanAdd {
                allowed,
                listed: rules.defaults.iter().map(|d| d.name.clone()).collect(),
                policy: p.id(),
            });
        }
        for name in p.locked.iter().flatten() {
            rules.items.push(ItemRule {
                name: name.clone(),
                locked: true,
                cannot_remove: true,
                required: false,
                policy: p.id(),
            });
        }
    }
    Some(rules)
}

//! Run:ai V1 policies (CRDs, Run:ai 2.5-2.17): `TrainingPolicy`, `InteractivePolicy`,
//! `DistributedPolicy`, `InferencePolicy`. Only `spec.environment` is read; other spec
//! fields (gpu, image, ...) are other policy engines' business and are left alone.

use super::env_rules::{CanAdd, DefaultValue, EnvDefault, EnvRules, ItemRule};
use crate::decision::InputError;
use crate::names;
use crate::shown::Shown;
use crate::workload::map_only::MapOnly;
use crate::workload::{MapEntries, is_runai_api_version};
use serde::Deserialize;

/// Policy kind and the Run:ai workload type it governs.
pub const KINDS: &[(&str, &str)] = &[
    ("TrainingPolicy", "training"),
    ("InteractivePolicy", "workspace"),
    ("DistributedPolicy", "distributed"),
    ("InferencePolicy", "inference"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct V1Policy {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub workload_type: &'static str,
    pub rules: EnvRules,
}

impl V1Policy {
    pub fn id(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: String,
    kind: String,
    #[serde(deserialize_with = "crate::workload::map_only::plain")]
    metadata: Metadata,
    #[serde(borrow, default, deserialize_with = "crate::workload::map_only::opt")]
    spec: Option<Spec<'a>>,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct Spec<'a> {
    #[serde(borrow, default, deserialize_with = "crate::workload::map_only::opt")]
    environment: Option<Environment<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Environment<'a> {
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    rules: Option<MapRules>,
    #[serde(borrow, default)]
    items: Option<MapEntries<'a, MapOnly<Item>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MapRules {
    #[serde(default)]
    can_add: Option<bool>,
    #[serde(default)]
    required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    #[serde(default)]
    value: Option<String>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    rules: Option<ItemRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ItemRules {
    #[serde(default)]
    can_edit: Option<bool>,
    #[serde(default)]
    can_remove: Option<bool>,
    #[serde(default)]
    required: Option<bool>,
}

pub fn parse(json: &str) -> Result<V1Policy, InputError> {
    let doc: Document = crate::workload::parse_json(json)?;
    if !is_runai_api_version(&doc.api_version) {
        return Err(InputError::new(
            "apiVersion",
            format!(
                "`{}` for kind {}: expected run.ai/v2alpha1 or run.ai/v1alpha1",
                Shown(&doc.api_version),
                Shown(&doc.kind)
            ),
        ));
    }
    let Some(&(_, workload_type)) = KINDS.iter().find(|(k, _)| *k == doc.kind) else {
        return Err(InputError::new(
            "kind",
            format!("`{}` is not a V1 policy kind", Shown(&doc.kind)),
        ));
    };
    let namespace = doc
        .metadata
        .namespace
        .unwrap_or_else(|| super::SYSTEM_NAMESPACE.to_string());
    let id = format!("{} {namespace}/{}", doc.kind, doc.metadata.name);
    let mut rules = EnvRules::default();
    let environment = doc.spec.and_then(|s| s.environment);
    if let Some(env) = environment {
        let items = env.items.unwrap_or_default().0;
        for (name, MapOnly(item)) in &items {
            if let Some(value) = &item.value {
                rules.defaults.push(EnvDefault {
                    name: name.to_string(),
                    value: default_value(value, || format!("spec.environment.items.{name}.value"))?,
                    policy: id.clone(),
                });
            }
            if let Some(r) = &item.rules {
                rules.items.push(ItemRule {
                    name: name.to_string(),
                    locked: r.can_edit == Some(false),
                    cannot_remove: r.can_remove == Some(false),
                    required: r.required == Some(true),
                    policy: id.clone(),
                });
            }
        }
        if let Some(map_rules) = env.rules {
            if let Some(allowed) = map_rules.can_add {
                rules.can_add = Some(CanAdd {
                    allowed,
                    listed: items.iter().map(|(n, _)| n.to_string()).collect(),
                    policy: id.clone(),
                });
            }
            if map_rules.required == Some(true) {
                rules.env_required = Some(id.clone());
            }
        }
    }
    Ok(V1Policy {
        kind: doc.kind,
        name: doc.metadata.name,
        namespace,
        workload_type,
        rules,
    })
}

/// A default in `SECRET:` notation must be one a workload could use. The field path
/// is only built for an error.
fn default_value(value: &str, field: impl Fn() -> String) -> Result<DefaultValue, InputError> {
    let parsed = DefaultValue::from_notation(value).map_err(|problem| {
        InputError::new(
            field(),
            format!(
                "malformed secret reference ({problem}): expected {}",
                crate::secret_ref::EXPECTED_FORM
            ),
        )
    })?;
    if let DefaultValue::Secret { name, key } = &parsed {
        check_secret_names(name, key, &field)?;
    }
    Ok(parsed)
}

/// The names of a secret a policy default references; `field` is built only for an error.
pub fn check_secret_names(
    name: &str,
    key: &str,
    field: &dyn Fn() -> String,
) -> Result<(), InputError> {
    if !names::is_dns1123_subdomain(name) {
        return Err(InputError::new(
            field(),
            format!(
                "`{}` is not a valid secret name: expected a DNS-1123 subdomain",
                Shown(name)
            ),
        ));
    }
    if !names::is_secret_key(key) {
        return Err(InputError::new(
            field(),
            format!(
                "`{}` is not a valid secret key: expected letters, digits, '-', '_' and '.'",
                Shown(key)
            ),
        ));
    }
    Ok(())
}

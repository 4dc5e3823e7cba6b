//! Form A: Run:ai workload CRDs (`run.ai/v2alpha1`), where every spec field is
//! wrapped as `{value: ...}` and env is `spec.environment.items.NAME.value`.

use super::map_only::MapOnly;
use super::{
    Arg, Container, EnvEntry, EnvLayout, EnvValue, Loc, MapEntries, SecretRef, Str, Workload,
};
use crate::decision::{InputError, WorkloadForm, WorkloadId};
use crate::secret_ref::{self, Parsed};
use serde::Deserialize;

#[derive(Deserialize)]
struct Crd<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Str<'a>>,
    #[serde(borrow)]
    kind: Str<'a>,
    #[serde(borrow, default, deserialize_with = "super::map_only::plain")]
    metadata: Metadata<'a>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    spec: Option<Spec<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Metadata<'a> {
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub namespace: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub labels: MapEntries<'a, Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Spec<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    name: Option<Wrapped<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    environment: Option<Environment<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    command: Option<Wrapped<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    arguments: Option<Wrapped<'a>>,
    /// A DistributedWorkload's master and workers, each with an environment of its own.
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    master: Option<Role<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    worker: Option<Role<'a>>,
}

#[derive(Deserialize, Default)]
struct Role<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    environment: Option<Environment<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    command: Option<Wrapped<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    arguments: Option<Wrapped<'a>>,
}

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    value: Str<'a>,
}

#[derive(Deserialize, Default)]
struct Environment<'a> {
    #[serde(borrow, default)]
    items: Option<MapEntries<'a, MapOnly<Item<'a>>>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(default)]
    exclude: bool,
}

pub fn parse(json: &str) -> Result<Workload, InputError> {
    from_crd(super::parse_json(json)?)
}

/// One pass for the common case, a well-formed Run:ai workload; `None` sends anything
/// else through the general path, which also words the errors.
pub fn try_parse(json: &str) -> Option<Workload> {
    let MapOnly(crd): MapOnly<Crd> = serde_json::from_str(json).ok()?;
    let runai = super::runai_workload_type(&crd.kind).is_some()
        && crd
            .api_version
            .as_deref()
            .is_some_and(super::is_runai_api_version);
    if !runai {
        return None;
    }
    from_crd(crd).ok()
}

fn from_crd(crd: Crd) -> Result<Workload, InputError> {
    let layout = EnvLayout::RunaiCrd {
        has_spec: crd.spec.is_some(),
        has_environment: crd.spec.as_ref().is_some_and(|s| s.environment.is_some()),
        has_items: crd
            .spec
            .as_ref()
            .and_then(|s| s.environment.as_ref())
            .is_some_and(|e| e.items.is_some()),
    };
    let spec = crd.spec.unwrap_or_default();
    let (name, field) = match (spec.name.as_ref(), crd.metadata.name.as_deref()) {
        (Some(n), _) => (&*n.value, "spec.name.value"),
        (None, Some(n)) => (n, "metadata.name"),
        (None, None) => {
            return Err(InputError::new(
                "metadata.name",
                "missing: the workload needs a name",
            ));
        }
    };
    let name_problem = super::check_name(&crd.kind, name, field)?;
    let name = name.to_string();
    let project = crd
        .metadata
        .labels
        .0
        .iter()
        .find(|(k, _)| k == "project")
        .map(|(_, v)| v.to_string());
    let mut containers = vec![Container {
        name: name.clone(),
        pod: 0,
        env: items(spec.environment, Loc::CrdItem),
        args: args("spec", spec.command, spec.arguments),
        env_from: Vec::new(),
    }];
    // Run:ai names the workload's container after the workload; a distributed
    // workload's master and workers get their own environments.
    for (role, part) in [("master", spec.master), ("worker", spec.worker)] {
        if let Some(part) = part {
            containers.push(Container {
                name: format!("{name}-{role}"),
                pod: 0,
                env: items(part.environment, Loc::CrdRoleItem { role }),
                args: args(&format!("spec.{role}"), part.command, part.arguments),
                env_from: Vec::new(),
            });
        }
    }
    Ok(Workload {
        layout,
        id: WorkloadId {
            form: WorkloadForm::RunaiCrd,
            workload_type: super::runai_workload_type(&crd.kind).map(str::to_string),
            kind: crd.kind.to_string(),
            name,
            namespace: crd.metadata.namespace.map(|n| n.to_string()),
            project,
        },
        containers,
        secret_uses: Vec::new(),
        name_problem,
    })
}

fn items(environment: Option<Environment>, loc: Loc) -> Vec<EnvEntry> {
    environment
        .unwrap_or_default()
        .items
        .unwrap_or_default()
        .0
        .into_iter()
        .map(|(env_name, item)| EnvEntry {
            name: env_name.into_owned(),
            loc: loc.clone(),
            value: item.0.value.map_or(EnvValue::Unset, |v| classify(&v)),
            excluded: item.0.exclude,
            sources: Vec::new(),
            origin: None,
        })
        .collect()
}

/// `command` and `arguments` are single strings in a Run:ai workload.
fn args(at: &str, command: Option<Wrapped>, arguments: Option<Wrapped>) -> Vec<Arg> {
    [("command", command), ("arguments", arguments)]
        .into_iter()
        .filter_map(|(field, w)| {
            Some(Arg {
                field: format!("{at}.{field}.value"),
                value: w?.value.to_string(),
            })
        })
        .collect()
}

/// A string value in `SECRET:` notation (form A, V1 policy items, the CLI).
pub fn classify(value: &str) -> EnvValue {
    match secret_ref::parse(value) {
        Parsed::Reference { name, key } => EnvValue::Secret(SecretRef {
            name: name.to_string(),
            key: key.to_string(),
            optional: false,
        }),
        Parsed::Malformed(problem) => EnvValue::Malformed { problem },
        Parsed::Literal => EnvValue::Literal {
            value: value.to_string(),
            secret_like_prefix: false,
        },
        Parsed::LiteralWithSecretLikePrefix => EnvValue::Literal {
            value: value.to_string(),
            secret_like_prefix: true,
        },
    }
}

//! Form B: Run:ai REST API workload requests (`POST /api/v1/workloads/trainings`, ...):
//! `{name, projectId, spec: {environmentVariables: [...]}}`. The type comes from the
//! endpoint, so a file is `training` unless the caller says otherwise.

use super::{Arg, Container, EnvEntry, EnvLayout, EnvValue, Loc, SecretRef, Str, Workload};
use crate::decision::{InputError, WorkloadForm, WorkloadId};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(default)]
    project_id: Option<Id>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    spec: Option<Spec<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(borrow, default, deserialize_with = "super::map_only::opt_vec")]
    environment_variables: Option<Vec<Variable<'a>>>,
    #[serde(borrow, default)]
    command: Option<Str<'a>>,
    #[serde(borrow, default)]
    args: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variable<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    secret: Option<NameKey<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    config_map: Option<NameKey<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    pod_field_ref: Option<FieldPath<'a>>,
    #[serde(borrow, default, deserialize_with = "super::map_only::opt")]
    user_credential: Option<NameKey<'a>>,
    #[serde(default)]
    exclude: Option<bool>,
}

#[derive(Deserialize)]
struct NameKey<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    key: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct FieldPath<'a> {
    #[serde(borrow, default)]
    path: Option<Str<'a>>,
}

/// `projectId` is a string in the API, but numeric ids are common in requests.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

/// How reports name a REST API request.
const KIND: &str = "TrainingCreationRequest";

pub fn parse(json: &str) -> Result<Workload, InputError> {
    let request: Request = super::parse_json(json)?;
    let name = request
        .name
        .map(|n| n.to_string())
        .ok_or_else(|| InputError::new("name", "missing: the workload request needs a `name`"))?;
    let name_problem = super::check_name(KIND, &name, "name")?;
    let layout = EnvLayout::RunaiApi {
        has_spec: request.spec.is_some(),
        has_list: request
            .spec
            .as_ref()
            .is_some_and(|s| s.environment_variables.is_some()),
    };
    let (variables, args) = match request.spec {
        Some(spec) => {
            let args = [("command", spec.command), ("args", spec.args)]
                .into_iter()
                .filter_map(|(field, value)| {
                    Some(Arg {
                        field: format!("spec.{field}"),
                        value: value?.to_string(),
                    })
                })
                .collect();
            (spec.environment_variables.unwrap_or_default(), args)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut env = Vec::with_capacity(variables.len());
    for (i, var) in variables.into_iter().enumerate() {
        env.push(entry(i, var)?);
    }
    Ok(Workload {
        layout,
        id: WorkloadId {
            form: WorkloadForm::RunaiApi,
            kind: KIND.to_string(),
            name: name.clone(),
            namespace: None,
            project: request.project_id.map(|id| match id {
                Id::Text(s) => s,
                Id::Number(n) => n.to_string(),
            }),
            workload_type: Some("training".to_string()),
        },
        containers: vec![Container {
            name,
            pod: 0,
            env_from: Vec::new(),
            env,
            args,
        }],
        secret_uses: Vec::new(),
        name_problem,
    })
}

fn entry(i: usize, var: Variable) -> Result<EnvEntry, InputError> {
    let name = var.name.ok_or_else(|| {
        InputError::new(
            format!("spec.environmentVariables[{i}].name"),
            "missing: every environment variable needs a `name`",
        )
    })?;
    let mut sources = Vec::new();
    let mut value = EnvValue::Unset;
    // Later sources in this list take precedence for the resolved env; all but one
    // is a `value-and-secret` violation anyway.
    if let Some(v) = var.value {
        sources.push("value");
        value = EnvValue::Literal {
            value: v.to_string(),
            secret_like_prefix: false,
        };
    }
    if let Some(p) = var.pod_field_ref {
        sources.push("podFieldRef");
        value = EnvValue::FieldRef(p.path.map(|p| p.to_string()).unwrap_or_default());
    }
    if let Some(c) = var.config_map {
        sources.push("configMap");
        value = EnvValue::ConfigMap {
            name: c.name.map(|n| n.to_string()).unwrap_or_default(),
            key: c.key.map(|k| k.to_string()).unwrap_or_default(),
        };
    }
    if let Some(u) = var.user_credential {
        sources.push("userCredential");
        value = EnvValue::UserCredential {
            name: u.name.map(|n| n.to_string()).unwrap_or_default(),
            key: u.key.map(|k| k.to_string()).unwrap_or_default(),
        };
    }
    if let Some(s) = var.secret {
        sources.push("secret");
        value = EnvValue::Secret(SecretRef {
            name: s.name.map(|n| n.to_string()).unwrap_or_default(),
            key: s.key.map(|k| k.to_string()).unwrap_or_default(),
            optional: false,
        });
    }
    Ok(EnvEntry {
        name: name.to_string(),
        loc: Loc::ApiItem {
            index: i,
            injected: false,
        },
        value,
        excluded: var.exclude.unwrap_or(false),
        sources: if sources.len() > 1 {
            sources
        } else {
            Vec::new()
        },
        origin: None,
    })
}

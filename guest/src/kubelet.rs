//! What the kubelet would do with the pod (SPEC §6): build each container's
//! environment (`envFrom` first, then `env`, later wins) and fail the container
//! with `CreateContainerConfigError` on the first missing secret or key that is
//! not optional.

use crate::by_name;
use crate::decision::{
    ContainerEnv, ContainerStartup, EnvSource, EnvVar, REASON_CONFIG_ERROR, STATE_RUNNING,
    STATE_WAITING, Startup, Warning,
};
use crate::expansion;
use crate::names::EnvNameValidation;
use crate::request::Catalog;
use crate::workload::{Arg, Container, EnvEntry, EnvValue, SecretUse, UseKind};

pub const REDACTED: &str = "<redacted>";
pub const REASON_CONTAINER_CREATING: &str = "ContainerCreating";

pub struct Resolution {
    pub env: Vec<ContainerEnv>,
    pub startup: Startup,
    pub warnings: Vec<Warning>,
    /// `command`/`args` items that a secret's value reaches through `$(VAR)`.
    pub secrets_in_args: Vec<SecretInArg>,
    /// Every expanded env value and `command`/`args` item, in full (up to
    /// `expansion::MAX_TEXT`), when asked for: for the credential detectors.
    pub expanded: Vec<ExpandedText>,
}

/// An expansion's whole text, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandedText {
    /// The env value's or `command`/`args` item's field in the submitted document.
    pub field: String,
    /// For an env value: its container's index and the variable's name.
    pub var: Option<(usize, String)>,
    pub text: String,
}

/// Expanded values shown in a decision, in bytes over the whole workload: 1,200
/// variables each expanding to 4 KiB made a 4.9 MB decision, over the host's cap.
/// Past it an expanded value is shown as `SHOWN_PAST_BUDGET`; its secrets are still
/// tracked and its text still checked.
pub const SHOWN_EXPANSIONS: usize = 64 * 1024;
pub const SHOWN_PAST_BUDGET: &str =
    "<expansion not shown: the workload's expansions are over 64 KiB>";

/// A secret expanded into `command` or `args`: it ends up in the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInArg {
    pub field: String,
    pub secrets: Vec<String>,
}

/// Takes the containers: their names and values move into the resolved environment.
/// `repeats_a_name[i]`: container `i` sets an env name more than once (unknown counts
/// as yes); otherwise only `envFrom` can repeat one.
pub fn resolve(
    containers: Vec<Container>,
    repeats_a_name: &[bool],
    secret_uses: &[SecretUse],
    catalog: &Catalog,
    env_names: EnvNameValidation,
    is_sensitive: &dyn Fn(&str) -> bool,
    collect_expanded: bool,
) -> Resolution {
    let mut shown_budget = SHOWN_EXPANSIONS;
    let mut out = Resolution {
        env: Vec::with_capacity(containers.len()),
        startup: Startup {
            starts: true,
            containers: Vec::with_capacity(containers.len()),
        },
        warnings: Vec::new(),
        secrets_in_args: Vec::new(),
        expanded: Vec::new(),
    };
    // A pod's volumes are mounted before any of its containers starts: a failed mount
    // holds them all (and only them: a Ray worker group's volume is its own).
    let mount_failures = mount_failures(secret_uses, &containers, catalog);
    for (i, mut container) in containers.into_iter().enumerate() {
        let env = std::mem::take(&mut container.env);
        let Resolved {
            mut vars,
            fields,
            failure: env_failure,
        } = resolve_container(
            &container,
            env,
            catalog,
            env_names,
            is_sensitive,
            collect_expanded,
            &mut out.warnings,
        );
        // Most containers have no `$`: the expansion pass costs nothing for them.
        let expands = vars
            .iter()
            .any(|v| matches!(&v.source, EnvSource::Literal(l) if expansion::has_references(l)))
            || container
                .args
                .iter()
                .any(|a| expansion::has_references(&a.value));
        if expands {
            let mut expansions = Expansions {
                container: i,
                collect: collect_expanded,
                shown_budget: &mut shown_budget,
                texts: &mut out.expanded,
            };
            out.secrets_in_args.extend(expand_container(
                &mut vars,
                &fields,
                &container.args,
                &mut expansions,
            ));
        }
        if repeats_a_name.get(i).copied().unwrap_or(true) || !container.env_from.is_empty() {
            vars = by_name::last_wins_in_first_place(vars, |v| &v.name);
        }
        out.env.push(ContainerEnv {
            container: container.name.clone(),
            vars,
        });
        let name = container.name;
        let failure = match mount_failures.get(container.pod).and_then(Option::as_ref) {
            Some((message, secret)) => {
                Some((REASON_CONTAINER_CREATING, message.clone(), secret.clone()))
            }
            None => env_failure.map(|(message, secret)| (REASON_CONFIG_ERROR, message, secret)),
        };
        let state = match failure {
            None => ContainerStartup {
                name,
                state: STATE_RUNNING.to_string(),
                reason: String::new(),
                message: String::new(),
                secret: None,
            },
            Some((reason, message, secret)) => {
                out.startup.starts = false;
                ContainerStartup {
                    name,
                    state: STATE_WAITING.to_string(),
                    reason: reason.to_string(),
                    message,
                    secret: Some(secret),
                }
            }
        };
        out.startup.containers.push(state);
    }
    out
}

/// A container's variables in order, names possibly repeated.
struct Resolved {
    vars: Vec<EnvVar>,
    /// When the expansions are collected, beside each variable the field of a
    /// literal the kubelet may expand; empty otherwise.
    fields: Vec<Option<String>>,
    /// The kubelet stops at the first error: (message, secret).
    failure: Option<(String, String)>,
}

fn resolve_container(
    container: &Container,
    env: Vec<EnvEntry>,
    catalog: &Catalog,
    env_names: EnvNameValidation,
    is_sensitive: &dyn Fn(&str) -> bool,
    collect_fields: bool,
    warnings: &mut Vec<Warning>,
) -> Resolved {
    let mut vars: Vec<EnvVar> = Vec::with_capacity(env.len());
    let mut fields: Vec<Option<String>> = Vec::new();
    // The kubelet stops at the first error: (message, secret).
    let mut failure: Option<(String, String)> = None;
    let mut fail = |message: String, secret: &str| {
        failure.get_or_insert_with(|| (message, secret.to_string()));
    };
    for from in &container.env_from {
        let Some(secret) = catalog.get(&from.secret) else {
            if !from.optional {
                fail(not_found(&from.secret), &from.secret);
            }
            continue;
        };
        let mut skipped = Vec::new();
        for key in &secret.keys {
            let name = format!("{}{key}", from.prefix);
            if !env_names.is_valid(&name) {
                skipped.push(name);
                continue;
            }
            let source = EnvSource::Secret {
                name: from.secret.clone(),
                key: key.clone(),
                optional: from.optional,
            };
            vars.push(EnvVar {
                name,
                source,
                origin: None,
            });
            if collect_fields {
                fields.push(None);
            }
        }
        if !skipped.is_empty() {
            warnings.push(Warning {
                code: "InvalidEnvironmentVariableNames".to_string(),
                field: from.field.clone(),
                message: format!(
                    "Keys [{}] from the EnvFrom secret {}/{} were skipped since they are considered invalid environment variable names.",
                    skipped.join(", "),
                    catalog.namespace,
                    from.secret
                ),
                secret: Some(from.secret.clone()),
                ..Warning::default()
            });
        }
    }
    for entry in env.into_iter().filter(|e| !e.excluded) {
        let field = match &entry.value {
            EnvValue::Literal { value, .. }
                if collect_fields && expansion::has_references(value) =>
            {
                Some(entry.value_field())
            }
            _ => None,
        };
        let source = match entry.value {
            EnvValue::Unset => continue,
            EnvValue::Literal { value, .. } if is_sensitive(&entry.name) && !value.is_empty() => {
                EnvSource::Literal(REDACTED.to_string())
            }
            EnvValue::Literal { value, .. } => EnvSource::Literal(value),
            // Admission rejects these; for the pod they would be plain text. Never echo
            // them: a malformed reference may hold a pasted credential.
            EnvValue::Malformed { .. } => EnvSource::Literal(REDACTED.to_string()),
            EnvValue::Secret(r) => {
                let problem = match catalog.get(&r.name) {
                    None => Some(not_found(&r.name)),
                    Some(s) if !s.has_key(&r.key) => Some(format!(
                        "couldn't find key {} in Secret {}/{}",
                        r.key, catalog.namespace, r.name
                    )),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    // A missing optional reference leaves the variable unset.
                    if r.optional {
                        continue;
                    }
                    fail(problem, &r.name);
                }
                EnvSource::Secret {
                    name: r.name,
                    key: r.key,
                    optional: r.optional,
                }
            }
            EnvValue::ConfigMap { name, key } => EnvSource::ConfigMap { name, key },
            EnvValue::FieldRef(path) => EnvSource::FieldRef(path),
            EnvValue::UserCredential { name, key } => EnvSource::UserCredential { name, key },
        };
        vars.push(EnvVar {
            name: entry.name,
            source,
            origin: entry.origin,
        });
        if collect_fields {
            fields.push(field);
        }
    }
    Resolved {
        vars,
        fields,
        failure,
    }
}

/// Where a container's expansions go besides the environment.
struct Expansions<'a> {
    container: usize,
    collect: bool,
    shown_budget: &'a mut usize,
    texts: &'a mut Vec<ExpandedText>,
}

/// `$(VAR)` expansion of the container's literals, in order (each sees the variables
/// defined before it, the last definition of a name winning), then of its
/// `command`/`args` with the whole environment. Literals that expand become
/// `Expanded`; the `command`/`args` items a secret reaches are returned. `fields`
/// stands beside `vars` (`Resolved::fields`).
fn expand_container(
    vars: &mut [EnvVar],
    fields: &[Option<String>],
    args: &[Arg],
    x: &mut Expansions,
) -> Vec<SecretInArg> {
    let mut defined: by_name::Map<String, expansion::Shown> =
        by_name::map_with_capacity(vars.len());
    for (i, var) in vars.iter_mut().enumerate() {
        let shown = match &var.source {
            EnvSource::Literal(value) if expansion::has_references(value) => {
                let e = expansion::expand(value, |n| defined.get(n));
                if e.substituted {
                    if x.collect
                        && let Some(Some(field)) = fields.get(i)
                    {
                        x.texts.push(ExpandedText {
                            field: field.clone(),
                            var: Some((x.container, var.name.clone())),
                            text: e.text.clone(),
                        });
                    }
                    let shown = if e.text.len() <= *x.shown_budget {
                        *x.shown_budget -= e.text.len();
                        e.text.clone()
                    } else {
                        *x.shown_budget = 0;
                        SHOWN_PAST_BUDGET.to_string()
                    };
                    var.source = EnvSource::Expanded(shown);
                }
                expansion::Shown {
                    text: e.text,
                    secrets: e.secrets,
                }
            }
            EnvSource::Literal(value) | EnvSource::Expanded(value) => expansion::Shown {
                text: value.clone(),
                secrets: Vec::new(),
            },
            EnvSource::Secret { name, key, .. } => expansion::Shown {
                text: format!("<secret {name}/{key}>"),
                secrets: vec![name.clone()],
            },
            EnvSource::ConfigMap { name, key } => expansion::Shown {
                text: format!("<configMap {name}/{key}>"),
                secrets: Vec::new(),
            },
            EnvSource::FieldRef(path) => expansion::Shown {
                text: format!("<field {path}>"),
                secrets: Vec::new(),
            },
            EnvSource::UserCredential { name, key } => expansion::Shown {
                text: format!("<user credential {name}/{key}>"),
                secrets: vec![name.clone()],
            },
        };
        defined.insert(var.name.clone(), shown);
    }
    args.iter()
        .filter(|a| expansion::has_references(&a.value))
        .filter_map(|a| {
            let e = expansion::expand(&a.value, |n| defined.get(n));
            if x.collect && e.substituted {
                x.texts.push(ExpandedText {
                    field: a.field.clone(),
                    var: None,
                    text: e.text.clone(),
                });
            }
            (!e.secrets.is_empty()).then(|| SecretInArg {
                field: a.field.clone(),
                secrets: e.secrets,
            })
        })
        .collect()
}

/// Per pod, the first secret volume the kubelet could not mount: (message, secret).
fn mount_failures(
    secret_uses: &[SecretUse],
    containers: &[Container],
    catalog: &Catalog,
) -> Vec<Option<(String, String)>> {
    let pods = containers.iter().map(|c| c.pod + 1).max().unwrap_or(0);
    let mut failures = vec![None; pods];
    for u in secret_uses {
        if let Some(slot) = failures.get_mut(u.pod)
            && slot.is_none()
        {
            *slot = mount_failure(u, catalog);
        }
    }
    failures
}

fn mount_failure(u: &SecretUse, catalog: &Catalog) -> Option<(String, String)> {
    let UseKind::Volume(volume) = &u.kind else {
        return None;
    };
    if u.optional {
        return None;
    }
    let problem = match catalog.get(&u.secret) {
        None => not_found(&u.secret),
        Some(s) => {
            let (key, _) = u.keys.iter().find(|(k, _)| !s.has_key(k))?;
            format!("references non-existent secret key: {key}")
        }
    };
    Some((
        format!("MountVolume.SetUp failed for volume \"{volume}\" : {problem}"),
        u.secret.clone(),
    ))
}

fn not_found(secret: &str) -> String {
    format!("secret \"{secret}\" not found")
}

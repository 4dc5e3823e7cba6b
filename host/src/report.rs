//! Rendering outcomes: the JSON shape scripts and suites depend on, YAML of the
//! same, and a readable text form. Exit codes per SPEC §7.

use crate::documents::Skipped;
use crate::plugin::{EnvSource, WorkloadForm};
use crate::simulate::{Outcome, Reported, SECRET_NOT_FOUND};
use crate::text::{shown, shown_max};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;

/// Characters of a message the text form shows (the plugin bounds the names in it).
const MESSAGE_CHARS: usize = 2000;

pub const EXIT_ADMITTED: u8 = 0;
pub const EXIT_REJECTED: u8 = 1;
pub const EXIT_INPUT_ERROR: u8 = 2;
pub const EXIT_WOULD_NOT_START: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

#[derive(Serialize)]
pub struct Report {
    pub workload: WorkloadOut,
    pub allowed: bool,
    pub violations: Vec<ViolationOut>,
    pub warnings: Vec<WarningOut>,
    pub patch: serde_json::Value,
    pub env: Vec<EnvOut>,
    pub startup: StartupOut,
}

#[derive(Serialize)]
pub struct WorkloadOut {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub project: Option<String>,
    pub form: &'static str,
    pub file: String,
}

#[derive(Serialize)]
pub struct ViolationOut {
    pub code: String,
    pub field: String,
    pub message: String,
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Serialize)]
pub struct WarningOut {
    pub code: String,
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Serialize)]
pub struct EnvOut {
    pub container: String,
    pub name: String,
    pub source: SourceOut,
    /// The literal value (redacted for sensitive names); only for literals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `workload`, or `policy <kind> <namespace>/<name>` for an injected default.
    pub origin: String,
}

/// How reports name a variable the workload set itself.
pub const ORIGIN_WORKLOAD: &str = "workload";

/// Where a variable comes from, as reports and suites word it: `workload`, or
/// `policy <kind> <namespace>/<name>` for a default a policy injected.
pub fn origin_text(origin: Option<&str>) -> String {
    match origin {
        Some(policy) => format!("policy {policy}"),
        None => ORIGIN_WORKLOAD.to_string(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceOut {
    Literal(bool),
    /// A literal with `$(VAR)` references, as the kubelet expands it (`value`).
    Expanded(bool),
    Secret {
        name: String,
        key: String,
        optional: bool,
    },
    ConfigMap {
        name: String,
        key: String,
    },
    FieldRef {
        path: String,
    },
    UserCredential {
        name: String,
        key: String,
    },
}

#[derive(Serialize)]
pub struct StartupOut {
    pub starts: bool,
    pub containers: Vec<ContainerOut>,
}

#[derive(Serialize)]
pub struct ContainerOut {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn form_name(form: WorkloadForm) -> &'static str {
    match form {
        WorkloadForm::RunaiCrd => "runai-crd",
        WorkloadForm::RunaiApi => "runai-api",
        WorkloadForm::Kubernetes => "kubernetes",
    }
}

impl Report {
    pub fn from_outcome(o: &Outcome) -> Result<Self> {
        let d = &o.decision;
        let patch = serde_json::from_str(&d.patch).map_err(|e| {
            anyhow::anyhow!(
                "{}: the plugin returned a patch that is not JSON: {e}",
                o.source
            )
        })?;
        let hint = |code: &str, secret: &Option<String>| {
            (code == SECRET_NOT_FOUND)
                .then(|| secret.as_ref().and_then(|s| o.hints.get(s)).cloned())
                .flatten()
        };
        Ok(Report {
            workload: WorkloadOut {
                kind: d.workload.kind.clone(),
                name: d.workload.name.clone(),
                namespace: o.namespace.clone(),
                project: o.project.clone(),
                form: form_name(d.workload.form),
                file: o.source.clone(),
            },
            allowed: d.allowed,
            violations: d
                .violations
                .iter()
                .map(|v| ViolationOut {
                    code: v.code.clone(),
                    field: v.field.clone(),
                    message: v.message.clone(),
                    policy: v.policy.clone(),
                    hint: hint(&v.code, &v.secret),
                })
                .collect(),
            warnings: d
                .warnings
                .iter()
                .map(|w| WarningOut {
                    code: w.code.clone(),
                    field: w.field.clone(),
                    message: w.message.clone(),
                    hint: hint(&w.code, &w.secret),
                })
                .collect(),
            patch,
            env: d
                .env
                .iter()
                .flat_map(|c| c.vars.iter().map(move |e| (&c.container, e)))
                .map(|(container, e)| {
                    let (source, value) = match &e.source {
                        EnvSource::Literal(v) => (SourceOut::Literal(true), Some(v.clone())),
                        EnvSource::Secret(r) => (
                            SourceOut::Secret {
                                name: r.name.clone(),
                                key: r.key.clone(),
                                optional: r.optional,
                            },
                            None,
                        ),
                        EnvSource::ConfigMap(r) => (
                            SourceOut::ConfigMap {
                                name: r.name.clone(),
                                key: r.key.clone(),
                            },
                            None,
                        ),
                        EnvSource::FieldRef(p) => (SourceOut::FieldRef { path: p.clone() }, None),
                        EnvSource::Expanded(v) => (SourceOut::Expanded(true), Some(v.clone())),
                        EnvSource::UserCredential(r) => (
                            SourceOut::UserCredential {
                                name: r.name.clone(),
                                key: r.key.clone(),
                            },
                            None,
                        ),
                    };
                    EnvOut {
                        container: container.clone(),
                        name: e.name.clone(),
                        source,
                        value,
                        origin: origin_text(e.origin.as_deref()),
                    }
                })
                .collect(),
            startup: StartupOut {
                starts: d.startup.starts,
                containers: d
                    .startup
                    .containers
                    .iter()
                    .map(|c| ContainerOut {
                        name: c.name.clone(),
                        state: c.state.clone(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                        hint: c.secret.as_ref().and_then(|s| o.hints.get(s)).cloned(),
                    })
                    .collect(),
            },
        })
    }
}

/// 1 when any workload is rejected, else 3 when any would not start, else 0.
/// Skipped documents change nothing.
pub fn exit_code<'a>(outcomes: impl IntoIterator<Item = &'a Outcome> + Clone) -> u8 {
    if outcomes.clone().into_iter().any(|o| !o.decision.allowed) {
        EXIT_REJECTED
    } else if outcomes.into_iter().any(|o| !o.decision.startup.starts) {
        EXIT_WOULD_NOT_START
    } else {
        EXIT_ADMITTED
    }
}

/// One element of the JSON and YAML output: a decision, or a skipped document.
#[derive(Serialize)]
#[serde(untagged)]
enum Element<'a> {
    Evaluated(Box<Report>),
    Skipped { skipped: &'a Skipped },
}

pub fn render(reported: &[Reported], format: Format) -> Result<String> {
    let elements = reported
        .iter()
        .map(|r| match r {
            Reported::Evaluated(o) => {
                Report::from_outcome(o).map(|r| Element::Evaluated(Box::new(r)))
            }
            Reported::Skipped(skipped) => Ok(Element::Skipped { skipped }),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(&elements)? + "\n",
        // Through a JSON value, so enums stay maps (`secret: {...}`) rather than YAML tags.
        Format::Yaml => serde_yaml_ng::to_string(&serde_json::to_value(&elements)?)?,
        Format::Text => elements
            .iter()
            .map(|e| match e {
                Element::Evaluated(r) => text(r),
                Element::Skipped { skipped } => skipped_text(skipped),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// `Service web (deploy.yaml#1)` and why it was not evaluated.
fn skipped_text(s: &Skipped) -> String {
    format!(
        "{} ({})\n  SKIPPED: {}\n",
        shown(&crate::documents::describe(s)),
        shown_max(&s.file, MESSAGE_CHARS),
        shown_max(&s.reason, MESSAGE_CHARS)
    )
}

/// The text form. Every string that came from an input or from the plugin is shown
/// through `text::shown` (names) or `text::shown_max` (messages): a name holding an
/// escape sequence or a newline cannot forge a line such as `ADMITTED`.
fn text(r: &Report) -> String {
    let n = |s: &str| shown(s).into_owned();
    let m = |s: &str| shown_max(s, MESSAGE_CHARS).into_owned();
    let at = |field: &str| {
        if field.is_empty() {
            String::new()
        } else {
            format!(" at {}", m(field))
        }
    };
    let mut s = String::new();
    let w = &r.workload;
    let project = w
        .project
        .as_deref()
        .map(|p| format!(", project {}", n(p)))
        .unwrap_or_default();
    // A workload that failed closed before it was placed has no namespace.
    let place = if w.namespace.is_empty() {
        n(&w.name)
    } else {
        format!("{}/{}", n(&w.namespace), n(&w.name))
    };
    let _ = writeln!(s, "{} {place} ({}{project})", n(&w.kind), m(&w.file));
    let verdict = match (r.allowed, r.startup.starts) {
        (false, _) => "REJECTED",
        (true, true) => "ADMITTED, would start",
        (true, false) => "ADMITTED, but would NOT start",
    };
    let _ = writeln!(s, "  {verdict}");
    if !r.violations.is_empty() {
        let _ = writeln!(s, "  violations:");
        for v in &r.violations {
            let by = if v.policy.is_empty() {
                "built-in check".to_string()
            } else {
                n(&v.policy)
            };
            let _ = writeln!(
                s,
                "    x {}{}\n      {}\n      ({by})",
                n(&v.code),
                at(&v.field),
                m(&v.message)
            );
            if let Some(h) = &v.hint {
                let _ = writeln!(s, "      hint: {}", m(h));
            }
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "  warnings:");
        for v in &r.warnings {
            let _ = writeln!(
                s,
                "    ! {}{}\n      {}",
                n(&v.code),
                at(&v.field),
                m(&v.message)
            );
            if let Some(h) = &v.hint {
                let _ = writeln!(s, "      hint: {}", m(h));
            }
        }
    }
    let mut container = None;
    for e in &r.env {
        if container != Some(&e.container) {
            let _ = writeln!(s, "  env of container {}:", n(&e.container));
            container = Some(&e.container);
        }
        let source = match (&e.source, &e.value) {
            (SourceOut::Literal(_), Some(v)) => format!("= \"{}\"", m(v).replace('"', "\\\"")),
            (SourceOut::Literal(_), None) => "= (literal)".to_string(),
            (SourceOut::Expanded(_), v) => format!(
                "= \"{}\" (expanded)",
                m(v.as_deref().unwrap_or_default()).replace('"', "\\\"")
            ),
            (
                SourceOut::Secret {
                    name,
                    key,
                    optional,
                },
                _,
            ) => {
                format!(
                    "<- secret {}, key {}{}",
                    n(name),
                    n(key),
                    if *optional { " (optional)" } else { "" }
                )
            }
            (SourceOut::ConfigMap { name, key }, _) => {
                format!("<- configMap {}, key {}", n(name), n(key))
            }
            (SourceOut::FieldRef { path }, _) => format!("<- field {}", n(path)),
            (SourceOut::UserCredential { name, key }, _) => {
                format!("<- user credential {}, key {}", n(name), n(key))
            }
        };
        let origin = if e.origin == ORIGIN_WORKLOAD {
            String::new()
        } else {
            format!("  [{}]", n(&e.origin))
        };
        let _ = writeln!(s, "    {} {source}{origin}", n(&e.name));
    }
    if let Some(ops) = r.patch.as_array().filter(|ops| !ops.is_empty()) {
        let _ = writeln!(s, "  patch (policy defaults, RFC 6902):");
        for op in ops {
            let _ = writeln!(
                s,
                "    {} {} {}",
                n(op["op"].as_str().unwrap_or("?")),
                m(op["path"].as_str().unwrap_or("?")),
                op.get("value")
                    .map(|v| m(&v.to_string()))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(s, "  start-up:");
    for c in &r.startup.containers {
        if c.reason.is_empty() {
            let _ = writeln!(s, "    {}: {}", n(&c.name), n(&c.state));
        } else {
            let _ = writeln!(
                s,
                "    {}: {} {}: {}",
                n(&c.name),
                n(&c.state),
                n(&c.reason),
                m(&c.message)
            );
        }
        if let Some(h) = &c.hint {
            let _ = writeln!(s, "      hint: {}", m(h));
        }
    }
    s
}

//! The one `evaluate` behind every endpoint: a job goes to the worker pool, which
//! places the workload in the current cluster view and calls the plugin through
//! `simulate::evaluate`, the path `simulate` and `host test` take. Also
//! `POST /v1/evaluate`, which answers with the decision object of `simulate -o json`.

use super::metrics::Record;
use super::view::Freshness;
use super::workers::PoolError;
use super::{Gateway, Reply};
use crate::plugin::{Decision, Startup, WorkloadForm, WorkloadId};
use crate::report::Report;
use crate::simulate::{self, Evaluation, Outcome, Placed, PlacementError, Refusal, Request};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What evaluates workloads: the plugin, the same logic compiled natively, or
/// nothing (`native` and `none` are for the load test: what the sandbox costs, and
/// the floor of HTTP, TLS and JSON without any evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvaluatorKind {
    Plugin,
    Native,
    None,
}

/// One workload to evaluate.
pub struct Job {
    pub workload: String,
    /// The namespace of the request, when the document names none.
    pub namespace: Option<String>,
    pub workload_type: Option<String>,
    pub with_env: bool,
    /// Who the workload is if the plugin cannot say (it failed before identifying).
    pub fallback: WorkloadId,
    /// Names the document in reports (`file` of the decision object).
    pub source: String,
}

pub enum Answer {
    Decided(Outcome),
    /// The workload cannot be evaluated (unreadable, or placed nowhere); the message
    /// names nothing of other tenants.
    Refused {
        field: String,
        message: String,
    },
    /// The workload's namespace is not in the cluster view: not evaluated.
    NotInView {
        namespace: String,
    },
    /// No decision: the plugin failed, the gateway was overloaded or erred. The
    /// failure policy decides.
    Failed {
        reason: &'static str,
        message: String,
        workload: WorkloadId,
        namespace: String,
    },
}

pub const OVERLOADED: &str = "gateway-overloaded";
pub const GATEWAY_ERROR: &str = "gateway-error";
/// A live cluster view that has not been listed yet since the start.
pub const VIEW_NOT_SYNCED: &str = "cluster-view-not-synced";
/// A live cluster view that has lagged the cluster for longer than its bound.
pub const VIEW_STALE: &str = "cluster-view-stale";

/// Evaluates a job; the duration covers the queue and the evaluation.
pub async fn evaluate(gw: &Arc<Gateway>, job: Job) -> (Answer, Duration) {
    let started = Instant::now();
    if gw.evaluator == EvaluatorKind::None {
        return (
            Answer::Decided(admitted_unevaluated(job)),
            started.elapsed(),
        );
    }
    let fallback = job.fallback.clone();
    let namespace = job.namespace.clone().unwrap_or_default();
    let worker_gw = gw.clone();
    // Namespaces take turns for the workers (a request without one, a REST API
    // request, is placed by the plugin: those share one lane).
    let lane = namespace.clone();
    let result = gw.pool.run(&lane, move || run(&worker_gw, job)).await;
    let answer = match result {
        Ok(answer) => answer,
        Err(PoolError::Overloaded) => Answer::Failed {
            reason: OVERLOADED,
            message: format!(
                "the gateway is overloaded: no worker took the evaluation within {} ms",
                gw.queue_timeout.as_millis()
            ),
            workload: fallback,
            namespace,
        },
        Err(PoolError::Panicked) => Answer::Failed {
            reason: GATEWAY_ERROR,
            message: "the gateway failed while evaluating (an internal error; see its log)"
                .to_string(),
            workload: fallback,
            namespace,
        },
    };
    (answer, started.elapsed())
}

/// On a worker: the current view, then the shared evaluation path.
fn run(gw: &Gateway, job: Job) -> Answer {
    let view = gw.views.current();
    let unfit = match gw.views.freshness(&view) {
        Freshness::Current(_) => None,
        Freshness::NotSynced => Some((
            VIEW_NOT_SYNCED,
            "the gateway's view of the cluster has not been synced with the API server yet"
                .to_string(),
        )),
        Freshness::Stale(age) => Some((
            VIEW_STALE,
            format!(
                "the gateway's view of the cluster has not followed the API server for {age:.0} s \
                 (more than its bound of {} s)",
                gw.views.max_staleness().as_secs()
            ),
        )),
    };
    if let Some((reason, message)) = unfit {
        return Answer::Failed {
            reason,
            message,
            workload: job.fallback,
            namespace: job.namespace.unwrap_or_default(),
        };
    }
    let cluster = &view.cluster;
    let request = Request {
        workload: job.workload,
        namespace: job.namespace.as_deref(),
        project: None,
        workload_type: job.workload_type.as_deref(),
        with_env: job.with_env,
        with_references: false,
    };
    let evaluator: &dyn simulate::Evaluator = match gw.evaluator {
        EvaluatorKind::Native => &crate::bench::native::Native,
        _ => gw.plugin.as_ref(),
    };
    match simulate::evaluate(evaluator, cluster, request) {
        Ok(Ok(Evaluation::Decided { placed, decision })) => {
            let hints = if gw.hints {
                simulate::hints_for(cluster, &placed.namespace, &decision)
            } else {
                BTreeMap::new()
            };
            Answer::Decided(Outcome {
                source: job.source,
                namespace: placed.namespace,
                project: placed.project,
                decision: *decision,
                hints,
            })
        }
        Ok(Ok(Evaluation::Failed { placed, failure })) => {
            let (workload, namespace) = match placed {
                Some(Placed { id, namespace, .. }) => (id, namespace),
                None => (job.fallback, job.namespace.unwrap_or_default()),
            };
            Answer::Failed {
                reason: failure.code,
                message: failure.message,
                workload,
                namespace,
            }
        }
        Ok(Err(Refusal::Input(e))) => Answer::Refused {
            field: e.field,
            message: e.message,
        },
        Ok(Err(Refusal::Placement(PlacementError::UnknownNamespace { namespace }))) => {
            Answer::NotInView { namespace }
        }
        Ok(Err(Refusal::Placement(e))) => Answer::Refused {
            field: String::new(),
            message: e.describe_for_tenant(job.namespace.as_deref()),
        },
        Err(e) => {
            // The host's own error (e.g. no instance could be made): logged here in
            // full, answered without detail.
            tracing::error!(error = %format!("{e:#}"), "evaluation failed in the gateway");
            Answer::Failed {
                reason: GATEWAY_ERROR,
                message: "the gateway failed while evaluating (an internal error; see its log)"
                    .to_string(),
                workload: job.fallback,
                namespace: job.namespace.unwrap_or_default(),
            }
        }
    }
}

/// `--evaluator none`: the answer an evaluation that admits would give.
fn admitted_unevaluated(job: Job) -> Outcome {
    Outcome {
        source: job.source,
        namespace: job.namespace.unwrap_or_default(),
        project: None,
        decision: Decision {
            workload: job.fallback,
            allowed: true,
            violations: Vec::new(),
            warnings: Vec::new(),
            patch: "[]".to_string(),
            env: Vec::new(),
            startup: Startup {
                starts: true,
                containers: Vec::new(),
            },
            references: Vec::new(),
        },
        hints: BTreeMap::new(),
    }
}

/// The codes of a decision's violations, for the log and the metrics.
pub fn violation_codes(decision: &Decision) -> Vec<String> {
    decision.violations.iter().map(|v| v.code.clone()).collect()
}

pub fn warning_codes(decision: &Decision) -> Vec<String> {
    decision.warnings.iter().map(|w| w.code.clone()).collect()
}

/// `POST /v1/evaluate[?type=training|workspace|distributed|inference]`: a workload of
/// any form (JSON) in, the decision object of `host simulate -o json` out. Literal
/// values are left out of the resolved environment: answers never carry them.
pub async fn handle(gw: &Arc<Gateway>, query: Option<&str>, body: &[u8]) -> (Reply, Record) {
    const ENDPOINT: &str = "/v1/evaluate";
    let workload_type = match workload_type(query) {
        Ok(t) => t,
        Err(message) => return invalid(ENDPOINT, 400, message),
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return invalid(
            ENDPOINT,
            400,
            "the body is not UTF-8 text: expected a JSON workload",
        );
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return invalid(
            ENDPOINT,
            400,
            "the body is not JSON: expected a workload (any form of SPEC §3) as JSON",
        );
    }
    let job = Job {
        workload: text.to_string(),
        namespace: None,
        workload_type,
        with_env: true,
        fallback: unknown_workload(),
        source: "request".to_string(),
    };
    let (answer, elapsed) = evaluate(gw, job).await;
    let mut record = Record::new(ENDPOINT, "allowed", 200);
    record.evaluation = Some(elapsed);
    let outcome = match answer {
        Answer::Decided(outcome) => outcome,
        Answer::Refused { field, message } => {
            let message = if field.is_empty() {
                message
            } else {
                format!("`{field}`: {message}")
            };
            log(None, "invalid", &[]);
            return invalid(ENDPOINT, 422, &message);
        }
        Answer::NotInView { namespace } => {
            log(Some(&namespace), "invalid", &[]);
            return invalid(
                ENDPOINT,
                422,
                &format!("namespace `{namespace}` is not a namespace the gateway knows"),
            );
        }
        Answer::Failed {
            reason,
            message,
            workload,
            namespace,
        } => {
            let admit = gw.failure_policy.admits();
            record.failure = Some((reason, if admit { "admitted" } else { "rejected" }));
            Outcome {
                source: "request".to_string(),
                decision: simulate::undecided(
                    workload,
                    reason,
                    gw.failure_policy.explain(&message),
                    admit,
                ),
                namespace,
                project: None,
                hints: BTreeMap::new(),
            }
        }
    };
    let codes = violation_codes(&outcome.decision);
    let verdict = if outcome.decision.allowed {
        "allowed"
    } else {
        "rejected"
    };
    log(Some(&outcome.namespace), verdict, &codes);
    record.verdict = verdict;
    record.violations = codes;
    record.warnings = warning_codes(&outcome.decision);
    let report = match Report::from_outcome(&outcome) {
        Ok(mut report) => {
            for var in &mut report.env {
                var.value = None;
            }
            report
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot render a decision");
            return error(ENDPOINT);
        }
    };
    match serde_json::to_vec(&report) {
        Ok(json) => (Reply::json(200, json), record),
        Err(_) => error(ENDPOINT),
    }
}

fn log(namespace: Option<&str>, verdict: &str, codes: &[String]) {
    tracing::info!(
        endpoint = "/v1/evaluate",
        namespace = %guest::shown::shown(namespace.unwrap_or("")),
        verdict,
        codes = %codes.join(","),
        "decision"
    );
}

fn workload_type(query: Option<&str>) -> Result<Option<String>, &'static str> {
    const TYPES: [&str; 4] = ["training", "workspace", "distributed", "inference"];
    let mut found = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("type", t)) if TYPES.contains(&t) => found = Some(t.to_string()),
            _ => {
                return Err(
                    "unknown query: expected nothing, or `type=training|workspace|distributed|inference`",
                );
            }
        }
    }
    Ok(found)
}

fn unknown_workload() -> WorkloadId {
    WorkloadId {
        form: WorkloadForm::Kubernetes,
        kind: "unknown".to_string(),
        name: "unknown".to_string(),
        namespace: None,
        project: None,
        workload_type: None,
    }
}

fn invalid(endpoint: &'static str, code: u16, message: &str) -> (Reply, Record) {
    (
        Reply::error(code, message),
        Record::new(endpoint, "invalid", code),
    )
}

fn error(endpoint: &'static str) -> (Reply, Record) {
    (
        Reply::error(
            500,
            "the gateway failed to answer (an internal error; see its log)",
        ),
        Record::new(endpoint, "error", 500),
    )
}

#[cfg(test)]
mod tests {
    use super::workload_type;

    #[test]
    fn the_query_names_a_workload_type_or_nothing() {
        type Expected<'a> = Result<Option<&'a str>, ()>;
        let cases: [(Option<&str>, Expected); 6] = [
            (None, Ok(None)),
            (Some(""), Ok(None)),
            (Some("type=workspace"), Ok(Some("workspace"))),
            (Some("type=pods"), Err(())),
            (Some("other=1"), Err(())),
            (Some("type"), Err(())),
        ];
        for (query, expected) in cases {
            let got = workload_type(query);
            assert_eq!(
                got.as_ref().map(|t| t.as_deref()).map_err(|_| ()),
                expected,
                "{query:?}"
            );
        }
    }
}

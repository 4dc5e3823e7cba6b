//! `POST /validate` and `POST /mutate`: an `admission.k8s.io/v1` AdmissionReview in
//! (kube-core's types), one out. The mode and mutation rules live in `respond`, the
//! one place that turns an evaluation into an AdmissionResponse for either endpoint.

use super::evaluate::{self, Answer, Job};
use super::metrics::Record;
use super::objects::{self, Checked, Watched};
use super::{Gateway, Reply};
use crate::plugin::{Decision, WorkloadForm, WorkloadId};
use base64::Engine as _;
use guest::shown::shown;
use kube_core::DynamicObject;
use kube_core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube_core::gvk::GroupVersionKind;
use kube_core::response::Status;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Validate,
    Mutate,
}

impl Mode {
    fn endpoint(self) -> &'static str {
        match self {
            Mode::Validate => "/validate",
            Mode::Mutate => "/mutate",
        }
    }
}

/// What the API server keeps of a warning, and of all of them together.
pub const WARNING_CHARS: usize = 120;
pub const WARNINGS_BYTES: usize = 4096;
/// A rejection's message lists every violation up to this size.
pub const MESSAGE_BYTES: usize = 8192;

const EXPECTED: &str = "expected an admission.k8s.io/v1 AdmissionReview with `request`";

pub async fn handle(gw: &Arc<Gateway>, mode: Mode, body: &[u8]) -> (Reply, Record) {
    let endpoint = mode.endpoint();
    let invalid = |message: String| {
        (
            Reply::error(400, &message),
            Record::new(endpoint, "invalid", 400),
        )
    };
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(_) => return invalid(format!("{EXPECTED}: {}", parse_error(body))),
    };
    let api_version_ok = review.types.api_version == kube_core::admission::META_API_VERSION_V1;
    let kind_ok = review.types.kind == kube_core::admission::META_KIND;
    if !(api_version_ok && kind_ok) {
        // Both are the body's strings: say which is wrong, not what it holds.
        let wrong = match (api_version_ok, kind_ok) {
            (false, false) => "apiVersion and kind are not",
            (false, true) => "apiVersion is not",
            _ => "kind is not",
        };
        return invalid(format!(
            "{EXPECTED}: its {wrong} `{}` and `{}`",
            kube_core::admission::META_API_VERSION_V1,
            kube_core::admission::META_KIND
        ));
    }
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(_) => return invalid(format!("{EXPECTED}: `request` is missing")),
    };
    let mut response = AdmissionResponse::from(&request);
    let mut record = Record::new(endpoint, "allowed", 200);
    if let Some(watched) = checked_object(mode, &request) {
        let (object, taken) = if watched == Watched::Secret {
            // A Secret's values are in the review: only its key names are read.
            match super::removal::taken(&request) {
                Some(taken) => (Value::Null, taken),
                None => {
                    log(&request, mode, "allowed", "");
                    return answered(endpoint, response, record);
                }
            }
        } else {
            match request
                .object
                .as_ref()
                .and_then(|o| serde_json::to_value(o).ok())
            {
                Some(object) => (object, Default::default()),
                None => return invalid(format!("{EXPECTED}: `request.object` is missing")),
            }
        };
        let checked = objects::check(gw, watched, request.namespace.clone(), object, taken).await;
        response = respond_checked(gw, response, checked, &mut record);
        // A Secret removal admitted with a warning is logged with its code, as before.
        let codes = match record.failure {
            Some((reason, _)) => reason.to_string(),
            None => [record.violations.as_slice(), &record.warnings]
                .concat()
                .join(","),
        };
        log(&request, mode, record.verdict, &codes);
        return answered(endpoint, response, record);
    }
    match skip_reason(&request) {
        Some(reason) => {
            record.verdict = "skipped";
            record.skipped = Some(reason);
            log(&request, mode, "skipped", reason);
        }
        None => {
            let Some(object) = &request.object else {
                return invalid(format!("{EXPECTED}: `request.object` is missing"));
            };
            let workload = match serde_json::to_string(object) {
                Ok(json) => json,
                Err(_) => return invalid(format!("{EXPECTED}: `request.object` cannot be read")),
            };
            let job = Job {
                workload,
                namespace: request.namespace.clone(),
                workload_type: None,
                with_env: false,
                fallback: fallback(&request),
                source: format!("admission request {}", request.uid),
            };
            let (answer, elapsed) = evaluate::evaluate(gw, job).await;
            record.evaluation = Some(elapsed);
            response = respond(gw, mode, response, answer, &mut record);
            let codes = match (record.failure, record.skipped) {
                (Some((reason, _)), _) | (None, Some(reason)) => reason.to_string(),
                (None, None) => record.violations.join(","),
            };
            log(&request, mode, record.verdict, &codes);
        }
    }
    match review_json(response) {
        Some(json) => (Reply::json(200, json), record),
        None => (
            Reply::error(500, "the gateway failed to answer (an internal error)"),
            Record::new(endpoint, "error", 500),
        ),
    }
}

/// Why a request is admitted without evaluation, if it is: only CREATE and UPDATE
/// of the workload kinds the plugin reads are evaluated.
pub fn skip_reason(request: &AdmissionRequest<DynamicObject>) -> Option<&'static str> {
    // `pods/ephemeralcontainers` (what `kubectl debug --env` sends) carries the whole
    // Pod with its new ephemeral containers: evaluated like the Pod itself.
    let ephemeral = request.sub_resource.as_deref() == Some("ephemeralcontainers")
        && request.kind.kind == "Pod"
        && request.kind.group.is_empty();
    if !ephemeral
        && request
            .sub_resource
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    {
        return Some("subresource");
    }
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return Some("operation");
    }
    kind_skip_reason(&request.kind)
}

/// The Run:ai workload CRDs, Pods, every pod controller and the pod-template
/// wrappers (Ray, JobSet, LeaderWorkerSet, Kubeflow training jobs), as the plugin
/// lists them.
pub fn evaluated_kind(gvk: &GroupVersionKind) -> bool {
    kind_skip_reason(gvk).is_none()
}

/// Why a kind is admitted unevaluated: not one the plugin reads (`kind`), or a
/// wrapper at a version whose layout the plugin does not know (`api-version`: never
/// read as another version, counted apart so a new CRD version shows in the metrics).
fn kind_skip_reason(gvk: &GroupVersionKind) -> Option<&'static str> {
    if guest::workload::runai_workload_type(&gvk.kind).is_some() {
        return (gvk.group != "run.ai").then_some("kind");
    }
    match guest::workload::templates::pod_kind(&gvk.kind) {
        Some(k) if k.group == gvk.group => (!k.is_builtin()
            && !k.versions.contains(&gvk.version.as_str()))
        .then_some("api-version"),
        _ => Some("kind"),
    }
}

fn answered(
    endpoint: &'static str,
    response: AdmissionResponse,
    record: Record,
) -> (Reply, Record) {
    match review_json(response) {
        Some(json) => (Reply::json(200, json), record),
        None => (
            Reply::error(500, "the gateway failed to answer (an internal error)"),
            Record::new(endpoint, "error", 500),
        ),
    }
}

/// A policy or Namespace (CREATE, UPDATE) or a Secret (UPDATE, DELETE) on `/validate`,
/// without a subresource: checked as an object the view reads, not evaluated as a
/// workload.
fn checked_object(mode: Mode, request: &AdmissionRequest<DynamicObject>) -> Option<Watched> {
    let plain = request.sub_resource.as_deref().is_none_or(str::is_empty);
    let watched = objects::watched_kind(&request.kind)?;
    let operation = match watched {
        Watched::Secret => matches!(request.operation, Operation::Update | Operation::Delete),
        _ => matches!(request.operation, Operation::Create | Operation::Update),
    };
    (mode == Mode::Validate && plain && operation).then_some(watched)
}

/// The answer to a checked object: admitted, refused with the plugin's (or the
/// tenancy check's) message, or the failure policy.
fn respond_checked(
    gw: &Gateway,
    mut response: AdmissionResponse,
    checked: Checked,
    record: &mut Record,
) -> AdmissionResponse {
    match checked {
        Checked::Admitted => {}
        Checked::Warned(lines) => {
            record.warnings = vec!["secret-in-use".to_string()];
            let mut kept = Vec::new();
            let mut bytes = 0;
            for line in lines {
                if bytes + line.len() > WARNINGS_BYTES {
                    break;
                }
                bytes += line.len();
                kept.push(line);
            }
            response.warnings = Some(kept);
        }
        Checked::Refused { codes, message } => {
            record.verdict = "rejected";
            record.violations = codes;
            response.allowed = false;
            response.result =
                Status::failure(&truncate(&message, MESSAGE_BYTES), "Invalid").with_code(422);
        }
        Checked::Failed { reason, message } => {
            let admit = gw.failure_policy.admits();
            record.failure = Some((reason, if admit { "admitted" } else { "rejected" }));
            let message = format!("{reason}: {}", gw.failure_policy.explain(&message));
            if admit {
                response.warnings = Some(vec![truncate(&message, WARNING_CHARS)]);
            } else {
                record.verdict = "rejected";
                response.allowed = false;
                response.result = Status::failure(&message, reason).with_code(500);
            }
        }
    }
    response
}

/// Who the workload is, from the request, for answers the plugin did not make.
fn fallback(request: &AdmissionRequest<DynamicObject>) -> WorkloadId {
    WorkloadId {
        form: if request.kind.group == "run.ai" {
            WorkloadForm::RunaiCrd
        } else {
            WorkloadForm::Kubernetes
        },
        kind: request.kind.kind.clone(),
        name: workload_name(request).to_string(),
        namespace: request.namespace.clone(),
        project: None,
        workload_type: None,
    }
}

/// The one place where an evaluation becomes an answer: the verdict, the status,
/// the warnings, the patch (on `/mutate`, for admitted workloads), and the failure
/// policy when there was no decision.
fn respond(
    gw: &Gateway,
    mode: Mode,
    mut response: AdmissionResponse,
    answer: Answer,
    record: &mut Record,
) -> AdmissionResponse {
    match answer {
        Answer::Decided(outcome) => {
            let d = &outcome.decision;
            record.violations = evaluate::violation_codes(d);
            record.warnings = evaluate::warning_codes(d);
            response.warnings = warnings(d);
            if d.allowed {
                if mode == Mode::Mutate && !patch_is_empty(&d.patch) {
                    response.patch = Some(d.patch.clone().into_bytes());
                }
            } else {
                record.verdict = "rejected";
                response.allowed = false;
                response.result = Status::failure(&rejection(&outcome), "Forbidden").with_code(403);
            }
        }
        Answer::Refused { field, message } => {
            record.verdict = "rejected";
            let at = if field.is_empty() {
                String::new()
            } else {
                format!(" at `{field}`")
            };
            response.allowed = false;
            response.result = Status::failure(
                &format!("the workload cannot be evaluated{at}: {message}"),
                "BadRequest",
            )
            .with_code(400);
        }
        Answer::NotInView { .. } => {
            record.verdict = "skipped";
            record.skipped = Some("namespace-not-in-view");
        }
        Answer::Failed {
            reason, message, ..
        } => {
            let admit = gw.failure_policy.admits();
            record.failure = Some((reason, if admit { "admitted" } else { "rejected" }));
            let message = format!("{reason}: {}", gw.failure_policy.explain(&message));
            if admit {
                response.warnings = Some(vec![truncate(&message, WARNING_CHARS)]);
            } else {
                record.verdict = "rejected";
                response.allowed = false;
                response.result = Status::failure(&message, reason).with_code(500);
            }
        }
    }
    response
}

fn patch_is_empty(patch: &str) -> bool {
    patch
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim()
        .is_empty()
}

/// The status message of a rejection: every violation with its code and field,
/// and the cluster's hints when `--hints cluster` lets them in.
fn rejection(outcome: &crate::simulate::Outcome) -> String {
    let d = &outcome.decision;
    let count = d.violations.len();
    let mut message = format!(
        "rejected by the secrets policy ({count} violation{}):",
        if count == 1 { "" } else { "s" }
    );
    for (i, v) in d.violations.iter().enumerate() {
        let at = if v.field.is_empty() {
            String::new()
        } else {
            format!(" at {}", v.field)
        };
        // One finding cannot crowd out the others: each is cut to a share of the message.
        let mut item = format!(
            " [{}]{at}: {}",
            v.code,
            truncate(&v.message, MESSAGE_BYTES / 8)
        );
        if let Some(hint) = v.secret.as_ref().and_then(|s| outcome.hints.get(s)) {
            item.push_str(&format!(" (hint: {hint})"));
        }
        if i > 0 {
            message.push(';');
        }
        if message.len() + item.len() > MESSAGE_BYTES {
            message.push_str(&format!(" ... and {} more", count - i));
            break;
        }
        message.push_str(&item);
    }
    message
}

/// The decision's warnings and predicted start-up failures, each cut to what the API
/// server keeps, and all of them to its total.
pub fn warnings(d: &Decision) -> Option<Vec<String>> {
    let all: Vec<String> = d
        .warnings
        .iter()
        .map(|w| {
            if w.field.is_empty() {
                format!("{}: {}", w.code, w.message)
            } else {
                format!("{} at {}: {}", w.code, w.field, w.message)
            }
        })
        .chain(
            d.startup
                .containers
                .iter()
                .filter(|c| !c.reason.is_empty())
                .map(|c| {
                    format!(
                        "container {} would not start: {}: {}",
                        c.name, c.reason, c.message
                    )
                }),
        )
        .collect();
    if all.is_empty() {
        return None;
    }
    let mut kept: Vec<String> = Vec::new();
    let mut bytes = 0;
    // Room for the closing "N more" line.
    let budget = WARNINGS_BYTES - 40;
    for (i, w) in all.iter().enumerate() {
        let w = truncate(w, WARNING_CHARS);
        if bytes + w.len() > budget {
            kept.push(format!("... and {} more warnings", all.len() - i));
            break;
        }
        bytes += w.len();
        kept.push(w);
    }
    Some(kept)
}

/// At most `max` characters, the last three `...` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 3).collect();
    cut.push_str("...");
    cut
}

/// The answer as JSON. kube-core writes `patch` as an array of numbers (kube-rs
/// issue 1781), where the API server expects base64 text (Go's `[]byte`) and no
/// `patchType` can be set without its json-patch 4 types: both are set here.
fn review_json(mut response: AdmissionResponse) -> Option<Vec<u8>> {
    let patch = response.patch.take();
    let mut value = serde_json::to_value(response.into_review()).ok()?;
    if let Some(patch) = patch {
        let answer = value.get_mut("response")?.as_object_mut()?;
        answer.insert(
            "patch".into(),
            base64::engine::general_purpose::STANDARD
                .encode(patch)
                .into(),
        );
        answer.insert("patchType".into(), "JSONPatch".into());
    }
    serde_json::to_vec(&value).ok()
}

/// Where the body stops being an AdmissionReview, without quoting it (it may hold
/// credentials): the field path and the kind of error.
fn parse_error(body: &[u8]) -> String {
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, AdmissionReview<DynamicObject>>(de) {
        Ok(_) => "it cannot be read".to_string(),
        Err(e) => {
            let path = field_path(e.path());
            let inner = e.into_inner();
            let what = match inner.classify() {
                serde_json::error::Category::Syntax => "not valid JSON".to_string(),
                serde_json::error::Category::Eof => "the JSON ends early".to_string(),
                serde_json::error::Category::Io => "it cannot be read".to_string(),
                // serde's text may quote the body (`unknown variant `X``, `invalid
                // type: string "X"`): the shared redaction keeps the kind of error only.
                serde_json::error::Category::Data => {
                    let text = guest::shown::redact_serde_message(&inner.to_string());
                    text.split(" at line").next().unwrap_or("").to_string()
                }
            };
            if path == "." || path.is_empty() {
                what
            } else {
                format!("`{path}`: {what}")
            }
        }
    }
}

/// The path to the error without the body's own map keys (labels, annotations, names a
/// client chose): serde_path_to_error gives struct fields and map keys alike, so a
/// segment is kept only when it is shaped like an API field (lowerCamelCase).
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let api_field = |key: &str| {
        key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if api_field(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Map { .. } | Segment::Enum { .. } | Segment::Unknown => out.push_str("[key]"),
        }
    }
    out
}

/// `request.name` is empty on a CREATE whose name the API server generates later.
fn workload_name(request: &AdmissionRequest<DynamicObject>) -> &str {
    match (&request.name, &request.object) {
        (name, _) if !name.is_empty() => name,
        (_, Some(object)) => object.metadata.name.as_deref().unwrap_or(""),
        _ => "",
    }
}

fn log(request: &AdmissionRequest<DynamicObject>, mode: Mode, verdict: &str, codes: &str) {
    tracing::info!(
        endpoint = mode.endpoint(),
        // The client's strings, escaped and bounded: a newline or an ANSI escape in a
        // name (unvalidated on /mutate) must not forge a line of the text log.
        uid = %shown(&request.uid),
        kind = %shown(&request.kind.kind),
        namespace = %shown(request.namespace.as_deref().unwrap_or("")),
        name = %shown(workload_name(request)),
        operation = ?request.operation,
        dry_run = request.dry_run,
        verdict,
        codes,
        "decision"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluated_kinds_are_the_workloads_the_plugin_reads() {
        let cases = [
            ("", "v1", "Pod", None),
            ("batch", "v1", "Job", None),
            ("batch", "v1", "CronJob", None),
            ("apps", "v1", "Deployment", None),
            ("apps", "v1", "StatefulSet", None),
            ("apps", "v1", "DaemonSet", None),
            ("apps", "v1", "ReplicaSet", None),
            ("run.ai", "v2alpha1", "TrainingWorkload", None),
            ("run.ai", "v2alpha1", "InteractiveWorkload", None),
            ("run.ai", "v2alpha1", "DistributedWorkload", None),
            ("run.ai", "v2alpha1", "InferenceWorkload", None),
            ("ray.io", "v1", "RayCluster", None),
            ("ray.io", "v1alpha1", "RayJob", None),
            ("ray.io", "v1", "RayService", None),
            ("ray.io", "v1", "RayCronJob", None),
            ("ray.io", "v1alpha1", "RayCronJob", Some("api-version")),
            ("jobset.x-k8s.io", "v1alpha2", "JobSet", None),
            ("leaderworkerset.x-k8s.io", "v1", "LeaderWorkerSet", None),
            ("kubeflow.org", "v1", "PyTorchJob", None),
            ("kubeflow.org", "v2beta1", "MPIJob", None),
            ("kubeflow.org", "v1", "TFJob", None),
            ("kubeflow.org", "v1", "XGBoostJob", None),
            ("kubeflow.org", "v1", "PaddleJob", None),
            ("kubeflow.org", "v1", "JAXJob", None),
            ("", "v1", "ConfigMap", Some("kind")),
            ("", "v1", "Secret", Some("kind")),
            ("apps", "v1", "Pod", Some("kind")),
            ("example.com", "v1", "TrainingWorkload", Some("kind")),
            ("example.com", "v1", "RayCluster", Some("kind")),
            ("ray.io", "v2", "RayCluster", Some("api-version")),
            ("jobset.x-k8s.io", "v1", "JobSet", Some("api-version")),
            ("kubeflow.org", "v1beta1", "PyTorchJob", Some("api-version")),
            ("trainer.kubeflow.org", "v1alpha1", "TrainJob", Some("kind")),
        ];
        for (group, version, kind, skipped) in cases {
            let gvk = GroupVersionKind {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            };
            assert_eq!(kind_skip_reason(&gvk), skipped, "{group}/{version} {kind}");
            assert_eq!(evaluated_kind(&gvk), skipped.is_none());
        }
    }

    #[test]
    fn warnings_are_cut_as_the_api_server_keeps_them() {
        let long = "x".repeat(500);
        assert_eq!(
            truncate(&long, WARNING_CHARS).chars().count(),
            WARNING_CHARS
        );
        assert_eq!(truncate("short", WARNING_CHARS), "short");
        assert_eq!(
            truncate(&"é".repeat(200), 10),
            format!("{}...", "é".repeat(7))
        );
        let decision = Decision {
            workload: WorkloadId {
                form: WorkloadForm::Kubernetes,
                kind: "Pod".into(),
                name: "p".into(),
                namespace: None,
                project: None,
                workload_type: None,
            },
            allowed: true,
            violations: Vec::new(),
            warnings: (0..200)
                .map(|i| crate::plugin::Warning {
                    code: "duplicate-env".into(),
                    field: format!("spec.containers[0].env[{i}]"),
                    message: long.clone(),
                    secret: None,
                    policy: String::new(),
                    audit: false,
                })
                .collect(),
            patch: "[]".into(),
            env: Vec::new(),
            startup: crate::plugin::Startup {
                starts: true,
                containers: Vec::new(),
            },
            references: Vec::new(),
        };
        let kept = warnings(&decision).unwrap();
        assert!(kept.iter().all(|w| w.chars().count() <= WARNING_CHARS));
        assert!(kept.iter().map(String::len).sum::<usize>() <= WARNINGS_BYTES);
        assert!(kept.last().unwrap().ends_with("more warnings"), "{kept:?}");
    }

    #[test]
    fn a_bad_body_is_described_without_its_values() {
        let cases = [
            ("{", "the JSON ends early"),
            ("nonsense", "not valid JSON"),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5}}"#,
                "`request.uid`: invalid type",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"hunter2-secret-value","kind":"x"}}"#,
                "`request.kind`: invalid type",
            ),
        ];
        for (body, expected) in cases {
            let message = parse_error(body.as_bytes());
            assert!(message.contains(expected), "{body}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}

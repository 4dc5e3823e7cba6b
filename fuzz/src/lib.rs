//! The checks behind every fuzz target, one function per target. Each takes the
//! fuzzer's bytes, runs one parser of the project on them and panics when an invariant
//! does not hold; a panic inside the code under test is a finding as well.
//!
//! `host/tests/fuzz_regressions.rs` includes this file, so `cargo test` replays every
//! seed and every input the fuzzer found (`fuzz/regressions/<target>/`) through the same
//! checks: the harness cannot rot, and a finding stays fixed.
//!
//! Only absolute paths (`host::`, `guest::`, ...) are used, so that the file compiles as
//! the fuzz crate's library and as a module of a test.

use guest::decision::{Decision, EnvSource};
use guest::secret_ref::{self, Parsed};
use guest::{PolicyDocument, Submission};
use host::cluster::{Cluster, SYSTEM_NAMESPACE, load_documents};
use host::manifest;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

/// Documents per input: more only slows every execution down.
const MAX_DOCUMENTS: usize = 8;
/// A value shorter than this may occur in a message by chance.
const MIN_LEAK_LEN: usize = 8;

/// The demo cluster with the benchmark's policies (a V1 TrainingPolicy and a V2 policy
/// with defaults and locks, and the SecretPolicy baseline), and a SecretPolicy that
/// looks for credential-shaped literals with every detector (warn: a workload holding
/// one is still admitted, so its patch is checked too).
static CLUSTER: LazyLock<Cluster> = LazyLock::new(|| {
    let mut cluster = host::bench::cluster().expect("the benchmark cluster loads");
    let creds = json!({"apiVersion": "secrets.policy.run.ai/v1alpha1", "kind": "SecretPolicy",
        "metadata": {"name": "creds", "namespace": "runai"},
        "spec": {"enforcement": "warn", "credentialLiterals": {}}});
    let doc = manifest::Document {
        source: "fuzz creds".to_string(),
        value: creds,
    };
    load_documents(&mut cluster, &[doc]).expect("the credentials policy loads");
    cluster
});

/// The state file of `CLUSTER`.
static CLUSTER_STATE: LazyLock<String> = LazyLock::new(|| {
    String::from_utf8(host::state::to_text(&CLUSTER).expect("the state serialises"))
        .expect("the state is UTF-8")
});

/// Workloads of every form the policy target evaluates under fuzzed policies.
static WORKLOADS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let api = json!({"name": "r", "projectId": "team-a", "spec": {"environmentVariables": [
        {"name": "A", "value": "1"}, {"name": "T", "secret": {"name": "my-secret", "key": "password"}}]}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "runai-team-a"},
        "spec": {"containers": [{"name": "c", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}]}});
    let empty = json!({"apiVersion": "run.ai/v2alpha1", "kind": "TrainingWorkload",
        "metadata": {"name": "e", "namespace": "runai-team-a"}, "spec": {}});
    let bench = host::bench::workload().expect("the benchmark workload loads");
    vec![
        (bench.value.to_string(), "runai-team-a".to_string()),
        (api.to_string(), "runai-team-a".to_string()),
        (pod.to_string(), "runai-team-a".to_string()),
        (empty.to_string(), "runai-team-a".to_string()),
        (empty.to_string(), "runai-team-b".to_string()),
    ]
});

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The JSON texts the plugin would receive for `text`: a JSON object as it is (a
/// gateway forwards the request body), anything else read as a manifest file (YAML or
/// JSON, several documents) and each document written as JSON, as `host` does.
fn documents(text: &str) -> Vec<String> {
    if text.trim_start().starts_with('{') {
        return vec![text.to_string()];
    }
    match manifest::parse(text, "fuzz.yaml") {
        Ok(docs) => docs
            .into_iter()
            .take(MAX_DOCUMENTS)
            .map(|d| d.value.to_string())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The submission `host simulate` would make of `workload` in `namespace` of `cluster`.
fn submission(cluster: &Cluster, workload: String, namespace: &str) -> Submission {
    let host = host::bench::submission_in(cluster, workload, namespace);
    Submission {
        with_env: true,
        with_references: false,
        ..host::bench::native::submission(&host)
    }
}

/// Every string of a decision that reaches output: messages, fields, the patch, the
/// resolved environment, start-up messages.
fn decision_text(d: &Decision) -> String {
    let mut out = String::new();
    for v in &d.violations {
        out.extend([&v.code, &v.field, &v.message, &v.policy, "\n"]);
    }
    for w in &d.warnings {
        out.extend([&w.code, &w.field, &w.message, "\n"]);
    }
    out.push_str(&d.patch);
    for c in &d.env {
        for v in &c.vars {
            out.push_str(&v.name);
            out.push_str(&format!("{:?}\n", v.source));
        }
    }
    for c in &d.startup.containers {
        out.extend([&c.name, &c.state, &c.reason, &c.message, "\n"]);
    }
    out
}

/// `value` appears in `text`, plain or JSON-escaped.
fn shows(text: &str, value: &str) -> bool {
    let escaped = serde_json::to_string(value).expect("a string serialises");
    text.contains(value) || text.contains(&escaped[1..escaped.len() - 1])
}

/// A value for a failure message: its length only, unless `FUZZ_SHOW_VALUES` is set
/// (the inputs are the fuzzer's, but the rule holds for test output too: no literal,
/// `SECRET:` string or Secret value is printed by default).
fn show(value: &str) -> String {
    if std::env::var_os("FUZZ_SHOW_VALUES").is_some() {
        format!("{value:?}")
    } else {
        format!("<{} bytes; FUZZ_SHOW_VALUES=1 shows it>", value.len())
    }
}

/// `output` with `value` (plain or JSON-escaped) cut out, for a failure message.
fn without(output: &str, value: &str) -> String {
    let escaped = serde_json::to_string(value).expect("a string serialises");
    output
        .replace(value, "<LEAKED>")
        .replace(&escaped[1..escaped.len() - 1], "<LEAKED>")
}

/// `value` appears nowhere in `output`, plain or JSON-escaped.
fn assert_not_in(output: &str, value: &str, what: &str) {
    assert!(
        !shows(output, value),
        "{what} appears in the output: {}\n{}",
        show(value),
        without(output, value)
    );
}

// ---------------------------------------------------------------------------------
// secret_ref: the `SECRET:<secret-name>,<secret-key>` grammar (SPEC §2.1)

/// The grammar's classification agrees with the SPEC's definition, and a workload that
/// uses the string gets the finding the classification calls for; a malformed
/// reference or a literal of a sensitive name never appears in the decision.
pub fn secret_ref(data: &[u8]) {
    let Some(value) = text(data) else { return };
    let prefix = secret_ref::PREFIX;
    let looks_like = value
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    let parsed = secret_ref::parse(value);
    match &parsed {
        Parsed::Reference { name, key } => {
            assert!(format!("{prefix}{name},{key}") == value, "{}", show(value));
            assert!(!name.is_empty() && !key.is_empty(), "{}", show(value));
            assert!(!name.contains(',') && !key.contains(','), "{}", show(value));
            assert!(
                name.trim() == *name && key.trim() == *key,
                "{}",
                show(value)
            );
        }
        Parsed::Malformed(_) => assert!(value.starts_with(prefix), "{}", show(value)),
        Parsed::LiteralWithSecretLikePrefix => {
            assert!(looks_like && !value.starts_with(prefix), "{}", show(value))
        }
        Parsed::Literal => assert!(!looks_like, "{}", show(value)),
    }

    // In a Run:ai workload, as a name that is not sensitive...
    let d = crd_decision("MYVAR", value);
    let var = env_var(&d, "MYVAR");
    let field = "spec.environment.items.MYVAR.value";
    match &parsed {
        Parsed::Reference { name, key } => assert!(
            var == Some(&EnvSource::Secret {
                name: name.to_string(),
                key: key.to_string(),
                optional: false
            }),
            "{}: not resolved to the secret and key",
            show(value)
        ),
        Parsed::Malformed(_) => {
            assert!(
                d.violations
                    .iter()
                    .any(|v| v.code == "secret-ref-syntax" && v.field == field),
                "{}: {:?}",
                show(value),
                d.violations
            );
            if distinctive(value) {
                assert_not_in(&decision_text(&d), value, "a malformed reference");
            }
        }
        Parsed::LiteralWithSecretLikePrefix => {
            assert!(
                d.warnings
                    .iter()
                    .any(|w| w.code == "secret-ref-case" && w.field == field),
                "{}: {:?}",
                show(value),
                d.warnings
            );
            let literal = shown_literal(&d, field, value);
            assert!(var == Some(&literal), "{}: not a literal", show(value));
        }
        Parsed::Literal => {
            let literal = shown_literal(&d, field, value);
            assert!(var == Some(&literal), "{}: not a literal", show(value));
        }
    }

    // ...as a sensitive one, and as a literal of a sensitive name in a pod.
    let d = crd_decision("DB_PASSWORD", value);
    if !matches!(parsed, Parsed::Reference { .. }) {
        // An empty value carries nothing sensitive: it is not a finding.
        let code = match parsed {
            Parsed::Malformed(_) => Some("secret-ref-syntax"),
            _ if value.is_empty() => None,
            _ => Some("sensitive-literal"),
        };
        if let Some(code) = code {
            assert!(
                d.violations.iter().any(|v| v.code == code),
                "{}: {:?}",
                show(value),
                d.violations
            );
        }
        if distinctive(value) {
            assert_not_in(&decision_text(&d), value, "a sensitive literal");
        }
    }
    if distinctive(value) {
        let d = pod_decision("DB_PASSWORD", value);
        assert_not_in(&decision_text(&d), value, "a sensitive literal in a pod");
    }
}

fn crd_decision(name: &str, value: &str) -> Decision {
    let workload = json!({"apiVersion": "run.ai/v2alpha1", "kind": "TrainingWorkload",
        "metadata": {"name": "w", "namespace": "runai-team-a"},
        "spec": {"environment": {"items": {name: {"value": value}}}}});
    decide(workload)
}

fn pod_decision(name: &str, value: &str) -> Decision {
    let workload = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "runai-team-a"},
        "spec": {"containers": [{"name": "c", "env": [{"name": name, "value": value}]}]}});
    decide(workload)
}

fn decide(workload: Value) -> Decision {
    let s = submission(&CLUSTER, workload.to_string(), "runai-team-a");
    guest::evaluate(&s).expect("a well-formed workload is decided")
}

fn env_var<'a>(d: &'a Decision, name: &str) -> Option<&'a EnvSource> {
    d.env
        .iter()
        .flat_map(|c| &c.vars)
        .find(|v| v.name == name)
        .map(|v| &v.source)
}

/// What the decisions say whatever the value: a value found in it may be there by
/// chance (`SECRET:<secret-name>` is part of the expected form every message shows).
static TEMPLATES: LazyLock<String> = LazyLock::new(|| {
    let mut out = String::new();
    for value in [
        "plain",
        "SECRET:a",
        "SECRET:a,b,c",
        "SECRET:,k",
        "SECRET:a,",
        "SECRET: a,b",
        "secret:a,b",
    ] {
        for name in ["MYVAR", "DB_PASSWORD"] {
            out.push_str(&decision_text(&crd_decision(name, value)));
            out.push_str(&decision_text(&pod_decision(name, value)));
        }
    }
    out
});

fn distinctive(value: &str) -> bool {
    value.len() >= MIN_LEAK_LEN && !TEMPLATES.contains(value)
}

// ---------------------------------------------------------------------------------
// workload: detection and parsing of every form, then the whole evaluation

/// `identify` and `evaluate` agree on what the document is; a decision's patch is a
/// valid RFC 6902 patch that applies to the document; and an admitted workload, once
/// patched, is admitted again with nothing left to patch (a mutating webhook must be
/// idempotent).
pub fn workload(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for json in documents(text) {
        decide_and_check(&CLUSTER, &json, None);
    }
}

/// The namespace `host simulate` places an identified workload in (without its
/// errors: an unknown project lands in a namespace with no project).
fn namespace_of(cluster: &Cluster, id: &guest::WorkloadId) -> String {
    if let Some(ns) = &id.namespace {
        return ns.clone();
    }
    match id.project.as_deref().and_then(|p| cluster.find_project(p)) {
        Some(p) => cluster.project_namespace(p),
        None => "runai-team-a".to_string(),
    }
}

/// Evaluates `json` on `cluster` (with `policies` instead of the namespace's when
/// given) and checks the decision; returns it.
fn decide_and_check(
    cluster: &Cluster,
    json: &str,
    policies: Option<(&[PolicyDocument], &str)>,
) -> Option<Decision> {
    let id = guest::identify(json);
    let namespace = match (&id, policies) {
        (_, Some((_, ns))) => ns.to_string(),
        (Ok(id), None) => namespace_of(cluster, id),
        (Err(_), None) => "runai-team-a".to_string(),
    };
    let mut s = submission(cluster, json.to_string(), &namespace);
    if let Some((policies, _)) = policies {
        s.policies = policies.to_vec();
    }
    let decision = guest::evaluate(&s);
    let policy_texts = policies
        .into_iter()
        .flat_map(|(p, _)| p)
        .map(|p| p.json.as_str());
    let literals = env_literals(std::iter::once(json).chain(policy_texts));
    let shown = messages(&id, &decision);
    for v in literals.iter().filter(|v| shows(&shown, v)) {
        // Shown: a leak, unless the messages show it with every literal replaced too
        // (then it is their own text: the fuzzer learns messages from the comparisons).
        let neutral = Submission {
            workload: neutralize(&s.workload, &literals),
            policies: s
                .policies
                .iter()
                .map(|p| PolicyDocument {
                    source: p.source.clone(),
                    json: neutralize(&p.json, &literals),
                })
                .collect(),
            ..s.clone()
        };
        let again = messages(
            &guest::identify(&neutral.workload),
            &guest::evaluate(&neutral),
        );
        assert!(
            shows(&again, v),
            "an env literal appears in a message: {}\n{}",
            show(v),
            without(&shown, v)
        );
    }
    let d = match (id, decision) {
        (Ok(id), Ok(d)) => {
            assert_eq!(
                (&d.workload.kind, &d.workload.name, &d.workload.namespace),
                (&id.kind, &id.name, &id.namespace),
                "identify and evaluate see different workloads"
            );
            d
        }
        (Err(a), Err(b)) if policies.is_none() => {
            assert_eq!(a, b, "identify and evaluate fail differently");
            return None;
        }
        (Err(_), Err(_)) => return None,
        (Ok(_), Err(e)) if policies.is_some() && e.field == "policies" => return None,
        (id, d) => panic!(
            "identify and evaluate disagree: identify {:?}, evaluate {:?}",
            id.map(|i| i.kind),
            d.map(|d| d.allowed)
        ),
    };
    check_redaction(&s, &d);
    check_patch(&s, &d);
    Some(d)
}

/// A literal the decision calls sensitive or credential-shaped (`sensitive-literal`,
/// `credential-literal`) appears nowhere in it: not in the resolved environment, the
/// patch or any message. Confirmed against the same input with that literal replaced
/// (a literal may be a message's own text, or the value of another variable too).
fn check_redaction(s: &Submission, d: &Decision) {
    let Ok(doc) = serde_json::from_str::<Value>(&s.workload) else {
        return;
    };
    let strings = strings_of(&doc);
    let shown = decision_text(d);
    let redacted = d
        .violations
        .iter()
        .map(|v| (&v.code, &v.field))
        .chain(d.warnings.iter().map(|w| (&w.code, &w.field)))
        .filter(|(code, _)| *code == "sensitive-literal" || *code == "credential-literal");
    for (code, field) in redacted {
        let reviewed = doc.pointer("/request/object");
        let Some(value) = host::field::string_at(&doc, field)
            .or_else(|| reviewed.and_then(|o| host::field::string_at(o, field)))
        else {
            continue;
        };
        let once = strings.iter().filter(|s| s.contains(value)).count() == 1;
        if !distinctive(value) || !once || !shows(&shown, value) {
            continue;
        }
        let literal = BTreeSet::from([value.to_string()]);
        let neutral = Submission {
            workload: neutralize(&s.workload, &literal),
            ..s.clone()
        };
        let again = guest::evaluate(&neutral)
            .map(|d| decision_text(&d))
            .unwrap_or_default();
        assert!(
            shows(&again, value),
            "the literal at {field} ({code}) appears in the decision: {}\n{}",
            show(value),
            without(&shown, value)
        );
    }
}

/// How the resolved environment shows a literal: redacted when a detector of the
/// credentials policy (`CLUSTER`) calls it credential-shaped, as it is.
fn shown_literal(d: &Decision, field: &str, value: &str) -> EnvSource {
    let credential = d
        .warnings
        .iter()
        .any(|w| w.code == "credential-literal" && w.field == field);
    EnvSource::Literal(if credential {
        guest::kubelet::REDACTED.to_string()
    } else {
        value.to_string()
    })
}

/// Every string and key of a document.
fn strings_of(doc: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                out.extend(map.keys().map(String::as_str));
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    out
}

/// What the messages of an evaluation show: its input error, or the fields and
/// messages of its findings and the kubelet's messages.
fn messages(
    id: &Result<guest::WorkloadId, guest::InputError>,
    decision: &Result<Decision, guest::InputError>,
) -> String {
    match (id, decision) {
        (Err(e), _) | (_, Err(e)) => format!("{} {}", e.field, e.message),
        (_, Ok(d)) => {
            let mut out = String::new();
            for v in &d.violations {
                out.extend([&v.field, " ", &v.message, "\n"]);
            }
            for w in &d.warnings {
                out.extend([&w.field, " ", &w.message, "\n"]);
            }
            for c in &d.startup.containers {
                out.extend([&c.message, "\n"]);
            }
            out
        }
    }
}

/// `json` with every string that is one of `literals` replaced by a neutral one.
fn neutralize(json: &str, literals: &BTreeSet<String>) -> String {
    fn walk(v: &mut Value, literals: &BTreeSet<String>) {
        match v {
            Value::String(s) if literals.contains(s.as_str()) => *s = "neutral".to_string(),
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, literals)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, literals)),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(json) {
        Ok(mut doc) => {
            walk(&mut doc, literals);
            doc.to_string()
        }
        Err(_) => json.to_string(),
    }
}

/// Keys whose value is an object or a list in every form: a string found there is
/// a pasted value (`valueFrom: "hunter2"`), which a type error must not quote.
const STRUCTURED: &[&str] = &[
    "valueFrom",
    "secretKeyRef",
    "configMapKeyRef",
    "fieldRef",
    "secretRef",
    "envFrom",
    "env",
    "environment",
    "items",
    "environmentVariables",
    "secret",
    "configMap",
    "userCredential",
    "podFieldRef",
];

/// The env literals of documents, which no message may carry: every string under a
/// `value` key (CRD items, REST API entries, pod env, policy defaults, `SECRET:` strings
/// among them; also inside a `value` that is wrongly an object) except a CRD's wrapped
/// fields (`spec.name.value`, a name a message may show), and a string where an object
/// or list belongs (see `STRUCTURED`). Left out: those that also occur in the documents
/// as another string, a key, or a reference's secret name or key (names a message may
/// show), or in the messages' own text (`distinctive`).
fn env_literals<'a>(jsons: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    fn walk(v: &Value, path: &mut Vec<String>, literals: &mut Vec<String>, rest: &mut String) {
        match v {
            Value::String(s) => {
                if is_literal(path) {
                    literals.push(s.clone());
                    // A reference's secret name and key are names: messages show them.
                    if let Parsed::Reference { name, key } = secret_ref::parse(s) {
                        rest.extend([name, "\n", key, "\n"]);
                    }
                } else {
                    rest.push_str(s);
                    rest.push('\n');
                }
            }
            Value::Array(items) => {
                for item in items {
                    path.push("[]".to_string());
                    walk(item, path, literals, rest);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    rest.push_str(k);
                    rest.push('\n');
                    path.push(k.clone());
                    walk(v, path, literals, rest);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    fn is_literal(path: &[String]) -> bool {
        let under_value = path.iter().enumerate().any(|(i, k)| {
            // `spec.<field>.value` wraps a CRD's fields; env items are deeper.
            k == "value" && !(i == 2 && path[0] == "spec")
        });
        let misplaced = path
            .last()
            .is_some_and(|k| STRUCTURED.contains(&k.as_str()));
        under_value || misplaced
    }
    let (mut literals, mut rest) = (Vec::new(), String::new());
    for json in jsons {
        if let Ok(doc) = serde_json::from_str::<Value>(json) {
            walk(&doc, &mut Vec::new(), &mut literals, &mut rest);
        }
    }
    literals
        .into_iter()
        .filter(|v| distinctive(v) && !rest.contains(v.as_str()))
        .collect()
}

fn check_patch(s: &Submission, d: &Decision) {
    let patch: json_patch::Patch = serde_json::from_str(&d.patch)
        .unwrap_or_else(|e| panic!("the patch is not RFC 6902 ({e}): {}", d.patch));
    if patch.0.is_empty() {
        return;
    }
    let mut doc: Value = match serde_json::from_str(&s.workload) {
        Ok(doc) => doc,
        // The plugin reads what serde_json's `Value` refuses (it never builds one):
        // a patch cannot be applied to it here.
        Err(_) => return,
    };
    json_patch::patch(&mut doc, &patch)
        .unwrap_or_else(|e| panic!("the patch does not apply ({e}): {}", d.patch));
    if !d.allowed {
        return;
    }
    let again = Submission {
        workload: doc.to_string(),
        ..s.clone()
    };
    let d2 = guest::evaluate(&again).expect("the patched workload is decided");
    assert!(
        d2.allowed,
        "admitted, then rejected once patched: {:?}",
        d2.violations
    );
    assert_eq!(d2.patch, "[]", "a patched workload is patched again");
}

// ---------------------------------------------------------------------------------
// policies: SecretPolicy, V1 and V2 policies, checked when loaded and then applied

/// Policies `check_policies` accepts never make the evaluation of a valid workload
/// fail; their decisions' patches hold (see `workload`).
pub fn policies(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let docs: Vec<PolicyDocument> = documents(text)
        .into_iter()
        .enumerate()
        .map(|(i, json)| PolicyDocument {
            source: format!("fuzz#{i}"),
            json,
        })
        .collect();
    if docs.is_empty() {
        return;
    }
    let projects: Vec<guest::ProjectInfo> = CLUSTER
        .project_infos()
        .into_iter()
        .map(|p| guest::ProjectInfo {
            name: p.name,
            id: p.id,
            department: p.department,
        })
        .collect();
    let diagnostics = guest::check_policies(&docs, &projects);
    let literals = env_literals(docs.iter().map(|d| d.json.as_str()));
    let shown: String = diagnostics
        .iter()
        .map(|d| format!("{} {}\n", d.field, d.message))
        .collect();
    for v in literals.iter().filter(|v| shows(&shown, v)) {
        // As in `decide_and_check`: shown with every literal replaced too, it is the
        // diagnostics' own text.
        let neutral: Vec<PolicyDocument> = docs
            .iter()
            .map(|p| PolicyDocument {
                source: p.source.clone(),
                json: neutralize(&p.json, &literals),
            })
            .collect();
        let again: String = guest::check_policies(&neutral, &projects)
            .iter()
            .map(|d| format!("{} {}\n", d.field, d.message))
            .collect();
        assert!(
            shows(&again, v),
            "a policy's env literal appears in a diagnostic: {}\n{}",
            show(v),
            without(&shown, v)
        );
    }
    for (workload, namespace) in WORKLOADS.iter() {
        let d = decide_and_check(&CLUSTER, workload, Some((&docs, namespace)));
        if diagnostics.is_empty() {
            assert!(
                d.is_some(),
                "policies accepted when loaded break the evaluation in {namespace}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// manifest: the host's YAML/JSON manifest reader

/// Every document read is an object, named `FILE` or `FILE#i`, and survives the trip
/// to the plugin (written as JSON, read back) unchanged.
pub fn manifest(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(docs) = manifest::parse(text, "f.yaml") else {
        return;
    };
    for (i, doc) in docs.iter().enumerate() {
        assert!(doc.value.is_object(), "{}", doc.source);
        let want = if docs.len() == 1 {
            "f.yaml".to_string()
        } else {
            format!("f.yaml#{i}")
        };
        assert_eq!(doc.source, want);
        let json = doc.value.to_string();
        let back: Value = serde_json::from_str(&json).expect("a document's JSON reads back");
        assert!(same_json(&back, &doc.value), "{json}");
    }
}

/// Equal, floats to within one unit in the last place: serde_json (without its
/// `float_roundtrip` feature, which the plugin does without) may read a float's shortest
/// text back one ULP off (found by the fuzzer: `a: 1333...336`, 66 digits). No
/// decision depends on a float.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => x.to_bits().abs_diff(y.to_bits()) <= 1,
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| same_json(a, b)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------
// secrets: Secret (and other cluster) manifests applied to the simulator

/// Applying manifests to the demo cluster either fails or leaves a cluster whose
/// secrets are valid as the API server would have them; no error message and no state
/// file ever holds a Secret's value; every catalog is what SPEC §5 says.
pub fn secrets(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(docs) = manifest::parse(text, "s.yaml") else {
        return;
    };
    let docs: Vec<_> = docs.into_iter().take(MAX_DOCUMENTS).collect();
    let values = secret_values(&docs);
    let mut cluster = CLUSTER.clone();
    match load_documents(&mut cluster, &docs) {
        Err(e) => {
            let message = format!("{e:#}");
            // The same documents with every value emptied: what their error says
            // then is the message's own text (a value `SecretPolicy` is in the list
            // of kinds an error shows), not a leak.
            let emptied: Vec<_> = docs
                .iter()
                .map(|d| manifest::Document {
                    source: d.source.clone(),
                    value: without_values(&d.value),
                })
                .collect();
            let template = load_documents(&mut CLUSTER.clone(), &emptied)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            for v in values.iter().filter(|v| !template.contains(v.as_str())) {
                assert_not_in(&message, v, "a Secret's value");
            }
        }
        Ok(()) => {
            for s in cluster.secrets.values() {
                assert!(guest::names::is_dns1123_subdomain(&s.name), "{}", s.name);
                assert!(s.keys.keys().all(|k| guest::names::is_secret_key(k)));
                let total: usize = s.keys.iter().map(|(k, n)| k.len() + n).sum();
                assert!(total <= host::cluster::secret::MAX_DATA_BYTES);
            }
            let state = host::state::to_text(&cluster).expect("the state serialises");
            let state = String::from_utf8(state).expect("the state is UTF-8");
            // What the demo cluster's own state holds (its policies' text) is no leak.
            for v in values.iter().filter(|v| !shows(&CLUSTER_STATE, v)) {
                assert_not_in(&state, v, "a Secret's value in the state");
            }
            check_cluster(&cluster);
        }
    }
}

/// A Secret manifest with every `data` and `stringData` value emptied.
fn without_values(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Value::Object(map) = &mut doc {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(items)) = map.get_mut(field) {
                for value in items.values_mut().filter(|v| v.is_string()) {
                    *value = Value::String(String::new());
                }
            }
        }
    }
    doc
}

/// The values of the Secrets among `docs` (`data` and `stringData`) that appear
/// nowhere else in them, so that finding one in an output can only be a leak.
fn secret_values(docs: &[manifest::Document]) -> Vec<String> {
    let mut values = BTreeSet::new();
    let mut rest = String::new();
    for doc in docs {
        let mut shown = doc.value.clone();
        if doc.kind() == "Secret"
            && let Value::Object(map) = &mut shown
        {
            for field in ["data", "stringData"] {
                if let Some(Value::Object(items)) = map.get_mut(field) {
                    for (key, value) in items.iter_mut() {
                        if let Value::String(v) = value {
                            values.insert(std::mem::take(v));
                        }
                        rest.push_str(key);
                        rest.push('\n');
                    }
                }
            }
        }
        rest.push_str(&shown.to_string());
        rest.push('\n');
    }
    values
        .into_iter()
        .filter(|v| v.len() >= MIN_LEAK_LEN && !rest.contains(v.as_str()))
        .collect()
}

/// SPEC §5's views of a cluster: each project namespace sees its own secrets, unchanged,
/// and a copy of every cluster-wide `runai` secret whose name it does not use; other
/// namespaces see only their own. Returns the project namespaces.
pub fn check_cluster(cluster: &Cluster) -> BTreeMap<String, String> {
    let by_namespace: BTreeMap<String, String> = cluster
        .project_namespaces()
        .into_iter()
        .map(|(ns, p)| (ns, p.name.clone()))
        .collect();
    let sources: BTreeMap<&str, _> = cluster
        .secrets
        .values()
        .filter(|s| s.namespace == SYSTEM_NAMESPACE && s.is_cluster_wide())
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut namespaces: BTreeSet<&str> = by_namespace.keys().map(String::as_str).collect();
    namespaces.extend(cluster.secrets.keys().map(|(ns, _)| ns.as_str()));
    namespaces.insert(SYSTEM_NAMESPACE);
    for ns in namespaces {
        let catalog = cluster.catalog(ns);
        let own: BTreeMap<&str, _> = cluster
            .secrets
            .values()
            .filter(|s| s.namespace == ns)
            .map(|s| (s.name.as_str(), s))
            .collect();
        let is_project = ns != SYSTEM_NAMESPACE && by_namespace.contains_key(ns);
        let mut want: BTreeMap<&str, Seen> = own
            .iter()
            .map(|(name, s)| (*name, seen(s, false)))
            .collect();
        if is_project {
            for (name, s) in &sources {
                want.entry(name).or_insert_with(|| seen(s, true));
            }
        }
        let got: BTreeMap<&str, Seen> = catalog
            .iter()
            .map(|m| {
                let entry = (
                    m.keys.clone(),
                    m.secret_type.clone(),
                    m.immutable,
                    m.cluster_wide_copy,
                );
                (m.name.as_str(), entry)
            })
            .collect();
        assert_eq!(got.len(), catalog.len(), "{ns}: a name listed twice");
        assert_eq!(got, want, "the catalog of {ns}");
    }
    for c in cluster.conflicts() {
        assert!(by_namespace.contains_key(&c.namespace), "{c:?}");
        assert!(sources.contains_key(c.secret.as_str()), "{c:?}");
    }
    by_namespace
}

/// What a catalog says of a secret: keys, type, immutability, and whether it is a copy.
type Seen = (Vec<String>, String, bool, bool);

fn seen(s: &host::cluster::secret::Secret, copy: bool) -> Seen {
    (
        s.keys.keys().cloned().collect(),
        s.secret_type.clone(),
        s.immutable,
        copy,
    )
}

// ---------------------------------------------------------------------------------
// suite: `host test` suite files

/// A suite file is read or refused with an error naming the file.
pub fn suite(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Err(e) = host::suite::run::parse(text, Path::new("f.suite.yaml")) {
        // `f.suite.yaml#1: ...` when the text holds several documents.
        assert!(e.to_string().starts_with("f.suite.yaml"), "{e}");
    }
}

// ---------------------------------------------------------------------------------
// state: the persisted state file (hand-edited, or from another version)

/// A state file is read or refused with an error naming the file; what is read writes
/// back to the same text; every view of it holds (see `check_cluster`), also after
/// each cluster-wide change and deletion.
pub fn state(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let path = Path::new("st/state.json");
    let cluster = match host::state::parse(text, path) {
        Ok(cluster) => cluster,
        Err(e) => {
            assert!(e.to_string().starts_with("st/state.json: "), "{e}");
            return;
        }
    };
    let written = host::state::to_text(&cluster).expect("the state serialises");
    let written = String::from_utf8(written).expect("the state is UTF-8");
    let again = host::state::parse(&written, path).expect("a written state reads back");
    assert_eq!(
        String::from_utf8(host::state::to_text(&again).expect("serialises")).expect("UTF-8"),
        written,
        "the state does not read back as written"
    );
    check_cluster(&cluster);
    let names: Vec<String> = cluster
        .secrets
        .keys()
        .filter(|(ns, _)| ns == SYSTEM_NAMESPACE)
        .map(|(_, name)| name.clone())
        .take(4)
        .collect();
    for name in &names {
        let mut c = cluster.clone();
        let _ = c.set_cluster_wide(name);
        check_cluster(&c);
        let _ = c.remove_cluster_wide(name);
        check_cluster(&c);
        let _ = c.set_cluster_wide(name);
        let _ = c.delete_secret(SYSTEM_NAMESPACE, name);
        check_cluster(&c);
    }
}

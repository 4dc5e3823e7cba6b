//! Issue 22 against the fake API server: the gateway's audit lists and watches the
//! workloads that exist, keeps who references which secret, re-evaluates only the
//! workloads a secret change touches, and the validating webhook guards a Secret's
//! DELETE and UPDATE naming the workloads that break. No value in any answer,
//! metric or log.

mod gateway_support;
mod live_support;

use gateway_support::{Gateway, TempDir, metric, review};
use live_support::{FakeApi, event};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const VALUE: &str = "AUDITVALUE-hunter2";

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret(namespace: &str, name: &str, keys: &[&str], labels: Value) -> Value {
    let data: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!(b64(VALUE))))
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": data, "type": "Opaque"})
}

fn pod(namespace: &str, name: &str, env: Value, owner: Option<(&str, &str)>) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "main", "image": "x", "env": env}]}});
    if let Some((kind, owner)) = owner {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": kind, "name": owner, "uid": "u", "controller": true}]);
    }
    p
}

fn uses(secret: &str, key: &str, optional: bool) -> Value {
    json!([{"name": "V", "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": optional}}},
           {"name": "LITERAL", "value": VALUE}])
}

fn cluster(api: &FakeApi) {
    api.put(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "runai"}}));
    for team in ["team-a", "team-b"] {
        api.put(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("runai-{team}")}}));
        api.put(&json!({"apiVersion": "run.ai/v2", "kind": "Project", "metadata": {"name": team}, "spec": {}}));
    }
    api.put(&secret(
        "runai-team-a",
        "db",
        &["password", "user"],
        json!(null),
    ));
    api.put(&secret("runai-team-a", "other", &["token"], json!(null)));
    api.put(&secret("runai-team-b", "db", &["password"], json!(null)));
    // Three workloads of team-a read db/password (one a Job's pod, reported on the Job),
    // one reads it optionally, one reads another secret, one reads a missing one.
    api.put(&pod(
        "runai-team-a",
        "train-7",
        uses("db", "password", false),
        None,
    ));
    api.put(&pod(
        "runai-team-a",
        "train-8",
        uses("db", "password", false),
        None,
    ));
    api.put(&json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "nightly", "namespace": "runai-team-a"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "x", "env": uses("db", "password", false)}]}}}}));
    api.put(&pod(
        "runai-team-a",
        "nightly-x1",
        uses("db", "password", false),
        Some(("Job", "nightly")),
    ));
    api.put(&pod(
        "runai-team-a",
        "relaxed",
        uses("db", "password", true),
        None,
    ));
    api.put(&pod(
        "runai-team-a",
        "elsewhere",
        uses("other", "token", false),
        None,
    ));
    api.put(&pod(
        "runai-team-a",
        "broken",
        uses("missing", "token", false),
        None,
    ));
    api.put(&pod(
        "runai-team-b",
        "train-1",
        uses("db", "password", false),
        None,
    ));
}

struct Live {
    api: FakeApi,
    gw: Gateway,
    _dir: TempDir,
}

fn start(name: &str, setup: impl FnOnce(&FakeApi)) -> Live {
    let api = FakeApi::start();
    cluster(&api);
    setup(&api);
    let dir = TempDir::new(name);
    let kubeconfig = api.kubeconfig(&dir.0);
    let gw = Gateway::start(
        &[
            "serve",
            "--insecure-http",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        None,
    );
    let live = Live { api, gw, _dir: dir };
    live.until("the audit of every workload", |m| {
        metric(m, "secrets_gateway_audit_workloads", &[]) == 8.0
    });
    live
}

impl Live {
    fn until(&self, what: &str, ok: impl Fn(&str) -> bool) {
        let started = Instant::now();
        loop {
            let metrics = self.gw.metrics();
            if ok(&metrics) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(45),
                "timed out waiting for {what}:\n{metrics}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn findings(&self, code: &str) -> f64 {
        metric(
            &self.gw.metrics(),
            "secrets_gateway_audit_findings",
            &[("namespace", "runai-team-a"), ("code", code)],
        )
    }
}

/// A review of a Secret's DELETE (its old object) or UPDATE (old and new).
fn secret_review(operation: &str, old: &Value, new: Option<&Value>) -> Value {
    let mut r = review("s", operation, new.unwrap_or(old));
    r["request"]["oldObject"] = old.clone();
    r["request"]["object"] = new.cloned().unwrap_or(Value::Null);
    r
}

#[test]
fn the_audit_indexes_what_runs_and_guards_the_secrets_it_uses() {
    let live = start("audit", |_| {});
    // The findings of what runs: the missing secret, and the start-up prediction.
    live.until("the findings", |m| {
        metric(
            m,
            "secrets_gateway_audit_findings",
            &[("namespace", "runai-team-a"), ("code", "secret-not-found")],
        ) >= 1.0
    });
    assert_eq!(live.findings("will-not-start"), 1.0);
    // Deleting db in team-a: a warning (the default) naming the three workloads that
    // read it, the Job's pod as its Job, not the optional reader or team-b's.
    let db = secret("runai-team-a", "db", &["password", "user"], json!(null));
    let answer = live
        .gw
        .review("/validate", &secret_review("DELETE", &db, None));
    assert_eq!(answer["allowed"], true, "{answer}");
    let warnings = answer["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|l| l.as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    for part in [
        "deleting secret `db`",
        "runai-team-a",
        "Pod train-7",
        "Pod train-8",
        "CreateContainerConfigError",
    ] {
        assert!(warnings.contains(part), "{part} not in: {warnings}");
    }
    assert!(
        !warnings.contains("relaxed") && !warnings.contains("train-1"),
        "{warnings}"
    );
    // Removing a key no one reads: nothing to say.
    let fewer = secret("runai-team-a", "db", &["password"], json!(null));
    let answer = live
        .gw
        .review("/validate", &secret_review("UPDATE", &db, Some(&fewer)));
    assert_eq!(answer["allowed"], true);
    assert!(
        answer.get("warnings").is_none_or(Value::is_null),
        "{answer}"
    );
    // A policy that denies: the removal of the key read is refused, naming them.
    let deny = json!({"apiVersion": "secrets.policy.run.ai/v1alpha1", "kind": "SecretPolicy",
        "metadata": {"name": "guard", "namespace": "runai-team-a"}, "spec": {"secretRemoval": "deny"}});
    let deny = live.api.put(&deny);
    push(&live, "SecretPolicy", &event("ADDED", &deny));
    let no_password = secret("runai-team-a", "db", &["user"], json!(null));
    let started = Instant::now();
    let refused = loop {
        let answer = live.gw.review(
            "/validate",
            &secret_review("UPDATE", &db, Some(&no_password)),
        );
        if answer["allowed"] == false {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let message = refused["status"]["message"].as_str().unwrap_or("");
    for part in [
        "SecretPolicy runai-team-a/guard",
        "key `password` of secret `db`",
        "Pod train-7",
    ] {
        assert!(message.contains(part), "{part} not in: {message}");
    }
    // The new policy made the audit evaluate team-a's seven workloads again.
    live.until("the re-audit after the policy", |m| {
        metric(
            m,
            "secrets_gateway_audit_evaluations_total",
            &[("trigger", "policy-change")],
        ) == 7.0
    });
    // The audit sees the secret go: only the workloads that reference it are
    // evaluated again (fetched from the API server), and now will not start.
    let before = metric(
        &live.gw.metrics(),
        "secrets_gateway_audit_evaluations_total",
        &[("trigger", "secret-change")],
    );
    live.api.remove("Secret", "runai-team-a", "db");
    push(&live, "Secret", &event("DELETED", &db));
    live.until("the re-audit", |m| {
        metric(
            m,
            "secrets_gateway_audit_evaluations_total",
            &[("trigger", "secret-change")],
        ) >= before + 5.0
    });
    std::thread::sleep(Duration::from_millis(1500));
    let after = metric(
        &live.gw.metrics(),
        "secrets_gateway_audit_evaluations_total",
        &[("trigger", "secret-change")],
    );
    // train-7, train-8, the Job, its pod, and the optional reader: no one else.
    assert_eq!(after - before, 5.0);
    live.until("the new findings", |m| {
        metric(
            m,
            "secrets_gateway_audit_findings",
            &[("namespace", "runai-team-a"), ("code", "will-not-start")],
        ) >= 4.0
    });
    // No value anywhere.
    for text in [
        live.gw.metrics(),
        live.gw.log_lines().join("\n"),
        live.gw.call("GET", "/readyz", b"").text(),
    ] {
        assert!(
            !text.contains(VALUE) && !text.contains(&b64(VALUE)),
            "a value leaked"
        );
    }
}

fn push(live: &Live, kind: &str, e: &Value) {
    let started = Instant::now();
    while live.api.push(kind, e) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no watch of {kind} held open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `host audit --kubeconfig`: the live cluster's workloads listed once and evaluated
/// against the view read from it, as the gateway's audit evaluates them; a Job's pod
/// reported on the Job; exit 1 on a failing finding; no value in the output.
#[test]
fn host_audit_lists_the_live_workloads_once() {
    let api = FakeApi::start();
    cluster(&api);
    api.put(&json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "typo", "namespace": "runai-team-b"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "x", "env": uses("db", "passwd", false)}]}}}}));
    let dir = TempDir::new("audit-cli");
    let kubeconfig = api.kubeconfig(&dir.0);
    let host = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .arg("audit")
            .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let out = host(&["-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !stdout.contains(VALUE) && !stderr.contains(VALUE),
        "a value leaked"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let workloads = report["workloads"].as_array().unwrap();
    let names: Vec<String> = workloads
        .iter()
        .map(|w| {
            format!(
                "{} {}/{}",
                w["kind"].as_str().unwrap(),
                w["namespace"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect();
    // Eight as the gateway indexes them, the new Job, less the Job's pod (on its Job).
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(
        !names.contains(&"Pod runai-team-a/nightly-x1".to_string()),
        "{names:?}"
    );
    let typo = workloads.iter().find(|w| w["name"] == "typo").unwrap();
    assert_eq!(typo["origin"], "cluster");
    assert_eq!(typo["result"], "fail");
    let codes: Vec<&str> = typo["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"secret-key-not-found") && codes.contains(&"will-not-start"),
        "{codes:?}"
    );
    let field = &typo["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "secret-key-not-found")
        .unwrap()["field"];
    assert_eq!(
        field,
        "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key"
    );
    // -n limits it to a namespace; without the typo team-b passes.
    let out = host(&["-n", "runai-team-b", "-o", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["fail"], 1, "{report}");
    assert_eq!(report["summary"]["pass"], 1, "{report}");
    // The impact of a removal, before it is made, on the live workloads.
    let out = host(&[
        "-n",
        "runai-team-b",
        "--without-secret",
        "runai-team-b/db",
        "-o",
        "json",
    ]);
    let impact: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{impact}");
    assert_eq!(impact["summary"]["newly-rejected"], 1, "{impact}");
}

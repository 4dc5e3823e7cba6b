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
    let gw = serve(&api, &dir, &[]);
    let live = Live { api, gw, _dir: dir };
    live.until("the audit of every workload", |m| {
        metric(m, "secrets_gateway_audit_workloads", &[]) == 8.0
    });
    live
}

/// A gateway (plain HTTP) on `api`'s live view, with `extra` arguments.
fn serve(api: &FakeApi, dir: &TempDir, extra: &[&str]) -> Gateway {
    let kubeconfig = api.kubeconfig(&dir.0);
    let mut args = vec![
        "serve",
        "--insecure-http",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ];
    args.extend(extra);
    Gateway::start(&args, None)
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
        "deleting secret `db`: 3 workloads in runai-team-a",
        "Job nightly",
        "Pod train-7",
        "Pod train-8",
        "CreateContainerConfigError",
    ] {
        assert!(warnings.contains(part), "{part} not in: {warnings}");
    }
    // Not the optional reader, not team-b's, and the Job's pod only as its Job.
    for absent in ["relaxed", "train-1", "nightly-x1"] {
        assert!(!warnings.contains(absent), "{absent} in: {warnings}");
    }
    // Counted as the warning of an admitting answer, not as a violation.
    let in_use = [("code", "secret-in-use")];
    live.until("the warning counted", |m| {
        metric(m, "secrets_gateway_warnings_total", &in_use) == 1.0
            && metric(m, "secrets_gateway_violations_total", &in_use) == 0.0
    });
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
    // A rotation that keeps every key (a value changed) says nothing, even under deny:
    // values are never seen, keys are.
    let mut rotated = db.clone();
    rotated["data"]["password"] = json!(b64("another-value-entirely"));
    let answer = live
        .gw
        .review("/validate", &secret_review("UPDATE", &db, Some(&rotated)));
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(
        answer.get("warnings").is_none_or(Value::is_null),
        "{answer}"
    );
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
    // The audit's threads run only on the CPU admission leaves idle (SCHED_IDLE, 5),
    // every other thread as the process does.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", live.gw.pid())).unwrap();
    let policies: Vec<(String, u32)> = tasks
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // The fields after the parenthesised name start at the 3rd; `policy` is
            // the 41st.
            let rest = stat.rsplit_once(')')?.1;
            let policy = rest.split_whitespace().nth(38)?.parse().ok()?;
            Some((comm.trim().to_string(), policy))
        })
        .collect();
    const SCHED_IDLE: u32 = 5;
    let audit = |c: &str| c == "audit-evaluate" || c == "audit-read";
    for thread in ["audit-evaluate", "audit-read"] {
        let policy = policies.iter().find(|(c, _)| c == thread).map(|(_, p)| *p);
        assert_eq!(policy, Some(SCHED_IDLE), "{thread}: {policies:?}");
    }
    assert!(
        policies
            .iter()
            .filter(|(c, _)| !audit(c))
            .all(|(_, p)| *p != SCHED_IDLE),
        "{policies:?}"
    );
    // `/readyz` says the audit has listed every kind, and to anyone nothing more.
    let ready: Value = serde_json::from_str(&live.gw.call("GET", "/readyz", b"").text()).unwrap();
    assert_eq!(ready["audit"]["listed"], true, "{ready}");
    assert!(ready["audit"].get("workloads").is_none(), "{ready}");
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

/// A GET that tolerates a gateway not yet serving (its TLS Secret not made yet): "".
fn get(gw: &Gateway, path: &str) -> String {
    gateway_support::Conn::open(gw.addr, gw.tls.as_ref())
        .and_then(|mut c| c.request("GET", path, b""))
        .map(|r| r.text())
        .unwrap_or_default()
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

/// Two replicas that manage the certificate (and so elect a leader by a Lease): the
/// leader alone writes each namespace's PolicyReport; killed, the other takes the
/// Lease over and writes them again.
#[test]
fn reports_are_written_by_the_leader_alone() {
    let api = FakeApi::start();
    cluster(&api);
    // No PolicyReport can be written at first (as without the CRD, or without the
    // grant): the audit goes on, the failure is counted and on `/readyz`.
    api.deny("patch", "policyreports", true);
    let dir = TempDir::new("audit-reports");
    let kubeconfig = api.kubeconfig(&dir.0);
    let start = || {
        Gateway::start(
            &[
                "serve",
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--tls-secret",
                "gw-tls",
                "--namespace",
                "gw",
                "--webhook-url",
                "https://localhost:1",
                "--manage-interval-ms",
                "200",
                "--lease-seconds",
                "3",
                "--rotation-overlap-seconds",
                "1",
            ],
            None,
        )
    };
    let mut gateways = vec![start(), start()];
    // Metrics over the gateways' TLS, trusting the CA of the Secret they share.
    const SECRET: &str = "/api/v1/namespaces/gw/secrets/gw-tls";
    let started = Instant::now();
    let ca = loop {
        if let Some(secret) = api.object(SECRET) {
            use base64::Engine;
            let pem = base64::engine::general_purpose::STANDARD
                .decode(secret["data"]["ca.crt"].as_str().unwrap_or(""))
                .unwrap();
            break String::from_utf8(pem).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no TLS Secret");
        std::thread::sleep(Duration::from_millis(100));
    };
    let client = {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
        )
    };
    for gw in &mut gateways {
        gw.tls = Some(client.clone());
    }
    const REPORT: &str =
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/runai-team-a/policyreports/runai-secrets";
    let until = |what: &str, ok: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !ok() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let ready = |gw: &Gateway| {
        let text = get(gw, "/readyz");
        serde_json::from_str::<Value>(&text).unwrap_or_default()
    };
    until("a failed write on /readyz", &|| {
        gateways
            .iter()
            .any(|gw| ready(gw)["audit"]["reports"]["lastWriteFailed"] == true)
    });
    assert!(api.object(REPORT).is_none());
    api.deny("patch", "policyreports", false);
    until("team-a's report", &|| {
        api.object(REPORT)
            .is_some_and(|r| r["summary"]["fail"].as_u64().unwrap_or(0) >= 1)
    });
    let report = api.object(REPORT).unwrap();
    assert_eq!(report["kind"], "PolicyReport");
    let results = report["results"].as_array().unwrap();
    let broken = results
        .iter()
        .find(|r| r["resources"][0]["name"] == "broken" && r["rule"] == "secret-not-found")
        .expect("the broken pod's finding");
    assert_eq!(broken["result"], "fail");
    // The Job's pod is reported on the Job, once.
    assert!(
        !results
            .iter()
            .any(|r| r["resources"][0]["name"] == "nightly-x1")
    );
    assert!(results.iter().any(|r| r["resources"][0]["kind"] == "Job"));
    assert!(!report.to_string().contains(VALUE) && !report.to_string().contains(&b64(VALUE)));
    let written = |gw: &Gateway| {
        let text = get(gw, "/metrics");
        metric(
            &text,
            "secrets_gateway_audit_reports_written_total",
            &[("result", "ok")],
        )
    };
    std::thread::sleep(Duration::from_secs(2));
    let (a, b) = (written(&gateways[0]), written(&gateways[1]));
    assert!(
        gateways
            .iter()
            .all(|gw| ready(gw)["audit"]["reports"]["lastWriteFailed"] == false)
    );
    assert!((a > 0.0) != (b > 0.0), "one writer: {a} and {b}");
    let leads = |gw: &Gateway| ready(gw)["audit"]["reports"]["leader"] == true;
    assert_eq!(
        (leads(&gateways[0]), leads(&gateways[1])),
        (a > 0.0, b > 0.0)
    );
    // The leader goes; the other takes the Lease over and writes every report again.
    let leader = if a > 0.0 { 0 } else { 1 };
    let follower = gateways.remove(1 - leader);
    drop(gateways);
    until("the other replica's writes", &|| written(&follower) > 0.0);
}

/// Not a test: the API server of `loadtest/audit.sh` (admission under load while an
/// audit runs). Serves the cluster above plus `LOAD_PODS` pods in runai-team-a, writes
/// its kubeconfig into `LOAD_DIR`, and serves until `LOAD_DIR/stop` exists.
#[test]
#[ignore = "a harness for loadtest/audit.sh"]
fn load_harness() {
    let Ok(dir) = std::env::var("LOAD_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let pods: usize = std::env::var("LOAD_PODS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let api = FakeApi::start();
    cluster(&api);
    for i in 0..pods {
        let secret = if i % 2 == 0 { "db" } else { "other" };
        let key = if i % 2 == 0 { "password" } else { "token" };
        api.put(&pod(
            "runai-team-a",
            &format!("load-{i}"),
            uses(secret, key, false),
            None,
        ));
    }
    let kubeconfig = api.kubeconfig(&dir);
    std::fs::write(dir.join("ready"), kubeconfig.display().to_string()).unwrap();
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The Secrets' webhook fails open: a view past its staleness bound never blocks
/// deleting a secret (the answer says the users were not checked), while a workload is
/// answered by the failure policy as before.
#[test]
fn a_view_that_is_not_current_never_blocks_a_secret_removal() {
    let api = FakeApi::start();
    cluster(&api);
    let dir = TempDir::new("audit-stale");
    let gw = serve(&api, &dir, &["--max-staleness-seconds", "1"]);
    let ready = |stale: bool| {
        let started = Instant::now();
        loop {
            let text = gw.call("GET", "/readyz", b"").text();
            let r: Value = serde_json::from_str(&text).unwrap_or_default();
            if r["clusterView"]["stale"] == stale && r["clusterView"]["synced"] == true {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    ready(false);
    api.set_down(true);
    ready(true);
    let db = secret("runai-team-a", "db", &["password", "user"], json!(null));
    let answer = gw.review("/validate", &secret_review("DELETE", &db, None));
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(
        answer["warnings"].to_string().contains("were not checked"),
        "{answer}"
    );
    let workload = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-pod", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "runai-team-a", "operation": "CREATE", "userInfo": {"username": "a"},
            "object": pod("runai-team-a", "new", uses("db", "password", false), None)}});
    let answer = gw.review("/validate", &workload);
    assert_eq!(answer["allowed"], false, "{answer}");
    assert!(
        answer.to_string().contains("cluster-view-stale"),
        "{answer}"
    );
}

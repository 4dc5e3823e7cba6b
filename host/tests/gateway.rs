//! `host serve` end to end: the gateway runs as a process on a loopback port with a
//! certificate made here, and every test talks to it over a real HTTPS socket.

mod gateway_support;

use base64::Engine as _;
use gateway_support::{Ca, Conn, Gateway, TempDir, metric, review};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HOSTILE: &str = env!("HOSTILE_WASM");
const DEMO: &str = "policies/demo/cluster.yaml";
const BENCH_POLICIES: &str = "policies/bench/policies.yaml";

/// A gateway over HTTPS with a fresh CA and certificate; the extra arguments go
/// before `serve` (global) or after it.
struct Https {
    gateway: Gateway,
    _dir: TempDir,
}

fn https(name: &str, global: &[&str], serve: &[&str]) -> Https {
    let dir = TempDir::new(name);
    let ca = Ca::new("test CA");
    let (cert, key) = (dir.path("tls.crt"), dir.path("tls.key"));
    ca.write_server_cert(&cert, &key);
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut args: Vec<&str> = global.to_vec();
    args.push("serve");
    args.extend(serve);
    args.extend(["--tls-cert", &cert, "--tls-key", &key]);
    let gateway = Gateway::start(&args, Some(ca.client(None)));
    Https { gateway, _dir: dir }
}

impl std::ops::Deref for Https {
    type Target = Gateway;
    fn deref(&self) -> &Gateway {
        &self.gateway
    }
}

fn container(env: Value) -> Value {
    json!({"containers": [{"name": "main", "image": "busybox", "env": env}]})
}

fn template(env: Value) -> Value {
    json!({"metadata": {"labels": {"app": "x"}}, "spec": container(env)})
}

/// A workload of `kind` in runai-team-a whose containers get `env`.
fn workload(kind: &str, name: &str, env: Value) -> Value {
    let meta = json!({"name": name, "namespace": "runai-team-a"});
    match kind {
        "Pod" => {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": container(env)})
        }
        "Job" => json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"template": template(env)}}),
        "CronJob" => json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template(env)}}}}),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => json!({
            "apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template(env)}}),
        _ => panic!("{kind}"),
    }
}

fn runai(kind: &str, name: &str, items: Value) -> Value {
    json!({"apiVersion": "run.ai/v2alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": "runai-team-a"},
        "spec": {"name": {"value": name}, "image": {"value": "ubuntu"},
                 "environment": {"items": items}}})
}

fn decoded_patch(response: &Value) -> Option<json_patch::Patch> {
    let patch = response
        .get("patch")?
        .as_str()
        .expect("patch is base64 text");
    assert_eq!(response["patchType"], "JSONPatch");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(patch)
        .expect("base64");
    Some(serde_json::from_slice(&bytes).expect("a JSON Patch"))
}

#[test]
fn validating_and_mutating_answers_for_every_workload_form() {
    let gw = https(
        "forms",
        &[],
        &["--cluster", DEMO, "--policy", BENCH_POLICIES],
    );
    let good = json!([{"name": "MYUSERNAME", "valueFrom": {"secretKeyRef": {"name": "my-secret", "key": "username"}}}]);
    let mut cases: Vec<(Value, bool, bool)> = [
        "Pod",
        "Job",
        "CronJob",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
    ]
    .iter()
    .map(|kind| (workload(kind, "ok", good.clone()), true, false))
    .collect();
    // Run:ai workloads get the policies' defaults (V1 TrainingPolicy, V2 cluster policy).
    let items = json!({"MYUSERNAME": {"value": "SECRET:my-secret,username"}});
    cases.push((
        runai("TrainingWorkload", "train", items.clone()),
        true,
        true,
    ));
    cases.push((
        runai("InteractiveWorkload", "ws", items.clone()),
        true,
        true,
    ));
    // Rejected: a password as a literal (never echoed), and a missing key.
    let literal = json!([{"name": "DB_PASSWORD", "value": "hunter2-not-to-be-echoed"}]);
    cases.push((workload("Deployment", "bad", literal), false, false));
    let missing = json!({"MYUSERNAME": {"value": "SECRET:my-secret,nope"}});
    cases.push((runai("TrainingWorkload", "bad", missing), false, false));

    for (i, (object, allowed, patched)) in cases.iter().enumerate() {
        let kind = object["kind"].as_str().unwrap();
        let uid = format!("uid-{i}");
        for (op, path) in [("CREATE", "/validate"), ("UPDATE", "/mutate")] {
            let response = gw.review(path, &review(&uid, op, object));
            let case = format!("{kind} {op} {path}: {response}");
            assert_eq!(response["uid"], uid.as_str(), "{case}");
            assert_eq!(response["allowed"], *allowed, "{case}");
            assert!(!response.to_string().contains("hunter2"), "{case}");
            if !allowed {
                assert_eq!(response["status"]["code"], 403, "{case}");
                let message = response["status"]["message"].as_str().unwrap();
                assert!(
                    message.contains('[') && message.contains(" at spec."),
                    "{case}"
                );
            }
            let patch = decoded_patch(&response);
            assert_eq!(patch.is_some(), path == "/mutate" && *patched, "{case}");
            if let Some(patch) = patch {
                // Reinvocation: the patched object gets no patch and the same verdict.
                let mut again = object.clone();
                json_patch::patch(&mut again, &patch).expect("the patch applies");
                let second = gw.review(path, &review(&uid, op, &again));
                assert_eq!(second["allowed"], *allowed, "{case}");
                assert!(
                    second.get("patch").is_none(),
                    "not idempotent: {case} then {second}"
                );
            }
        }
    }
    // Every request was counted and evaluated once.
    let metrics = gw.metrics();
    // Each case on both endpoints, and the two patched ones sent again.
    let evaluated = (cases.len() * 2 + 2) as f64;
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_evaluation_duration_seconds_count",
            &[]
        ),
        evaluated
    );
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_requests_total",
            &[("verdict", "rejected")]
        ),
        4.0
    );
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_violations_total",
            &[("code", "sensitive-literal")]
        ),
        2.0
    );
    // One log line per decision, with the uid and codes, never a value (the lines
    // are read from the gateway's output on a thread of their own: wait for them).
    let decisions_in = |logs: &[String]| -> Vec<Value> {
        logs.iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["message"] == "decision")
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut logs = gw.log_lines();
    while (decisions_in(&logs).len() as f64) < evaluated && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        logs = gw.log_lines();
    }
    let decisions = decisions_in(&logs);
    assert_eq!(decisions.len() as f64, evaluated);
    assert!(
        decisions
            .iter()
            .any(|d| d["codes"] == "sensitive-literal" && d["uid"] == "uid-9")
    );
    assert!(logs.iter().all(|l| !l.contains("hunter2")));
}

#[test]
fn v1_evaluate_answers_the_decision_object_of_simulate() {
    let gw = https(
        "evaluate",
        &[],
        &["--cluster", DEMO, "--policy", BENCH_POLICIES],
    );
    let api =
        std::fs::read_to_string(gateway_support::root().join("tests/workloads/api-training.json"))
            .unwrap();
    let crd = runai(
        "TrainingWorkload",
        "t",
        json!({"HF_TOKEN": {"value": "hf_secret_literal_value"}}),
    );
    let pod = workload(
        "Pod",
        "p",
        json!([{"name": "X", "value": "plain-literal-value"}]),
    );
    for body in [api, crd.to_string(), pod.to_string()] {
        let reply = gw.call("POST", "/v1/evaluate", body.as_bytes());
        assert_eq!(reply.status, 200, "{}", reply.text());
        let decision = reply.json();
        for field in [
            "workload",
            "allowed",
            "violations",
            "warnings",
            "patch",
            "env",
            "startup",
        ] {
            assert!(decision.get(field).is_some(), "{field} in {decision}");
        }
        // Literal values stay out of answers, even the ones that are not sensitive.
        let text = decision.to_string();
        assert!(
            !text.contains("literal_value") && !text.contains("literal-value"),
            "{text}"
        );
    }
    // A warning of an answer is counted as one, by its code.
    let case = runai(
        "TrainingWorkload",
        "w",
        json!({"X": {"value": "secret:my-secret,username"}}),
    );
    let reply = gw.call("POST", "/v1/evaluate", case.to_string().as_bytes());
    assert_eq!(reply.json()["warnings"][0]["code"], "secret-ref-case");
    let warned = [("code", "secret-ref-case")];
    assert_eq!(
        metric(&gw.metrics(), "secrets_gateway_warnings_total", &warned),
        1.0
    );
    let typed = gw.call(
        "POST",
        "/v1/evaluate?type=workspace",
        crd.to_string().as_bytes(),
    );
    assert_eq!(typed.status, 200);
    for (body, query, status) in [
        ("not json", "", 400),
        ("{\"kind\": \"ConfigMap\", \"apiVersion\": \"v1\"}", "", 422),
        ("{}", "?type=nonsense", 400),
    ] {
        let reply = gw.call("POST", &format!("/v1/evaluate{query}"), body.as_bytes());
        assert_eq!(reply.status, status, "{body}: {}", reply.text());
        assert!(reply.json()["error"].is_string());
    }
}

#[test]
fn kinds_and_operations_not_evaluated_are_admitted_and_counted() {
    let gw = https("skipped", &[], &[]);
    let pod = workload("Pod", "p", json!([{"name": "DB_PASSWORD", "value": "x"}]));
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "runai-team-a"}, "data": {"DB_PASSWORD": "x"}});
    let mut exec = review("exec", "CONNECT", &pod);
    exec["request"]["subResource"] = json!("exec");
    let mut status = review("status", "UPDATE", &pod);
    status["request"]["subResource"] = json!("status");
    let mut default_ns = review("elsewhere", "CREATE", &pod);
    default_ns["request"]["namespace"] = json!("default");
    default_ns["request"]["object"]["metadata"]["namespace"] = json!("default");
    let cases = [
        (review("delete", "DELETE", &pod), "operation"),
        (exec, "subresource"),
        (status, "subresource"),
        (review("cm", "CREATE", &config_map), "kind"),
        (default_ns, "namespace-not-in-view"),
    ];
    for (request, reason) in &cases {
        for path in ["/validate", "/mutate"] {
            let response = gw.review(path, request);
            assert_eq!(response["allowed"], true, "{reason}: {response}");
            assert!(response.get("patch").is_none());
            assert_eq!(response["uid"], request["request"]["uid"]);
        }
        let metrics = gw.metrics();
        assert!(
            metric(
                &metrics,
                "secrets_gateway_skipped_total",
                &[("reason", reason)]
            ) >= 2.0,
            "{reason}: {metrics}"
        );
    }
    // `kubectl debug --env` adds an ephemeral container through the
    // `pods/ephemeralcontainers` subresource: the Pod is evaluated with it.
    let mut debugged = workload("Pod", "p", json!([]));
    debugged["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox",
        "env": [{"name": "DB_PASSWORD", "value": "hunter2-debug"}]}]);
    let mut ephemeral = review("debug", "UPDATE", &debugged);
    ephemeral["request"]["subResource"] = json!("ephemeralcontainers");
    let response = gw.review("/validate", &ephemeral);
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("[sensitive-literal] at spec.ephemeralContainers[0].env[0].value")
            && !message.contains("hunter2"),
        "{message}"
    );
    let metrics = gw.metrics();
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_requests_total",
            &[("verdict", "skipped")]
        ),
        10.0
    );
    // Only the namespace outside the view was looked at (to place it), on both
    // endpoints, and the ephemeral containers' Pod evaluated.
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_evaluation_duration_seconds_count",
            &[]
        ),
        3.0
    );
    // dryRun is answered like any request.
    let mut dry = review("dry", "CREATE", &pod);
    dry["request"]["dryRun"] = json!(true);
    assert_eq!(gw.review("/validate", &dry)["allowed"], false);
}

/// A pod-template wrapper in runai-team-a with `env` in one of its templates and
/// `clean` in the others.
fn wrapper(kind: &str, name: &str, env: Value, clean: Value) -> Value {
    let meta = json!({"name": name, "namespace": "runai-team-a"});
    match kind {
        // The literal in the submitter; the cluster's head is clean.
        "RayJob" => json!({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": meta,
            "spec": {"entrypoint": "python train.py",
                "rayClusterSpec": {"headGroupSpec": {"template": template(clean.clone())},
                    "workerGroupSpecs": [{"groupName": "w", "template": template(clean)}]},
                "submitterPodTemplate": template(env)}}),
        // The literal in the second replicated job.
        "JobSet" => {
            json!({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": meta,
            "spec": {"replicatedJobs": [
                {"name": "driver", "template": {"spec": {"template": template(clean)}}},
                {"name": "workers", "replicas": 2, "template": {"spec": {"template": template(env)}}}]}})
        }
        // The literal in the workers.
        "PyTorchJob" => {
            json!({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": meta,
            "spec": {"pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": template(clean)},
                "Worker": {"replicas": 4, "template": template(env)}}}})
        }
        _ => panic!("{kind}"),
    }
}

#[test]
fn pod_template_wrappers_are_decided_at_their_own_admission() {
    let gw = https("wrappers", &[], &[]);
    let literal = json!([{"name": "DB_PASSWORD", "value": "hunter2-in-a-wrapper"}]);
    let good = json!([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "my-secret", "key": "password"}}}]);
    let cases = [
        (
            "RayJob",
            "spec.submitterPodTemplate.spec.containers[0].env[0].value",
        ),
        (
            "JobSet",
            "spec.replicatedJobs[1].template.spec.template.spec.containers[0].env[0].value",
        ),
        (
            "PyTorchJob",
            "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].env[0].value",
        ),
    ];
    let mut evaluated = 0.0;
    for (kind, field) in cases {
        let bad = wrapper(kind, "bad", literal.clone(), good.clone());
        let clean = wrapper(kind, "ok", good.clone(), good.clone());
        for path in ["/validate", "/mutate"] {
            // The literal password is rejected at the wrapper's own admission, naming
            // the field in the wrapper, never the value.
            let response = gw.review(path, &review("bad", "CREATE", &bad));
            let case = format!("{kind} {path}: {response}");
            assert_eq!(response["allowed"], false, "{case}");
            assert_eq!(response["status"]["code"], 403, "{case}");
            let message = response["status"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("[sensitive-literal] at {field}")),
                "{case}"
            );
            assert!(!response.to_string().contains("hunter2"), "{case}");
            // Clean templates are admitted, with no patch (Run:ai policies do not
            // govern Kubernetes objects).
            let response = gw.review(path, &review("ok", "UPDATE", &clean));
            assert_eq!(response["allowed"], true, "{kind} {path}: {response}");
            assert!(response.get("patch").is_none());
            evaluated += 2.0;
        }
    }
    // The pods their controllers create are still evaluated as they come: a Pod from
    // the RayJob's submitter template with the literal is rejected as a Pod.
    let submitter = wrapper("RayJob", "bad", literal.clone(), good.clone())["spec"]
        ["submitterPodTemplate"]["spec"]
        .clone();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "bad-", "namespace": "runai-team-a"}, "spec": submitter});
    let mut created = review("pod", "CREATE", &pod);
    created["request"]["name"] = json!("");
    let response = gw.review("/validate", &created);
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[sensitive-literal] at spec.containers[0].env[0].value")
    );
    evaluated += 1.0;
    // A wrapper at an API version whose layout the plugin does not know is admitted
    // unevaluated and counted apart, never read as a known version.
    let mut future = wrapper("RayJob", "future", literal.clone(), good.clone());
    future["apiVersion"] = json!("ray.io/v2");
    let response = gw.review("/validate", &review("future", "CREATE", &future));
    assert_eq!(response["allowed"], true, "{response}");
    // A thousand worker groups are read to the last.
    let groups: Vec<Value> = (0..1000)
        .map(|i| json!({"groupName": format!("g{i}"), "template": template(if i == 999 { literal.clone() } else { good.clone() })}))
        .collect();
    let big = json!({"apiVersion": "ray.io/v1", "kind": "RayCluster",
        "metadata": {"name": "big", "namespace": "runai-team-a"},
        "spec": {"headGroupSpec": {"template": template(good.clone())}, "workerGroupSpecs": groups}});
    let response = gw.review("/validate", &review("big", "CREATE", &big));
    assert_eq!(response["allowed"], false, "{response}");
    assert!(response["status"]["message"].as_str().unwrap().contains(
        "[sensitive-literal] at spec.workerGroupSpecs[999].template.spec.containers[0].env[0].value"
    ));
    evaluated += 1.0;
    let metrics = gw.metrics();
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_skipped_total",
            &[("reason", "api-version")]
        ),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_evaluation_duration_seconds_count",
            &[]
        ),
        evaluated
    );
}

#[test]
fn malformed_and_oversized_bodies_are_refused_with_what_was_expected() {
    let gw = https("malformed", &[], &["--max-body-bytes", "65536"]);
    let pod = workload("Pod", "p", json!([]));
    let mut v1beta1 = review("u", "CREATE", &pod);
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let mut no_request = review("u", "CREATE", &pod);
    no_request.as_object_mut().unwrap().remove("request");

    let cases: [(&str, &str, Vec<u8>, u16); 6] = [
        ("POST", "/validate", b"not json".to_vec(), 400),
        ("POST", "/validate", pod.to_string().into_bytes(), 400),
        ("POST", "/mutate", v1beta1.to_string().into_bytes(), 400),
        (
            "POST",
            "/validate",
            no_request.to_string().into_bytes(),
            400,
        ),
        ("GET", "/validate", Vec::new(), 405),
        ("GET", "/nowhere", Vec::new(), 404),
    ];
    for (method, path, body, status) in cases {
        let reply = gw.call(method, path, &body);
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
        let error = reply.json()["error"].as_str().unwrap().to_string();
        if status == 400 {
            assert!(
                error.contains("expected an admission.k8s.io/v1 AdmissionReview"),
                "{error}"
            );
        }
    }
    // A 400 says where and what kind of error, never what the body held there.
    let secret = "PASSWORD=hunter2xyz";
    let mut bad_api = review("u", "CREATE", &pod);
    bad_api["apiVersion"] = json!(secret);
    let mut bad_kind = review("u", "CREATE", &pod);
    bad_kind["kind"] = json!(secret);
    let mut bad_operation = review("u", "CREATE", &pod);
    bad_operation["request"]["operation"] = json!(secret);
    let mut bad_annotation = review("u", "CREATE", &pod);
    bad_annotation["request"]["object"]["metadata"]["annotations"] = json!({ secret: 1 });
    let mut bad_uid = review("u", "CREATE", &pod);
    bad_uid["request"]["uid"] = json!([secret]);
    for (what, body, expected) in [
        ("apiVersion", bad_api, "apiVersion is not"),
        ("kind", bad_kind, "kind is not"),
        ("operation", bad_operation, "request.operation"),
        ("annotation key", bad_annotation, "annotations[key]"),
        ("uid", bad_uid, "request.uid"),
    ] {
        let reply = gw.call("POST", "/validate", body.to_string().as_bytes());
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        let text = reply.text();
        assert!(!text.contains("hunter2"), "{what}: {text}");
        assert!(text.contains(expected), "{what}: {text}");
    }
    // Over the cap: refused from its declared length, before the body is sent.
    let reply = gw.conn().unwrap().declare("/validate", 70_000).unwrap();
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.json()["error"].as_str().unwrap().contains("65536"));
    // A review of a workload the plugin cannot read: rejected with the field.
    let broken = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "b", "namespace": "runai-team-a"}, "spec": {"containers": "nope"}});
    let response = gw.review("/validate", &review("b", "CREATE", &broken));
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 400);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("spec.containers")
    );
    // And the gateway still answers.
    assert_eq!(gw.call("GET", "/healthz", b"").status, 200);
    let readyz = gw.call("GET", "/readyz", b"").json();
    assert_eq!(readyz["ready"], true);
    // The gateway's default containment: the deadline alone, no fuel.
    let limits = readyz["plugin"]["limits"].as_str().unwrap();
    assert!(limits.starts_with("no fuel, deadline 2000 ms"), "{limits}");
}

fn hostile_review(what: &str) -> Value {
    review(what, "CREATE", &workload("Pod", what, json!([])))
}

#[test]
fn a_hostile_plugin_fails_closed_and_the_next_request_succeeds() {
    let gw = https(
        "hostile",
        &[
            "--plugin",
            HOSTILE,
            "--fuel",
            "0",
            "--deadline-ms",
            "300",
            "--memory-mib",
            "32",
        ],
        &[],
    );
    for (what, code) in [
        ("hostile-loop", "plugin-timeout"),
        ("hostile-oom", "plugin-memory"),
        ("hostile-trap", "plugin-trap"),
        ("hostile-huge", "plugin-output"),
    ] {
        let response = gw.review("/validate", &hostile_review(what));
        assert_eq!(response["allowed"], false, "{what}: {response}");
        assert_eq!(response["status"]["reason"], code, "{response}");
        assert_eq!(response["status"]["code"], 500);
        let ok = gw.review("/validate", &hostile_review("fine"));
        assert_eq!(ok["allowed"], true, "after {what}: {ok}");
        let metrics = gw.metrics();
        assert_eq!(
            metric(
                &metrics,
                "secrets_gateway_failures_total",
                &[("reason", code), ("action", "rejected")]
            ),
            1.0,
            "{metrics}"
        );
    }
}

#[test]
fn failure_policy_ignore_admits_with_a_warning_and_counts_it() {
    let gw = https(
        "ignore",
        &["--plugin", HOSTILE, "--fuel", "0", "--deadline-ms", "200"],
        &["--failure-policy", "ignore"],
    );
    let response = gw.review("/mutate", &hostile_review("hostile-loop"));
    assert_eq!(response["allowed"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("plugin-timeout") && warning.contains("(ignore)"),
        "{warning}"
    );
    assert!(warning.chars().count() <= 120);
    let metrics = gw.metrics();
    assert_eq!(
        metric(
            &metrics,
            "secrets_gateway_failures_total",
            &[("reason", "plugin-timeout"), ("action", "admitted")]
        ),
        1.0
    );
}

/// 25,000 sensitive literals (a 1 MiB Pod the API server takes) made a decision over the
/// host's 4 MiB cap, a `plugin-output` failure that `ignore` admitted unevaluated. The
/// plugin lists a bounded number of findings, so it stays a rejection.
#[test]
fn a_flood_of_findings_stays_a_rejection_under_failure_policy_ignore() {
    let gw = https(
        "flood",
        &[],
        &[
            "--failure-policy",
            "ignore",
            "--policy",
            "policies/credential-literals/policy.yaml",
        ],
    );
    let env: Vec<Value> = (0..25_000)
        .map(|i| json!({"name": format!("PASSWORD{i}"), "value": "hunter2xyz"}))
        .collect();
    let pod = workload("Pod", "flood", json!(env));
    let response = gw.review("/validate", &review("flood", "CREATE", &pod));
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("sensitive-literal"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    // 1,200 variables each expanding to 4 KiB made /v1/evaluate's decision (it shows the
    // environment) 4.9 MB, over the plugin's output cap: the GitHub token beside them was
    // admitted unevaluated. Expansions shown are bounded over the whole workload.
    let mut env = vec![
        json!({"name": "LEAKY", "value": "ghp_Q7vN2kP9xR4tL8mZ3wB6yH1jD5fS0cA2eG7u"}),
        json!({"name": "V0", "value": "abcdefgh"}),
    ];
    for i in 1..1200 {
        let p = format!("$(V{})", i - 1);
        env.push(json!({"name": format!("V{i}"), "value": p.repeat(4)}));
    }
    let pod = workload("Pod", "expands", json!(env));
    let reply = gw.call("POST", "/v1/evaluate", pod.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.len() < 1 << 20, "{} bytes", reply.body.len());
    let decision = reply.json();
    assert_eq!(decision["allowed"], false, "{}", decision["violations"]);
    assert!(
        decision["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["code"] == "credential-literal")
    );
    assert!(!reply.text().contains("ghp_Q7vN2kP9"));
}

#[test]
fn an_overload_is_answered_by_the_failure_policy_at_once() {
    let gw = https(
        "overload",
        &["--plugin", HOSTILE, "--fuel", "0", "--deadline-ms", "1500"],
        &[
            "--workers",
            "1",
            "--queue",
            "1",
            "--queue-timeout-ms",
            "10000",
        ],
    );
    // One evaluation runs, one waits, the others find the queue full.
    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| gw.review("/validate", &hostile_review("hostile-loop"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let reasons: Vec<&str> = answers
        .iter()
        .map(|a| a["status"]["reason"].as_str().unwrap_or(""))
        .collect();
    assert!(answers.iter().all(|a| a["allowed"] == false), "{answers:?}");
    assert!(reasons.contains(&"gateway-overloaded"), "{reasons:?}");
    assert!(reasons.contains(&"plugin-timeout"), "{reasons:?}");
}

fn tenancy_cluster(dir: &TempDir) -> String {
    let path = dir.path("cluster.yaml");
    std::fs::write(
        &path,
        "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: team-a}\n---\n\
         apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: team-b}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {name: db-creds, namespace: runai-team-b}\n\
         stringData: {password: x}\n---\n\
         apiVersion: secrets.policy.run.ai/v1alpha1\nkind: SecretPolicy\n\
         metadata: {name: baseline, namespace: runai}\nspec: {enforcement: enforce}\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn answers_never_name_another_tenant_unless_hints_are_asked_for() {
    let dir = TempDir::new("tenancy-files");
    let cluster = tenancy_cluster(&dir);
    let env = json!([{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}}]);
    let borrow = workload("Pod", "borrow", env);
    let mut wrong_project = workload("Pod", "label", json!([]));
    wrong_project["metadata"]["labels"] = json!({"project": "team-b"});
    let mut unknown_project = workload("Pod", "label", json!([]));
    unknown_project["metadata"]["labels"] = json!({"project": "nope"});
    let api = json!({"name": "t", "projectId": "nope", "spec": {"image": "x",
        "environmentVariables": [{"name": "A", "value": "b"}]}});

    let gw = https("tenancy", &[], &["--cluster", &cluster]);
    let mut answers = Vec::new();
    for object in [&borrow, &wrong_project, &unknown_project] {
        for path in ["/validate", "/mutate"] {
            let response = gw.review(path, &review("t", "CREATE", object));
            assert_eq!(response["allowed"], false, "{response}");
            answers.push(response.to_string());
        }
        answers.push(
            gw.call("POST", "/v1/evaluate", object.to_string().as_bytes())
                .text(),
        );
    }
    answers.push(
        gw.call("POST", "/v1/evaluate", api.to_string().as_bytes())
            .text(),
    );
    for answer in &answers {
        assert!(!answer.contains("team-b"), "another tenant named: {answer}");
        assert!(
            !answer.contains("team-a,") && !answer.contains("projects:"),
            "projects listed: {answer}"
        );
    }

    // The admin's hints are there when asked for: the test above can see a leak.
    let admin = https(
        "tenancy-hints",
        &[],
        &["--cluster", &cluster, "--hints", "cluster"],
    );
    let response = admin.review("/validate", &review("t", "CREATE", &borrow));
    assert!(response.to_string().contains("runai-team-b"), "{response}");
}

#[test]
fn a_state_change_under_load_fails_no_request_and_is_used_afterwards() {
    let dir = TempDir::new("state");
    let state = dir.path("state");
    let state_arg = state.display().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["--state", &state_arg])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["project", "create", "team-a"]);
    let secret = dir.path("secret.yaml");
    std::fs::write(
        &secret,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: runai-team-a}\nstringData: {password: x}\n",
    )
    .unwrap();
    let gw = Gateway::start(&["--state", &state_arg, "serve", "--insecure-http"], None);
    let env = json!([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]);
    let body = review("load", "CREATE", &workload("Pod", "p", env)).to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let switched: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let results = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (stop, body, gw) = (stop.clone(), body.clone(), &gw);
                s.spawn(move || {
                    let mut conn = gw.conn().unwrap();
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let sent = Instant::now();
                        let reply = conn.request("POST", "/validate", body.as_bytes());
                        let allowed = reply
                            .ok()
                            .filter(|r| r.status == 200)
                            .map(|r| r.json()["response"]["allowed"].as_bool().unwrap());
                        seen.push((sent, allowed));
                    }
                    seen
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        run(&["apply", "-f", &secret.display().to_string()]);
        // Wait for a fresh request to see the new view.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut probe = Conn::open(gw.addr, None).unwrap();
        while Instant::now() < deadline {
            let at = Instant::now();
            let r = probe.request("POST", "/validate", body.as_bytes()).unwrap();
            if r.json()["response"]["allowed"] == true {
                *switched.lock().unwrap() = Some(at);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    let switched = switched.lock().unwrap().expect("the new view was loaded");
    assert!(results.len() > 20, "{} requests", results.len());
    assert!(
        results.iter().all(|(_, a)| a.is_some()),
        "a request failed during the reload"
    );
    assert!(
        results.iter().any(|(_, a)| *a == Some(false)),
        "the old view answered first"
    );
    assert!(
        results
            .iter()
            .filter(|(t, _)| *t > switched)
            .all(|(_, a)| *a == Some(true)),
        "a request after the swap used the old view"
    );
    let metrics = gw.metrics();
    assert!(
        metric(
            &metrics,
            "secrets_gateway_reloads_total",
            &[("what", "cluster"), ("result", "ok")]
        ) >= 1.0
    );

    // A change that does not load keeps the last good view and says so on /readyz.
    std::fs::write(state.join("state.json"), "{ not json").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut readyz = gw.call("GET", "/readyz", b"").json();
    while readyz["clusterView"]["lastReloadError"].is_null() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        readyz = gw.call("GET", "/readyz", b"").json();
    }
    assert!(
        readyz["clusterView"]["lastReloadError"]["error"].is_string(),
        "{readyz}"
    );
    assert_eq!(readyz["ready"], true);
    let after = gw.call("POST", "/validate", body.as_bytes()).json();
    assert_eq!(
        after["response"]["allowed"], true,
        "the last good view is kept"
    );
    assert!(
        metric(
            &gw.metrics(),
            "secrets_gateway_reloads_total",
            &[("result", "error")]
        ) >= 1.0
    );
}

#[test]
fn a_rotated_certificate_is_served_without_a_restart() {
    let dir = TempDir::new("rotation");
    let (cert, key) = (dir.path("tls.crt"), dir.path("tls.key"));
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    old_ca.write_server_cert(&cert, &key);
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let gw = Gateway::start(
        &["serve", "--tls-cert", &cert_arg, "--tls-key", &key_arg],
        Some(old_ca.client(None)),
    );
    let mut kept = gw.conn().unwrap();
    assert_eq!(kept.request("GET", "/healthz", b"").unwrap().status, 200);

    new_ca.write_server_cert(&cert, &key);
    let new_client = new_ca.client(None);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rotated = false;
    while Instant::now() < deadline && !rotated {
        rotated = Conn::open(gw.addr, Some(&new_client))
            .and_then(|mut c| c.request("GET", "/healthz", b""))
            .is_ok_and(|r| r.status == 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(rotated, "the new certificate was not served");
    let old = Conn::open(gw.addr, Some(&old_ca.client(None)))
        .and_then(|mut c| c.request("GET", "/healthz", b""));
    assert!(old.is_err(), "the old certificate is still served");
    // A connection made before the rotation goes on.
    assert_eq!(kept.request("GET", "/healthz", b"").unwrap().status, 200);
    let metrics = Conn::open(gw.addr, Some(&new_client))
        .unwrap()
        .request("GET", "/metrics", b"")
        .unwrap()
        .text();
    assert!(
        metric(
            &metrics,
            "secrets_gateway_reloads_total",
            &[("what", "tls"), ("result", "ok")]
        ) >= 1.0
    );

    // A FIFO in the certificate's place hung the TLS watcher for good (and /dev/zero
    // grew it without end): now a reload error, the last good certificate served.
    std::fs::remove_file(&cert).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&cert)
        .status()
        .unwrap();
    assert!(made.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        let readyz = Conn::open(gw.addr, Some(&new_client))
            .unwrap()
            .request("GET", "/readyz", b"")
            .unwrap()
            .json();
        if let Some(e) = readyz["tls"]["lastReloadError"]["error"].as_str() {
            break e.to_string();
        }
        assert!(Instant::now() < deadline, "no reload error: {readyz}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(error.contains("not a regular file"), "{error}");
    std::fs::remove_file(&cert).unwrap();
    new_ca.write_server_cert(&cert, &key);
    let again =
        Conn::open(gw.addr, Some(&new_client)).and_then(|mut c| c.request("GET", "/healthz", b""));
    assert_eq!(again.unwrap().status, 200);
}

#[test]
fn client_certificates_are_required_with_a_client_ca() {
    let dir = TempDir::new("mtls");
    let (cert, key, client_ca) = (dir.path("tls.crt"), dir.path("tls.key"), dir.path("ca.crt"));
    let server_ca = Ca::new("server CA");
    server_ca.write_server_cert(&cert, &key);
    let clients = Ca::new("client CA");
    std::fs::write(&client_ca, &clients.pem).unwrap();
    let args = [
        "serve".to_string(),
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
        "--client-ca".into(),
        client_ca.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gw = Gateway::start(&args, None);
    let anonymous = Conn::open(gw.addr, Some(&server_ca.client(None)))
        .and_then(|mut c| c.request("GET", "/healthz", b""));
    assert!(anonymous.is_err(), "served a client without a certificate");
    let (client_cert, client_key) = clients.issue();
    let known = server_ca.client(Some((&client_cert, &client_key)));
    let reply = Conn::open(gw.addr, Some(&known))
        .unwrap()
        .request("GET", "/healthz", b"")
        .unwrap();
    assert_eq!(reply.status, 200);
}

#[test]
fn sigterm_lets_the_requests_in_flight_finish_and_exits_0() {
    let mut gw = https(
        "sigterm",
        &["--plugin", HOSTILE, "--fuel", "0", "--deadline-ms", "1000"],
        &["--workers", "2", "--queue-timeout-ms", "10000"],
    );
    // A hang-up is not a stop (its default action killed the gateway on the spot).
    gw.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.call("GET", "/healthz", b"").status, 200);
    let answers = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let gw = &gw;
                s.spawn(move || {
                    gw.conn().unwrap().request(
                        "POST",
                        "/validate",
                        hostile_review("hostile-loop").to_string().as_bytes(),
                    )
                })
            })
            .collect();
        // Signal once all three are in flight (the metrics request makes a fourth).
        let deadline = Instant::now() + Duration::from_secs(30);
        while metric(&gw.metrics(), "secrets_gateway_in_flight", &[]) < 4.0 {
            assert!(
                Instant::now() < deadline,
                "the requests never got in flight"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        gw.signal("TERM");
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for answer in &answers {
        let reply = answer.as_ref().expect("answered");
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json()["response"]["status"]["reason"],
            "plugin-timeout"
        );
    }
    let status = gw
        .gateway
        .wait(Duration::from_secs(20))
        .expect("exits within the grace period");
    assert!(status.success(), "{status:?}");
    assert!(
        Conn::open(gw.addr, gw.tls.as_ref())
            .and_then(|mut c| c.request("GET", "/healthz", b""))
            .is_err()
    );
}

#[test]
fn serve_needs_a_certificate_or_insecure_http() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
}

#[test]
fn the_load_tests_review_wraps_the_benchmark_workload() {
    let root = gateway_support::root();
    let review: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("loadtest/review.json")).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(root.join("policies/bench/workload.yaml")).unwrap();
    let workload = host::manifest::parse(&text, "workload.yaml").unwrap();
    assert_eq!(review["request"]["object"], workload[0].value);
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
}

/// A cluster file caught empty (an editor's or `>`'s truncation before the write), a
/// file of no documents, a FIFO or a deleted file took every policy away: a Pod with a
/// sensitive literal was admitted. Each is now a reload error, and the last good view
/// keeps deciding.
#[test]
fn a_cluster_file_caught_empty_or_replaced_by_a_fifo_keeps_the_last_good_view() {
    let dir = TempDir::new("emptied");
    let file = dir.path("cluster.yaml");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/demo/cluster.yaml");
    std::fs::copy(&demo, &file).unwrap();
    let file_arg = file.display().to_string();
    let gw = Gateway::start(&["serve", "--insecure-http", "--cluster", &file_arg], None);
    let env = json!([{"name": "DB_PASSWORD", "value": "hunter2xyz"}]);
    let body = review("lit", "CREATE", &workload("Pod", "p", env)).to_string();
    let rejected = |gw: &Gateway| {
        let reply = gw.call("POST", "/validate", body.as_bytes()).json();
        reply["response"]["allowed"] == false
    };
    assert!(rejected(&gw));
    let fifo = |path: &Path| {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let mut errors_seen = 0.0;
    for (what, change) in [
        (
            "empty",
            &(|p: &Path| std::fs::write(p, "").unwrap()) as &dyn Fn(&Path),
        ),
        ("no documents", &|p: &Path| {
            std::fs::write(p, "---\n# nothing\n").unwrap()
        }),
        ("a FIFO", &|p: &Path| {
            std::fs::remove_file(p).unwrap();
            fifo(p);
        }),
        ("deleted", &|p: &Path| std::fs::remove_file(p).unwrap()),
    ] {
        change(&file);
        let deadline = Instant::now() + Duration::from_secs(20);
        let errors = || {
            metric(
                &gw.metrics(),
                "secrets_gateway_reloads_total",
                &[("what", "cluster"), ("result", "error")],
            )
        };
        while errors() <= errors_seen && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        errors_seen = errors();
        let readyz = gw.call("GET", "/readyz", b"").json();
        let error = readyz["clusterView"]["lastReloadError"]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no reload error: {readyz}"))
            .to_string();
        assert!(error.contains("cluster.yaml"), "{what}: {error}");
        assert!(rejected(&gw), "{what}: the last good view was dropped");
        if file.exists() {
            std::fs::remove_file(&file).unwrap();
        }
        std::fs::copy(&demo, &file).unwrap();
    }
    assert_eq!(gw.call("GET", "/healthz", b"").status, 200);
}

/// The text log wrote the client's uid, kind and name raw: a newline in a name (not yet
/// validated on /mutate) forged a log line, and ANSI escapes reached the terminal.
#[test]
fn the_text_log_escapes_the_clients_strings() {
    let gw = Gateway::start(&["serve", "--insecure-http", "--log-format", "text"], None);
    let name = "p\nFORGED verdict=\"allowed\" \u{1b}[2K";
    let mut pod = workload("Pod", "x", json!([]));
    pod["metadata"]["name"] = json!(name);
    let mut body = review("uid\nFORGED-uid", "CREATE", &pod);
    body["request"]["name"] = json!(name);
    let reply = gw.call("POST", "/mutate", body.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut logs = gw.log_lines();
    while !logs.iter().any(|l| l.contains("decision")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        logs = gw.log_lines();
    }
    assert!(logs.iter().any(|l| l.contains("decision")), "{logs:?}");
    for line in &logs {
        assert!(!line.starts_with("FORGED"), "{logs:?}");
        assert!(!line.contains('\u{1b}'), "{logs:?}");
    }
}

/// Reading and decoding bodies happened for every connection at once, outside the
/// worker pool: 64 concurrent 1.3 MB reviews took 1.4 GB, 300 slow uploads 2.6 GB.
/// Bodies are now admitted against --max-inflight-bytes (503 past the queue timeout,
/// so the API server applies the webhook's failurePolicy) and connections are capped.
#[test]
fn bodies_in_memory_and_connections_are_capped() {
    use std::io::Write;
    let gw = Gateway::start(
        &[
            "serve",
            "--insecure-http",
            "--max-inflight-bytes",
            "100000",
            "--queue-timeout-ms",
            "300",
            "--max-connections",
            "4",
        ],
        None,
    );
    let pod = workload("Pod", "p", json!([]));
    let mut padded = review("pad", "CREATE", &pod).to_string();
    padded.push_str(&" ".repeat(20_000));
    assert_eq!(gw.call("POST", "/validate", padded.as_bytes()).status, 200);

    // A slow upload holds 90 KB of the budget: a 20 KB body cannot get its share.
    let mut slow = std::net::TcpStream::connect(gw.addr).unwrap();
    write!(
        slow,
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n{{"
    )
    .unwrap();
    // Its share is taken once its head is read: wait until it is in flight (the
    // metrics request makes a second).
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&gw.metrics(), "secrets_gateway_in_flight", &[]) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the slow upload never got in flight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = gw.call("POST", "/validate", padded.as_bytes());
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.text().contains("--max-inflight-bytes"));
    // A small one still fits.
    let small = review("small", "CREATE", &pod).to_string();
    assert_eq!(gw.call("POST", "/validate", small.as_bytes()).status, 200);
    drop(slow);
    // Its share comes back once the gateway sees the connection end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while gw.call("POST", "/validate", padded.as_bytes()).status != 200 {
        assert!(Instant::now() < deadline, "the share never came back");
    }
    assert!(
        metric(
            &gw.metrics(),
            "secrets_gateway_failures_total",
            &[("reason", "gateway-overloaded"), ("action", "unanswered")]
        ) >= 1.0
    );

    // Four kept-alive connections, each served once, take every place (after the
    // connections above have closed): the fifth is closed at once.
    std::thread::sleep(Duration::from_millis(500));
    let held: Vec<Conn> = (0..4)
        .map(|_| {
            let mut conn = Conn::open(gw.addr, None).unwrap();
            assert_eq!(conn.request("GET", "/healthz", b"").unwrap().status, 200);
            conn
        })
        .collect();
    let refused = Conn::open(gw.addr, None).and_then(|mut c| c.request("GET", "/healthz", b""));
    assert!(refused.is_err(), "a fifth connection was served");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.call("GET", "/healthz", b"").status, 200);
    assert!(
        metric(
            &gw.metrics(),
            "secrets_gateway_connections_refused_total",
            &[]
        ) >= 1.0
    );
}

/// One project floods the gateway with reviews that each run to the plugin's deadline
/// (1 s: the hostile plugin loops on `hostile-loop`), four at a time; another
/// project's reviews are still taken by a worker within the queue timeout (500 ms):
/// namespaces take turns, and a heavy lane keeps one of the two workers free. With
/// one shared queue, they waited behind the flood and most were `gateway-overloaded`
/// (16 of 20 in the hostile probe of issue 20).
#[test]
fn one_projects_expensive_reviews_leave_a_worker_to_the_others() {
    let gw = https(
        "fair",
        &["--plugin", HOSTILE, "--fuel", "0", "--deadline-ms", "1000"],
        &["--workers", "2", "--queue-timeout-ms", "500"],
    );
    let flood = hostile_review("hostile-loop");
    // Its cost is known once one has run.
    let first = gw.review("/validate", &flood);
    assert_eq!(first["status"]["reason"], "plugin-timeout", "{first}");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let outcome = std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = gw.conn().and_then(|mut c| {
                        c.request("POST", "/validate", flood.to_string().as_bytes())
                    });
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let mut other = workload("Pod", "clean", json!([]));
        other["metadata"]["namespace"] = json!("runai-team-b");
        let answers: Vec<Value> = (0..20)
            .map(|i| gw.review("/validate", &review(&format!("b{i}"), "CREATE", &other)))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        answers
    });
    let overloaded: Vec<&Value> = outcome
        .iter()
        .filter(|a| a["status"]["reason"] == "gateway-overloaded")
        .collect();
    assert!(
        overloaded.is_empty(),
        "{} of 20 overloaded: {:?}",
        overloaded.len(),
        overloaded.first()
    );
}

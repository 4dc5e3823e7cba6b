//! Issue 20: the live gateway in a real cluster. Each case writes objects in one
//! project namespace (runai-team-a) of a fake API server, or breaks the API server
//! itself, and checks what the gateway answers for a clean pod of every project:
//! a failure stays in its scope (the namespace it governs), a blip or a CRD change
//! is not an outage, and answers match what the cluster holds.

mod gateway_support;
mod live_support;

use gateway_support::{Gateway, TempDir, metric, review};
use live_support::{FakeApi, event};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

fn secret(namespace: &str, name: &str, keys: &[&str], labels: Value) -> Value {
    let data: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!("eA==")))
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": data, "type": "Opaque"})
}

fn project(name: &str) -> Value {
    json!({"apiVersion": "run.ai/v2", "kind": "Project", "metadata": {"name": name}, "spec": {}})
}

fn secret_policy(namespace: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "secrets.policy.run.ai/v1alpha1", "kind": "SecretPolicy",
           "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

fn training_policy(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "run.ai/v2alpha1", "kind": "TrainingPolicy",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"environment": {"items": {"LR": {"value": "0.1"}}}}})
}

/// Three projects, each with its own secret, a baseline in `runai`, and a
/// cluster-wide secret whose copy Run:ai made in team-a's and team-c's namespaces.
fn cluster(api: &FakeApi) {
    api.put(&namespace("runai", json!(null)));
    for team in ["team-a", "team-b", "team-c"] {
        api.put(&namespace(
            &format!("runai-{team}"),
            json!({"runai/queue": team}),
        ));
        api.put(&project(team));
        api.put(&secret(
            &format!("runai-{team}"),
            "db",
            &["token"],
            json!(null),
        ));
    }
    api.put(&secret_policy(
        "runai",
        "baseline",
        json!({"enforcement": "enforce", "sensitiveEnvNames": ["*PASSWORD*"]}),
    ));
    let wide = json!({"runai/cluster-wide": "true"});
    api.put(&secret("runai", "hf-token", &["token"], wide.clone()));
    api.put(&secret(
        "runai-team-a",
        "hf-token",
        &["token"],
        wide.clone(),
    ));
    api.put(&secret("runai-team-c", "hf-token", &["token"], wide));
}

/// A clean pod of `namespace`: it references its namespace's own secret.
fn pod(namespace: &str, secret: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
           "spec": {"containers": [{"name": "c", "image": "x",
               "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}}}]}]}})
}

fn literal_password(namespace: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
           "spec": {"containers": [{"name": "c", "image": "x",
               "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]}})
}

struct Live {
    api: FakeApi,
    gw: Gateway,
    _dir: TempDir,
}

/// A fake cluster set up by `setup`, and a gateway on it, synced.
fn start(name: &str, setup: impl FnOnce(&FakeApi), extra: &[&str]) -> Live {
    let api = FakeApi::start();
    cluster(&api);
    setup(&api);
    let dir = TempDir::new(name);
    let kubeconfig = api.kubeconfig(&dir.0);
    let mut args = vec![
        "serve",
        "--insecure-http",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let gw = Gateway::start(&args, None);
    let live = Live { api, gw, _dir: dir };
    live.until("the first sync", |l| {
        l.gw.call("GET", "/readyz", b"").status == 200
    });
    live
}

impl Live {
    /// Waits (bounded) until `ok` holds.
    fn until(&self, what: &str, ok: impl Fn(&Live) -> bool) {
        let started = Instant::now();
        while !ok(self) {
            assert!(
                started.elapsed() < Duration::from_secs(45),
                "timed out waiting for {what}; readyz: {}",
                self.gw.call("GET", "/readyz", b"").text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answer(&self, object: &Value) -> Value {
        self.gw.review("/validate", &review("u", "CREATE", object))
    }

    fn codes(&self, object: &Value) -> Vec<String> {
        let answer = self.answer(object);
        if answer["allowed"] == true {
            return Vec::new();
        }
        let message = answer["status"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let reason = answer["status"]["reason"].as_str().unwrap_or("");
        if reason != "Forbidden" {
            return vec![reason.to_string()];
        }
        // `[code] at field: message`: a code is a kebab-case word (a glob list is not).
        message
            .split(" [")
            .skip(1)
            .filter_map(|p| p.split(']').next())
            .filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
            .map(str::to_string)
            .collect()
    }

    /// Waits until the view has the change: a clean pod of `namespace` gets `codes`.
    fn until_codes(&self, namespace: &str, codes: &[&str]) {
        let pod = pod(namespace, "db");
        self.until(&format!("{namespace} to answer {codes:?}"), |l| {
            l.codes(&pod) == codes
        });
    }
}

/// The objects of one case, written in runai-team-a only, and the codes a clean pod
/// of each project then gets.
struct Case {
    name: &'static str,
    setup: fn(&FakeApi),
    team_a: &'static [&'static str],
    /// The object the rejection names, if any.
    names: Option<&'static str>,
}

fn bad_selector(api: &FakeApi) {
    api.put(&secret_policy(
        "runai-team-a",
        "strict",
        json!({"allowedSecretSelector": {"matchLabels": {"a b": "c"}}}),
    ));
}

fn stray_fields(api: &FakeApi) {
    for (name, field, value) in [("a", "data", json!("x")), ("b", "type", json!(7))] {
        let mut p = training_policy("runai-team-a", name);
        p[field] = value;
        // One V1 policy of a kind per namespace: the second is an InteractivePolicy.
        if name == "b" {
            p["kind"] = json!("InteractivePolicy");
        }
        p["stringData"] = json!([1]);
        api.put(&p);
    }
}

fn unreadable_policy(api: &FakeApi) {
    let mut p = training_policy("runai-team-a", "labels");
    p["metadata"]["labels"] = json!({"tier": 1});
    api.put(&p);
}

fn two_training_policies(api: &FakeApi) {
    api.put(&training_policy("runai-team-a", "one"));
    api.put(&training_policy("runai-team-a", "two"));
}

fn string_spec(api: &FakeApi) {
    let mut p = training_policy("runai-team-a", "text");
    p["spec"] = json!("x");
    api.put(&p);
}

fn relabelled(api: &FakeApi) {
    api.put(&namespace("runai-team-a", json!({"runai/queue": "team-b"})));
}

const CASES: &[Case] = &[
    Case {
        name: "a SecretPolicy the plugin refuses",
        setup: bad_selector,
        team_a: &["policy-invalid"],
        names: Some("SecretPolicy runai-team-a/strict"),
    },
    Case {
        name: "stray fields of unexpected types on V1 policies are not read",
        setup: stray_fields,
        team_a: &[],
        names: None,
    },
    Case {
        name: "a policy that cannot be read",
        setup: unreadable_policy,
        team_a: &["policy-invalid"],
        names: Some("TrainingPolicy runai-team-a/labels"),
    },
    Case {
        name: "two TrainingPolicies in one namespace",
        setup: two_training_policies,
        team_a: &["policy-conflict"],
        names: Some("TrainingPolicy runai-team-a/two"),
    },
    Case {
        name: "a TrainingPolicy whose spec is a string",
        setup: string_spec,
        team_a: &["policy-invalid"],
        names: Some("TrainingPolicy runai-team-a/text"),
    },
];

#[test]
fn a_bad_object_stops_only_what_it_governs() {
    for case in CASES {
        let live = start("scope", case.setup, &[]);
        let a = live.answer(&pod("runai-team-a", "db"));
        assert_eq!(
            live.codes(&pod("runai-team-a", "db")),
            case.team_a,
            "{}: {a}",
            case.name
        );
        if let Some(object) = case.names {
            let message = a["status"]["message"].as_str().unwrap_or("");
            assert!(message.contains(object), "{}: {message}", case.name);
        }
        for other in ["runai-team-b", "runai-team-c"] {
            assert_eq!(
                live.codes(&pod(other, "db")),
                Vec::<String>::new(),
                "{}: {other}",
                case.name
            );
            // The cluster's rules still hold there.
            assert_eq!(
                live.codes(&literal_password(other)),
                ["sensitive-literal"],
                "{}",
                case.name
            );
        }
        // No answer to another project names team-a's objects, and /readyz names none.
        let b = live.answer(&literal_password("runai-team-b")).to_string();
        assert!(!b.contains("team-a"), "{}: {b}", case.name);
        let ready = live.gw.call("GET", "/readyz", b"");
        assert_eq!(ready.status, 200, "{}", case.name);
        assert!(
            !ready.text().contains("team-a"),
            "{}: {}",
            case.name,
            ready.text()
        );
    }
}

#[test]
fn a_fixed_object_frees_its_namespace_at_once() {
    let live = start("fixed", unreadable_policy, &[]);
    live.until_codes("runai-team-a", &["policy-invalid"]);
    // Deleted: the namespace is decided again with the next event, no backoff.
    let mut deleted = training_policy("runai-team-a", "labels");
    deleted["metadata"]["labels"] = json!({"tier": 1});
    live.api.remove("TrainingPolicy", "runai-team-a", "labels");
    let started = Instant::now();
    while live.api.push("TrainingPolicy", &event("DELETED", &deleted)) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no watch held open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    live.until_codes("runai-team-a", &[]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_namespace_label_conflict_stops_the_namespaces_involved_and_names_no_one_else() {
    let live = start("relabel", relabelled, &[]);
    for ns in ["runai-team-a", "runai-team-b"] {
        let answer = live.answer(&pod(ns, "db"));
        assert_eq!(
            live.codes(&pod(ns, "db")),
            ["namespace-conflict"],
            "{ns}: {answer}"
        );
        let text = answer.to_string();
        let other = if ns == "runai-team-a" {
            "team-b"
        } else {
            "team-a"
        };
        assert!(!text.contains(other), "{ns} learns of {other}: {text}");
    }
    assert_eq!(live.codes(&pod("runai-team-c", "db")), Vec::<String>::new());
    let ready = live.gw.call("GET", "/readyz", b"").text();
    assert!(!ready.contains("team-"), "{ready}");
    // The admin reads it in the log.
    let log = live.gw.log_lines().join("\n");
    assert!(
        log.contains("both labelled runai/queue=team-b") || log.contains("claimed by project"),
        "{log}"
    );
}

#[test]
fn a_tenants_policy_volume_exhausts_only_its_own_check() {
    // 24 SecretPolicies of ~780 KiB each (three lists of 1,024 globs of 250
    // characters: about the most one may hold), 18 MiB together against the plugin's
    // 64 MiB memory cap: the 17 of ~965 KiB, within the bounds of one object.
    let globs: Vec<String> = (0..1024)
        .map(|i| format!("*{i:06}{}*", "X".repeat(242)))
        .collect();
    let live = start(
        "volume",
        |api| {
            for i in 0..24 {
                api.put(&secret_policy(
                    "runai-team-a",
                    &format!("big-{i}"),
                    json!({"sensitiveEnvNames": globs, "deniedSecrets": globs, "allowedSecrets": globs}),
                ));
            }
            // Just under the bound: decided as usual (the bound leaves the plugin
            // room to evaluate within its memory cap).
            for i in 0..5 {
                api.put(&secret_policy(
                    "runai-team-c",
                    &format!("big-{i}"),
                    json!({"sensitiveEnvNames": globs, "deniedSecrets": globs, "allowedSecrets": globs}),
                ));
            }
        },
        &[],
    );
    let answer = live.answer(&pod("runai-team-a", "db"));
    assert_eq!(
        live.codes(&pod("runai-team-a", "db")),
        ["policy-invalid"],
        "{answer}"
    );
    assert!(answer.to_string().contains("at most 4 MiB"), "{answer}");
    assert_eq!(live.codes(&pod("runai-team-b", "db")), Vec::<String>::new());
    // One finding per policy, each listing a few of its globs.
    let c = live.answer(&pod("runai-team-c", "db"));
    assert_eq!(
        live.codes(&pod("runai-team-c", "db")),
        vec!["secret-not-allowed"; 5],
        "{c}"
    );
}

#[test]
fn a_spec_too_large_to_read_is_named_as_such() {
    let globs: Vec<String> = (0..25_000).map(|i| format!("*N{i}*")).collect();
    let live = start(
        "huge-spec",
        |api| {
            api.put(&secret_policy(
                "runai-team-a",
                "huge",
                json!({"sensitiveEnvNames": globs}),
            ));
        },
        &[],
    );
    let answer = live.answer(&pod("runai-team-a", "db")).to_string();
    assert!(
        answer.contains("holds more than 20000 values: not read"),
        "{answer}"
    );
    assert_eq!(live.codes(&pod("runai-team-b", "db")), Vec::<String>::new());
}

fn training(namespace: &str, lr: &str) -> Value {
    json!({"apiVersion": "run.ai/v2alpha1", "kind": "TrainingWorkload",
           "metadata": {"name": "t", "namespace": namespace},
           "spec": {"image": {"value": "x"}, "environment": {"items": {"LR": {"value": lr}}}}})
}

#[test]
fn a_deleted_or_moved_crd_is_discovered_again() {
    let live = start(
        "crd",
        |api| {
            let mut locked = training_policy("runai-team-b", "locked");
            locked["spec"]["environment"]["items"]["LR"]["rules"] = json!({"canEdit": false});
            api.put(&locked);
        },
        &[],
    );
    let password = literal_password("runai-team-b");
    assert_eq!(live.codes(&password), ["sensitive-literal"]);
    assert_eq!(
        live.codes(&training("runai-team-b", "0.5")),
        ["policy-locked"]
    );
    // The SecretPolicy CRD is deleted, and its objects with it: no policy, no outage.
    live.api.serve("SecretPolicy", None);
    live.until("the deletion to be seen", |l| l.codes(&password).is_empty());
    assert_eq!(live.gw.call("GET", "/readyz", b"").status, 200);
    // Created again: found without a restart.
    live.api.serve("SecretPolicy", Some("v1alpha1"));
    live.api.put(&secret_policy(
        "runai",
        "baseline",
        json!({"enforcement": "enforce", "sensitiveEnvNames": ["*PASSWORD*"]}),
    ));
    live.until("the CRD to be found again", |l| {
        l.codes(&password) == ["sensitive-literal"]
    });
    // The TrainingPolicy CRD now serves v1alpha1 only: the dead URL is left for the
    // new one, and the policy holds throughout.
    live.api.serve("TrainingPolicy", Some("v1alpha1"));
    live.until("the new version to be listed", |l| {
        !l.api
            .requests("/apis/run.ai/v1alpha1/trainingpolicies")
            .is_empty()
    });
    assert_eq!(
        live.codes(&training("runai-team-b", "0.5")),
        ["policy-locked"]
    );
    let metrics = live.gw.metrics();
    assert_eq!(
        metric(&metrics, "secrets_gateway_failures_total", &[]),
        0.0,
        "{metrics}"
    );
}

#[test]
fn an_api_server_blip_is_not_an_outage_and_the_staleness_bound_holds() {
    let live = start("blip", |_| {}, &["--max-staleness-seconds", "4"]);
    live.api.set_down(true);
    // Answers come from the last view while the watches are listed again.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(live.codes(&pod("runai-team-b", "db")), Vec::<String>::new());
    assert_eq!(
        live.codes(&literal_password("runai-team-b")),
        ["sensitive-literal"]
    );
    let ready = live.gw.call("GET", "/readyz", b"").json();
    assert_eq!(ready["ready"], true, "{ready}");
    live.until("the age to show", |l| {
        metric(
            &l.gw.metrics(),
            "secrets_gateway_cluster_view_age_seconds",
            &[],
        ) > 0.0
    });
    // Past the bound the failure policy answers.
    live.until("the staleness bound", |l| {
        l.codes(&pod("runai-team-b", "db")) == ["cluster-view-stale"]
    });
    live.api.set_down(false);
    live.until("the view to follow again", |l| {
        l.codes(&pod("runai-team-b", "db")).is_empty()
    });
    live.until("the age to reset", |l| {
        metric(
            &l.gw.metrics(),
            "secrets_gateway_cluster_view_age_seconds",
            &[],
        ) == 0.0
    });
}

#[test]
fn answers_come_from_what_the_cluster_holds() {
    let live = start(
        "holds",
        |api| {
            // A namespace labelled for a project that does not exist.
            api.put(&namespace("ghost-ns", json!({"runai/queue": "ghost"})));
            api.put(&secret("ghost-ns", "db", &["token"], json!(null)));
        },
        &["--hints", "cluster"],
    );
    // team-a has Run:ai's copy of the cluster-wide secret; team-b has none.
    assert_eq!(
        live.codes(&pod("runai-team-a", "hf-token")),
        Vec::<String>::new()
    );
    let answer = live.answer(&pod("runai-team-b", "hf-token"));
    assert_eq!(
        live.codes(&pod("runai-team-b", "hf-token")),
        ["secret-not-found"],
        "{answer}"
    );
    let message = answer["status"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("no copy of it exists in runai-team-b"),
        "{message}"
    );
    // Outside the view (no project): admitted unevaluated, not a false secret-not-found.
    let ghost = live.answer(&pod("ghost-ns", "db"));
    assert_eq!(ghost["allowed"], true, "{ghost}");
    let skipped = metric(
        &live.gw.metrics(),
        "secrets_gateway_skipped_total",
        &[("reason", "namespace-not-in-view")],
    );
    assert_eq!(skipped, 1.0);
}

#[test]
fn policies_and_namespaces_are_checked_at_their_own_admission() {
    let live = start(
        "admission",
        |api| {
            api.put(&training_policy("runai-team-a", "one"));
        },
        &[],
    );
    let refused = |object: &Value, code: &str, text: &str| {
        let answer = live.answer(object);
        assert_eq!(answer["allowed"], false, "{answer}");
        assert_eq!(answer["status"]["code"], 422, "{answer}");
        let message = answer["status"]["message"].as_str().unwrap_or("");
        assert!(message.contains(&format!("[{code}]")), "{message}");
        assert!(message.contains(text), "{text} not in {message}");
    };
    refused(
        &secret_policy(
            "runai-team-b",
            "strict",
            json!({"allowedSecretSelector": {"matchLabels": {"a b": "c"}}}),
        ),
        "policy-invalid",
        "spec.allowedSecretSelector",
    );
    // A second TrainingPolicy where team-a has one; the first's UPDATE is fine.
    refused(
        &training_policy("runai-team-a", "two"),
        "policy-conflict",
        "at most one TrainingPolicy",
    );
    let update = live.gw.review(
        "/validate",
        &review("u", "UPDATE", &training_policy("runai-team-a", "one")),
    );
    assert_eq!(update["allowed"], true, "{update}");
    assert_eq!(
        live.answer(&training_policy("runai-team-b", "one"))["allowed"],
        true
    );
    assert_eq!(
        live.answer(&secret_policy(
            "runai-team-b",
            "ok",
            json!({"sensitiveEnvNames": ["*KEY*"]})
        ))["allowed"],
        true
    );
    // A namespace label that claims a project another namespace holds.
    refused(
        &namespace("runai-team-a", json!({"runai/queue": "team-b"})),
        "namespace-conflict",
        "runai/queue",
    );
    assert_eq!(
        live.answer(&namespace("runai-team-d", json!({"runai/queue": "team-d"})))["allowed"],
        true
    );
}

//! The live cluster view against a fake API server on loopback (tests/live_support):
//! lists, watch events, a watch that ends with 410 Gone, a connection cut in the middle
//! of an event, a watch the server ends cleanly, 403s, and Secrets whose values must
//! not reach the view, the state file, the output or the gateway's answers.

mod gateway_support;
mod live_support;

use base64::Engine;
use gateway_support::{Gateway, TempDir, review};
use host::live::{self, Connection, Live};
use live_support::{End, FakeApi, event, gone};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Values the fake's Secrets hold; none may appear anywhere the host writes.
const VALUES: &[&str] = &[
    "LIVEVALUE-hf-token-1",
    "LIVEVALUE-admin-2",
    "LIVEVALUE-password-3",
    "LIVEVALUE-default-4",
    "LIVEVALUE-string-5",
    "LIVEVALUE-added-6",
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every form a value could leak in: plain, base64, and the base64 of its JSON.
fn forms() -> Vec<String> {
    VALUES
        .iter()
        .flat_map(|v| {
            [
                v.to_string(),
                b64(v),
                b64(v).trim_end_matches('=').to_string(),
            ]
        })
        .collect()
}

fn assert_no_value(what: &str, text: &str) {
    for form in forms() {
        assert!(
            !text.contains(&form),
            "{what} holds a secret value ({form}):\n{text}"
        );
    }
    assert!(
        !text.contains("LIVEVALUE"),
        "{what} holds a secret value:\n{text}"
    );
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": "u1",
           "annotations": {"note": "x"}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

fn secret(namespace: &str, name: &str, data: &[(&str, &str)], labels: Value) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(b64(v))))
        .collect();
    let last_applied = json!({"apiVersion": "v1", "kind": "Secret", "data": data,
        "metadata": {"name": name, "namespace": namespace}})
    .to_string();
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": namespace, "labels": labels, "uid": "u2",
                        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied},
                        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}]},
           "data": data, "type": "Opaque"})
}

/// A small Run:ai cluster: two projects, a department, a cluster-wide secret, a
/// project secret, a secret outside every project, a SecretPolicy and a TrainingPolicy.
fn cluster(api: &FakeApi) {
    for ns in [
        "runai",
        "runai-team-a",
        "team-b-ns",
        "default",
        "kube-system",
    ] {
        api.put(&namespace(ns));
    }
    api.put(
        &json!({"apiVersion": "run.ai/v2", "kind": "Department", "metadata": {"name": "research"},
                    "spec": {"quota": 4}}),
    );
    api.put(&json!({"apiVersion": "run.ai/v2", "kind": "Project", "metadata": {"name": "team-a"},
                    "spec": {"department": "research", "nodeAffinity": {}}, "status": {"phase": "Ready"}}));
    api.put(
        &json!({"apiVersion": "run.ai/v2", "kind": "Project", "metadata": {"name": "team-b"},
                    "spec": {"namespace": "team-b-ns", "id": 1002}}),
    );
    api.put(&secret(
        "runai",
        "hf-token",
        &[("token", VALUES[0])],
        json!({"runai/cluster-wide": "true"}),
    ));
    // Run:ai's copy in team-a's namespace; team-b's is missing (a live view answers
    // from what exists, never from a derived copy).
    api.put(&secret(
        "runai-team-a",
        "hf-token",
        &[("token", VALUES[0])],
        json!({"runai/cluster-wide": "true"}),
    ));
    let mut own = secret(
        "runai-team-a",
        "my-secret",
        &[("username", VALUES[1]), ("password", VALUES[2])],
        json!({"app": "db"}),
    );
    own["immutable"] = json!(true);
    own["stringData"] = json!({"extra": VALUES[4]});
    api.put(&own);
    api.put(&secret(
        "default",
        "elsewhere",
        &[("x", VALUES[3])],
        json!(null),
    ));
    api.put(
        &json!({"apiVersion": "secrets.policy.run.ai/v1alpha1", "kind": "SecretPolicy",
        "metadata": {"name": "baseline", "namespace": "runai"},
        "spec": {"enforcement": "enforce", "sensitiveEnvNames": ["*PASSWORD*", "*TOKEN*"],
                 "requireExistingReferences": true}}),
    );
    api.put(
        &json!({"apiVersion": "run.ai/v2alpha1", "kind": "TrainingPolicy",
        "metadata": {"name": "training", "namespace": "runai-team-a"},
        "spec": {"environment": {"items": {"WANDB_KEY": {"value": "SECRET:my-secret,password",
                 "rules": {"canEdit": false}}}}}}),
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits (bounded) until `ok` holds of the live status.
async fn until(live: &Live, what: &str, ok: impl Fn(&live::Status) -> bool) -> live::Status {
    let started = Instant::now();
    loop {
        let status = live.status();
        if ok(&status) {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {status:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn store<'a>(status: &'a live::Status, plural: &str) -> &'a live::ResourceStatus {
    status
        .resources
        .iter()
        .find(|r| r.resource.starts_with(&format!("{plural} ")))
        .unwrap_or_else(|| panic!("no store of {plural}: {status:#?}"))
}

async fn start(api: &FakeApi, dir: &TempDir) -> Live {
    let client = Connection::Kubeconfig(api.kubeconfig(&dir.0))
        .client()
        .await
        .expect("a client");
    let resources = live::resources(&client).await.expect("discovery");
    assert!(resources.absent.is_empty(), "{:?}", resources.absent);
    Live::start(client, live::targets())
}

fn keys(cluster: &host::cluster::Cluster, namespace: &str) -> Vec<(String, Vec<String>, bool)> {
    cluster
        .catalog(namespace)
        .into_iter()
        .map(|s| (s.name, s.keys, s.cluster_wide_copy))
        .collect()
}

#[test]
fn lists_build_the_view_with_key_names_only() {
    let api = FakeApi::start();
    cluster(&api);
    let dir = TempDir::new("live-list");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        let status = until(&live, "the first lists", |s| s.synced).await;
        assert_eq!(store(&status, "secrets").objects, 4, "{status:#?}");
        let (_, built) = live.build(&[]).expect("synced");
        let built = built.expect("a valid view");
        assert!(built.skipped.is_empty(), "{:?}", built.skipped);
        let cluster = built.cluster;
        assert_eq!(
            cluster.projects.keys().collect::<Vec<_>>(),
            ["team-a", "team-b"]
        );
        assert_eq!(
            cluster.project_namespaces().keys().collect::<Vec<_>>(),
            ["runai-team-a", "team-b-ns"]
        );
        assert!(cluster.departments.contains_key("research"));
        assert_eq!(
            cluster.find_project("1002").map(|p| p.name.as_str()),
            Some("team-b")
        );
        // Key names (data and stringData), type, immutable; Run:ai's copy of the
        // cluster-wide secret, known as one; the secret of `default` is in no
        // project: not kept. team-b's copy does not exist: none is derived.
        assert_eq!(
            keys(&cluster, "runai-team-a"),
            [
                ("hf-token".to_string(), vec!["token".to_string()], true),
                (
                    "my-secret".to_string(),
                    vec![
                        "extra".to_string(),
                        "password".to_string(),
                        "username".to_string()
                    ],
                    false
                ),
            ]
        );
        assert_eq!(keys(&cluster, "team-b-ns"), []);
        let own = &cluster.secrets[&("runai-team-a".to_string(), "my-secret".to_string())];
        assert!(own.immutable);
        assert_eq!(own.secret_type, "Opaque");
        assert_eq!(own.labels.get("app").map(String::as_str), Some("db"));
        assert!(
            own.keys.values().all(|size| *size == 0),
            "no value is measured: {:?}",
            own.keys
        );
        assert!(!cluster.secrets.keys().any(|(ns, _)| ns == "default"));
        let mut kinds: Vec<&str> = cluster.policies.iter().map(|p| p.kind.as_str()).collect();
        kinds.sort();
        assert_eq!(kinds, ["SecretPolicy", "TrainingPolicy"]);
        // Nothing of a value in the view, its debug form or the state it would write.
        assert_no_value("the view", &format!("{:?}", cluster.secrets));
        assert_no_value("the policies", &format!("{:?}", cluster.policies));
        let state = host::state::to_text(&cluster).unwrap();
        assert_no_value("the state file", &String::from_utf8(state).unwrap());
    });
    // The host asked for pages, and only read what deploy/live/rbac.yaml grants.
    assert!(api.requests("limit=").len() >= 9);
    for request in api.requests("") {
        let (method, target) = request.split_once(' ').unwrap();
        assert_eq!(method, "GET", "{request}");
        let path = target.split('?').next().unwrap();
        let discovery = [
            "/apis/run.ai",
            "/apis/run.ai/v2",
            "/apis/run.ai/v2alpha1",
            "/apis/secrets.policy.run.ai",
            "/apis/secrets.policy.run.ai/v1alpha1",
        ];
        let granted = live::READ.iter().any(|(group, plural)| {
            let prefix = if group.is_empty() {
                "/api/v1".to_string()
            } else {
                format!("/apis/{group}/")
            };
            path.starts_with(&prefix) && path.ends_with(&format!("/{plural}"))
        });
        assert!(
            discovery.contains(&path) || granted,
            "{request} is not granted"
        );
    }
}

#[test]
fn watch_events_change_the_view_and_values_never_arrive() {
    let api = FakeApi::start();
    cluster(&api);
    let added = secret(
        "runai-team-a",
        "new-one",
        &[("key", VALUES[5])],
        json!(null),
    );
    let added = api.put(&added);
    api.remove("Secret", "runai-team-a", "new-one");
    let mut changed = secret(
        "runai-team-a",
        "my-secret",
        &[("username", VALUES[1])],
        json!(null),
    );
    changed["metadata"]["resourceVersion"] = json!("500");
    let mut deleted = secret("runai-team-a", "hf-token", &[], json!(null));
    deleted["metadata"]["resourceVersion"] = json!("501");
    api.script(
        "Secret",
        vec![
            event("ADDED", &added),
            event("MODIFIED", &changed),
            event("DELETED", &deleted),
            json!({"type": "BOOKMARK", "object": {"kind": "Secret", "apiVersion": "v1",
                   "metadata": {"resourceVersion": "777"}}}),
        ],
        End::Close,
    );
    let dir = TempDir::new("live-watch");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        until(&live, "three watch events", |s| {
            s.synced && s.generation >= 12
        })
        .await;
        let started = Instant::now();
        let cluster = loop {
            let (_, built) = live.build(&[]).expect("synced");
            let cluster = built.expect("a valid view").cluster;
            if keys(&cluster, "runai-team-a").len() == 2
                && !cluster
                    .secrets
                    .contains_key(&("runai-team-a".to_string(), "hf-token".to_string()))
            {
                break cluster;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{:?}",
                cluster.secrets
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            keys(&cluster, "runai-team-a"),
            [
                ("my-secret".to_string(), vec!["username".to_string()], false),
                ("new-one".to_string(), vec!["key".to_string()], false),
            ]
        );
        assert_no_value("the view", &format!("{:?}", cluster.secrets));
        // The watch the server ended is resumed from the bookmark's version, without
        // a new list.
        let started = Instant::now();
        let resumed = || {
            api.requests("/api/v1/secrets?")
                .iter()
                .any(|r| r.contains("watch=true") && r.ends_with("resourceVersion=777"))
        };
        while !resumed() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{:?}",
                api.requests("watch=true")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(api.lists("Secret"), 1);
        assert!(live.status().synced);
    });
}

#[test]
fn a_watch_that_ends_with_410_gone_lists_again() {
    let api = FakeApi::start();
    cluster(&api);
    api.script("Secret", vec![gone()], End::Close);
    // What the second list finds: the change the lost events would have brought.
    api.hold_lists("Secret");
    let dir = TempDir::new("live-gone");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        // The first list is held: not synced, and no view.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!live.status().synced);
        assert!(live.build(&[]).is_none());
        api.release_lists("Secret");
        until(&live, "the first list", |s| store(s, "secrets").lists == 1).await;
        api.put(&secret(
            "runai-team-a",
            "after-gone",
            &[("k", "v")],
            json!(null),
        ));
        let status = until(&live, "a second list after 410", |s| {
            store(s, "secrets").lists == 2 && s.synced
        })
        .await;
        assert_eq!(store(&status, "secrets").objects, 5);
        let (_, built) = live.build(&[]).expect("synced again");
        let cluster = built.unwrap().cluster;
        assert!(
            cluster
                .secrets
                .contains_key(&("runai-team-a".to_string(), "after-gone".to_string()))
        );
    });
    assert_eq!(api.lists("Secret"), 2);
}

/// A server that answers every watch with 410 was listed again at once, every time
/// (83 cluster-wide secret lists in 8 s): the backoff now grows until a list's watches
/// hold for a minute.
#[test]
fn a_watch_that_breaks_at_once_every_time_is_listed_again_with_a_growing_backoff() {
    let api = FakeApi::start();
    cluster(&api);
    for _ in 0..30 {
        api.script("Secret", vec![gone()], End::Close);
    }
    let dir = TempDir::new("live-gone-loop");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        until(&live, "the first list", |s| store(s, "secrets").lists >= 1).await;
        // Backoffs of 0.5, 1 and 2 s: lists at about 0, 0.5, 1.5 and 3.5 s.
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    let lists = api.lists("Secret");
    assert!((2..=4).contains(&lists), "{lists} lists in 3 s");
}

#[test]
fn a_connection_cut_in_an_event_lists_again_and_is_stale_meanwhile() {
    let api = FakeApi::start();
    cluster(&api);
    api.script(
        "Namespace",
        vec![event("ADDED", &namespace("runai-new"))],
        End::Cut,
    );
    let dir = TempDir::new("live-cut");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        // The cut makes the store stale (not current) with the error, until the list
        // after it (after a backoff) is in; the view stays synced: it answers from
        // what it last held.
        let broken = until(&live, "the cut", |s| store(s, "namespaces").error.is_some()).await;
        let error = store(&broken, "namespaces").error.clone().unwrap();
        assert!(error.contains("watch namespaces"), "{error}");
        assert!(broken.synced && !store(&broken, "namespaces").current);
        assert!(live.stale_since().is_some());
        assert!(live.build(&[]).is_some());
        until(&live, "the list after the cut", |s| {
            store(s, "namespaces").lists == 2 && store(s, "namespaces").current
        })
        .await;
        assert!(live.stale_since().is_none());
    });
    assert_eq!(api.lists("Namespace"), 2);
}

#[test]
fn forbidden_lists_say_which_verb_on_which_resource() {
    let api = FakeApi::start();
    cluster(&api);
    api.forbid("Secret");
    let dir = TempDir::new("live-403");
    runtime().block_on(async {
        let live = start(&api, &dir).await;
        let status = until(&live, "the 403", |s| store(s, "secrets").error.is_some()).await;
        assert!(!status.synced);
        let error = store(&status, "secrets").error.clone().unwrap();
        for part in [
            "list secrets (core/v1)",
            "forbidden (403)",
            "may not list secrets",
            "deploy/rbac.yaml",
            "cannot list resource \"secrets\"",
        ] {
            assert!(error.contains(part), "{part} not in: {error}");
        }
        assert!(live.build(&[]).is_none());
    });
    // import stops with the same message, exit 2, and writes nothing.
    import_fails(&api, &dir, "list secrets (core/v1): forbidden (403)");
}

/// `host import` from `api` exits 2 with `message` and writes no state.
fn import_fails(api: &FakeApi, dir: &TempDir, message: &str) {
    let state = dir.path("state");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["import", "--kubeconfig"])
        .arg(api.kubeconfig(&dir.0))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(message), "{stderr}");
    assert!(!state.exists());
}

/// A server whose `continue` never ends was listed without end (2 GB in a minute).
#[test]
fn a_list_that_does_not_advance_is_an_error() {
    let api = FakeApi::start();
    cluster(&api);
    api.endless_lists("Secret");
    let dir = TempDir::new("live-endless");
    import_fails(
        &api,
        &dir,
        "list secrets (core/v1): the server gave the same `continue` token twice",
    );
    assert_eq!(api.lists("Secret"), 2);
}

#[test]
fn a_wrong_token_is_401_with_what_to_check() {
    let api = FakeApi::start();
    let dir = TempDir::new("live-401");
    let config = api.kubeconfig(&dir.0);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("test-token", "stale-token");
    std::fs::write(&config, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["import", "--kubeconfig"])
        .arg(&config)
        .arg("--state")
        .arg(dir.path("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    assert!(!stderr.contains("stale-token"), "{stderr}");
}

#[test]
fn import_writes_a_state_without_values_that_simulate_uses() {
    let api = FakeApi::start();
    cluster(&api);
    let dir = TempDir::new("live-import");
    let state = dir.path("state");
    let host = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args(args)
            .current_dir(gateway_support::root())
            .output()
            .unwrap()
    };
    let kubeconfig = api.kubeconfig(&dir.0);
    let (kubeconfig, state_arg) = (kubeconfig.to_str().unwrap(), state.to_str().unwrap());
    let out = host(&["import", "--kubeconfig", kubeconfig, "--state", state_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("5 namespaces, 2 projects, 1 departments, 3 secrets"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(state.join("state.json")).unwrap();
    assert_no_value("the imported state", &written);
    assert_no_value("import's output", &stdout);
    let list = host(&["secret", "list", "--state", state_arg]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(listed.contains("extra,password,username"), "{listed}");
    assert_no_value("secret list", &listed);
    // simulate against the snapshot and against the live cluster directly agree.
    let workload = dir.path("w.yaml");
    std::fs::write(
        &workload,
        "apiVersion: run.ai/v2alpha1\nkind: TrainingWorkload\nmetadata: {name: t, namespace: runai-team-a}\n\
         spec:\n  image: {value: x}\n  environment:\n    items:\n      HF_TOKEN: {value: 'SECRET:hf-token,token'}\n\
         \x20     DB_USER: {value: 'SECRET:my-secret,user-name'}\n",
    )
    .unwrap();
    let w = workload.to_str().unwrap();
    let offline = host(&["simulate", w, "--state", state_arg, "-o", "json"]);
    let direct = host(&["simulate", w, "--kubeconfig", kubeconfig, "-o", "json"]);
    assert_eq!(
        offline.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_eq!(
        direct.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let (offline, direct): (Value, Value) = (
        serde_json::from_slice(&offline.stdout).unwrap(),
        serde_json::from_slice(&direct.stdout).unwrap(),
    );
    assert_eq!(offline, direct);
    let codes: Vec<&str> = offline[0]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap())
        .collect();
    // The key typo is caught against the live keys; hf-token's copy resolves; the
    // TrainingPolicy of the project is read (its locked default is injected).
    assert_eq!(codes, ["secret-key-not-found"], "{offline}");
    assert_no_value("simulate", &offline.to_string());
    // The flags that cannot go together are refused.
    let both = host(&[
        "simulate",
        w,
        "--kubeconfig",
        kubeconfig,
        "--cluster",
        "x.yaml",
    ]);
    assert_eq!(both.status.code(), Some(2));
    let outside = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["import", "--in-cluster", "--state", state_arg])
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap();
    assert_eq!(outside.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(
        stderr.contains("--in-cluster: not running in a pod"),
        "{stderr}"
    );
    assert!(stderr.contains("--kubeconfig FILE"), "{stderr}");
    let none = host(&["import", "--state", state_arg]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--kubeconfig FILE or --in-cluster"));
}

fn workload(secret_ref: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "runai-team-a"},
           "spec": {"containers": [{"name": "c", "image": "x",
               "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret_ref, "key": "token"}}}]}]}})
}

#[test]
fn the_gateway_is_not_ready_until_synced_and_decides_on_the_live_view() {
    let api = FakeApi::start();
    cluster(&api);
    api.hold_lists("Secret");
    let dir = TempDir::new("live-serve");
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
    // Not synced: /readyz 503 and an evaluation answered by the failure policy.
    let ready = gw.call("GET", "/readyz", b"");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.json()["ready"], false);
    let answer = gw.review("/validate", &review("u1", "CREATE", &workload("hf-token")));
    assert_eq!(answer["allowed"], false, "{answer}");
    let message = answer["status"]["message"].as_str().unwrap_or("");
    assert!(message.contains("cluster-view-not-synced"), "{answer}");
    api.release_lists("Secret");
    let started = Instant::now();
    let detail = loop {
        let ready = gw.call("GET", "/readyz", b"");
        if ready.status == 200 {
            break ready.json();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            ready.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(detail["clusterView"]["synced"], true, "{detail}");
    // The cluster-wide copy exists in the live cluster only: admitted.
    let answer = gw.review("/validate", &review("u2", "CREATE", &workload("hf-token")));
    assert_eq!(answer["allowed"], true, "{answer}");
    let answer = gw.review("/validate", &review("u3", "CREATE", &workload("no-such")));
    assert_eq!(answer["allowed"], false, "{answer}");
    // A watch event reaches the view: the missing secret appears.
    let added = api.put(&secret(
        "runai-team-a",
        "no-such",
        &[("token", VALUES[5])],
        json!(null),
    ));
    let started = Instant::now();
    while api.push("Secret", &event("ADDED", &added)) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no watch of secrets held open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    loop {
        let answer = gw.review("/validate", &review("u4", "CREATE", &workload("no-such")));
        if answer["allowed"] == true {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for line in gw.log_lines() {
        assert_no_value("the gateway's log", &line);
    }
    assert_no_value("/readyz", &gw.call("GET", "/readyz", b"").text());
    assert_no_value("/metrics", &gw.metrics());
}

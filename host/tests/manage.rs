//! The gateway's own certificate and webhooks (`host serve --tls-secret ...
//! --register-webhooks`) against the fake API server (tests/live_support): gateways run
//! as processes with lifetimes of seconds, and every check talks to them over TLS
//! trusting only what the API server would trust: the `caBundle` of the registered
//! webhook configuration.

mod gateway_support;
mod live_support;

use base64::Engine;
use gateway_support::{Gateway, TempDir, metric, review};
use live_support::FakeApi;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "/api/v1/namespaces/gw/secrets/gw-tls";
const SECRETS: &str = "/api/v1/namespaces/gw/secrets";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/gw/leases/runai-secrets-gateway";
const VALIDATING: &str =
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/runai-secrets-gateway";
const MUTATING: &str =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/runai-secrets-gateway";
const ROLE: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles/gw-role";

/// The install's ClusterRole, which the webhook configurations belong to.
fn install(api: &FakeApi) -> String {
    let role = api.store(
        ROLE,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "gw-role"}, "rules": []}),
    );
    role["metadata"]["uid"].as_str().unwrap().to_string()
}

/// A gateway that manages its certificate in `gw/gw-tls` with lifetimes of seconds:
/// the Secret read every 200 ms, a Lease of 3 s, rotation phases of 1 s.
fn start(api: &FakeApi, dir: &TempDir, extra: &[&str]) -> Gateway {
    let kubeconfig = api.kubeconfig(&dir.0);
    let mut args = vec![
        "serve",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--tls-secret",
        "gw-tls",
        "--namespace",
        "gw",
        "--webhook-url",
        "https://localhost:1",
        "--register-webhooks",
        "--webhook-owner",
        "gw-role",
        "--manage-interval-ms",
        "200",
        "--lease-seconds",
        "3",
    ];
    if !extra.contains(&"--rotation-overlap-seconds") {
        args.extend(["--rotation-overlap-seconds", "1"]);
    }
    args.extend_from_slice(extra);
    Gateway::start(&args, None)
}

fn until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client that trusts these PEM certificates only.
fn trusting(pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn decode(base64: &Value) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(base64.as_str().unwrap_or(""))
            .unwrap(),
    )
    .unwrap()
}

/// The CAs the API server trusts for the validating webhook, once registered.
fn registered_bundle(api: &FakeApi) -> Option<String> {
    let config = api.object(VALIDATING)?;
    Some(decode(&config["webhooks"][0]["clientConfig"]["caBundle"]))
}

/// One request over a fresh TLS connection trusting `bundle` for `localhost`: the
/// status, the body and the certificate the gateway served.
fn exchange(
    addr: SocketAddr,
    bundle: &str,
    path: &str,
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), String> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(trusting(bundle), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let method = if body.is_empty() { "GET" } else { "POST" };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    tls.write_all(body).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) => {}
        // rustls reports a peer that closes without close_notify.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let served = tls.conn.peer_certificates().ok_or("no certificate")?[0].to_vec();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body, served))
}

/// The status and the certificate served.
fn call(addr: SocketAddr, bundle: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    exchange(addr, bundle, path, body).map(|(status, _, cert)| (status, cert))
}

fn ready(gw: &Gateway, bundle: &str) -> bool {
    call(gw.addr, bundle, "/readyz", b"").is_ok_and(|(status, _)| status == 200)
}

fn workload() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "x"}]}})
}

/// /metrics over the gateway's TLS (the throwaway certificate is not trusted).
fn metrics_of(gw: &Gateway, bundle: &str) -> String {
    exchange(gw.addr, bundle, "/metrics", b"").unwrap().1
}

fn readyz_of(gw: &Gateway, bundle: &str) -> String {
    exchange(gw.addr, bundle, "/readyz", b"").unwrap().1
}

fn logged(gw: &Gateway, part: &str) -> bool {
    gw.log_lines().iter().any(|l| l.contains(part))
}

#[test]
fn two_replicas_create_the_secret_once_and_register_only_when_ready() {
    let api = FakeApi::start();
    let uid = install(&api);
    // The view cannot sync while the Secrets' list is held: no webhook may be
    // registered before then.
    api.hold_lists("Secret");
    let dir = TempDir::new("manage-two");
    let a = start(&api, &dir, &[]);
    let b = start(&api, &dir, &[]);
    let secret = until("the TLS Secret", Duration::from_secs(60), || {
        api.object(SECRET)
    });
    let bundle = decode(&secret["data"]["ca.crt"]);
    // Both replicas serve the Secret's certificate.
    let served: Vec<Vec<u8>> = [&a, &b]
        .iter()
        .map(|gw| {
            until(
                "the Secret's certificate served",
                Duration::from_secs(30),
                || {
                    call(gw.addr, &bundle, "/healthz", b"")
                        .ok()
                        .map(|(_, cert)| cert)
                },
            )
        })
        .collect();
    assert_eq!(
        served[0], served[1],
        "the replicas serve different certificates"
    );
    let creates: Vec<String> = api.writes(&format!("POST {SECRETS}"));
    assert_eq!(
        creates.iter().filter(|w| w.ends_with(" 201")).count(),
        1,
        "created once: {creates:?}"
    );
    // Not ready, so not registered, while the view is not synced.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!ready(&a, &bundle) && !ready(&b, &bundle));
    assert!(api.object(VALIDATING).is_none() && api.object(MUTATING).is_none());
    assert!(
        api.writes("webhookconfigurations")
            .iter()
            .all(|w| !w.starts_with("PATCH"))
    );
    api.release_lists("Secret");
    let registered = until("the webhooks registered", Duration::from_secs(30), || {
        api.object(MUTATING)?;
        registered_bundle(&api)
    });
    assert_eq!(registered, bundle, "the caBundle is the Secret's CA");
    for path in [VALIDATING, MUTATING] {
        let config = api.object(path).unwrap();
        assert_eq!(
            config["metadata"]["ownerReferences"][0]["uid"],
            uid.as_str(),
            "{config}"
        );
        assert_eq!(
            config["metadata"]["ownerReferences"][0]["kind"],
            "ClusterRole"
        );
        let client = &config["webhooks"][0]["clientConfig"];
        assert!(
            client["url"]
                .as_str()
                .unwrap()
                .starts_with("https://localhost:1/"),
            "{client}"
        );
        let managers = config["metadata"]["managedFields"].to_string();
        assert!(
            managers.contains("runai-secrets-gateway") && managers.contains("Apply"),
            "{managers}"
        );
    }
    // One replica writes: the Lease's holder.
    let lease = api.object(LEASE).unwrap();
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap()
        .to_string();
    let leaders: f64 = [&a, &b]
        .iter()
        .map(|gw| metric(&metrics_of(gw, &bundle), "secrets_gateway_leader", &[]))
        .sum();
    assert_eq!(leaders, 1.0, "one leader ({holder})");
    // Admission over the registered bundle works on both.
    for gw in [&a, &b] {
        until("ready", Duration::from_secs(30), || {
            ready(gw, &bundle).then_some(())
        });
        let body = review("u1", "CREATE", &workload()).to_string();
        let (status, _) = call(gw.addr, &bundle, "/validate", body.as_bytes()).unwrap();
        assert_eq!(status, 200);
    }
    // Nothing written again while nothing changes (a careful controller).
    let patches = api.writes("PATCH").len();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        api.writes("PATCH").len(),
        patches,
        "{:?}",
        api.writes("PATCH")
    );
    // No key material in any output: logs, /readyz, /metrics.
    let key = decode(&secret["data"]["tls.key"]);
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for gw in [&a, &b] {
        let outputs = [
            gw.log_lines().join("\n"),
            metrics_of(gw, &bundle),
            readyz_of(gw, &bundle),
        ];
        for text in outputs {
            for leak in ["PRIVATE KEY", "BEGIN CERTIFICATE", &key_body[..40]] {
                assert!(!text.contains(leak), "{leak} in {text}");
            }
        }
        assert!(readyz_of(gw, &bundle).contains("\"serving\":true"));
    }
}

#[test]
fn a_rotation_with_lifetimes_of_seconds_fails_no_request() {
    let api = FakeApi::start();
    install(&api);
    let dir = TempDir::new("manage-rotate");
    // Phases of 2 s leave a loaded machine time to read the Secret again (every 200 ms).
    let extra = [
        "--cert-validity-seconds",
        "14",
        "--rotation-overlap-seconds",
        "2",
    ];
    let a = start(&api, &dir, &extra);
    let b = start(&api, &dir, &extra);
    until("the webhooks registered", Duration::from_secs(60), || {
        registered_bundle(&api)
    });
    // As the API server does: each request trusts the caBundle registered at the time.
    let started = Instant::now();
    let (mut requests, mut failures) = (0, Vec::new());
    let mut certificates = std::collections::BTreeSet::new();
    let body = review("u", "CREATE", &workload()).to_string();
    while started.elapsed() < Duration::from_secs(32) {
        let bundle = registered_bundle(&api).unwrap();
        for gw in [&a, &b] {
            requests += 1;
            match call(gw.addr, &bundle, "/validate", body.as_bytes()) {
                Ok((200, cert)) => {
                    certificates.insert(cert);
                }
                other => failures.push(format!("{:?}: {other:?}", started.elapsed())),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} failed: {failures:?}",
        failures.len()
    );
    assert!(
        certificates.len() >= 3,
        "two rotations in 32 s: {} certificates",
        certificates.len()
    );
    let bundle = registered_bundle(&api).unwrap();
    let finished: f64 = [&a, &b]
        .iter()
        .map(|gw| {
            metric(
                &metrics_of(gw, &bundle),
                "secrets_gateway_certificate_events_total",
                &[("event", "rotation-finished")],
            )
        })
        .sum();
    assert!(finished >= 2.0, "{finished}");
}

#[test]
fn the_other_replica_takes_the_lease_when_the_leader_is_killed() {
    let api = FakeApi::start();
    install(&api);
    let dir = TempDir::new("manage-kill");
    let a = start(&api, &dir, &[]);
    let b = start(&api, &dir, &[]);
    let bundle = until("registered", Duration::from_secs(60), || {
        registered_bundle(&api)
    });
    let holder = |api: &FakeApi| {
        api.object(LEASE)
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    };
    let first = holder(&api).unwrap();
    let pid_a = a.pid().to_string();
    let (mut leader, follower) = if first.contains(&format!("_{pid_a}_")) {
        (a, b)
    } else {
        (b, a)
    };
    leader.signal("KILL");
    leader.wait(Duration::from_secs(10));
    let killed = Instant::now();
    let second = until("the Lease taken over", Duration::from_secs(15), || {
        holder(&api).filter(|h| *h != first)
    });
    // The Lease lasts 3 s: the follower waits that long after the last renewal.
    assert!(
        second.contains(&format!("_{}_", follower.pid())),
        "{second}"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "{:?}",
        killed.elapsed()
    );
    assert!(
        logged(&follower, "took the Lease over"),
        "{:?}",
        follower.log_lines()
    );
    let text = metrics_of(&follower, &bundle);
    assert_eq!(metric(&text, "secrets_gateway_leader", &[]), 1.0);
    assert_eq!(
        metric(
            &text,
            "secrets_gateway_leader_changes_total",
            &[("event", "took-over")]
        ),
        1.0
    );
}

#[test]
fn a_lease_held_by_a_dead_holder_is_taken_after_its_duration() {
    let api = FakeApi::start();
    install(&api);
    api.store(
        LEASE,
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "runai-secrets-gateway", "namespace": "gw"},
               "spec": {"holderIdentity": "gone-pod_1_0", "leaseDurationSeconds": 3,
                        "renewTime": "2020-01-01T00:00:00.000000Z", "leaseTransitions": 4}}),
    );
    let dir = TempDir::new("manage-dead");
    let gw = start(&api, &dir, &[]);
    let bundle = until(
        "registered by the new holder",
        Duration::from_secs(60),
        || registered_bundle(&api),
    );
    let lease = api.object(LEASE).unwrap();
    assert_eq!(lease["spec"]["leaseTransitions"], 5, "{lease}");
    until("the log line", Duration::from_secs(10), || {
        (logged(&gw, "took the Lease over") && logged(&gw, "gone-pod_1_0")).then_some(())
    });
    let text = metrics_of(&gw, &bundle);
    assert_eq!(
        metric(
            &text,
            "secrets_gateway_leader_changes_total",
            &[("event", "took-over")]
        ),
        1.0
    );
}

/// A running, registered gateway and the bundle it is registered with.
fn running(api: &FakeApi, dir: &TempDir) -> (Gateway, String) {
    install(api);
    let gw = start(api, dir, &[]);
    let bundle = until("registered", Duration::from_secs(60), || {
        api.object(MUTATING)?;
        registered_bundle(api)
    });
    until("ready", Duration::from_secs(30), || {
        ready(&gw, &bundle).then_some(())
    });
    (gw, bundle)
}

#[test]
fn a_secret_the_gateway_did_not_make_is_never_touched_nor_registered() {
    let api = FakeApi::start();
    install(&api);
    let foreign = api.store(
        SECRET,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "gw-tls", "namespace": "gw"},
               "data": {"tls.crt": "aHVudGVyMg=="}}),
    );
    let dir = TempDir::new("manage-foreign");
    let gw = start(&api, &dir, &[]);
    until("the log line", Duration::from_secs(30), || {
        logged(&gw, "was not made by the gateway").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(api.object(SECRET).unwrap(), foreign, "changed");
    assert!(
        api.object(VALIDATING).is_none(),
        "a webhook it cannot serve was registered"
    );
    // Not ready: it serves only the throwaway certificate.
    let detail = gw.log_lines().join("\n");
    assert!(
        !detail.contains("hunter2") && !detail.contains("aHVudGVyMg"),
        "{detail}"
    );
}

#[test]
fn a_broken_or_expired_secret_keeps_the_last_good_certificate_until_it_is_replaced() {
    // A test of the gateway's own making: expired, or not a certificate at all.
    for (case, spoil) in [
        (
            "not-a-certificate",
            Box::new(|s: &mut Value| s["data"]["tls.crt"] = json!("aHVudGVyMg=="))
                as Box<dyn Fn(&mut Value)>,
        ),
        (
            "expired",
            Box::new(|s: &mut Value| {
                let names = vec!["localhost".to_string()];
                let past = 1_600_000_000;
                let (ca, pair) =
                    host::serve::certs::issue(&names, past, Duration::from_secs(3600)).unwrap();
                *s = host::serve::certs::secret(
                    "gw",
                    "gw-tls",
                    Some(s),
                    Some(&pair),
                    None,
                    &ca,
                    past,
                );
            }),
        ),
    ] {
        let api = FakeApi::start();
        let dir = TempDir::new(&format!("manage-{case}"));
        let (gw, bundle) = running(&api, &dir);
        let (_, before) = call(gw.addr, &bundle, "/healthz", b"").unwrap();
        api.edit(SECRET, |s| spoil(s));
        let spoiled_bundle = decode(&api.object(SECRET).unwrap()["data"]["ca.crt"]);
        // Logged, counted, replaced by the leader; meanwhile the last good certificate
        // answers, and what the API server trusts always verifies what is served.
        until("the log line", Duration::from_secs(30), || {
            gw.log_lines()
                .iter()
                .any(|l| l.contains("cannot be served") || l.contains("replacing the certificate"))
                .then_some(())
        });
        let after = until("a new certificate served", Duration::from_secs(30), || {
            let registered = registered_bundle(&api)?;
            match call(gw.addr, &registered, "/healthz", b"") {
                Ok((200, cert)) if cert != before => Some(cert),
                Ok((200, _)) => None,
                other => panic!("{case}: {other:?}"),
            }
        });
        assert_ne!(after, before);
        let registered = registered_bundle(&api).unwrap();
        let text = metrics_of(&gw, &registered);
        assert!(
            metric(
                &text,
                "secrets_gateway_certificate_events_total",
                &[("event", "replaced")]
            ) >= 1.0,
            "{case}"
        );
        if case == "expired" {
            assert!(
                !registered.contains(&spoiled_bundle),
                "{case}: the expired CA registered"
            );
        }
        for line in gw.log_lines() {
            assert!(
                !line.contains("hunter2") && !line.contains("aHVudGVyMg"),
                "{line}"
            );
        }
    }
}

#[test]
fn a_webhook_configuration_changed_or_deleted_by_someone_else_is_put_back() {
    let api = FakeApi::start();
    let dir = TempDir::new("manage-repair");
    let (gw, bundle) = running(&api, &dir);
    api.edit(VALIDATING, |c| {
        c["webhooks"][0]["clientConfig"]["caBundle"] = json!("Cg==");
        c["webhooks"][0]["failurePolicy"] = json!("Ignore");
    });
    until("repaired", Duration::from_secs(30), || {
        let config = api.object(VALIDATING)?;
        (config["webhooks"][0]["failurePolicy"] == "Fail" && registered_bundle(&api)? == bundle)
            .then_some(())
    });
    assert!(
        logged(&gw, "changed by someone else") && logged(&gw, "kubectl-edit"),
        "{:?}",
        gw.log_lines()
    );
    api.delete_object(MUTATING);
    until("recreated", Duration::from_secs(30), || {
        api.object(MUTATING)
    });
    let text = metrics_of(&gw, &bundle);
    assert_eq!(
        metric(
            &text,
            "secrets_gateway_webhook_registrations_total",
            &[("event", "repaired")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "secrets_gateway_webhook_registrations_total",
            &[("event", "recreated")]
        ),
        1.0,
        "{:#?}",
        gw.log_lines()
            .iter()
            .filter(|l| l.contains("configuration"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_api_server_that_refuses_the_write_is_logged_counted_and_retried() {
    let api = FakeApi::start();
    install(&api);
    api.deny("patch", "validatingwebhookconfigurations", true);
    let dir = TempDir::new("manage-403");
    let gw = start(&api, &dir, &[]);
    let secret = until("the TLS Secret", Duration::from_secs(60), || {
        api.object(SECRET)
    });
    let bundle = decode(&secret["data"]["ca.crt"]);
    until("the log line", Duration::from_secs(30), || {
        logged(&gw, "forbidden (403)").then_some(())
    });
    // It keeps answering with its certificate.
    let body = review("u1", "CREATE", &workload()).to_string();
    assert_eq!(
        call(gw.addr, &bundle, "/validate", body.as_bytes())
            .unwrap()
            .0,
        200
    );
    let text = metrics_of(&gw, &bundle);
    assert!(
        metric(
            &text,
            "secrets_gateway_management_errors_total",
            &[("what", "webhooks"), ("reason", "forbidden")]
        ) >= 1.0,
        "{text}"
    );
    assert!(api.object(VALIDATING).is_none());
    api.deny("patch", "validatingwebhookconfigurations", false);
    until("registered once allowed", Duration::from_secs(30), || {
        registered_bundle(&api)
    });
}

#[test]
fn without_its_owner_the_gateway_registers_nothing_uninstalling_would_leave_behind() {
    let api = FakeApi::start();
    let dir = TempDir::new("manage-owner");
    let gw = start(&api, &dir, &[]);
    until("the log line", Duration::from_secs(60), || {
        logged(&gw, "does not exist: not registering webhooks").then_some(())
    });
    assert!(api.object(VALIDATING).is_none() && api.object(MUTATING).is_none());
}

#[test]
fn a_gateway_outside_the_cluster_takes_its_webhooks_with_it_when_it_stops() {
    let api = FakeApi::start();
    let dir = TempDir::new("manage-stop");
    let (mut gw, _) = running(&api, &dir);
    assert!(api.object(VALIDATING).is_some() && api.object(MUTATING).is_some());
    gw.signal("TERM");
    let status = gw.wait(Duration::from_secs(30)).expect("the gateway exits");
    assert!(status.success(), "{status:?}");
    // No fail-closed webhook is left pointing at a gateway that is gone, and the Lease
    // is free for the next one at once.
    assert!(api.object(VALIDATING).is_none() && api.object(MUTATING).is_none());
    let lease = api.object(LEASE).unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

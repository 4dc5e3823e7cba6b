//! A fake Kubernetes API server for the live view's tests: plain HTTP on 127.0.0.1,
//! serving recorded discovery documents, lists and watch streams as the real API
//! server frames them (JSON lists with a resourceVersion and continue tokens; watches
//! as one JSON event a line, chunked). What each watch request gets is scripted: events,
//! then a clean end, a held-open stream, or a connection cut in the middle of an event.
//! A kubeconfig pointing at it is written for the host to use.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sending end of a watch stream.
type Feed = tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>;

type Body = Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = std::io::Error> + Send>>;

/// How a scripted watch ends after its events.
#[derive(Clone, Debug)]
pub enum End {
    /// The server ends the watch cleanly (as at its timeoutSeconds).
    Close,
    /// Kept open (until the test ends).
    Hold,
    /// The connection is cut in the middle of an event.
    Cut,
}

#[derive(Clone, Debug)]
pub struct Script {
    pub events: Vec<Value>,
    pub end: End,
}

#[derive(Default)]
struct State {
    /// Current objects per collection path (`/api/v1/secrets`), by name.
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    resource_version: u64,
    /// Scripted watches per collection path; past the script, a watch is held open.
    watches: BTreeMap<String, VecDeque<Script>>,
    /// Collection paths whose list and watch answer 403.
    forbidden: BTreeSet<String>,
    /// Collection paths whose list answers only once `release` is called.
    held_lists: BTreeSet<String>,
    /// Collection paths whose lists never end: an empty page and the same `continue`.
    endless_lists: BTreeSet<String>,
    /// Custom kinds served at another version than their default, or not at all.
    served: BTreeMap<String, Option<String>>,
    /// The API server is down: every request answers 503.
    down: bool,
    /// Every request as `METHOD path?query`.
    log: Vec<String>,
    /// The token the kubeconfig carries; another gets 401.
    token: String,
    /// Watches held open, per collection path: `push` sends them events.
    feeds: BTreeMap<String, Vec<Feed>>,
}

pub struct FakeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _runtime: std::thread::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The collection path of a kind the fake serves.
pub fn collection(kind: &str) -> &'static str {
    match kind {
        "Namespace" => "/api/v1/namespaces",
        "Secret" => "/api/v1/secrets",
        "Project" => "/apis/run.ai/v2/projects",
        "Department" => "/apis/run.ai/v2/departments",
        "TrainingPolicy" => "/apis/run.ai/v2alpha1/trainingpolicies",
        "InteractivePolicy" => "/apis/run.ai/v2alpha1/interactivepolicies",
        "DistributedPolicy" => "/apis/run.ai/v2alpha1/distributedpolicies",
        "InferencePolicy" => "/apis/run.ai/v2alpha1/inferencepolicies",
        "SecretPolicy" => "/apis/secrets.policy.run.ai/v1alpha1/secretpolicies",
        "Pod" => "/api/v1/pods",
        "Job" => "/apis/batch/v1/jobs",
        "CronJob" => "/apis/batch/v1/cronjobs",
        "Deployment" => "/apis/apps/v1/deployments",
        "StatefulSet" => "/apis/apps/v1/statefulsets",
        "DaemonSet" => "/apis/apps/v1/daemonsets",
        "ReplicaSet" => "/apis/apps/v1/replicasets",
        "TrainingWorkload" => "/apis/run.ai/v2alpha1/trainingworkloads",
        "InteractiveWorkload" => "/apis/run.ai/v2alpha1/interactiveworkloads",
        "DistributedWorkload" => "/apis/run.ai/v2alpha1/distributedworkloads",
        "InferenceWorkload" => "/apis/run.ai/v2alpha1/inferenceworkloads",
        other => panic!("the fake serves no {other}"),
    }
}

const COLLECTIONS: &[&str] = &[
    "Namespace",
    "Secret",
    "Project",
    "Department",
    "TrainingPolicy",
    "InteractivePolicy",
    "DistributedPolicy",
    "InferencePolicy",
    "SecretPolicy",
    "Pod",
    "Job",
    "CronJob",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "TrainingWorkload",
    "InteractiveWorkload",
    "DistributedWorkload",
    "InferenceWorkload",
];

/// The custom kinds the fake serves: kind, group, version, plural, namespaced.
const CUSTOM: &[(&str, &str, &str, &str, bool)] = &[
    ("Project", "run.ai", "v2", "projects", false),
    ("Department", "run.ai", "v2", "departments", false),
    (
        "TrainingPolicy",
        "run.ai",
        "v2alpha1",
        "trainingpolicies",
        true,
    ),
    (
        "InteractivePolicy",
        "run.ai",
        "v2alpha1",
        "interactivepolicies",
        true,
    ),
    (
        "DistributedPolicy",
        "run.ai",
        "v2alpha1",
        "distributedpolicies",
        true,
    ),
    (
        "InferencePolicy",
        "run.ai",
        "v2alpha1",
        "inferencepolicies",
        true,
    ),
    (
        "TrainingWorkload",
        "run.ai",
        "v2alpha1",
        "trainingworkloads",
        true,
    ),
    (
        "InteractiveWorkload",
        "run.ai",
        "v2alpha1",
        "interactiveworkloads",
        true,
    ),
    (
        "DistributedWorkload",
        "run.ai",
        "v2alpha1",
        "distributedworkloads",
        true,
    ),
    (
        "InferenceWorkload",
        "run.ai",
        "v2alpha1",
        "inferenceworkloads",
        true,
    ),
    (
        "SecretPolicy",
        "secrets.policy.run.ai",
        "v1alpha1",
        "secretpolicies",
        true,
    ),
];

/// Where a custom kind is served now: its default version, another one (a CRD
/// updated to serve a new version only), or nowhere (its CRD deleted).
fn served_at<'a>(
    kind: &str,
    default: &'a str,
    served: &'a BTreeMap<String, Option<String>>,
) -> Option<&'a str> {
    match served.get(kind) {
        Some(version) => version.as_deref(),
        None => Some(default),
    }
}

/// The URL a request for `path` reaches: the storage path of the kind served there.
fn route(path: &str, served: &BTreeMap<String, Option<String>>) -> Option<&'static str> {
    for (kind, group, version, plural, _) in CUSTOM {
        if let Some(v) = served_at(kind, version, served)
            && path == format!("/apis/{group}/{v}/{plural}")
        {
            return Some(collection(kind));
        }
    }
    COLLECTIONS
        .iter()
        .filter(|k| !CUSTOM.iter().any(|(c, ..)| c == *k))
        .map(|k| collection(k))
        .find(|c| *c == path)
}

/// A namespaced path (`/api/v1/namespaces/NS/pods[/NAME]`) as the cluster-wide
/// collection, the namespace and the name.
fn unnamespaced(path: &str) -> (String, Option<String>, Option<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.iter().position(|p| *p == "namespaces") {
        Some(at) if parts.len() > at + 2 => {
            let mut collection: Vec<&str> = parts[..at].to_vec();
            collection.push(parts[at + 2]);
            (
                collection.join("/"),
                Some(parts[at + 1].to_string()),
                parts.get(at + 3).map(|n| n.to_string()),
            )
        }
        _ => (path.to_string(), None, None),
    }
}

fn discovery(path: &str, served: &BTreeMap<String, Option<String>>) -> Option<Value> {
    let resource = |name: &str, kind: &str, namespaced: bool| {
        json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
               "verbs": ["get", "list", "watch"]})
    };
    let mut parts = path.trim_start_matches("/apis/").splitn(2, '/');
    let group = parts.next().filter(|_| path.starts_with("/apis/"))?;
    let now: Vec<(&str, &str, &str, bool)> = CUSTOM
        .iter()
        .filter(|(_, g, ..)| *g == group)
        .filter_map(|(kind, _, version, plural, namespaced)| {
            Some((
                *kind,
                served_at(kind, version, served)?,
                *plural,
                *namespaced,
            ))
        })
        .collect();
    let mut versions: Vec<&str> = Vec::new();
    for (_, v, _, _) in &now {
        if !versions.contains(v) {
            versions.push(v);
        }
    }
    match parts.next() {
        None => {
            if versions.is_empty() {
                return None;
            }
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            Some(
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": group,
                   "versions": versions, "preferredVersion": versions[0]}),
            )
        }
        Some(version) if versions.contains(&version) => {
            let mut resources: Vec<Value> = Vec::new();
            for (kind, _, plural, namespaced) in now.iter().filter(|(_, v, ..)| *v == version) {
                resources.push(resource(plural, kind, *namespaced));
                if *kind == "Project" {
                    resources.push(resource("projects/status", "Project", false));
                }
            }
            Some(json!({"kind": "APIResourceList", "apiVersion": "v1",
                   "groupVersion": format!("{group}/{version}"), "resources": resources}))
        }
        Some(_) => None,
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// A watch event as the API server sends it.
pub fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

/// The 410 Gone error event of a watch whose resource version is too old.
pub fn gone() -> Value {
    event(
        "ERROR",
        &status(410, "Expired", "too old resource version: 1 (1000)"),
    )
}

fn full(code: u16, body: &Value) -> Response<Body> {
    let body: Body = Box::pin(
        Full::new(Bytes::from(body.to_string())).map_err(|never: Infallible| match never {}),
    );
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(body)
        .expect("a response")
}

impl FakeApi {
    pub fn start() -> FakeApi {
        let state = Arc::new(Mutex::new(State {
            resource_version: 100,
            token: "test-token".to_string(),
            ..State::default()
        }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let runtime = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let state = served.clone();
                            tokio::spawn(async move {
                                let service = hyper::service::service_fn(move |req| {
                                    let state = state.clone();
                                    async move { Ok::<_, Infallible>(answer(&state, req).await) }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the fake API server listens");
        FakeApi {
            addr,
            state,
            _runtime: runtime,
            stop: Some(stop_tx),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Adds or replaces an object (its kind says where); gives it the next
    /// resource version.
    pub fn put(&self, object: &Value) -> Value {
        self.with(|s| {
            s.resource_version += 1;
            let mut object = object.clone();
            object["metadata"]["resourceVersion"] = json!(s.resource_version.to_string());
            let kind = object["kind"].as_str().unwrap_or("").to_string();
            let key = format!(
                "{}/{}",
                object["metadata"]["namespace"].as_str().unwrap_or(""),
                object["metadata"]["name"].as_str().unwrap_or("")
            );
            s.objects
                .entry(collection(&kind).to_string())
                .or_default()
                .insert(key, object.clone());
            object
        })
    }

    pub fn remove(&self, kind: &str, namespace: &str, name: &str) {
        self.with(|s| {
            s.resource_version += 1;
            if let Some(objects) = s.objects.get_mut(collection(kind)) {
                objects.remove(&format!("{namespace}/{name}"));
            }
        });
    }

    /// The next watch of `kind` gets these events, then ends so.
    pub fn script(&self, kind: &str, events: Vec<Value>, end: End) {
        self.with(|s| {
            s.watches
                .entry(collection(kind).to_string())
                .or_default()
                .push_back(Script { events, end })
        });
    }

    /// Sends an event to every watch of `kind` held open now; how many got it.
    pub fn push(&self, kind: &str, event: &Value) -> usize {
        self.with(|s| {
            let feeds = s.feeds.entry(collection(kind).to_string()).or_default();
            feeds.retain(|tx| !tx.is_closed());
            feeds
                .iter()
                .filter(|tx| {
                    tx.try_send(Ok(Frame::data(Bytes::from(format!("{event}\n")))))
                        .is_ok()
                })
                .count()
        })
    }

    pub fn forbid(&self, kind: &str) {
        self.with(|s| s.forbidden.insert(collection(kind).to_string()));
    }

    pub fn hold_lists(&self, kind: &str) {
        self.with(|s| s.held_lists.insert(collection(kind).to_string()));
    }

    pub fn endless_lists(&self, kind: &str) {
        self.with(|s| s.endless_lists.insert(collection(kind).to_string()));
    }

    /// The kind's CRD serves `version` instead of its default (`None`: the CRD is
    /// deleted and its objects with it); watches held open on it are cut.
    pub fn serve(&self, kind: &str, version: Option<&str>) {
        self.with(|s| {
            if version.is_none() {
                s.objects.remove(collection(kind));
            }
            s.served
                .insert(kind.to_string(), version.map(str::to_string));
            s.feeds.remove(collection(kind));
        });
    }

    /// The API server goes down (every request answers 503, every watch is cut) or
    /// comes back.
    pub fn set_down(&self, down: bool) {
        self.with(|s| {
            s.down = down;
            if down {
                for feed in s.feeds.values().flatten() {
                    let _ = feed.try_send(Err(std::io::Error::other(
                        "the API server went down (test)",
                    )));
                }
                s.feeds.clear();
            }
        });
    }

    pub fn release_lists(&self, kind: &str) {
        self.with(|s| s.held_lists.remove(collection(kind)));
    }

    /// Requests so far whose `METHOD path?query` contains `part`.
    pub fn requests(&self, part: &str) -> Vec<String> {
        self.with(|s| s.log.iter().filter(|r| r.contains(part)).cloned().collect())
    }

    /// Lists of `kind` so far.
    pub fn lists(&self, kind: &str) -> usize {
        let path = format!("GET {}?", collection(kind));
        self.with(|s| {
            s.log
                .iter()
                .filter(|r| r.starts_with(&path) && !r.contains("watch=true"))
                .count()
        })
    }

    /// A kubeconfig for this server, with a bearer token.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             contexts:\n- name: fake\n  context: {{cluster: fake, user: tester}}\nusers:\n- name: tester\n  user:\n    token: test-token\n",
            self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(state: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (token, down, served) = {
        let mut s = state.lock().unwrap();
        s.log.push(format!("{} {path}?{query}", req.method()));
        (s.token.clone(), s.down, s.served.clone())
    };
    if down {
        return full(
            503,
            &status(503, "ServiceUnavailable", "the API server is down (test)"),
        );
    }
    if authorized.as_deref() != Some(&format!("Bearer {token}")) {
        return full(401, &status(401, "Unauthorized", "Unauthorized"));
    }
    if let Some(doc) = discovery(&path, &served) {
        return full(200, &doc);
    }
    let (path, in_namespace, named) = unnamespaced(&path);
    let served_path = route(&path, &served);
    let forbidden = served_path.is_some_and(|p| state.lock().unwrap().forbidden.contains(p));
    let path = served_path.unwrap_or("").to_string();
    let Some(kind) = COLLECTIONS.iter().find(|k| collection(k) == path) else {
        return full(
            404,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    };
    let plural = path.rsplit('/').next().unwrap_or("");
    let group = if path.starts_with("/api/") {
        String::new()
    } else {
        path.split('/').nth(2).unwrap_or("").to_string()
    };
    if forbidden {
        let verb = if query.contains("watch=true") {
            "watch"
        } else {
            "list"
        };
        let message = format!(
            "{plural} is forbidden: User \"system:serviceaccount:runai-secrets-gateway:gateway\" cannot {verb} \
             resource \"{plural}\" in API group \"{group}\" at the cluster scope"
        );
        return full(403, &status(403, "Forbidden", &message));
    }
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if params.get("watch").map(String::as_str) == Some("true") {
        return watch(state, &path).await;
    }
    // A held list waits (bounded) until released.
    let started = Instant::now();
    while state.lock().unwrap().held_lists.contains(&path)
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = state.lock().unwrap();
    if let (Some(ns), Some(name)) = (&in_namespace, &named) {
        return match s
            .objects
            .get(&path)
            .and_then(|o| o.get(&format!("{ns}/{name}")))
        {
            Some(object) => full(200, object),
            None => full(404, &status(404, "NotFound", "not found")),
        };
    }
    if s.endless_lists.contains(&path) {
        let metadata = json!({"resourceVersion": "1", "continue": "again"});
        return full(200, &json!({"metadata": metadata, "items": []}));
    }
    let items: Vec<Value> = s
        .objects
        .get(&path)
        .map(|o| {
            o.values()
                .filter(|v| {
                    in_namespace
                        .as_deref()
                        .is_none_or(|ns| v["metadata"]["namespace"] == ns)
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // Pages of `limit`, the continue token is the offset.
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let offset: usize = params
        .get("continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|item| {
            // Core lists carry no kind or apiVersion on their items.
            let mut item = item.clone();
            if let Some(map) = item.as_object_mut()
                && path.starts_with("/api/")
            {
                map.remove("kind");
                map.remove("apiVersion");
            }
            item
        })
        .collect();
    let next = offset + page.len();
    let mut metadata = json!({"resourceVersion": s.resource_version.to_string()});
    if next < items.len() {
        metadata["continue"] = json!(next.to_string());
    }
    full(
        200,
        &json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": metadata, "items": page}),
    )
}

async fn watch(state: &Arc<Mutex<State>>, path: &str) -> Response<Body> {
    let feeds = state.clone();
    let path_owned = path.to_string();
    let script = state
        .lock()
        .unwrap()
        .watches
        .get_mut(path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(Script {
            events: Vec::new(),
            end: End::Hold,
        });
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(64);
    tokio::spawn(async move {
        for event in &script.events {
            let line = format!("{event}\n");
            if tx.send(Ok(Frame::data(Bytes::from(line)))).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        match script.end {
            End::Close => {}
            End::Hold => {
                // Held open by the sender kept in the feeds, for `push`.
                feeds
                    .lock()
                    .unwrap()
                    .feeds
                    .entry(path_owned)
                    .or_default()
                    .push(tx);
            }
            End::Cut => {
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(
                        b"{\"type\":\"ADDED\",\"obj",
                    ))))
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx
                    .send(Err(std::io::Error::other("connection cut by the test")))
                    .await;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frame| (frame, rx))
    });
    let body: Body = Box::pin(StreamBody::new(stream));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("a response")
}

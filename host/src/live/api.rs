//! The few requests the host makes of the Kubernetes API, all reads: discovery of the
//! Run:ai groups, paged lists and watches. kube's `Client` carries the connection
//! (kubeconfig or in-cluster service account, TLS, credentials); the bodies are read
//! here, bounded in size and time, and decoded into `Slim` objects, so a Secret's
//! values are skipped as they are read and no response body is ever logged.

use super::object::{Slim, Unreadable};
use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use guest::shown::redact_serde_message;
use http_body_util::BodyExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIResourceList};
use kube::api::{ListParams, WatchParams};
use kube::core::{ApiResource, Request, Status};
use kube::{Client, Config};
use serde_json::value::RawValue;
use std::time::Duration;

/// Largest response the host reads (a list page, a discovery document).
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;
/// Largest watch event (one object: etcd stores at most 1.5 MiB, JSON may double it).
pub const MAX_EVENT_BYTES: usize = 16 << 20;
/// Objects per list page.
pub const PAGE_SIZE: u32 = 250;
/// Objects one list may hold, and pages it may take: a server whose `continue` never
/// ends (or returns empty pages) would otherwise be listed without end.
pub const MAX_LIST_OBJECTS: usize = 200_000;
pub const MAX_LIST_PAGES: usize = 2 * MAX_LIST_OBJECTS / PAGE_SIZE as usize;
/// Longest wait for a list page or a discovery document.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the API server keeps one watch open; the host re-watches after it.
pub const WATCH_SECONDS: u32 = 290;
/// A watch that has said nothing for this long is dropped (the server sends bookmarks
/// about once a minute).
pub const WATCH_IDLE: Duration = Duration::from_secs(150);
/// Largest kubeconfig file read.
const KUBECONFIG_CAP: u64 = 4 << 20;

/// Where the API server is and who the host is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// A kubeconfig file (its current context).
    Kubeconfig(std::path::PathBuf),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    InCluster,
}

impl Connection {
    pub fn describe(&self) -> String {
        match self {
            Connection::Kubeconfig(path) => {
                format!("live cluster (kubeconfig {})", crate::input::display(path))
            }
            Connection::InCluster => "live cluster (in-cluster service account)".to_string(),
        }
    }

    /// kube's client for this connection. Needs a tokio runtime.
    pub async fn client(&self) -> Result<Client> {
        let config = match self {
            Connection::Kubeconfig(path) => {
                let text = crate::input::read_text(
                    path,
                    crate::input::Limit::new("kubeconfig", KUBECONFIG_CAP),
                )?;
                let shown = crate::input::display(path);
                // kubeconfig files hold credentials: errors are shown without values.
                let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).map_err(|e| {
                    anyhow!(
                        "{shown}: not a kubeconfig file: {}",
                        redact_serde_message(&e.to_string())
                    )
                })?;
                // An exec credential plugin may run here: bounded in time.
                tokio::time::timeout(
                    REQUEST_TIMEOUT,
                    Config::from_custom_kubeconfig(kubeconfig, &Default::default()),
                )
                .await
                .map_err(|_| {
                    anyhow!(
                        "{shown}: the kubeconfig's credentials were not ready within {} s",
                        REQUEST_TIMEOUT.as_secs()
                    )
                })?
                .map_err(|e| {
                    anyhow!(
                        "{shown}: cannot use this kubeconfig: {}; check its current context, \
                             cluster and user (`kubectl --kubeconfig {shown} config view`)",
                        redact_serde_message(&e.to_string())
                    )
                })?
            }
            Connection::InCluster => Config::incluster().map_err(|e| {
                anyhow!(
                    "--in-cluster: not running in a pod with a service account ({e}); \
                     outside a cluster use --kubeconfig FILE"
                )
            })?,
        };
        Client::try_from(config).map_err(|e| anyhow!("cannot make a Kubernetes client: {e}"))
    }
}

/// A watch or list whose resource version the API server no longer has (410 Gone):
/// the caller lists again.
#[derive(Debug)]
pub struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the resource version is too old (410 Gone): listing again")
    }
}

impl std::error::Error for Gone {}

/// A 404 at a resource's URL: for a custom resource, its CRD was deleted or no longer
/// serves that version (the caller discovers the kind again).
#[derive(Debug)]
pub struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// What a request was for, in messages: `list secrets (v1)`.
fn what(verb: &str, resource: &ApiResource) -> String {
    let group = if resource.group.is_empty() {
        "core".to_string()
    } else {
        resource.group.clone()
    };
    format!("{verb} {} ({group}/{})", resource.plural, resource.version)
}

/// An answer that is not 2xx, as an error that says what to do.
fn failed(verb: &str, resource: &ApiResource, status: u16, body: &[u8]) -> anyhow::Error {
    if status == 410 {
        return anyhow::Error::new(Gone);
    }
    let message = serde_json::from_slice::<Status>(body)
        .map(|s| crate::text::shown_max(&s.message, 400).into_owned())
        .unwrap_or_default();
    let action = what(verb, resource);
    match status {
        401 => anyhow!(
            "{action}: the API server did not accept the host's credentials (401 Unauthorized){}; \
             check the kubeconfig's user or the service account token",
            suffix(&message)
        ),
        403 => anyhow!(
            "{action}: forbidden (403): the host's identity may not {verb} {} in API group `{}`{}; \
             grant get, list and watch on it (deploy/rbac.yaml has the ClusterRole the gateway needs)",
            resource.plural,
            resource.group,
            suffix(&message)
        ),
        404 => anyhow::Error::new(NotFound(format!(
            "{action}: not found (404){}: is the resource's CustomResourceDefinition installed?",
            suffix(&message)
        ))),
        code => anyhow!(
            "{action}: the API server answered HTTP {code}{}",
            suffix(&message)
        ),
    }
}

fn suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// GET `request`, bounded in time and size; `None` on 404 when `missing_ok`.
async fn get(
    client: &Client,
    request: hyper::Request<Vec<u8>>,
    verb: &str,
    resource: &ApiResource,
) -> Result<(u16, Vec<u8>)> {
    let action = what(verb, resource);
    let read = async {
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| anyhow!("{action}: cannot reach the API server: {}", transport(&e)))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| anyhow!("{action}: the answer broke off: {}", transport(&e)))?;
            if let Some(data) = frame.data_ref() {
                if bytes.len() + data.len() > MAX_RESPONSE_BYTES {
                    bail!(
                        "{action}: the answer is larger than {}: the host reads at most that much",
                        crate::input::size_text(MAX_RESPONSE_BYTES as u64)
                    );
                }
                bytes.extend_from_slice(data);
            }
        }
        Ok((status, bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read)
        .await
        .map_err(|_| {
            anyhow!(
                "{action}: no complete answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            )
        })?
}

/// kube's transport errors name no values; shown bounded.
fn transport(e: &dyn std::fmt::Display) -> String {
    crate::text::shown_max(&e.to_string(), 400).into_owned()
}

/// What one list of a resource holds.
#[derive(Debug, Default)]
pub struct Listed {
    pub objects: Vec<Slim>,
    /// Objects that could not be read: left out, the rest of the list stands.
    pub unreadable: Vec<Unreadable>,
    /// The list's resource version, to watch from.
    pub version: String,
}

/// Every object of `resource` in the cluster and the list's resource version, page by
/// page. An object that cannot be read is set aside, never the whole list.
pub async fn list(client: &Client, resource: &ApiResource) -> Result<Listed> {
    let mut listed = Listed::default();
    let kind = resource.kind.as_str();
    let decode = |text: &str| super::object::decode(kind, text);
    listed.version = list_each(client, resource, decode, |item| match item {
        Ok(object) => listed.objects.push(object),
        Err(bad) => listed.unreadable.push(bad),
    })
    .await?;
    Ok(listed)
}

/// Every object of `resource`, each handed to `each` as its page is read (a page's
/// body is dropped before the next is asked for), and the list's resource version.
pub async fn list_each<T>(
    client: &Client,
    resource: &ApiResource,
    decode: impl Fn(&str) -> Result<T, Unreadable>,
    mut each: impl FnMut(Result<T, Unreadable>),
) -> Result<String> {
    let url = <Slim as kube::core::Resource>::url_path(resource, None);
    let mut token: Option<String> = None;
    let mut count = 0usize;
    for _page in 0..MAX_LIST_PAGES {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let request = Request::new(&url)
            .list(&params)
            .context("cannot build a list request")?;
        let (status, body) = get(client, request, "list", resource).await?;
        if !(200..300).contains(&status) {
            return Err(failed("list", resource, status, &body));
        }
        let page: Page = serde_json::from_slice(&body).map_err(|e| {
            anyhow!(
                "{}: the answer is not a list the host can read: {}",
                what("list", resource),
                redact_serde_message(&e.to_string())
            )
        })?;
        let metadata = page.metadata.unwrap_or_default();
        for item in page.items.unwrap_or_default() {
            count += 1;
            each(decode(item.get()));
        }
        if count > MAX_LIST_OBJECTS {
            bail!(
                "{}: more than {MAX_LIST_OBJECTS} objects: the host reads at most that many of a resource",
                what("list", resource)
            );
        }
        match metadata.continue_.filter(|t| !t.is_empty()) {
            Some(next) if token.as_ref() == Some(&next) => bail!(
                "{}: the server gave the same `continue` token twice: the list does not advance",
                what("list", resource)
            ),
            Some(next) => token = Some(next),
            None => return Ok(metadata.resource_version.unwrap_or_default()),
        }
    }
    bail!(
        "{}: more than {MAX_LIST_PAGES} pages: the list does not end",
        what("list", resource)
    )
}

/// A list page: its metadata and items, each item's text borrowed from the body and
/// decoded on its own. Other fields are skipped unread (kube's `ObjectList` flattens
/// them into memory: 100 MB of junk beside `items` took 1.8 GB).
#[derive(serde::Deserialize)]
struct Page<'a> {
    #[serde(default)]
    metadata: Option<ListMeta>,
    /// `null` is no items, as kube reads it.
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
}

/// A change a watch reports.
#[derive(Debug)]
pub enum Change<T = Slim> {
    /// Added or modified.
    Put(Box<T>),
    /// Added or modified into something the host cannot read.
    PutUnreadable(Unreadable),
    /// Deleted: namespace and name.
    Delete(String, String),
}

/// One watch from `version`: calls `event` for each change and returns the resource
/// version to watch from next when the server ends the watch. A broken connection, an
/// error event or a silence longer than `WATCH_IDLE` is an error (`Gone` for 410).
pub async fn watch(
    client: &Client,
    resource: &ApiResource,
    version: &str,
    event: impl FnMut(Change),
) -> Result<String> {
    let kind = resource.kind.as_str();
    watch_each(
        client,
        resource,
        version,
        |text| super::object::decode(kind, text),
        event,
    )
    .await
}

/// `watch`, each object decoded by `decode`.
pub async fn watch_each<T: Versioned>(
    client: &Client,
    resource: &ApiResource,
    version: &str,
    decode: impl Fn(&str) -> Result<T, Unreadable>,
    mut event: impl FnMut(Change<T>),
) -> Result<String> {
    let url = <Slim as kube::core::Resource>::url_path(resource, None);
    let params = WatchParams::default().timeout(WATCH_SECONDS);
    let request = Request::new(&url)
        .watch(&params, version)
        .context("cannot build a watch request")?;
    let action = what("watch", resource);
    let response = tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.send(request.map(kube::client::Body::from)),
    )
    .await
    .map_err(|_| anyhow!("{action}: no answer within {} s", REQUEST_TIMEOUT.as_secs()))?
    .map_err(|e| anyhow!("{action}: cannot reach the API server: {}", transport(&e)))?;
    let status = response.status().as_u16();
    let mut stream = response.into_body().into_data_stream();
    if !(200..300).contains(&status) {
        let mut body = Vec::new();
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout(REQUEST_TIMEOUT, stream.next()).await {
            if body.len() + chunk.len() > MAX_EVENT_BYTES {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        return Err(failed("watch", resource, status, &body));
    }
    let mut version = version.to_string();
    let mut line: Vec<u8> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(WATCH_SECONDS) + 30);
    loop {
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + WATCH_IDLE),
            stream.next(),
        )
        .await;
        let chunk = match next {
            Err(_) if tokio::time::Instant::now() >= deadline => return Ok(version),
            Err(_) => bail!(
                "{action}: nothing from the API server for {} s: the watch is taken as broken",
                WATCH_IDLE.as_secs()
            ),
            Ok(None) => {
                // The server ended the watch (its timeout): a partial line is a cut.
                if line.iter().any(|b| !b.is_ascii_whitespace()) {
                    bail!("{action}: the watch ended in the middle of an event");
                }
                return Ok(version);
            }
            Ok(Some(Err(e))) => bail!("{action}: the watch broke off: {}", transport(&e)),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let mut rest: &[u8] = &chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            if line.iter().any(|b| !b.is_ascii_whitespace()) {
                let decoded = decode_event(&line, &action, &decode)?;
                line.clear();
                match decoded {
                    Event::Error(status) if status.code == 410 => {
                        return Err(anyhow::Error::new(Gone));
                    }
                    Event::Error(status) => bail!(
                        "{action}: the API server ended the watch with an error ({}){}",
                        status.code,
                        suffix(&crate::text::shown_max(&status.message, 400))
                    ),
                    Event::Bookmark(v) => version = v,
                    Event::Change(change, v) => {
                        if let Some(v) = v {
                            version = v;
                        }
                        event(change);
                    }
                }
            } else {
                line.clear();
            }
        }
        if line.len() + rest.len() > MAX_EVENT_BYTES {
            bail!(
                "{action}: a watch event is larger than {}: the host reads at most that much",
                crate::input::size_text(MAX_EVENT_BYTES as u64)
            );
        }
        line.extend_from_slice(rest);
    }
}

/// A watch event as the host reads it: the object is decoded on its own, so one that
/// cannot be read is a change to an unreadable object, not a broken watch.
enum Event<T> {
    /// The change and the resource version it carries.
    Change(Change<T>, Option<String>),
    Bookmark(String),
    Error(Status),
}

/// What a watch needs of a decoded object: where it is and its resource version.
pub trait Versioned {
    fn namespace(&self) -> &str;
    fn name(&self) -> &str;
    fn resource_version(&self) -> Option<&str>;
}

impl Versioned for Slim {
    fn namespace(&self) -> &str {
        Slim::namespace(self)
    }
    fn name(&self) -> &str {
        Slim::name(self)
    }
    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
}

#[derive(serde::Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta {
    #[serde(default)]
    resource_version: String,
}

#[derive(serde::Deserialize)]
struct Bookmark {
    #[serde(default)]
    metadata: BookmarkMeta,
}

fn decode_event<T: Versioned>(
    line: &[u8],
    action: &str,
    decode: &impl Fn(&str) -> Result<T, Unreadable>,
) -> Result<Event<T>> {
    let unreadable = |e: serde_json::Error| {
        anyhow!(
            "{action}: a watch event the host cannot read: {}",
            redact_serde_message(&e.to_string())
        )
    };
    let raw: RawEvent = serde_json::from_slice(line).map_err(unreadable)?;
    let object = raw.object.get();
    Ok(match raw.kind {
        "ADDED" | "MODIFIED" => match decode(object) {
            Ok(o) => {
                let version = o.resource_version().map(str::to_string);
                Event::Change(Change::Put(Box::new(o)), version)
            }
            Err(bad) => {
                let version = bad.resource_version.clone();
                Event::Change(Change::PutUnreadable(bad), version)
            }
        },
        "DELETED" => match decode(object) {
            Ok(o) => {
                let version = o.resource_version().map(str::to_string);
                Event::Change(
                    Change::Delete(o.namespace().to_string(), o.name().to_string()),
                    version,
                )
            }
            Err(bad) => Event::Change(
                Change::Delete(bad.namespace, bad.name),
                bad.resource_version,
            ),
        },
        "BOOKMARK" => {
            let b: Bookmark = serde_json::from_str(object).map_err(unreadable)?;
            Event::Bookmark(b.metadata.resource_version)
        }
        "ERROR" => Event::Error(serde_json::from_str(object).map_err(unreadable)?),
        other => bail!(
            "{action}: a watch event of an unknown type `{}`",
            crate::text::shown_max(other, 40)
        ),
    })
}

/// The resources of `group` the API server serves, for each of `kinds` the version
/// the group prefers (else the first that has it); `None` when the group is not
/// served at all (its CRDs are not installed).
pub async fn discover(
    client: &Client,
    group: &str,
    kinds: &[&str],
) -> Result<Option<Vec<(String, ApiResource, bool)>>> {
    let probe = ApiResource {
        group: group.to_string(),
        version: String::new(),
        api_version: group.to_string(),
        kind: "APIGroup".to_string(),
        plural: "(discovery)".to_string(),
    };
    let request = hyper::Request::get(format!("/apis/{group}"))
        .body(Vec::new())
        .context("cannot build a discovery request")?;
    let (status, body) = get(client, request, "discover", &probe).await?;
    if status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(failed("discover", &probe, status, &body));
    }
    let api_group: APIGroup = serde_json::from_slice(&body).map_err(|e| {
        anyhow!(
            "/apis/{group}: not an APIGroup: {}",
            redact_serde_message(&e.to_string())
        )
    })?;
    let mut versions: Vec<String> = Vec::new();
    if let Some(preferred) = &api_group.preferred_version {
        versions.push(preferred.version.clone());
    }
    for v in &api_group.versions {
        if !versions.contains(&v.version) {
            versions.push(v.version.clone());
        }
    }
    let mut found: Vec<(String, ApiResource, bool)> = Vec::new();
    for version in versions {
        let request = hyper::Request::get(format!("/apis/{group}/{version}"))
            .body(Vec::new())
            .context("cannot build a discovery request")?;
        let (status, body) = get(client, request, "discover", &probe).await?;
        if status == 404 {
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(failed("discover", &probe, status, &body));
        }
        let list: APIResourceList = serde_json::from_slice(&body).map_err(|e| {
            anyhow!(
                "/apis/{group}/{version}: not an APIResourceList: {}",
                redact_serde_message(&e.to_string())
            )
        })?;
        for r in list.resources {
            if r.name.contains('/')
                || !kinds.contains(&r.kind.as_str())
                || found.iter().any(|(k, _, _)| *k == r.kind)
            {
                continue;
            }
            let resource = ApiResource {
                group: group.to_string(),
                version: version.clone(),
                api_version: format!("{group}/{version}"),
                kind: r.kind.clone(),
                plural: r.name.clone(),
            };
            found.push((r.kind, resource, r.namespaced));
        }
    }
    Ok(Some(found))
}

/// The core resources, which need no discovery.
pub fn core(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".to_string(),
        api_version: "v1".to_string(),
        kind: kind.to_string(),
        plural: plural.to_string(),
    }
}

/// One object of `resource` by namespace and name, decoded by `decode`; `None` when it
/// does not exist (any more).
pub async fn get_one<T>(
    client: &Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    decode: impl Fn(&str) -> Result<T, Unreadable>,
) -> Result<Option<Result<T, Unreadable>>> {
    let url = format!(
        "{}/{}",
        <Slim as kube::core::Resource>::url_path(resource, Some(namespace)),
        name
    );
    let request = hyper::Request::get(url)
        .body(Vec::new())
        .context("cannot build a get request")?;
    let (status, body) = get(client, request, "get", resource).await?;
    if status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(failed("get", resource, status, &body));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| anyhow!("{}: the answer is not UTF-8", what("get", resource)))?;
    Ok(Some(decode(text)))
}

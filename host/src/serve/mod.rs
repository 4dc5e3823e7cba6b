//! `host serve`: the Kubernetes admission gateway (SPEC §9). HTTPS (rustls) or, when
//! asked, plain HTTP; `/validate`, `/mutate`, `/v1/evaluate`, `/healthz`, `/readyz`,
//! `/metrics`. Every evaluation goes through one `evaluate` (a bounded worker pool,
//! the current cluster view, `simulate::evaluate`); every request leaves one metrics
//! record and, when it is a decision, one log line without values.

pub mod admission;
pub mod audit;
mod budget;
pub mod certs;
pub mod evaluate;
mod live_view;
pub mod manage;
pub mod metrics;
mod objects;
pub mod register;
mod reload;
mod removal;
pub mod reports;
mod shutdown;
pub mod tls;
pub mod view;
pub mod workers;

use crate::plugin::{CONTRACT_PACKAGE, Plugin};
use anyhow::{Context, Result};
use evaluate::EvaluatorKind;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use metrics::{Metrics, Record};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use view::Views;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailurePolicy {
    /// Reject when the plugin fails, times out, or the gateway is overloaded.
    Fail,
    /// Admit with a warning (and count it).
    Ignore,
}

impl FailurePolicy {
    pub fn admits(self) -> bool {
        self == FailurePolicy::Ignore
    }

    /// The answer's message for an evaluation that did not happen; the policy comes
    /// first, so that a warning cut to 120 characters still says what happened.
    pub fn explain(self, failure: &str) -> String {
        match self {
            FailurePolicy::Fail => {
                format!("rejected by the gateway's failure policy (fail): {failure}")
            }
            FailurePolicy::Ignore => {
                format!("admitted unevaluated by the gateway's failure policy (ignore): {failure}")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None` serves plain HTTP (only with `--insecure-http`).
    pub tls: Option<tls::Files>,
    pub source: view::Source,
    /// Hints that name other namespaces (`--hints cluster`).
    pub hints: bool,
    pub workers: usize,
    pub queue: usize,
    pub queue_timeout: Duration,
    pub failure_policy: FailurePolicy,
    pub log_format: LogFormat,
    pub max_body: usize,
    pub max_inflight_bytes: usize,
    pub max_connections: usize,
    pub grace: Duration,
    pub evaluator: EvaluatorKind,
    /// The gateway's own certificate and webhooks (`--tls-secret`); `tls` is `None`.
    pub manage: Option<manage::Settings>,
    /// How long a live view may lag the cluster and still decide.
    pub max_staleness: Duration,
    /// With a live view: the audit of what runs (`None`: off).
    pub audit: Option<audit::Config>,
}

/// PolicyReports written at most this many a second (one per namespace that changed).
const REPORTS_PER_SECOND: usize = 10;

/// What every request handler shares.
pub struct Gateway {
    pub plugin: Arc<Plugin>,
    pub evaluator: EvaluatorKind,
    pub views: Arc<Views>,
    pub pool: workers::Pool,
    pub metrics: Arc<Metrics>,
    pub hints: bool,
    pub failure_policy: FailurePolicy,
    pub queue_timeout: Duration,
    pub max_body: usize,
    pub budget: budget::Budget,
    pub tls: Option<Arc<tls::Tls>>,
    pub managed: Option<Arc<manage::Managed>>,
    /// The live audit and its workload index (with a live view).
    pub audit: Option<Arc<audit::Audit>>,
}

/// An HTTP answer before it is framed.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub allow: Option<&'static str>,
}

impl Reply {
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Reply {
            status,
            content_type: "application/json",
            body,
            allow: None,
        }
    }

    /// `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Self {
        let body = serde_json::json!({ "error": message })
            .to_string()
            .into_bytes();
        Reply::json(status, body)
    }

    fn text(status: u16, content_type: &'static str, body: String) -> Self {
        Reply {
            status,
            content_type,
            body: body.into_bytes(),
            allow: None,
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(self.content_type),
        );
        if let Some(allow) = self.allow {
            headers.insert(ALLOW, hyper::header::HeaderValue::from_static(allow));
        }
        response
    }
}

fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_max_level(tracing::Level::INFO)
        .with_target(false);
    // A second initialisation (tests in one process) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs the gateway until SIGTERM or SIGINT; 0 after a graceful shutdown.
pub fn run(config: Config, plugin: Plugin) -> Result<u8> {
    init_logging(config.log_format);
    let plugin = Arc::new(plugin);
    let views = Arc::new(Views::load(
        config.source.clone(),
        &plugin,
        config.max_staleness,
    )?);
    let mut tls = match &config.tls {
        Some(files) => Some(Arc::new(tls::Tls::load(files.clone())?)),
        None => None,
    };
    let metrics = Arc::new(Metrics::new(
        plugin.sha256(),
        CONTRACT_PACKAGE,
        &plugin.limits().describe(),
    ));
    let mut managed = None;
    if let Some(settings) = config.manage.clone() {
        let (started, served) = manage::start(settings, views.clone(), metrics.clone())?;
        managed = Some(started);
        tls = Some(served);
    }
    metrics.view_loaded(1);
    views.watch(plugin.clone(), metrics.clone());
    if let Some(tls) = &tls {
        tls.watch(metrics.clone());
    }
    let pool = workers::Pool::start(config.workers, config.queue, config.queue_timeout)
        .context("cannot start the worker threads")?;
    let audit = match (&config.source.live, &config.audit) {
        (Some(connection), Some(audit_config)) => {
            let mut audit_config = audit_config.clone();
            audit_config.admission = Some(pool.activity());
            // Reports have one writer: the replica holding the Lease, which exists
            // when the gateway manages its certificate (the install's default).
            if let Some(managed) = &managed {
                let managed = managed.clone();
                audit_config.reports = Some(Arc::new(reports::Reports::new(
                    REPORTS_PER_SECOND,
                    Arc::new(move || managed.is_leader()),
                )));
            }
            Some(
                audit::start(
                    connection.clone(),
                    views.clone(),
                    plugin.clone(),
                    metrics.clone(),
                    audit_config,
                )
                .context("cannot start the audit")?,
            )
        }
        _ => None,
    };
    let gateway = Arc::new(Gateway {
        plugin,
        evaluator: config.evaluator,
        views,
        pool,
        metrics,
        hints: config.hints,
        failure_policy: config.failure_policy,
        queue_timeout: config.queue_timeout,
        max_body: config.max_body,
        budget: budget::Budget::new(config.max_inflight_bytes, config.max_connections),
        tls,
        managed,
        audit,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(gateway, &config))
}

async fn serve(gw: Arc<Gateway>, config: &Config) -> Result<u8> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(
        address = %address,
        tls = gw.tls.is_some(),
        client_auth = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        plugin_sha256 = gw.plugin.sha256(),
        evaluator = ?gw.evaluator,
        workers = config.workers,
        failure_policy = ?config.failure_policy,
        cluster_view = %gw.views.source().describe(),
        "listening"
    );
    let graceful = GracefulShutdown::new();
    shutdown::ignore_hangups();
    let signal = shutdown::signalled();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let Some(place) = gw.budget.connection() else {
                        gw.metrics.connection_refused();
                        tracing::debug!("connection closed: at --max-connections");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let watcher = graceful.watcher();
                    let gw = gw.clone();
                    tokio::spawn(async move {
                        let _place = place;
                        match gw.tls.clone() {
                            Some(tls) => {
                                let handshake = tls.acceptor().accept(stream);
                                match tokio::time::timeout(Duration::from_secs(10), handshake).await {
                                    Ok(Ok(stream)) => {
                                        let certified = stream.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                                        connection(gw, stream, watcher, certified).await
                                    }
                                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                    Err(_) => tracing::debug!("TLS handshake timed out"),
                                }
                            }
                            None => connection(gw, stream, watcher, false).await,
                        }
                    });
                }
                // Out of descriptors, or a connection reset before it was accepted:
                // wait a little instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            name = &mut signal => {
                tracing::info!(signal = name, "shutting down: no new connections, finishing the requests in flight");
                break;
            }
        }
    }
    drop(listener);
    if let Some(managed) = gw.managed.clone() {
        let _ = tokio::task::spawn_blocking(move || managed.stop(Duration::from_secs(3))).await;
    }
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(config.grace) => {
            tracing::warn!(grace_seconds = config.grace.as_secs(), "grace period over: exiting with connections open");
        }
    }
    Ok(0)
}

/// `certified`: the client presented a certificate the `--client-ca` verified (only
/// then does `/readyz?verbose` name the objects the view leaves out).
async fn connection<S>(
    gw: Arc<Gateway>,
    io: S,
    watcher: hyper_util::server::graceful::Watcher,
    certified: bool,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let gw = gw.clone();
        async move { Ok::<_, std::convert::Infallible>(answer(gw, req, certified).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Every request: routed, answered, recorded once. A panic in a handler answers 500
/// and leaves the server running.
async fn answer(
    gw: Arc<Gateway>,
    req: Request<Incoming>,
    certified: bool,
) -> Response<Full<Bytes>> {
    let _in_flight = gw.metrics.in_flight();
    let (reply, record) = match CatchUnwind(Box::pin(route(&gw, req, certified))).await {
        Ok(answered) => answered,
        Err(()) => {
            tracing::error!("a request handler panicked: answered 500");
            (
                Reply::error(
                    500,
                    "the gateway failed to answer (an internal error; see its log)",
                ),
                Record::new("other", "error", 500),
            )
        }
    };
    gw.metrics.record(&record);
    reply.into_response()
}

const EVALUATING: [&str; 3] = ["/validate", "/mutate", "/v1/evaluate"];
const READING: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

async fn route(gw: &Arc<Gateway>, req: Request<Incoming>, certified: bool) -> (Reply, Record) {
    let path = req.uri().path().to_string();
    let endpoint = EVALUATING
        .iter()
        .chain(READING.iter())
        .find(|p| **p == path)
        .copied();
    let Some(endpoint) = endpoint else {
        return (
            Reply::error(
                404,
                "not found: the gateway serves POST /validate, /mutate, /v1/evaluate and GET /healthz, /readyz, /metrics",
            ),
            Record::new("other", "invalid", 404),
        );
    };
    let expected = if EVALUATING.contains(&endpoint) {
        Method::POST
    } else {
        Method::GET
    };
    if req.method() != expected {
        let mut reply = Reply::error(405, &format!("{endpoint} takes {expected}"));
        reply.allow = Some(if expected == Method::POST {
            "POST"
        } else {
            "GET"
        });
        return (reply, Record::new(endpoint, "invalid", 405));
    }
    match endpoint {
        "/healthz" => (
            Reply::text(200, "text/plain", "ok\n".into()),
            Record::new(endpoint, "ok", 200),
        ),
        "/readyz" => {
            let verbose = req
                .uri()
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == "verbose"));
            let reply = readyz(gw, verbose && certified);
            let verdict = if reply.status == 200 {
                "ok"
            } else {
                "not-ready"
            };
            let status = reply.status;
            (reply, Record::new(endpoint, verdict, status))
        }
        "/metrics" => (
            Reply::text(200, metrics::CONTENT_TYPE, gw.metrics.render()),
            Record::new(endpoint, "ok", 200),
        ),
        _ => {
            let query = req.uri().query().map(str::to_string);
            let declared = declared_length(&req);
            if declared.is_some_and(|len| len > gw.max_body as u64) {
                return body_error(gw, endpoint, 413);
            }
            // Held until the answer is built: the body and what is decoded from it.
            let Some(_share) = gw
                .budget
                .body(declared, gw.max_body, gw.queue_timeout)
                .await
            else {
                let mut record = Record::new(endpoint, "overloaded", 503);
                record.failure = Some(("gateway-overloaded", "unanswered"));
                return (
                    Reply::error(
                        503,
                        "the gateway holds as many request bodies as --max-inflight-bytes allows: try again",
                    ),
                    record,
                );
            };
            let body = match read_body(req, gw.max_body).await {
                Ok(body) => body,
                Err(code) => return body_error(gw, endpoint, code),
            };
            match endpoint {
                "/validate" => admission::handle(gw, admission::Mode::Validate, &body).await,
                "/mutate" => admission::handle(gw, admission::Mode::Mutate, &body).await,
                _ => evaluate::handle(gw, query.as_deref(), &body).await,
            }
        }
    }
}

fn declared_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The answer to a body that is too large (413), too slow (408) or unreadable.
fn body_error(gw: &Gateway, endpoint: &'static str, code: u16) -> (Reply, Record) {
    let message = match code {
        413 => format!(
            "the body is over the gateway's limit of {} bytes",
            gw.max_body
        ),
        408 => format!(
            "the body did not arrive within {} s",
            BODY_TIMEOUT.as_secs()
        ),
        _ => "the body could not be read".to_string(),
    };
    (
        Reply::error(code, &message),
        Record::new(endpoint, "invalid", code),
    )
}

/// How long a request's headers, and then its body, may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The body, read up to `max` bytes: refused (413) as soon as it passes the limit (one
/// that declares a larger length is refused by `route` before it is read).
async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, u16> {
    // A client that trickles its body is cut off like one that trickles its headers.
    let collect = Limited::new(req.into_body(), max).collect();
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(413)
        }
        Ok(Err(_)) => Err(400),
        Err(_) => Err(408),
    }
}

/// Ready once the view can decide (a live view after its first sync). What anyone
/// who can reach the gateway reads here says nothing of tenants: no object counts,
/// no names. The detail (per-resource state, objects left out, quarantined scopes,
/// the last reload error) is for `?verbose` over a connection whose client
/// certificate `--client-ca` verified; it also goes to the log.
fn readyz(gw: &Gateway, verbose: bool) -> Reply {
    let view = gw.views.current();
    let freshness = gw.views.freshness(&view);
    let (ready, age, stale) = match freshness {
        view::Freshness::NotSynced => (false, None, false),
        view::Freshness::Current(age) => (true, Some(age), false),
        view::Freshness::Stale(age) => (true, Some(age), true),
    };
    // A gateway that keeps its own certificate is ready once it serves the Secret's.
    let ready = ready && gw.managed.as_ref().is_none_or(|m| m.ready());
    let (everywhere, namespaces) = view.cluster.quarantine.counts();
    let mut cluster_view = serde_json::json!({
        "source": gw.views.source().describe(),
        "synced": view.synced,
        "generation": view.generation,
        "loadedAt": view.loaded_at,
        "ageSeconds": age,
        "maxStalenessSeconds": gw.views.max_staleness().as_secs(),
        "stale": stale,
        "quarantinedEverywhere": everywhere > 0,
        "lastReloadFailed": gw.views.last_error().is_some(),
    });
    // A file view's errors are about the admin's files; a live view's may name a
    // tenant's objects.
    let live = gw.views.source().live.is_some();
    if verbose || !live {
        cluster_view["lastReloadError"] = serde_json::json!(gw.views.last_error());
    }
    if verbose {
        cluster_view["quarantinedNamespaces"] = namespaces.into();
        cluster_view["live"] = serde_json::json!(gw.views.live_status());
    }
    let detail = serde_json::json!({
        "ready": ready,
        "plugin": {
            "sha256": gw.plugin.sha256(),
            "contract": CONTRACT_PACKAGE,
            "limits": gw.plugin.limits().describe(),
            "evaluator": format!("{:?}", gw.evaluator).to_lowercase(),
        },
        "clusterView": cluster_view,
        "tls": gw.tls.as_ref().map(|t| serde_json::json!({ "lastReloadError": t.last_error() })),
        "certificate": gw.managed.as_ref().map(|m| m.status()),
        // The audit does not decide admission: it never makes the gateway unready.
        "audit": gw.audit.as_ref().map(|a| a.status(verbose)),
    });
    let status = if ready { 200 } else { 503 };
    Reply::json(status, detail.to_string().into_bytes())
}

/// A future whose panic becomes `Err(())` instead of unwinding into the runtime.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CatchUnwind;

    #[test]
    fn a_panicking_handler_becomes_an_error_not_a_dead_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bug = rt.block_on(CatchUnwind(Box::pin(async {
            if std::hint::black_box(true) {
                panic!("a handler bug");
            }
            1
        })));
        assert_eq!(bug, Err(()));
        assert_eq!(rt.block_on(CatchUnwind(Box::pin(async { 2 }))), Ok(2));
    }
}

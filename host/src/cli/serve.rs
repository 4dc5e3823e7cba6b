//! `host serve`: its flags, turned into the gateway's configuration.

use super::{ClusterArgs, PluginArgs};
use crate::serve::{self, FailurePolicy, LogFormat, evaluate::EvaluatorKind};
use anyhow::{Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Server certificate chain (PEM); reloaded when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); reloaded when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (tests, or behind a TLS-terminating proxy).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "client_ca"])]
    insecure_http: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// `cluster`: hints may name other namespaces that hold a missing secret (the
    /// admin's view of `simulate`); off by default, as answers go to tenants.
    #[arg(long, value_enum, default_value = "none")]
    hints: Hints,
    /// Evaluations run at once [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: Option<u16>,
    /// Evaluations that may wait for a worker; past that, `gateway-overloaded`.
    #[arg(long, value_name = "N", default_value_t = 256)]
    queue: usize,
    /// Longest wait for a worker before `gateway-overloaded`, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    queue_timeout_ms: u64,
    /// What a plugin failure, timeout or overload answers: reject, or admit with a warning.
    #[arg(long, value_enum, default_value = "fail")]
    failure_policy: FailurePolicy,
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Largest request body, in bytes (an UPDATE's review holds the object twice).
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    max_body_bytes: usize,
    /// Request bodies held in memory at once, in bytes; a request waits up to the queue
    /// timeout for its share, then gets 503 (decoding takes ~15 times the body).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    max_inflight_bytes: usize,
    /// Open connections at once; past it a new connection is closed at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// With a live cluster view: how long, in seconds, answers may come from the last
    /// view while a broken watch is listed again (an API server restart, a CRD
    /// change); past it, the failure policy answers. 0: only from a view that follows
    /// the cluster.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    max_staleness_seconds: u64,
    /// With a live cluster view: how often, in seconds, every workload that exists is
    /// listed and evaluated again (besides at start and after every change).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(10..=604_800))]
    audit_interval_seconds: u64,
    /// With a live cluster view: no audit of what runs (no workloads read, no reports,
    /// no removal guard).
    #[arg(long)]
    no_audit: bool,
    /// Seconds to finish requests in flight after SIGTERM or SIGINT.
    #[arg(long, value_name = "SECONDS", default_value_t = 25)]
    shutdown_grace_seconds: u64,
    /// For the load test: `native` calls the plugin's logic compiled into the host
    /// (no sandbox), `none` admits without evaluating (the HTTP+TLS+JSON floor).
    #[arg(long, value_enum, default_value = "plugin", hide = true)]
    evaluator: EvaluatorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Hints {
    None,
    Cluster,
}

pub fn serve(plugin: &PluginArgs, state: Option<PathBuf>, args: ServeArgs) -> Result<u8> {
    let tls = match (args.tls_cert, args.tls_key, args.insecure_http) {
        (Some(cert), Some(key), false) => Some(serve::tls::Files {
            cert,
            key,
            client_ca: args.client_ca,
        }),
        (None, None, true) => None,
        _ => bail!(
            "host serve needs --tls-cert FILE and --tls-key FILE (PEM), or --insecure-http to serve plain HTTP"
        ),
    };
    let workers = args.workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let (plugin, _, _) = super::evaluate::load_plugin(plugin)?;
    let live = args.cluster.connection();
    let config = serve::Config {
        listen: args.listen,
        tls,
        source: serve::view::Source {
            state,
            cluster: args.cluster.cluster,
            live,
            policies: args.cluster.policies,
        },
        hints: args.hints == Hints::Cluster,
        workers,
        queue: args.queue,
        queue_timeout: Duration::from_millis(args.queue_timeout_ms),
        failure_policy: args.failure_policy,
        log_format: args.log_format,
        max_body: args.max_body_bytes,
        max_inflight_bytes: args.max_inflight_bytes,
        max_connections: args.max_connections,
        grace: Duration::from_secs(args.shutdown_grace_seconds),
        evaluator: args.evaluator,
        max_staleness: Duration::from_secs(args.max_staleness_seconds),
        audit: (!args.no_audit).then(|| serve::audit::Config {
            interval: Duration::from_secs(args.audit_interval_seconds),
            reports: None,
        }),
    };
    serve::run(config, plugin)
}

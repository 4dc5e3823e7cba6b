//! `host serve`: its flags, turned into the gateway's configuration.

use super::PluginArgs;
use crate::kube_write::lease::Timing;
use crate::serve::{
    self, FailurePolicy, LogFormat, certs::Lifetimes, evaluate::EvaluatorKind, register::Endpoint,
};
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
    cluster: ServeCluster,
    #[command(flatten)]
    manage: ManageArgs,
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

/// The gateway's view, and the Kubernetes API it talks to.
#[derive(clap::Args)]
pub struct ServeCluster {
    /// Cluster manifests (Projects, Namespaces, Secrets, policies) instead of the demo.
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    cluster: Option<PathBuf>,
    /// Extra policy files, added to the cluster's.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// The Kubernetes API through this kubeconfig (its current context): the cluster
    /// view (read-only; secrets' key names only) unless --cluster or --state gives it,
    /// and what --tls-secret and --register-webhooks write.
    #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
    kubeconfig: Option<PathBuf>,
    /// The Kubernetes API with the pod's service account (as --kubeconfig).
    #[arg(long)]
    in_cluster: bool,
}

/// The gateway's own certificate and webhooks.
#[derive(clap::Args)]
struct ManageArgs {
    /// Make, serve and rotate the gateway's CA and certificate, kept in this Secret of
    /// the gateway's namespace and shared by its replicas (needs --kubeconfig or
    /// --in-cluster, and --webhook-service or --webhook-url for the certificate's names).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["tls_cert", "insecure_http"])]
    tls_secret: Option<String>,
    /// The gateway's Service in its namespace: the certificate is for its DNS names and
    /// the webhooks call it.
    #[arg(long, value_name = "NAME", requires = "tls_secret")]
    webhook_service: Option<String>,
    /// Where the API server reaches a gateway that runs outside the cluster
    /// (https://HOST[:PORT]): the certificate is for HOST and the webhooks call it.
    #[arg(
        long,
        value_name = "URL",
        requires = "tls_secret",
        conflicts_with = "webhook_service"
    )]
    webhook_url: Option<String>,
    /// Register the webhook configurations with the certificate's CAs once the gateway
    /// is ready (the leader among replicas does), and keep them so.
    #[arg(long, requires = "tls_secret")]
    register_webhooks: bool,
    /// The webhook configurations to register [default: deploy/webhooks/webhooks.yaml,
    /// built in].
    #[arg(long, value_name = "FILE", requires = "register_webhooks")]
    webhooks: Option<PathBuf>,
    /// The ClusterRole the registered configurations belong to: deleting it (as
    /// `kubectl delete -k deploy/` does) deletes them.
    #[arg(long, value_name = "NAME", requires = "register_webhooks")]
    webhook_owner: Option<String>,
    /// The gateway's namespace (its Secret and Lease) [default: the pod's, or the
    /// kubeconfig context's].
    #[arg(long, value_name = "NAMESPACE", requires = "tls_secret")]
    namespace: Option<String>,
    /// The Lease that elects the replica that rotates and registers.
    #[arg(long, value_name = "NAME", default_value = "runai-secrets-gateway")]
    lease: String,
    /// How long a new CA and certificate are valid.
    #[arg(long, value_name = "SECONDS", default_value_t = 365 * 86_400, hide = true,
        value_parser = clap::value_parser!(u64).range(6..=100 * 365 * 86_400))]
    cert_validity_seconds: u64,
    /// Each rotation phase lasts at least this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, hide = true)]
    rotation_overlap_seconds: u64,
    /// How often the Secret is read and the webhooks checked.
    #[arg(long, value_name = "MS", default_value_t = 10_000, hide = true,
        value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    manage_interval_ms: u64,
    /// The Lease's duration (renewed every 2/15 of it; a leader that cannot renew for
    /// 2/3 of it stops acting).
    #[arg(long, value_name = "SECONDS", default_value_t = 15, hide = true,
        value_parser = clap::value_parser!(u64).range(2..=3600))]
    lease_seconds: u64,
}

impl ManageArgs {
    fn settings(
        &self,
        connection: Option<crate::live::Connection>,
    ) -> Result<Option<serve::manage::Settings>> {
        let Some(secret) = &self.tls_secret else {
            return Ok(None);
        };
        let Some(connection) = connection else {
            bail!(
                "--tls-secret keeps the certificate in the cluster: give --kubeconfig FILE or --in-cluster"
            );
        };
        for (flag, name) in [
            ("--tls-secret", Some(secret)),
            ("--lease", Some(&self.lease)),
            ("--webhook-owner", self.webhook_owner.as_ref()),
        ] {
            if let Some(name) = name
                && !guest::names::is_dns1123_subdomain(name)
            {
                bail!(
                    "{flag}: `{}` is not a valid name: expected a DNS-1123 subdomain",
                    crate::text::shown(name)
                );
            }
        }
        for (flag, name) in [
            ("--webhook-service", &self.webhook_service),
            ("--namespace", &self.namespace),
        ] {
            if let Some(name) = name
                && !guest::names::is_dns1123_label(name)
            {
                bail!(
                    "{flag}: `{}` is not a valid name: expected a DNS-1123 label",
                    crate::text::shown(name)
                );
            }
        }
        let endpoint = match (&self.webhook_service, &self.webhook_url) {
            (Some(service), None) => Endpoint::Service(service.clone()),
            (None, Some(url)) => {
                serve::register::url_host(url)?;
                Endpoint::Url(url.clone())
            }
            _ => bail!(
                "--tls-secret needs the names the certificate is for: --webhook-service NAME (in the cluster) or --webhook-url https://HOST[:PORT] (outside it)"
            ),
        };
        let lifetimes = Lifetimes {
            validity: Duration::from_secs(self.cert_validity_seconds),
            overlap: Duration::from_secs(self.rotation_overlap_seconds),
        };
        lifetimes.check()?;
        let interval = Duration::from_millis(self.manage_interval_ms);
        if lifetimes.overlap < interval * 2 {
            bail!(
                "--rotation-overlap-seconds must be at least twice the interval the replicas read the Secret at ({} ms)",
                interval.as_millis()
            );
        }
        let duration = Duration::from_secs(self.lease_seconds);
        let webhooks = match self.register_webhooks {
            true => Some(serve::register::template(self.webhooks.as_deref())?),
            false => None,
        };
        Ok(Some(serve::manage::Settings {
            connection,
            namespace: self.namespace.clone(),
            secret: secret.clone(),
            endpoint,
            webhooks,
            owner: self.webhook_owner.clone(),
            lease: self.lease.clone(),
            lifetimes,
            interval,
            timing: Timing {
                duration,
                renew_deadline: duration * 2 / 3,
                retry: duration * 2 / 15,
            },
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Hints {
    None,
    Cluster,
}

/// What a gateway started with these arguments reads and writes through the API, in
/// `namespace` (its pod's): what its role must grant.
pub fn grants(
    state: Option<PathBuf>,
    args: &ServeArgs,
    namespace: &str,
) -> Result<Vec<crate::kube_write::Grant>> {
    use crate::kube_write::Grant;
    let connection = super::connection(args.cluster.kubeconfig.as_ref(), args.cluster.in_cluster);
    let files = args.cluster.cluster.is_some() || state.is_some();
    let mut grants = Vec::new();
    if connection.is_some() && !files {
        for (group, resource) in crate::live::READ {
            for verb in ["get", "list", "watch"] {
                grants.push(Grant::new(None, group, resource, verb, None));
            }
        }
    }
    let manage = args.manage.settings(connection.clone())?;
    if connection.is_some() && !files && !args.no_audit {
        // The audit: every workload kind read, and its reports written by the leader.
        for (group, resource) in crate::live::workload::reads() {
            for verb in ["get", "list", "watch"] {
                grants.push(Grant::new(None, group, resource, verb, None));
            }
        }
        if manage.is_some() {
            let (group, resource) = crate::live::workload::REPORTS;
            for verb in ["create", "patch"] {
                grants.push(Grant::new(None, group, resource, verb, None));
            }
        }
    }
    if let Some(manage) = manage {
        grants.extend(manage.grants(namespace));
    }
    grants.sort();
    grants.dedup();
    Ok(grants)
}

pub fn serve(plugin: &PluginArgs, state: Option<PathBuf>, args: ServeArgs) -> Result<u8> {
    let connection = super::connection(args.cluster.kubeconfig.as_ref(), args.cluster.in_cluster);
    let manage = args.manage.settings(connection.clone())?;
    let tls = match (args.tls_cert, args.tls_key, args.insecure_http, &manage) {
        (Some(cert), Some(key), false, None) => Some(serve::tls::Files {
            cert,
            key,
            client_ca: args.client_ca,
        }),
        (None, None, true, None) | (None, None, false, Some(_)) => None,
        _ => bail!(
            "host serve needs --tls-cert FILE and --tls-key FILE (PEM), --tls-secret NAME (the gateway makes its own), or --insecure-http to serve plain HTTP"
        ),
    };
    // With --cluster or --state the view comes from files; the API is then only for
    // the certificate and webhooks.
    let files = args.cluster.cluster.is_some() || state.is_some();
    if files && connection.is_some() && manage.is_none() {
        bail!(
            "--kubeconfig/--in-cluster with --cluster or --state: the view comes from the files and nothing would use the API; drop it, or add --tls-secret"
        );
    }
    let live = if files { None } else { connection };
    let workers = args.workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let (plugin, _, _) = super::evaluate::load_plugin(plugin)?;
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
        manage,
        max_staleness: Duration::from_secs(args.max_staleness_seconds),
        audit: (!args.no_audit).then(|| serve::audit::Config {
            interval: Duration::from_secs(args.audit_interval_seconds),
            reports: None,
            admission: None,
        }),
    };
    serve::run(config, plugin)
}

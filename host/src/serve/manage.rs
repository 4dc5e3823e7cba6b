//! The gateway keeps its own certificate and webhooks (`--tls-secret`,
//! `--register-webhooks`), as Kyverno and Gatekeeper do. On a thread of its own with
//! its own small async runtime, every `interval`:
//!
//! 1. Every replica reads the TLS Secret. None yet: it makes a CA and a certificate
//!    (`certs`) and creates the Secret; a replica that loses that race reads the
//!    winner's. It serves the Secret's certificate once it checks (valid now, for the
//!    gateway's names, signed by a CA of the bundle); until then a throwaway
//!    self-signed one answers the probes, and `/readyz` says not ready. A Secret that
//!    does not check is logged, counted, and the last good certificate stays.
//! 2. The replica holding the Lease (`kube_write::lease`, renewed every `retry`)
//!    registers the webhook configurations (`register`) with the Secret's CAs, **only
//!    once it is ready**: its cluster view synced and the Secret's certificate served.
//!    A configuration someone else changed or deleted is put back (logged, counted).
//! 3. The leader then takes the Secret's next rotation step (`certs::plan`), the
//!    switch to a new certificate only once the webhooks carry its CA.
//!
//! Every failure (403, conflict, an unreachable API server, a Secret that is not a
//! certificate, a missing owner) is a log line and a metric, and the gateway goes on
//! answering with the last good certificate.

use super::certs::{self, Lifetimes, Pair, Step, Stored};
use super::metrics::Metrics;
use super::register::{self, Endpoint, Owner};
use super::tls::Tls;
use super::view::{ReloadError, Views, now as unix_now};
use crate::kube_write::lease::{self, Change, Elector, Timing};
use crate::kube_write::{self, Created, Target, Updated};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What `host serve` was asked to manage.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connection: crate::live::Connection,
    /// The gateway's namespace; else the kubeconfig context's or the pod's.
    pub namespace: Option<String>,
    pub secret: String,
    pub endpoint: Endpoint,
    /// The webhook configurations to register (`None`: the gateway does not register).
    pub webhooks: Option<Vec<Value>>,
    /// The ClusterRole the configurations belong to.
    pub owner: Option<String>,
    pub lease: String,
    pub lifetimes: Lifetimes,
    pub interval: Duration,
    pub timing: Timing,
}

/// What `/readyz` shows of it.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    secret: String,
    /// The Secret's certificate is served (not the throwaway one).
    serving: bool,
    not_after: Option<u64>,
    leader: bool,
    holder: Option<String>,
    webhooks: String,
    last_error: Option<ReloadError>,
}

pub struct Managed {
    status: Mutex<Status>,
    stop: tokio::sync::watch::Sender<bool>,
    stopped: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    /// This replica holds the Lease (the one writer of what the gateway writes).
    /// Until when this replica leads without another renewal: a manage loop stuck
    /// on a slow API server cannot leave a stale "leading" behind.
    leading_until: Mutex<Option<std::time::Instant>>,
}

impl Managed {
    /// Holding the Lease: the audit's reports are written by this replica alone.
    pub fn is_leader(&self) -> bool {
        self.leading_until
            .lock()
            .is_ok_and(|until| until.is_some_and(|u| std::time::Instant::now() < u))
    }

    /// Serving the Secret's certificate.
    pub fn ready(&self) -> bool {
        self.status.lock().is_ok_and(|s| s.serving)
    }

    pub fn status(&self) -> Value {
        self.status
            .lock()
            .ok()
            .and_then(|s| serde_json::to_value(&*s).ok())
            .unwrap_or(Value::Null)
    }

    fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut status) = self.status.lock() {
            f(&mut status);
        }
    }

    /// On shutdown: the leader gives the Lease up, so another replica takes over at
    /// once; waits at most `limit` for it.
    pub fn stop(&self, limit: Duration) {
        let _ = self.stop.send(true);
        let waiting = self.stopped.lock().ok().and_then(|mut s| s.take());
        if let Some(done) = waiting {
            let _ = done.recv_timeout(limit);
        }
    }
}

impl Settings {
    /// What this code reads and writes through the API, in `namespace` (the gateway's):
    /// its Secret and Lease (create; get and update by name), and, when it registers,
    /// its webhook configurations (get, and create and patch by name: an apply that
    /// creates is authorised as a create of that name) and its owner (get).
    pub fn grants(&self, namespace: &str) -> Vec<crate::kube_write::Grant> {
        use crate::kube_write::Grant;
        let ns = Some(self.namespace.as_deref().unwrap_or(namespace));
        let mut grants = vec![
            Grant::new(ns, "", "secrets", "create", None),
            Grant::new(ns, "", "secrets", "get", Some(&self.secret)),
            Grant::new(ns, "", "secrets", "update", Some(&self.secret)),
            Grant::new(ns, "coordination.k8s.io", "leases", "create", None),
            Grant::new(
                ns,
                "coordination.k8s.io",
                "leases",
                "get",
                Some(&self.lease),
            ),
            Grant::new(
                ns,
                "coordination.k8s.io",
                "leases",
                "update",
                Some(&self.lease),
            ),
        ];
        if let Some(template) = &self.webhooks {
            let url = matches!(self.endpoint, Endpoint::Url(_));
            for (target, _) in register::desired(template, &self.endpoint, "", "", None) {
                let delete = url.then_some("delete");
                for verb in ["get", "create", "patch"].into_iter().chain(delete) {
                    grants.push(Grant::new(
                        None,
                        target.group,
                        target.resource,
                        verb,
                        Some(&target.name),
                    ));
                }
            }
            if let Some(owner) = &self.owner {
                let target = register::owner_target(owner);
                grants.push(Grant::new(
                    None,
                    target.group,
                    target.resource,
                    "get",
                    Some(owner),
                ));
            }
        }
        grants
    }
}

/// Connects, serves a throwaway certificate, and starts the manager's thread.
pub fn start(
    settings: Settings,
    views: Arc<Views>,
    metrics: Arc<Metrics>,
) -> Result<(Arc<Managed>, Arc<Tls>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the certificate manager's runtime")?;
    let client = runtime.block_on(settings.connection.client())?;
    let namespace = settings
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let names = settings.endpoint.names(&namespace);
    // Answers the probes until the Secret's certificate is read; never registered.
    let (_, throwaway) = certs::issue(&names, unix_now(), Duration::from_secs(86_400))?;
    let tls = Arc::new(Tls::with_key(throwaway.key)?);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let managed = Arc::new(Managed {
        status: Mutex::new(Status {
            secret: format!("{namespace}/{}", settings.secret),
            webhooks: if settings.webhooks.is_some() {
                "not registered yet".into()
            } else {
                "not registered by the gateway".into()
            },
            ..Status::default()
        }),
        stop,
        stopped: Mutex::new(Some(done_rx)),
        leading_until: Mutex::new(None),
    });
    let elector = Elector::new(
        client.clone(),
        &namespace,
        &settings.lease,
        lease::identity(),
        settings.timing,
    );
    let manager = Manager {
        secret: Target {
            group: "",
            version: "v1",
            resource: "secrets",
            namespace: Some(namespace.clone()),
            name: settings.secret.clone(),
        },
        client,
        namespace,
        names,
        settings,
        elector,
        views,
        metrics,
        tls: tls.clone(),
        managed: managed.clone(),
        served: None,
        applied: BTreeMap::new(),
        logged: BTreeMap::new(),
    };
    tracing::info!(secret = %manager.secret.describe(), lease = %manager.elector.target().describe(),
        identity = manager.elector.identity(), names = %manager.names.join(", "),
        "managing the gateway's certificate: serving a throwaway one until the Secret is read");
    std::thread::Builder::new()
        .name("certificates".to_string())
        .spawn(move || {
            runtime.block_on(manager.run(stop_rx));
            let _ = done_tx.send(());
        })
        .context("cannot start the certificate manager's thread")?;
    Ok((managed, tls))
}

/// The view can decide (a live view after its first sync), as `/readyz` says: the one
/// signal of readiness the registration waits for.
fn view_ready(views: &Views) -> bool {
    !matches!(
        views.freshness(&views.current()),
        super::view::Freshness::NotSynced
    )
}

struct Manager {
    client: kube::Client,
    namespace: String,
    names: Vec<String>,
    secret: Target,
    settings: Settings,
    elector: Elector,
    views: Arc<Views>,
    metrics: Arc<Metrics>,
    tls: Arc<Tls>,
    managed: Arc<Managed>,
    /// The certificate served, once one from the Secret is.
    served: Option<Pair>,
    /// What the gateway last applied, by configuration (kind and name).
    applied: BTreeMap<String, Value>,
    /// The last message logged per subject, so that a state that lasts is logged once.
    logged: BTreeMap<&'static str, String>,
}

impl Manager {
    async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut next_lease = Instant::now();
        let mut next_sync = Instant::now();
        loop {
            if Instant::now() >= next_lease {
                self.lead().await;
                next_lease = Instant::now() + self.elector.timing().retry;
            }
            if Instant::now() >= next_sync {
                self.sync().await;
                next_sync = Instant::now() + self.settings.interval;
            }
            let wake = next_lease.min(next_sync);
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed() => {
                    if self.elector.is_leader() {
                        self.unregister().await;
                        match self.elector.release().await {
                            Ok(()) => {
                                self.metrics.leader(false, Some("released"));
                                tracing::info!(lease = %self.elector.target().describe(), "shutting down: released the Lease");
                            }
                            Err(e) => tracing::warn!(error = %format!("{e:#}"), "shutting down: cannot release the Lease"),
                        }
                    }
                    return;
                }
            }
        }
    }

    /// A gateway outside the cluster (`--webhook-url`) takes its webhooks with it when
    /// it stops: nothing else would answer them, and a validating webhook that fails
    /// closed would block every workload in its scope. (In the cluster the Service
    /// stays and another replica answers; uninstalling deletes them.)
    async fn unregister(&mut self) {
        let (Endpoint::Url(_), Some(template)) = (&self.settings.endpoint, &self.settings.webhooks)
        else {
            return;
        };
        for (target, _) in
            register::desired(template, &self.settings.endpoint, &self.namespace, "", None)
        {
            match kube_write::delete(&self.client, &target).await {
                Ok(()) => {
                    tracing::info!(configuration = %target.describe(), "shutting down: deleted the webhook configuration (--webhook-url)")
                }
                Err(e) => {
                    tracing::error!(configuration = %target.describe(), error = %format!("{e:#}"),
                    "shutting down: cannot delete the webhook configuration: delete it, or it fails closed with no gateway")
                }
            }
        }
    }

    /// Logs `message` for `subject` when it differs from the last one logged; an
    /// error also goes to `/readyz` and the metric.
    fn problem(&mut self, subject: &'static str, reason: &'static str, message: String) {
        self.metrics.management_error(subject, reason);
        if self.logged.get(subject) != Some(&message) {
            tracing::error!(what = subject, reason, error = %message, "the gateway's certificate or webhooks");
            self.logged.insert(subject, message.clone());
        }
        self.managed.update(|s| {
            s.last_error = Some(ReloadError {
                at: unix_now(),
                error: message,
            })
        });
    }

    fn solved(&mut self, subject: &'static str) {
        self.logged.remove(subject);
    }

    async fn lead(&mut self) {
        self.step_lease().await;
        if let Ok(mut until) = self.managed.leading_until.lock() {
            *until = self.elector.leading_until();
        }
    }

    async fn step_lease(&mut self) {
        let was = self.elector.is_leader();
        match self.elector.step().await {
            Ok(Change::Acquired { from }) => {
                let event = if from.is_some() {
                    "took-over"
                } else {
                    "acquired"
                };
                self.metrics.leader(true, Some(event));
                match from {
                    Some(holder) => tracing::warn!(lease = %self.elector.target().describe(),
                        previous = %crate::text::shown(&holder),
                        seconds = self.elector.timing().duration.as_secs(),
                        "took the Lease over: its holder had not renewed it for its whole duration"),
                    None => {
                        tracing::info!(lease = %self.elector.target().describe(), "leading: this replica writes the certificate and webhooks")
                    }
                }
                self.solved("lease");
            }
            Ok(Change::Lost { why }) => {
                self.metrics.leader(false, Some("lost"));
                tracing::warn!(lease = %self.elector.target().describe(), why = %why, "no longer leading");
            }
            Ok(Change::None) => {
                self.metrics.leader(self.elector.is_leader(), None);
                self.solved("lease");
            }
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("lease", reason, format!("{e:#}"));
                if was && !self.elector.is_leader() {
                    self.metrics.leader(false, Some("lost"));
                }
            }
        }
        let (leader, holder) = (
            self.elector.is_leader(),
            self.elector.holder().map(str::to_string),
        );
        self.managed.update(|s| {
            s.leader = leader;
            s.holder = holder;
        });
    }

    async fn sync(&mut self) {
        let Some(stored) = self.read().await else {
            return;
        };
        self.serve(&stored);
        if !self.elector.is_leader() {
            if self.settings.webhooks.is_some() {
                self.managed
                    .update(|s| s.webhooks = "the replica holding the Lease registers them".into());
            }
            return;
        }
        let registered = match self.settings.webhooks.is_some() {
            true => self.register(&stored).await,
            false => true,
        };
        self.rotate(&stored, registered).await;
    }

    /// The Secret, made when there is none. `None` when it cannot be read or is not
    /// the gateway's.
    async fn read(&mut self) -> Option<Stored> {
        let found = match kube_write::get(&self.client, &self.secret).await {
            Ok(found) => found,
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("secret", reason, format!("{e:#}"));
                return None;
            }
        };
        let object = match found {
            Some(object) => object,
            None => self.create().await?,
        };
        match certs::read(&object) {
            Ok(stored) => {
                self.solved("secret");
                Some(stored)
            }
            Err(problem) => {
                let message = format!("{}: {problem}", self.secret.describe());
                self.problem("secret", problem.reason(), message);
                None
            }
        }
    }

    async fn create(&mut self) -> Option<Value> {
        let now = unix_now();
        let made = certs::issue(&self.names, now, self.settings.lifetimes.validity);
        let (ca, pair) = match made {
            Ok(made) => made,
            Err(e) => {
                self.problem(
                    "secret",
                    "issue",
                    format!("cannot make a certificate: {e:#}"),
                );
                return None;
            }
        };
        let object = certs::secret(
            &self.namespace,
            &self.secret.name,
            None,
            Some(&pair),
            None,
            &ca,
            now,
        );
        match kube_write::create(&self.client, &self.secret, &object).await {
            Ok(Created::Created(object)) => {
                self.metrics.certificate("created");
                tracing::info!(secret = %self.secret.describe(), not_after = pair.not_after,
                    "made the gateway's CA and certificate and stored them in the Secret");
                Some(object)
            }
            Ok(Created::Exists) => {
                tracing::info!(secret = %self.secret.describe(),
                    "another replica created the Secret first: using its certificate");
                match kube_write::get(&self.client, &self.secret).await {
                    Ok(found) => found,
                    Err(e) => {
                        let reason = kube_write::reason(&e);
                        self.problem("secret", reason, format!("{e:#}"));
                        None
                    }
                }
            }
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("secret", reason, format!("{e:#}"));
                None
            }
        }
    }

    /// Serves the Secret's certificate if it checks; else keeps the last good one.
    fn serve(&mut self, stored: &Stored) {
        let now = unix_now();
        let checked = stored
            .serving
            .clone()
            .and_then(|pair| certs::check(&pair, &stored.bundle, &self.names, now).map(|()| pair));
        match checked {
            Ok(pair) => {
                self.solved("certificate");
                if self.served.as_ref().map(|p| &p.cert_pem) != Some(&pair.cert_pem) {
                    self.install(&pair);
                }
            }
            Err(problem) => {
                let keeping = if self.served.is_some() {
                    "keeping the last good certificate"
                } else {
                    "not ready until it is replaced"
                };
                let message = format!(
                    "{}: the certificate cannot be served: {problem}; {keeping}",
                    self.secret.describe()
                );
                self.problem("certificate", problem.reason(), message);
            }
        }
    }

    fn install(&mut self, pair: &Pair) {
        if let Err(e) = self.tls.install(pair.key.clone()) {
            self.problem(
                "certificate",
                "tls",
                format!("cannot serve the certificate: {e:#}"),
            );
            return;
        }
        let event = if self.served.is_some() {
            "rotated"
        } else {
            "served"
        };
        self.served = Some(pair.clone());
        self.metrics.certificate(event);
        self.metrics.certificate_served(pair.not_after);
        self.managed.update(|s| {
            s.serving = true;
            s.not_after = Some(pair.not_after);
        });
        tracing::info!(secret = %self.secret.describe(), not_after = pair.not_after,
            "serving the certificate of the Secret");
    }

    /// Registers the webhook configurations with the Secret's bundle once ready; true
    /// when they carry it.
    async fn register(&mut self, stored: &Stored) -> bool {
        let waiting = if !view_ready(&self.views) {
            Some("waiting for the cluster view to sync")
        } else if !self.servable(stored) {
            Some("waiting to serve a certificate the webhooks would trust")
        } else {
            None
        };
        if let Some(why) = waiting {
            if self.logged.get("webhooks-wait").map(String::as_str) != Some(why) {
                tracing::info!(
                    why,
                    "not registering the webhooks yet: a webhook that fails closed must not be registered before the gateway can answer"
                );
                self.logged.insert("webhooks-wait", why.to_string());
            }
            self.managed
                .update(|s| s.webhooks = format!("not registered: {why}"));
            return self
                .applied
                .values()
                .all(|a| contains_bundle(a, &stored.bundle_pem()))
                && !self.applied.is_empty();
        }
        self.logged.remove("webhooks-wait");
        let owner = match self.owner().await {
            Ok(owner) => owner,
            Err(message) => {
                self.problem("owner", "owner-missing", message);
                return false;
            }
        };
        let template = self.settings.webhooks.clone().unwrap_or_default();
        let wanted = register::desired(
            &template,
            &self.settings.endpoint,
            &self.namespace,
            &stored.bundle_pem(),
            owner.as_ref(),
        );
        let mut all = true;
        for (target, object) in wanted {
            all &= self.ensure(&target, &object).await;
        }
        if all {
            self.solved("webhooks");
            self.managed.update(|s| s.webhooks = "registered".into());
        }
        all
    }

    /// Whether the Secret's bundle trusts what this replica serves, or, when what it
    /// serves cannot be trusted any more (expired, or the throwaway one), the next
    /// certificate it will serve once the webhooks carry the bundle.
    fn servable(&self, stored: &Stored) -> bool {
        let now = unix_now();
        let trusted = |pair: &Pair| certs::check(pair, &stored.bundle, &self.names, now).is_ok();
        self.served.as_ref().is_some_and(trusted)
            || matches!(&stored.next, Some(Ok(next)) if trusted(next))
    }

    /// The owner's uid, read each time it is needed (a reinstall makes a new one).
    async fn owner(&self) -> Result<Option<Owner>, String> {
        let Some(name) = &self.settings.owner else {
            return Ok(None);
        };
        let target = register::owner_target(name);
        match kube_write::get(&self.client, &target).await {
            Ok(Some(role)) => match role["metadata"]["uid"].as_str() {
                Some(uid) => Ok(Some(Owner {
                    name: name.clone(),
                    uid: uid.to_string(),
                })),
                None => Err(format!("{}: has no uid", target.describe())),
            },
            Ok(None) => Err(format!(
                "{} does not exist: not registering webhooks that uninstalling would leave behind (--webhook-owner)",
                target.describe()
            )),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    /// One configuration as wanted: applied when it is missing or differs.
    async fn ensure(&mut self, target: &Target, wanted: &Value) -> bool {
        let live = match kube_write::get(&self.client, target).await {
            Ok(live) => live,
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("webhooks", reason, format!("{e:#}"));
                return false;
            }
        };
        let previous = self.applied.get(&target.describe());
        let event = match (&live, previous) {
            (Some(live), _) if kube_write::contains(live, wanted) => {
                self.applied.insert(target.describe(), wanted.clone());
                return true;
            }
            (None, Some(_)) => {
                tracing::warn!(configuration = %target.describe(), "the webhook configuration was deleted by someone else: registering it again");
                "recreated"
            }
            (Some(live), Some(previous)) if !kube_write::contains(live, previous) => {
                let others = kube_write::other_managers(live);
                tracing::warn!(configuration = %target.describe(), changed_by = %crate::text::some(&others),
                    "the webhook configuration was changed by someone else: putting the gateway's fields back");
                "repaired"
            }
            _ => "registered",
        };
        match kube_write::apply(&self.client, target, wanted).await {
            Ok(_) => {
                self.metrics.webhooks(event);
                tracing::info!(configuration = %target.describe(), event, "webhook configuration applied with the certificate's CAs");
                self.applied.insert(target.describe(), wanted.clone());
                true
            }
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("webhooks", reason, format!("{e:#}"));
                false
            }
        }
    }

    async fn rotate(&mut self, stored: &Stored, registered: bool) {
        let now = unix_now();
        let step = certs::plan(
            stored,
            &self.names,
            now,
            &self.settings.lifetimes,
            registered,
        );
        if step == Step::Keep {
            return;
        }
        let registered = match step {
            Step::Begin { .. } => self.registered_cas().await,
            _ => Vec::new(),
        };
        let object = match certs::after(
            &step,
            stored,
            &registered,
            &self.names,
            now,
            &self.settings.lifetimes,
            (&self.namespace, &self.secret.name),
        ) {
            Ok(Some(object)) => object,
            Ok(None) => return,
            Err(e) => {
                self.problem(
                    "secret",
                    "issue",
                    format!("cannot make a certificate: {e:#}"),
                );
                return;
            }
        };
        match kube_write::update(&self.client, &self.secret, &object).await {
            Ok(Updated::Updated(_)) => {
                let event = match &step {
                    Step::Begin { urgent: true, why } => {
                        tracing::warn!(secret = %self.secret.describe(), why = %why,
                            "replacing the certificate: a new CA and certificate, served once the webhooks trust the new CA");
                        "replaced"
                    }
                    Step::Begin { why, .. } => {
                        tracing::info!(secret = %self.secret.describe(), why = %why,
                            "rotation begun: a new CA and certificate; the webhooks trust both CAs");
                        "rotation-begun"
                    }
                    Step::Switch => {
                        tracing::info!(secret = %self.secret.describe(), "rotation: serving the new certificate");
                        "rotation-switched"
                    }
                    _ => {
                        tracing::info!(secret = %self.secret.describe(), "rotation finished: the old CA is no longer trusted");
                        "rotation-finished"
                    }
                };
                self.metrics.certificate(event);
            }
            Ok(Updated::Conflict) => {
                tracing::info!(secret = %self.secret.describe(), "the Secret changed while it was being rotated: reading it again");
            }
            Err(e) => {
                let reason = kube_write::reason(&e);
                self.problem("secret", reason, format!("{e:#}"));
            }
        }
    }
}

impl Manager {
    /// The CAs the registered webhook configurations trust now.
    async fn registered_cas(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        use base64::Engine;
        use rustls::pki_types::pem::PemObject;
        let Some(template) = &self.settings.webhooks else {
            return Vec::new();
        };
        let mut cas = Vec::new();
        for (target, _) in
            register::desired(template, &self.settings.endpoint, &self.namespace, "", None)
        {
            let Ok(Some(live)) = kube_write::get(&self.client, &target).await else {
                continue;
            };
            for webhook in live["webhooks"].as_array().into_iter().flatten() {
                let bundle = webhook["clientConfig"]["caBundle"].as_str().unwrap_or("");
                let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(bundle) else {
                    continue;
                };
                for ca in rustls::pki_types::CertificateDer::pem_slice_iter(&pem).flatten() {
                    if !cas.contains(&ca) {
                        cas.push(ca);
                    }
                }
            }
        }
        cas
    }
}

/// Whether an applied configuration carries `bundle_pem` in every webhook.
fn contains_bundle(applied: &Value, bundle_pem: &str) -> bool {
    use base64::Engine;
    let wanted = base64::engine::general_purpose::STANDARD.encode(bundle_pem);
    applied["webhooks"].as_array().is_some_and(|w| {
        w.iter()
            .all(|w| w["clientConfig"]["caBundle"] == wanted.as_str())
    })
}

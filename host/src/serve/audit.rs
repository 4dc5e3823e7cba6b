//! The live audit (SPEC §11): every workload that exists in the namespaces the view
//! decides for, evaluated against the current view and kept in the workload index.
//!
//! A thread of its own runs one reflector per workload kind (Pods, every pod
//! controller, the Run:ai workload kinds; list, then watch) and hands each object to
//! the evaluating thread, which evaluates it through the one evaluation path and keeps
//! its record: the object's text is dropped once evaluated (never stored, never
//! logged). Evaluated again: at start, when the object changes, when the view changes
//! what it depends on (a changed secret: the workloads that reference it, found
//! through the index, fetched again from the API server; a changed policy: every
//! workload of its scope), and every `--audit-interval`. The evaluations run apart from
//! the admission workers, one at a time, so an audit never takes an admission's place.

use super::metrics::{FindingLabels, Metrics};
use super::view::{View, Views};
use crate::audit::{Audited, audit_one};
use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::live::api::{self, Change};
use crate::live::workload::{RawWorkload, decoder};
use crate::live::{self, Target};
use crate::plugin::Plugin;
use crate::workloads::{Index, Key, Record};
use kube::core::ApiResource;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// Objects waiting for the evaluating thread: past this, the reflectors wait.
const QUEUE: usize = 1024;
/// More workloads than this touched by one change are listed again instead of
/// fetched one by one.
const REFETCH_MAX: usize = 2000;
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Config {
    /// How often every workload is listed and evaluated again.
    pub interval: Duration,
    /// Where the PolicyReports go (the leader writes them); `None`: metrics and logs only.
    pub reports: Option<Arc<super::reports::Reports>>,
    /// Admission's evaluations queued or running (`workers::Pool::activity`): each of the
    /// audit's waits while there are any, up to `ADMISSION_FIRST`.
    pub admission: Option<Arc<AtomicUsize>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("interval", &self.interval)
            .field("reports", &self.reports.is_some())
            .field("admission", &self.admission.is_some())
            .finish()
    }
}

/// Why a workload was evaluated (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A list: at start, after a broken watch, every `--audit-interval`, or after a
    /// change of `runai`'s policies.
    List,
    /// The object changed.
    Watch,
    /// A secret it references changed.
    Secret,
    /// A policy of its namespace changed.
    Policy,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::List => "list",
            Trigger::Watch => "watch",
            Trigger::Secret => "secret-change",
            Trigger::Policy => "policy-change",
        }
    }
}

enum Job {
    Put {
        kind: String,
        object: RawWorkload,
        trigger: Trigger,
    },
    Delete {
        key: Key,
    },
    /// A list of `kind` is complete: records of that kind it did not hold are gone.
    Listed {
        kind: String,
        seen: HashSet<(String, String)>,
        started: Instant,
    },
}

/// What the rest of the gateway reads of the audit.
pub struct Audit {
    index: RwLock<Index>,
    /// Namespaces whose report changed since it was last written.
    dirty: Mutex<BTreeSet<String>>,
    /// Kinds not served by the API server (their CRDs are not installed), for `/readyz`.
    not_served: Mutex<BTreeSet<String>>,
    /// Asks every reflector to list again.
    relist: Notify,
    lists_done: Mutex<HashMap<String, u64>>,
    /// Where its reports go (for `/readyz`); `None` without a Lease.
    reports: Option<Arc<super::reports::Reports>>,
}

impl Audit {
    fn new(reports: Option<Arc<super::reports::Reports>>) -> Self {
        Audit {
            reports,
            index: RwLock::new(Index::default()),
            dirty: Mutex::new(BTreeSet::new()),
            not_served: Mutex::new(BTreeSet::new()),
            relist: Notify::new(),
            lists_done: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the index (a Secret DELETE review, a report).
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        match self.index.read() {
            Ok(index) => f(&index),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn change_index<R>(&self, f: impl FnOnce(&mut Index) -> R) -> R {
        match self.index.write() {
            Ok(mut index) => f(&mut index),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Namespaces whose report is to be written, taken.
    pub fn take_dirty(&self, at_most: usize) -> Vec<String> {
        take(&self.dirty, at_most)
    }

    /// Every namespace with workloads, to be written again (a new leader).
    pub fn mark_all_dirty(&self) {
        let namespaces: Vec<String> =
            self.with_index(|i| i.by_namespace().keys().map(|s| s.to_string()).collect());
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.extend(namespaces);
        }
    }

    fn mark_dirty(&self, namespace: &str) {
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.insert(namespace.to_string());
        }
    }

    /// How many lists of each kind have completed (tests and `/readyz`).
    pub fn lists(&self) -> HashMap<String, u64> {
        self.lists_done.lock().map_or(HashMap::new(), |l| l.clone())
    }

    /// What `/readyz` says of the audit. Anyone may read whether every kind has been
    /// listed and whether reports are written; the counts and the last write error
    /// (which may name a tenant's namespace) only a verified client.
    pub fn status(&self, verbose: bool) -> serde_json::Value {
        let lists = self.lists();
        let not_served = self.not_served();
        // Every kind the audit reads listed once, or known not to be served.
        let listed = live::workload::targets()
            .iter()
            .all(|t| lists.contains_key(&t.kind) || not_served.contains(&t.kind));
        let mut status = serde_json::json!({
            "listed": listed,
            "kindsNotServed": not_served,
            "reports": self.reports.as_ref().map(|r| serde_json::json!({
                "leader": r.leading(),
                "lastWriteFailed": r.last_error().is_some(),
            })),
        });
        if verbose {
            status["workloads"] = self.with_index(|i| i.len()).into();
            status["listsCompleted"] = serde_json::json!(lists);
            if let Some(r) = &self.reports {
                status["reports"]["lastWriteError"] = serde_json::json!(r.last_error());
            }
        }
        status
    }

    pub fn not_served(&self) -> Vec<String> {
        self.not_served
            .lock()
            .map_or(Vec::new(), |n| n.iter().cloned().collect())
    }
}

/// Up to `n` namespaces taken from `set` (the first in order).
pub(super) fn take(set: &Mutex<BTreeSet<String>>, n: usize) -> Vec<String> {
    let mut set = match set.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    let taken: Vec<String> = set.iter().take(n).cloned().collect();
    for ns in &taken {
        set.remove(ns);
    }
    taken
}

/// Starts the audit: its reflectors on a thread with their own runtime, and the
/// evaluating thread.
pub fn start(
    connection: live::Connection,
    views: Arc<Views>,
    plugin: Arc<Plugin>,
    metrics: Arc<Metrics>,
    config: Config,
) -> std::io::Result<Arc<Audit>> {
    let audit = Arc::new(Audit::new(config.reports.clone()));
    let (jobs, queue) = sync_channel::<Job>(QUEUE);
    let (refetch_tx, refetch_rx) = mpsc::unbounded_channel::<(Key, Trigger)>();
    {
        let audit = audit.clone();
        let metrics = metrics.clone();
        let admission = config.admission.clone();
        std::thread::Builder::new()
            .name("audit-evaluate".to_string())
            .spawn(move || {
                yield_to_admission();
                evaluate_loop(
                    &audit, &views, &plugin, &metrics, &admission, queue, refetch_tx,
                )
            })?;
    }
    {
        let audit = audit.clone();
        std::thread::Builder::new()
            .name("audit-read".to_string())
            .spawn(move || {
                // Its lists' decoding yields to admission too.
                yield_to_admission();
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the audit's runtime: no audit");
                        return;
                    }
                };
                runtime.block_on(async move {
                    // Its own client, on its own runtime: the audit's lists never wait
                    // behind the view's.
                    let client = match connection.client().await {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "audit: no client: no audit");
                            return;
                        }
                    };
                    tokio::spawn(publish(client.clone(), audit.clone(), metrics, config.clone()));
                    read(client, audit, jobs, refetch_rx, config).await;
                });
            })?;
    }
    Ok(audit)
}

/// How often the changed namespaces' metrics are set and their reports written.
const PUBLISH: Duration = Duration::from_secs(1);

/// Every second: the findings metrics of the namespaces that changed (on every
/// replica), and, on the leader, their PolicyReports.
async fn publish(client: kube::Client, audit: Arc<Audit>, metrics: Arc<Metrics>, config: Config) {
    let mut published: HashMap<String, Vec<FindingLabels>> = HashMap::new();
    loop {
        tokio::time::sleep(PUBLISH).await;
        let namespaces = audit.take_dirty(usize::MAX);
        for ns in &namespaces {
            let now = audit.with_index(|i| findings_by_code(i, ns));
            let before = published.remove(ns).unwrap_or_default();
            metrics.audit_findings(&before, &now);
            if !now.is_empty() {
                published.insert(ns.clone(), now.into_iter().map(|(l, _)| l).collect());
            }
        }
        if let Some(reports) = &config.reports {
            reports.queue(namespaces);
            reports.write(&client, &audit, &metrics).await;
        }
    }
}

/// The findings of a namespace's workloads (each reported once: a controller's pods
/// on their controller), counted by code and severity.
fn findings_by_code(index: &Index, namespace: &str) -> Vec<(FindingLabels, i64)> {
    let mut counts: BTreeMap<FindingLabels, i64> = BTreeMap::new();
    for r in index.reported_in(namespace) {
        for f in &r.findings {
            let severity = match f.outcome {
                crate::workloads::Outcome::Fail => "high",
                crate::workloads::Outcome::Warn => "medium",
            };
            *counts
                .entry(FindingLabels {
                    namespace: namespace.to_string(),
                    code: f.code.clone(),
                    severity,
                })
                .or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// The reflectors, the periodic relist and the fetches of single workloads.
async fn read(
    client: kube::Client,
    audit: Arc<Audit>,
    jobs: SyncSender<Job>,
    mut refetch: mpsc::UnboundedReceiver<(Key, Trigger)>,
    config: Config,
) {
    let resources: Arc<Mutex<HashMap<String, ApiResource>>> = Arc::new(Mutex::new(HashMap::new()));
    for target in live::workload::targets() {
        tokio::spawn(reflect(
            client.clone(),
            audit.clone(),
            jobs.clone(),
            target,
            resources.clone(),
        ));
    }
    let periodic = {
        let audit = audit.clone();
        async move {
            loop {
                tokio::time::sleep(config.interval).await;
                tracing::info!(
                    interval_s = config.interval.as_secs(),
                    "audit: listing every workload again"
                );
                audit.relist.notify_waiters();
            }
        }
    };
    tokio::spawn(periodic);
    while let Some((key, trigger)) = refetch.recv().await {
        let resource = resources
            .lock()
            .ok()
            .and_then(|r| r.get(key.kind.as_str()).cloned());
        let Some(resource) = resource else { continue };
        let api_version = resource.api_version.clone();
        let kind = resource.kind.clone();
        let got = api::get_one(&client, &resource, &key.namespace, &key.name, |text| {
            decoder(&api_version, &kind, text)
        })
        .await;
        let job = match got {
            Ok(Some(Ok(object))) => Job::Put {
                kind: key.kind.to_string(),
                object,
                trigger,
            },
            Ok(None) => Job::Delete { key },
            Ok(Some(Err(bad))) => {
                tracing::warn!(kind = %key.kind, why = %bad.why, "audit: a workload fetched again cannot be read");
                continue;
            }
            Err(e) => {
                tracing::warn!(kind = %key.kind, error = %format!("{e:#}"), "audit: cannot fetch a workload again");
                continue;
            }
        };
        if jobs.send(job).is_err() {
            return;
        }
    }
}

/// One kind: discover (a CRD kind), list, watch; list again when asked (the
/// interval, a change of `runai`'s policies) or when the watch breaks.
async fn reflect(
    client: kube::Client,
    audit: Arc<Audit>,
    jobs: SyncSender<Job>,
    target: Target,
    resources: Arc<Mutex<HashMap<String, ApiResource>>>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let resource = match live::discover_kind(&client, &target).await {
            Ok(Some(r)) => {
                if let Ok(mut n) = audit.not_served.lock() {
                    n.remove(&target.kind);
                }
                r
            }
            Ok(None) => {
                if let Ok(mut n) = audit.not_served.lock() {
                    n.insert(target.kind.clone());
                }
                tokio::time::sleep(Duration::from_secs(10)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(kind = %target.kind, error = %format!("{e:#}"), "audit: discovery failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if let Ok(mut r) = resources.lock() {
            r.insert(target.kind.clone(), resource.clone());
        }
        let (api_version, kind) = (resource.api_version.clone(), resource.kind.clone());
        let decode = |text: &str| decoder(&api_version, &kind, text);
        let started = Instant::now();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut closed = false;
        let listed = api::list_each(&client, &resource, decode, |item| {
            if let Ok(object) = item {
                seen.insert((object.namespace.clone(), object.name.clone()));
                closed |= jobs
                    .send(Job::Put {
                        kind: target.kind.clone(),
                        object,
                        trigger: Trigger::List,
                    })
                    .is_err();
            }
        })
        .await;
        if closed {
            return;
        }
        let mut version = match listed {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(kind = %target.kind, error = %format!("{e:#}"), "audit: list failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if jobs
            .send(Job::Listed {
                kind: target.kind.clone(),
                seen,
                started,
            })
            .is_err()
        {
            return;
        }
        backoff = MIN_BACKOFF;
        // Watch until it breaks or a list is asked for.
        loop {
            let watched = tokio::select! {
                w = api::watch_each(&client, &resource, &version, decode, |change| {
                    let job = match change {
                        Change::Put(object) => Job::Put { kind: target.kind.clone(), object: *object, trigger: Trigger::Watch },
                        Change::PutUnreadable(_) => return,
                        Change::Delete(namespace, name) => Job::Delete { key: Key::new(&target.kind, &namespace, &name) },
                    };
                    let _ = jobs.send(job);
                }) => Some(w),
                () = audit.relist.notified() => None,
            };
            match watched {
                Some(Ok(next)) => version = next,
                Some(Err(e)) => {
                    tracing::info!(kind = %target.kind, error = %format!("{e:#}"), "audit: watch broken, listing again");
                    tokio::time::sleep(MIN_BACKOFF).await;
                    break;
                }
                None => break,
            }
        }
    }
}

/// What the view was when the audit last looked, to tell what a new one changes.
struct Seen {
    generation: u64,
    view: Option<Arc<View>>,
}

/// The audit shares the cores with admission, whose answers have a deadline while the
/// audit's do not: its threads are scheduled `SCHED_IDLE` (Linux; a per-thread policy
/// any process may choose for itself), so they run on the CPU admission leaves idle.
/// Measured with `loadtest/audit.sh`: 10 nice levels lower instead still cost admission
/// 9-21% of its throughput during a full audit, as a nice level only weights the share.
/// Under a sustained full load the audit lags; it catches up when the load goes.
fn yield_to_admission() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        let changed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if changed != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "audit: cannot lower its thread's priority");
        }
    }
}

/// How long one of the audit's evaluations waits for admission to go idle before it
/// runs anyway: under a load that never pauses, the audit goes on at about this pace
/// (a full audit of 10,000 workloads in some minutes) instead of stopping.
const ADMISSION_FIRST: Duration = Duration::from_millis(20);

/// Waits while admission has evaluations queued or running, at most `ADMISSION_FIRST`.
fn after_admission(admission: &Option<Arc<AtomicUsize>>) {
    let Some(active) = admission else { return };
    let started = Instant::now();
    while active.load(Ordering::Acquire) > 0 && started.elapsed() < ADMISSION_FIRST {
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn evaluate_loop(
    audit: &Audit,
    views: &Views,
    plugin: &Plugin,
    metrics: &Metrics,
    admission: &Option<Arc<AtomicUsize>>,
    queue: Receiver<Job>,
    refetch: mpsc::UnboundedSender<(Key, Trigger)>,
) {
    let mut seen = Seen {
        generation: 0,
        view: None,
    };
    loop {
        // Until the view first syncs, objects wait in the queue (the reflectors wait
        // behind it).
        if !views.current().synced {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let job = match queue.recv_timeout(Duration::from_millis(500)) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let view = views.current();
        if view.generation != seen.generation {
            if let Some(old) = &seen.view {
                for (key, trigger) in touched(audit, &old.cluster, &view.cluster) {
                    let _ = refetch.send((key, trigger));
                }
            }
            seen = Seen {
                generation: view.generation,
                view: Some(view.clone()),
            };
        }
        if let Some(job) = job {
            after_admission(admission);
            run(audit, &view.cluster, plugin, metrics, job);
        }
    }
}

fn run(audit: &Audit, cluster: &Cluster, plugin: &Plugin, metrics: &Metrics, job: Job) {
    match job {
        Job::Put {
            kind,
            object,
            trigger,
        } => {
            let owner = object
                .owner
                .as_ref()
                .map(|(k, n)| Key::new(k, &object.namespace, n));
            let key = Key::new(&kind, &object.namespace, &object.name);
            metrics.audit_evaluated(trigger.name());
            match audit_one(plugin, cluster, object.json, Some(&object.namespace), owner) {
                Ok(Audited::Recorded(mut record)) => {
                    // The record is filed under the object's own identity.
                    record.key = key;
                    upsert(audit, record);
                }
                Ok(Audited::Skipped { .. }) => {
                    if audit.change_index(|i| i.remove(&key)).is_some() {
                        audit.mark_dirty(&key.namespace);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), kind = %key.kind, "audit: an evaluation failed in the gateway");
                }
            }
        }
        Job::Delete { key } => {
            if audit.change_index(|i| i.remove(&key)).is_some() {
                audit.mark_dirty(&key.namespace);
            }
        }
        Job::Listed {
            kind,
            seen,
            started,
        } => {
            let gone: Vec<Key> = audit.with_index(|i| {
                i.records()
                    .filter(|r| {
                        r.key.kind == kind
                            && !seen
                                .contains(&(r.key.namespace.to_string(), r.key.name.to_string()))
                    })
                    .map(|r| r.key.clone())
                    .collect()
            });
            for key in gone {
                audit.change_index(|i| i.remove(&key));
                audit.mark_dirty(&key.namespace);
            }
            if let Ok(mut l) = audit.lists_done.lock() {
                *l.entry(kind.clone()).or_default() += 1;
            }
            metrics.audit_listed(started.elapsed());
            let count = audit.with_index(Index::len);
            metrics.audit_workloads(count);
            tracing::info!(kind = %kind, workloads = count, seconds = started.elapsed().as_secs_f64(), "audit: listed and evaluated");
        }
    }
}

fn upsert(audit: &Audit, record: Record) {
    let namespace = record.key.namespace.clone();
    let changed = audit.change_index(|i| {
        let same = i.get(&record.key) == Some(&record);
        if !same {
            i.upsert(record);
        }
        !same
    });
    if changed {
        audit.mark_dirty(&namespace);
    }
}

/// The workloads a new view may decide otherwise: every one of a namespace whose
/// policies or quarantine changed (all, for `runai`: then a list is asked for), and
/// those that reference a secret that changed (through the index).
fn touched(audit: &Audit, old: &Cluster, new: &Cluster) -> Vec<(Key, Trigger)> {
    let policies = |c: &Cluster| {
        let mut by: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for p in &c.policies {
            by.entry(p.namespace.clone())
                .or_default()
                .push((p.source.clone(), p.json.clone()));
        }
        by
    };
    let (before, after) = (policies(old), policies(new));
    let mut scopes: BTreeSet<String> = before
        .keys()
        .chain(after.keys())
        .filter(|ns| before.get(*ns) != after.get(*ns))
        .cloned()
        .collect();
    if old.quarantine != new.quarantine {
        scopes.extend(old.quarantine.namespaces.keys().cloned());
        scopes.extend(new.quarantine.namespaces.keys().cloned());
        if old.quarantine.everywhere != new.quarantine.everywhere {
            scopes.insert(SYSTEM_NAMESPACE.to_string());
        }
    }
    if scopes.contains(SYSTEM_NAMESPACE) {
        tracing::info!("audit: the policies of runai changed: listing every workload again");
        audit.relist.notify_waiters();
        return Vec::new();
    }
    let mut out: BTreeMap<Key, Trigger> = BTreeMap::new();
    audit.with_index(|index| {
        for ns in &scopes {
            for r in index.in_namespace(ns) {
                out.insert(r.key.clone(), Trigger::Policy);
            }
        }
        let changed = changed_secrets(old, new);
        for (ns, secrets) in &changed {
            for key in index.touched_by(ns, secrets.iter().map(String::as_str)) {
                out.entry(key).or_insert(Trigger::Secret);
            }
        }
    });
    if out.len() > REFETCH_MAX {
        tracing::info!(
            workloads = out.len(),
            "audit: a change touches many workloads: listing every workload again"
        );
        audit.relist.notify_waiters();
        return Vec::new();
    }
    out.into_iter().collect()
}

/// The secrets whose metadata (keys, type, labels) a new view changes, by namespace:
/// as each project namespace's catalog sees them.
fn changed_secrets(old: &Cluster, new: &Cluster) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let keys: BTreeSet<&(String, String)> = old.secrets.keys().chain(new.secrets.keys()).collect();
    for key in keys {
        let (a, b) = (old.secrets.get(key), new.secrets.get(key));
        let same = match (a, b) {
            (Some(a), Some(b)) => {
                a.keys.keys().eq(b.keys.keys())
                    && a.labels == b.labels
                    && a.secret_type == b.secret_type
            }
            (None, None) => true,
            _ => false,
        };
        if !same {
            out.entry(key.0.clone()).or_default().insert(key.1.clone());
        }
    }
    out
}

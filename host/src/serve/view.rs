//! The gateway's view of the cluster: loaded from `--state DIR`, `--cluster FILE`
//! (plus `--policy` files) or the built-in demo, and reloaded when those files
//! change. A new view is swapped in whole: a request takes the current view once,
//! so requests in flight finish on the old one and none waits for a reload. A change
//! that does not load (unreadable, invalid manifests, policies the plugin refuses)
//! keeps the last good view; the failure is logged, counted and shown on `/readyz`.
//! From a live cluster (`--kubeconfig`, `--in-cluster`), `live_view` swaps views in
//! the same way. Before its first sync a live view decides nothing; after it, answers
//! come from the last view while a broken watch is listed again, and only a view
//! older than `--max-staleness-seconds` stops deciding.

use super::live_view;
use super::metrics::Metrics;
use super::reload;
use crate::cluster::Cluster;
use crate::plugin::Plugin;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the view comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub state: Option<PathBuf>,
    pub cluster: Option<PathBuf>,
    pub policies: Vec<PathBuf>,
    /// A live cluster instead of files.
    pub live: Option<crate::live::Connection>,
}

impl Source {
    /// The files whose change means a reload.
    fn files(&self) -> Vec<PathBuf> {
        if self.live.is_some() {
            return Vec::new();
        }
        let mut files: Vec<PathBuf> = match (&self.state, &self.cluster) {
            (Some(dir), _) => vec![crate::state::StateDir::new(dir).path()],
            (None, Some(file)) => vec![file.clone()],
            (None, None) => Vec::new(),
        };
        files.extend(self.policies.iter().cloned());
        files
    }

    pub fn describe(&self) -> String {
        if let Some(live) = &self.live {
            return live.describe();
        }
        match (&self.state, &self.cluster) {
            (Some(dir), _) => format!("state {}", dir.display()),
            (None, Some(file)) => format!("cluster file {}", file.display()),
            (None, None) => format!("built-in demo ({})", crate::demo::CLUSTER_FILE),
        }
    }

    fn load(&self, plugin: &Plugin) -> Result<Cluster> {
        // A file caught empty or with no documents (an editor's or `>`'s truncation
        // before the write) is refused by the loader, so the last good view stays.
        for file in self.files() {
            crate::input::require_regular_file(&file, "cluster view")?;
        }
        let cluster = crate::cluster::files::load(
            self.state.as_ref(),
            self.cluster.as_ref(),
            &self.policies,
        )?;
        crate::simulate::check_policies(plugin, &cluster)?;
        Ok(cluster)
    }
}

/// One loaded view.
pub struct View {
    pub cluster: Cluster,
    /// 1 for the view loaded at start, one more for each reload.
    pub generation: u64,
    /// Seconds since the Unix epoch.
    pub loaded_at: u64,
    /// False until a live view has been synced with the API server once: nothing is
    /// decided on it (always true for files).
    pub synced: bool,
}

/// How far a view may be trusted now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Freshness {
    /// Never synced since the start: decides nothing.
    NotSynced,
    /// Following the cluster, or behind it by less than the bound (seconds behind).
    Current(f64),
    /// Behind the cluster for longer than `--max-staleness-seconds`.
    Stale(f64),
}

/// The last reload that failed, for `/readyz`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadError {
    pub at: u64,
    pub error: String,
}

pub struct Views {
    source: Source,
    current: RwLock<Arc<View>>,
    last_error: Mutex<Option<ReloadError>>,
    /// A live source's connection, until `watch` starts its thread.
    live_start: Mutex<Option<live_view::Started>>,
    /// A live source's reflectors, once started.
    live: std::sync::OnceLock<crate::live::Live>,
    /// Objects of the live cluster left out of the current view.
    live_skipped: Mutex<Vec<String>>,
    /// When the live view stopped following the cluster, if it has.
    stale_since: Mutex<Option<Instant>>,
    /// How long a live view may lag the cluster and still decide.
    max_staleness: Duration,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Views {
    /// The first view; a failure here stops the gateway before it listens.
    pub fn load(source: Source, plugin: &Plugin, max_staleness: Duration) -> Result<Self> {
        // A live view starts empty and not synced; a kubeconfig that cannot be used,
        // or `--policy` files that do not load, stop the start here.
        let (cluster, live_start) = match &source.live {
            Some(connection) => (
                Cluster::default(),
                Some(live_view::connect(connection, &source.policies, plugin)?),
            ),
            None => (source.load(plugin)?, None),
        };
        Ok(Views {
            current: RwLock::new(Arc::new(View {
                cluster,
                generation: if live_start.is_some() { 0 } else { 1 },
                loaded_at: now(),
                synced: live_start.is_none(),
            })),
            source,
            last_error: Mutex::new(None),
            live_start: Mutex::new(live_start),
            live: std::sync::OnceLock::new(),
            live_skipped: Mutex::new(Vec::new()),
            stale_since: Mutex::new(None),
            max_staleness,
        })
    }

    /// How far the current view may be trusted.
    pub fn freshness(&self, view: &View) -> Freshness {
        if !view.synced {
            return Freshness::NotSynced;
        }
        let since = self.stale_since.lock().map_or(None, |s| *s);
        match since.map(|t| t.elapsed()) {
            Some(age) if age > self.max_staleness => Freshness::Stale(age.as_secs_f64()),
            Some(age) => Freshness::Current(age.as_secs_f64()),
            None => Freshness::Current(0.0),
        }
    }

    pub fn max_staleness(&self) -> Duration {
        self.max_staleness
    }

    /// When the live view stopped following the cluster (`None`: it follows it).
    pub fn set_stale_since(&self, since: Option<Instant>, metrics: &Metrics) {
        let changed = match self.stale_since.lock() {
            Ok(mut s) => {
                let changed = s.is_some() != since.is_some();
                *s = since;
                changed
            }
            Err(_) => false,
        };
        let age = since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        metrics.view_age(age);
        if changed {
            match since {
                Some(_) => tracing::warn!(source = %self.source.describe(),
                    max_staleness_s = self.max_staleness.as_secs(),
                    "the cluster view stopped following the API server: answering from the last view \
                     until the watches are listed again, or by the failure policy past the staleness bound"),
                None => {
                    tracing::info!(source = %self.source.describe(), "the cluster view follows the API server again")
                }
            }
        }
    }

    fn put(&self, view: View) {
        let view = Arc::new(view);
        match self.current.write() {
            Ok(mut current) => *current = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }

    fn set_error(&self, error: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error.map(|error| ReloadError { at: now(), error });
        }
    }

    /// A live view built from the stores: swapped in whole.
    pub fn swap_live(&self, cluster: Cluster, skipped: Vec<String>, metrics: &Metrics) {
        let current = self.current();
        let generation = current.generation + 1;
        let objects = cluster.namespaces.len() + cluster.secrets.len() + cluster.projects.len();
        // Bad objects are loud in the log (the admin's place), named nowhere a tenant
        // can read: `/readyz` shows them only to a client with a certificate.
        if cluster.quarantine != current.cluster.quarantine {
            for line in cluster.quarantine.details() {
                tracing::error!(blocked = %line, "quarantined: these workloads are rejected until the object is fixed");
            }
        }
        let (everywhere, namespaces) = cluster.quarantine.counts();
        metrics.view_contents(skipped.len(), everywhere, namespaces);
        self.put(View {
            cluster,
            generation,
            loaded_at: now(),
            synced: true,
        });
        if let Ok(mut last) = self.live_skipped.lock() {
            *last = skipped;
        }
        self.set_error(None);
        metrics.reloaded("cluster", true);
        metrics.view_loaded(generation);
        tracing::info!(source = %self.source.describe(), generation, objects, "cluster view built");
    }

    /// The live cluster's objects do not make a view (the `--policy` files changed
    /// into ones that do not load): the last view stays, the error is logged and shown
    /// on `/readyz` to a client with a certificate.
    pub fn live_rejected(&self, error: String, metrics: &Metrics) {
        tracing::error!(source = %self.source.describe(), error = %error,
            "the cluster view is not rebuilt: keeping the last one");
        metrics.reloaded("cluster", false);
        self.set_error(Some(error));
    }

    pub fn set_live(&self, live: crate::live::Live) {
        let _ = self.live.set(live);
    }

    /// The live stores' state in detail (counts and names of left-out and quarantined
    /// objects), for `/readyz?verbose` to a client with a certificate.
    pub fn live_status(&self) -> Option<serde_json::Value> {
        self.source.live.as_ref()?;
        let skipped = self.live_skipped.lock().map_or(Vec::new(), |s| s.clone());
        let quarantine = self.current().cluster.quarantine.details();
        Some(match self.live.get() {
            Some(live) => serde_json::json!({
                "status": live.status(),
                "leftOut": skipped,
                "quarantined": quarantine,
            }),
            None => serde_json::json!({ "status": "starting" }),
        })
    }

    pub fn current(&self) -> Arc<View> {
        match self.current.read() {
            Ok(view) => view.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn last_error(&self) -> Option<ReloadError> {
        self.last_error.lock().map_or(None, |e| e.clone())
    }

    /// Loads the view again; on failure the current one stays.
    pub fn reload(&self, plugin: &Plugin, metrics: &Metrics) {
        match self.source.load(plugin) {
            Ok(cluster) => {
                let generation = self.current().generation + 1;
                let view = Arc::new(View {
                    cluster,
                    generation,
                    loaded_at: now(),
                    synced: true,
                });
                match self.current.write() {
                    Ok(mut current) => *current = view,
                    Err(poisoned) => *poisoned.into_inner() = view,
                }
                if let Ok(mut last) = self.last_error.lock() {
                    *last = None;
                }
                metrics.reloaded("cluster", true);
                metrics.view_loaded(generation);
                tracing::info!(source = %self.source.describe(), generation, "cluster view reloaded");
            }
            Err(e) => {
                let error = format!("{e:#}");
                metrics.reloaded("cluster", false);
                tracing::error!(source = %self.source.describe(), error = %error,
                    "cluster view not reloaded: keeping the last good view");
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(ReloadError { at: now(), error });
                }
            }
        }
    }

    /// Reloads whenever the source's files change.
    pub fn watch(self: &Arc<Self>, plugin: Arc<Plugin>, metrics: Arc<Metrics>) {
        let started = self.live_start.lock().ok().and_then(|mut s| s.take());
        if let Some(started) = started {
            live_view::spawn(started, self.clone(), plugin, metrics);
            return;
        }
        let views = self.clone();
        reload::watch("cluster", self.source.files(), move || {
            views.reload(&plugin, &metrics);
        });
    }
}

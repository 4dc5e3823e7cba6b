//! The gateway's view of the cluster: loaded from `--state DIR`, `--cluster FILE`
//! (plus `--policy` files) or the built-in demo, and reloaded when those files
//! change. A new view is swapped in whole: a request takes the current view once,
//! so requests in flight finish on the old one and none waits for a reload. A change
//! that does not load (unreadable, invalid manifests, policies the plugin refuses)
//! keeps the last good view; the failure is logged, counted and shown on `/readyz`.
//! From a live cluster (`--kubeconfig`, `--in-cluster`), `live_view` swaps views in
//! the same way, and marks the view not synced while the API server's watches are
//! being re-listed: a view that is not synced decides nothing.

use super::live_view;
use super::metrics::Metrics;
use super::reload;
use crate::cluster::Cluster;
use crate::plugin::Plugin;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// False while a live view is not synced with the API server: nothing is decided
    /// on it (always true for files).
    pub synced: bool,
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
    live: std::sync::OnceLock<(crate::live::Live, Vec<String>)>,
    /// Objects of the live cluster left out of the current view.
    live_skipped: Mutex<Vec<String>>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Views {
    /// The first view; a failure here stops the gateway before it listens.
    pub fn load(source: Source, plugin: &Plugin) -> Result<Self> {
        // A live view starts empty and not synced; a kubeconfig that cannot be used
        // stops the start here.
        let (cluster, live_start) = match &source.live {
            Some(connection) => (Cluster::default(), Some(live_view::connect(connection)?)),
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
        })
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

    /// A live view built from synced stores: swapped in whole.
    pub fn swap_live(&self, cluster: Cluster, skipped: Vec<String>, metrics: &Metrics) {
        let generation = self.current().generation + 1;
        let objects = cluster.namespaces.len() + cluster.secrets.len() + cluster.projects.len();
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
        tracing::info!(source = %self.source.describe(), generation, objects, "cluster view synced");
    }

    /// A store is being listed again: the view decides nothing until it is in.
    pub fn not_synced(&self, metrics: &Metrics) {
        let current = self.current();
        if !current.synced {
            return;
        }
        metrics.reloaded("cluster", false);
        tracing::warn!(source = %self.source.describe(),
            "cluster view not synced: answering by the failure policy until the watches are listed again");
        self.put(View {
            cluster: Cluster::default(),
            generation: current.generation,
            loaded_at: now(),
            synced: false,
        });
    }

    /// The live cluster's objects do not make a view (tenancy, policies the plugin
    /// refuses): not synced, with the error on `/readyz`, until the cluster changes.
    pub fn live_rejected(&self, error: String, metrics: &Metrics) {
        tracing::error!(source = %self.source.describe(), error = %error,
            "the live cluster does not make a valid cluster view: answering by the failure policy");
        self.not_synced(metrics);
        self.set_error(Some(error));
    }

    /// Discovery failed (the API server is unreachable or refuses): shown on `/readyz`.
    pub fn live_failed(&self, error: String) {
        self.set_error(Some(error));
    }

    pub fn set_live(&self, live: crate::live::Live, absent: Vec<String>) {
        let _ = self.live.set((live, absent));
    }

    /// The live stores' state, for `/readyz`.
    pub fn live_status(&self) -> Option<serde_json::Value> {
        self.source.live.as_ref()?;
        let skipped = self.live_skipped.lock().map_or(Vec::new(), |s| s.clone());
        Some(match self.live.get() {
            Some((live, absent)) => serde_json::json!({
                "status": live.status(),
                "notServed": absent,
                "leftOut": crate::text::some(&skipped),
            }),
            None => serde_json::json!({ "status": "discovering the cluster's resources" }),
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
            let policies = self.source.policies.clone();
            live_view::spawn(started, self.clone(), policies, plugin, metrics);
            return;
        }
        let views = self.clone();
        reload::watch("cluster", self.source.files(), move || {
            views.reload(&plugin, &metrics);
        });
    }
}

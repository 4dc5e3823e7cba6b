//! The gateway's view of the cluster: loaded from `--state DIR`, `--cluster FILE`
//! (plus `--policy` files) or the built-in demo, and reloaded when those files
//! change. A new view is swapped in whole: a request takes the current view once,
//! so requests in flight finish on the old one and none waits for a reload. A change
//! that does not load (unreadable, invalid manifests, policies the plugin refuses)
//! keeps the last good view; the failure is logged, counted and shown on `/readyz`.

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
}

impl Source {
    /// The files whose change means a reload.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match (&self.state, &self.cluster) {
            (Some(dir), _) => vec![crate::state::StateDir::new(dir).path()],
            (None, Some(file)) => vec![file.clone()],
            (None, None) => Vec::new(),
        };
        files.extend(self.policies.iter().cloned());
        files
    }

    pub fn describe(&self) -> String {
        match (&self.state, &self.cluster) {
            (Some(dir), _) => format!("state {}", dir.display()),
            (None, Some(file)) => format!("cluster file {}", file.display()),
            (None, None) => format!("built-in demo ({})", crate::demo::CLUSTER_FILE),
        }
    }

    fn load(&self, plugin: &Plugin) -> Result<Cluster> {
        let cluster = crate::cli::load_cluster_from(
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
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Views {
    /// The first view; a failure here stops the gateway before it listens.
    pub fn load(source: Source, plugin: &Plugin) -> Result<Self> {
        let cluster = source.load(plugin)?;
        Ok(Views {
            source,
            current: RwLock::new(Arc::new(View {
                cluster,
                generation: 1,
                loaded_at: now(),
            })),
            last_error: Mutex::new(None),
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
        let views = self.clone();
        reload::watch("cluster", self.source.files(), move || {
            views.reload(&plugin, &metrics);
        });
    }
}

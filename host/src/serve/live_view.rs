//! The gateway's cluster view from a live cluster (`--kubeconfig`, `--in-cluster`):
//! on a thread of its own with its own small async runtime, the reflectors of
//! `crate::live` keep their stores current; after each change (gathered for
//! `SETTLE`) the view is rebuilt, its policies checked by the plugin, and swapped in
//! whole as a file reload would be. While a store is not synced (before the first
//! list, or between a broken watch and the list that follows) the view is marked not
//! synced: `/readyz` answers 503 and every evaluation is answered by the failure
//! policy (`cluster-view-not-synced`), never from a stale view.

use super::metrics::Metrics;
use super::view::Views;
use crate::live::{self, Connection, Live};
use crate::manifest::Document;
use crate::plugin::Plugin;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Changes that come within this time of each other make one rebuild.
const SETTLE: Duration = Duration::from_millis(200);
/// How often the `--policy` files are looked at for changes.
const POLICY_POLL: Duration = Duration::from_secs(1);
/// Retries of a failed discovery, at most this far apart.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// A connection made before the gateway listens: a kubeconfig that cannot be used
/// stops the start, as a bad `--cluster` file does.
pub struct Started {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
}

pub fn connect(connection: &Connection) -> Result<Started> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the live view's runtime")?;
    let client = runtime.block_on(connection.client())?;
    Ok(Started { runtime, client })
}

/// Runs the live view on a thread of its own.
pub fn spawn(
    started: Started,
    views: Arc<Views>,
    policies: Vec<PathBuf>,
    plugin: Arc<Plugin>,
    metrics: Arc<Metrics>,
) {
    let spawned = std::thread::Builder::new()
        .name("live-view".to_string())
        .spawn(move || {
            let Started { runtime, client } = started;
            runtime.block_on(run(client, views, policies, plugin, metrics));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the live view: the gateway stays not ready");
    }
}

async fn run(
    client: kube::Client,
    views: Arc<Views>,
    policies: Vec<PathBuf>,
    plugin: Arc<Plugin>,
    metrics: Arc<Metrics>,
) {
    let mut retry = Duration::from_millis(500);
    let resources = loop {
        match live::resources(&client).await {
            Ok(r) => break r,
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(error = %error, retry_s = retry.as_secs_f64(),
                    "cannot discover the cluster's resources: the gateway stays not ready");
                views.live_failed(error);
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    };
    for kind in &resources.absent {
        tracing::warn!(kind = %kind,
            "not served by the API server (CRD not installed): the view has none of them");
    }
    let live = Live::start(client, resources.watched);
    views.set_live(live.clone(), resources.absent);
    let mut files = super::reload::fingerprint(&policies);
    let mut built_from = None;
    loop {
        tokio::select! {
            () = live.changed() => tokio::time::sleep(SETTLE).await,
            () = tokio::time::sleep(POLICY_POLL) => {
                let now = super::reload::fingerprint(&policies);
                if now == files && built_from.is_some() {
                    continue;
                }
                files = now;
                built_from = None;
            }
        }
        let status = live.status();
        if !status.synced {
            views.not_synced(&metrics);
            built_from = None;
            continue;
        }
        if built_from == Some(status.generation) {
            continue;
        }
        let docs = match read_policies(&policies) {
            Ok(docs) => docs,
            Err(e) => {
                views.live_rejected(format!("{e:#}"), &metrics);
                built_from = Some(status.generation);
                continue;
            }
        };
        match live.build(&docs) {
            None => views.not_synced(&metrics),
            Some((generation, result)) => {
                built_from = Some(generation);
                let checked = result.and_then(|built| {
                    crate::simulate::check_policies(&plugin, &built.cluster)?;
                    Ok(built)
                });
                match checked {
                    Ok(built) => {
                        for skipped in &built.skipped {
                            tracing::warn!(object = %skipped, "left out of the cluster view");
                        }
                        views.swap_live(built.cluster, built.skipped, &metrics);
                    }
                    Err(e) => views.live_rejected(format!("{e:#}"), &metrics),
                }
            }
        }
    }
}

fn read_policies(paths: &[PathBuf]) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for path in paths {
        // Re-read when they change: as the file views are (`view::Source::load`).
        crate::input::require_regular_file(path, "policy")?;
        docs.extend(crate::cluster::files::documents(path)?);
    }
    Ok(docs)
}

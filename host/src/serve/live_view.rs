//! The gateway's cluster view from a live cluster (`--kubeconfig`, `--in-cluster`):
//! on a thread of its own with its own small async runtime, the reflectors of
//! `crate::live` keep their stores current; after each change (gathered for
//! `SETTLE`) the view is rebuilt, each namespace's policies checked by the plugin
//! (`isolation`), and the view swapped in whole as a file reload would be. Until the
//! first sync nothing is decided (`cluster-view-not-synced`); after it a broken watch
//! only makes the view stale: answers come from the last view, and the failure
//! policy answers once it is older than the staleness bound.

use super::metrics::Metrics;
use super::view::Views;
use crate::cluster::Cluster;
use crate::isolation::PolicyChecks;
use crate::live::{self, Connection, Live};
use crate::manifest::Document;
use crate::plugin::Plugin;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Changes that come within this time of each other make one rebuild.
const SETTLE: Duration = Duration::from_millis(200);
/// How often the `--policy` files are looked at for changes, and the view's age is
/// published.
const TICK: Duration = Duration::from_secs(1);

/// A connection made before the gateway listens: a kubeconfig that cannot be used,
/// or `--policy` files that do not load, stop the start, as a bad `--cluster` file
/// does.
pub struct Started {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    policies: Vec<PathBuf>,
    docs: Vec<Document>,
}

pub fn connect(connection: &Connection, policies: &[PathBuf], plugin: &Plugin) -> Result<Started> {
    let docs = read_policies(policies, plugin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the live view's runtime")?;
    let client = runtime.block_on(connection.client())?;
    Ok(Started {
        runtime,
        client,
        policies: policies.to_vec(),
        docs,
    })
}

/// Runs the live view on a thread of its own.
pub fn spawn(started: Started, views: Arc<Views>, plugin: Arc<Plugin>, metrics: Arc<Metrics>) {
    let spawned = std::thread::Builder::new()
        .name("live-view".to_string())
        .spawn(move || {
            let Started {
                runtime,
                client,
                policies,
                docs,
            } = started;
            runtime.block_on(run(client, views, policies, docs, plugin, metrics));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the live view: the gateway stays not ready");
    }
}

async fn run(
    client: kube::Client,
    views: Arc<Views>,
    policies: Vec<PathBuf>,
    mut docs: Vec<Document>,
    plugin: Arc<Plugin>,
    metrics: Arc<Metrics>,
) {
    let live = Live::start(client, live::targets());
    views.set_live(live.clone());
    let mut files = super::reload::fingerprint(&policies);
    let mut checks = PolicyChecks::default();
    let mut built_from = None;
    loop {
        tokio::select! {
            () = live.changed() => tokio::time::sleep(SETTLE).await,
            () = tokio::time::sleep(TICK) => {}
        }
        views.set_stale_since(live.stale_since(), &metrics);
        let now = super::reload::fingerprint(&policies);
        if now != files {
            files = now;
            match read_policies(&policies, &plugin) {
                Ok(read) => {
                    docs = read;
                    built_from = None;
                }
                // The admin's file: the last good one stays, loudly.
                Err(e) => views.live_rejected(format!("{e:#}"), &metrics),
            }
        }
        let generation = live.status().generation;
        if built_from == Some(generation) {
            continue;
        }
        let Some((generation, result)) = live.build(&docs) else {
            continue;
        };
        built_from = Some(generation);
        match result {
            Ok(mut built) => {
                checks.apply(&plugin, &mut built.cluster);
                for skipped in &built.skipped {
                    tracing::warn!(object = %skipped, "left out of the cluster view");
                }
                views.swap_live(built.cluster, built.skipped, &metrics);
            }
            Err(e) => views.live_rejected(format!("{e:#}"), &metrics),
        }
    }
}

/// The `--policy` files (V2 policies live in Run:ai's control plane, not in
/// Kubernetes): re-read when they change, as the file views are; they must load and
/// pass the plugin's checks on their own, else the last good ones stay.
fn read_policies(paths: &[PathBuf], plugin: &Plugin) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for path in paths {
        crate::input::require_regular_file(path, "policy")?;
        docs.extend(crate::cluster::files::documents(path)?);
    }
    let mut alone = Cluster::default();
    crate::cluster::load_documents(&mut alone, &docs)?;
    crate::simulate::check_policies(plugin, &alone)?;
    Ok(docs)
}

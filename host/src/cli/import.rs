//! `host import`: a read-only snapshot of a live cluster into the state directory,
//! and the same snapshot for `simulate`, `submit` and `bench --kubeconfig`.

use crate::live::{self, Built, Connection, Resources};
use crate::manifest;
use crate::state::StateDir;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Lists every watched resource once and builds the cluster view; objects left out
/// and kinds the API server does not serve are said on stderr.
pub fn snapshot(connection: &Connection, policies: &[PathBuf]) -> Result<(Built, Resources)> {
    let mut docs = Vec::new();
    for path in policies {
        docs.extend(manifest::read_file(path)?);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (built, resources) = runtime.block_on(async {
        let client = connection.client().await?;
        let resources = live::resources(&client).await?;
        let stores = live::snapshot(&client, &resources).await?;
        let listings: Vec<_> = stores.iter().map(live::Snapshot::listing).collect();
        let built = live::build(&listings, &docs)
            .with_context(|| format!("{}: not a valid cluster view", connection.describe()))?;
        anyhow::Ok((built, resources))
    })?;
    for kind in &resources.absent {
        eprintln!(
            "note: {kind} is not served by the API server (its CRD is not installed): none imported"
        );
    }
    for skipped in &built.skipped {
        eprintln!(
            "warning: left out: {}",
            crate::text::escape_controls(skipped, false)
        );
    }
    for blocked in built.cluster.quarantine.details() {
        eprintln!("warning: cannot be read: {blocked}");
    }
    Ok((built, resources))
}

/// Every workload of the live cluster, listed once (`live::workload::snapshot`), each
/// handed to `each` with its kind; the kinds the API server does not serve are in the
/// answer.
pub fn workloads(
    connection: &Connection,
    each: impl FnMut(&str, crate::live::workload::RawWorkload),
) -> Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = connection.client().await?;
        live::workload::snapshot(&client, each).await
    })
}

pub fn import(state: &Path, connection: Option<Connection>, policies: &[PathBuf]) -> Result<u8> {
    let Some(connection) = connection else {
        bail!("host import needs --kubeconfig FILE or --in-cluster: the cluster to read");
    };
    let (built, _) = snapshot(&connection, policies)?;
    let cluster = built.cluster;
    let summary = format!(
        "imported from {}: {} namespaces, {} projects, {} departments, {} secrets (names and key names only), \
         {} policies into {}",
        connection.describe(),
        cluster.namespaces.len(),
        cluster.projects.len(),
        cluster.departments.len(),
        cluster.secrets.len(),
        cluster.policies.len(),
        crate::input::display(state),
    );
    // The snapshot replaces the state whole: it is the cluster as it is now.
    StateDir::new(state).replace(&cluster)?;
    println!("{summary}");
    Ok(0)
}

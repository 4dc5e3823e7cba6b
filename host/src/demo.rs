//! The built-in demo cluster, so `host simulate` runs with no set-up (SPEC §7).

use crate::cluster::{Cluster, load_documents};
use crate::manifest;
use anyhow::Result;

/// Where the demo's manifests live in the repository, for users to copy.
pub const CLUSTER_FILE: &str = "policies/demo/cluster.yaml";
pub const CLUSTER_YAML: &str = include_str!("../../policies/demo/cluster.yaml");

pub fn cluster() -> Result<Cluster> {
    let mut cluster = Cluster::default();
    load_documents(
        &mut cluster,
        &manifest::parse(CLUSTER_YAML, &format!("(built-in demo) {CLUSTER_FILE}"))?,
    )?;
    Ok(cluster)
}

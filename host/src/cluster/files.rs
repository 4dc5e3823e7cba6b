//! Where a cluster view comes from on disk: the state directory, a cluster file, or
//! the built-in demo, plus `--policy` files. The commands and the gateway's file view
//! share these loaders.

use super::{Cluster, load_documents};
use crate::input;
use crate::manifest;
use crate::state::StateDir;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// The state when `state` is given, else `cluster_file`, else the built-in demo; plus
/// the `policies` files.
pub fn load(
    state: Option<&PathBuf>,
    cluster_file: Option<&PathBuf>,
    policies: &[PathBuf],
) -> Result<Cluster> {
    let mut cluster = match (state, cluster_file) {
        (Some(dir), _) => StateDir::new(dir).read()?,
        (None, Some(path)) => {
            let mut c = Cluster::default();
            load_documents(&mut c, &documents(path)?)?;
            c
        }
        (None, None) => crate::demo::cluster()?,
    };
    for path in policies {
        load_documents(&mut cluster, &documents(path)?)?;
    }
    Ok(cluster)
}

/// The documents of a cluster or policy file, at least one: an empty file is a mistake
/// (a pipeline that produced nothing), and for the gateway one caught between an
/// in-place truncation and its write, which would take every policy away.
pub fn documents(path: &Path) -> Result<Vec<manifest::Document>> {
    let documents = manifest::read_file(path)?;
    if documents.is_empty() {
        bail!(
            "{}: no documents: expected Projects, Namespaces, Secrets or policies \
             (an empty file, or one caught while it was being written: write it whole \
             and rename it into place)",
            input::display(path)
        );
    }
    Ok(documents)
}

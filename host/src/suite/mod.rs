//! `host test`: declarative policy test suites (SPEC §8). A suite sets up a cluster,
//! then runs ordered steps (apply, project, adm, submit, simulate) with expectations.

pub mod check;
pub mod model;
pub mod output;
pub mod run;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The suite files under `paths`: files as given, directories searched for
/// `*.suite.yaml` (skipping hidden directories and `target`).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut found)?;
        } else if path.exists() {
            found.push(path.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", path.display());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else if name.ends_with(".suite.yaml") || name.ends_with(".suite.yml") {
            found.push(path);
        }
    }
    Ok(())
}

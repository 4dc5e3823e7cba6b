//! `host test`: declarative policy test suites (SPEC §8). A suite sets up a cluster,
//! then runs ordered steps (apply, project, adm, submit, simulate) with expectations.

pub mod check;
pub mod model;
pub mod output;
pub mod run;

use crate::input;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The suite files under `paths`: files as given, directories searched for
/// `*.suite.yaml` (skipping hidden directories and `target`). Symbolic links are
/// followed, but each directory is entered once (a link back up the tree is a loop,
/// not an endless walk) and each suite is run once however many ways lead to it.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut entered = HashSet::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut found, &mut entered)?;
        } else if path.exists() {
            found.push(path.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", input::display(path));
        }
    }
    found.sort();
    let mut seen = HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>, entered: &mut HashSet<PathBuf>) -> Result<()> {
    let canonical = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot resolve", input::display(dir)))?;
    if !entered.insert(canonical) {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", input::display(dir)))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found, entered)?;
            }
        } else if name.ends_with(".suite.yaml") || name.ends_with(".suite.yml") {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_loops_end_and_each_suite_runs_once() {
        let root = std::env::temp_dir().join(format!("host-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/x.suite.yaml"), "steps: []\n").unwrap();
        #[cfg(unix)]
        {
            // A link back up the tree, and a second way to the same directory.
            std::os::unix::fs::symlink("..", root.join("a/b/up")).unwrap();
            std::os::unix::fs::symlink("a/b", root.join("alias")).unwrap();
        }
        let found = discover(&[root.clone(), root.join("a/b/x.suite.yaml")]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let _ = std::fs::remove_dir_all(&root);
    }
}

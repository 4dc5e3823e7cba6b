//! `host test`: declarative policy test suites (SPEC §8). A suite sets up a cluster,
//! then runs ordered steps (apply, project, adm, submit, simulate) with expectations.

pub mod check;
pub mod model;
pub mod output;
pub mod run;

use crate::{input, walk};
use anyhow::Result;
use std::path::PathBuf;

/// The suite files under `paths`: files as given, directories searched for
/// `*.suite.yaml` (skipping hidden directories and `target`), each suite once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            found.extend(walk::files(path, true, &is_suite)?);
        } else if path.exists() {
            found.push(path.clone());
        } else {
            anyhow::bail!("{}: no such file or directory", input::display(path));
        }
    }
    Ok(walk::once_each(found))
}

fn is_suite(name: &str) -> bool {
    name.ends_with(".suite.yaml") || name.ends_with(".suite.yml")
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

//! Directories as inputs: `simulate DIR [-R]` as `kubectl apply -f DIR [-R]` reads
//! them, and `host test` looking for suites. Symbolic links are followed, but each
//! directory is entered once (a link back up the tree is a loop, not an endless walk)
//! and each file listed once however many paths lead to it.

use crate::input;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The files under `dir` whose names `wanted` accepts, sorted; subdirectories too
/// when `recursive` (hidden ones and `target` are skipped).
pub fn files(dir: &Path, recursive: bool, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    walk(dir, recursive, wanted, &mut found, &mut HashSet::new())?;
    Ok(once_each(found))
}

/// `paths` sorted, each file once (by its device and inode: a canonical path costs a
/// `readlink` per component, which made deep trees cubic in their depth).
pub fn once_each(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    let mut seen = HashSet::new();
    paths.retain(|p| match identity(p) {
        Some(id) => seen.insert(id),
        None => true,
    });
    paths
}

/// Device and inode of what `path` names (links followed).
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn walk(
    dir: &Path,
    recursive: bool,
    wanted: &dyn Fn(&str) -> bool,
    found: &mut Vec<PathBuf>,
    entered: &mut HashSet<(u64, u64)>,
) -> Result<()> {
    let id = identity(dir).with_context(|| format!("{}: cannot resolve", input::display(dir)))?;
    if !entered.insert(id) {
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
            if recursive && !name.starts_with('.') && name != "target" {
                walk(&path, recursive, wanted, found, entered)?;
            }
        } else if wanted(&name) {
            found.push(path);
        }
    }
    Ok(())
}

/// What `kubectl apply -f DIR` reads from a directory.
pub fn is_manifest(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

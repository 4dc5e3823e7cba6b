//! Precompiled plugin artifacts, so start-up does not recompile an unchanged plugin.
//! An entry is named by the plugin's SHA-256 and the engine's compatibility hash (the
//! wasmtime version and codegen settings, fuel and epochs included), so an entry
//! from another build or configuration is never even opened. Loading native code is
//! only as safe as the cache directory: entries are written atomically into a
//! directory only the user can write, and an entry that is writable by others, or
//! that wasmtime refuses, is ignored and replaced.

use anyhow::Result;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// `$RUNAI_SIM_CACHE`, else `$XDG_CACHE_HOME/runai-secrets-host`, else
/// `~/.cache/runai-secrets-host`; none when `RUNAI_SIM_NO_CACHE` is set.
pub fn default_dir() -> Option<PathBuf> {
    if std::env::var_os("RUNAI_SIM_NO_CACHE").is_some() {
        return None;
    }
    if let Some(dir) = std::env::var_os("RUNAI_SIM_CACHE") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("runai-secrets-host"))
}

pub fn entry_path(engine: &Engine, sha256: &str, dir: &Path) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
}

#[cfg(unix)]
fn private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o022 == 0)
}

#[cfg(not(unix))]
fn private(_path: &Path) -> bool {
    true
}

/// Compiled artifacts are larger than their component; anything this big is not ours.
const ARTIFACT_CAP: u64 = 1 << 30;

/// The component from the cache when a valid entry exists, else compiled (and the
/// entry written). The flag says whether it came from the cache.
pub fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    sha256: &str,
    dir: &Path,
) -> Result<(Component, bool)> {
    let path = entry_path(engine, sha256, dir);
    if path.is_file() && private(&path) && private(dir) {
        // Read into memory rather than mapped: a file changed under a mapping would
        // bring the process down (SIGBUS).
        let limit = crate::input::Limit::new("compiled plugin", ARTIFACT_CAP);
        if let Ok(artifact) = crate::input::read_bytes(&path, limit) {
            // SAFETY: the entry is keyed by the plugin's hash and this engine's
            // compatibility hash, lives in a directory only this user can write, and
            // wasmtime checks its header against the engine before using it.
            if let Ok(component) = unsafe { Component::deserialize(engine, &artifact) } {
                return Ok((component, true));
            }
        }
    }
    // Compile once: the artifact both serves this process and becomes the entry.
    let artifact = engine
        .precompile_component(bytes)
        .map_err(anyhow::Error::from)?;
    // SAFETY: the artifact was produced by this engine a moment ago.
    let component =
        unsafe { Component::deserialize(engine, &artifact) }.map_err(anyhow::Error::from)?;
    // The cache is an optimisation: failing to write it is not an error.
    let _ = store(&artifact, dir, &path);
    Ok((component, false))
}

fn store(artifact: &[u8], dir: &Path, path: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    // Unique per process and per call: threads of one process may store at once.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, artifact)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

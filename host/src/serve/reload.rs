//! Noticing that files changed: a thread polls their metadata once a second. A
//! rename over a file (the state's atomic write, a Kubernetes volume's symlink swap)
//! changes its inode, an edit its modification time or length. Polling needs no
//! crate and no inotify limits, and a second is quick enough for a rotation or a
//! cluster change.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

pub const POLL: Duration = Duration::from_secs(1);
/// A change is acted on once the files have held still this long (at most 20 times
/// over): a writer that rewrites a file in place is usually done by then. Only a rename
/// into place is safe from being read half-written, which the README asks for.
pub const SETTLE: Duration = Duration::from_millis(200);

/// What the metadata of each file says; `None` for a file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<Option<Stamp>>);

/// Modification time (seconds, nanoseconds), length, inode and device.
type Stamp = (i64, i64, u64, u64, u64);

pub fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    Fingerprint(
        paths
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| (m.mtime(), m.mtime_nsec(), m.len(), m.ino(), m.dev()))
            })
            .collect(),
    )
}

/// Calls `changed` (on a thread of its own) whenever the files' fingerprint differs
/// from the last one seen, starting from the fingerprint they have now.
pub fn watch(name: &str, paths: Vec<PathBuf>, mut changed: impl FnMut() + Send + 'static) {
    if paths.is_empty() {
        return;
    }
    let mut last = fingerprint(&paths);
    let spawned = std::thread::Builder::new()
        .name(format!("watch-{name}"))
        .spawn(move || {
            loop {
                std::thread::sleep(POLL);
                let mut now = fingerprint(&paths);
                if now != last {
                    for _ in 0..20 {
                        std::thread::sleep(SETTLE);
                        let again = fingerprint(&paths);
                        if again == now {
                            break;
                        }
                        now = again;
                    }
                    last = now;
                    changed();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(watch = name, error = %e, "cannot start the file watcher: changes will not be reloaded");
    }
}

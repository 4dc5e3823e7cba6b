//! Every read of a file or of standard input goes through here, bounded in size and,
//! for what is not a regular file, in time: `/dev/zero` is refused past the cap
//! instead of growing without end, and a FIFO with no writer is given up on instead
//! of blocking forever. Errors name the file and what was expected.

use anyhow::{Result, anyhow, bail};
use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// Manifests: workloads, cluster files, policies, Secrets, suites (a file may hold
/// many documents; each workload document must also fit the plugin's 4 MiB).
pub const MANIFEST_CAP: u64 = 16 * MIB;
/// Plugin components (the built-in one is under 1 MiB).
pub const PLUGIN_CAP: u64 = 64 * MIB;
/// The simulator's state file (10,000 projects with their secrets take ~10 MiB).
pub const STATE_CAP: u64 = 64 * MIB;
/// How long a pipe, FIFO or device may stay silent before it is given up on.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// What is being read, for messages: "workload", "plugin", ...
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub what: &'static str,
    pub cap: u64,
    pub idle: Duration,
}

impl Limit {
    pub const fn new(what: &'static str, cap: u64) -> Self {
        Limit {
            what,
            cap,
            idle: IDLE_TIMEOUT,
        }
    }
}

/// `path` as a message names it (`-` is standard input).
pub fn display(path: &Path) -> String {
    let name = path.display().to_string();
    guest::shown::shown_max(&name, 300).into_owned()
}

/// For files a long-running process reads again whenever they change (the gateway's
/// view and certificates): a FIFO would block its watcher for good and a device feed
/// it without end, so only a regular file is taken, checked before it is opened.
pub fn require_regular_file(path: &Path, what: &str) -> Result<()> {
    let name = display(path);
    let meta =
        std::fs::metadata(path).map_err(|e| anyhow!("{name}: cannot read the {what}: {e}"))?;
    if !meta.is_file() {
        bail!("{name}: not a regular file: expected a {what} file");
    }
    Ok(())
}

/// The bytes of a file (`-`: standard input), at most `limit.cap`.
pub fn read_bytes(path: &Path, limit: Limit) -> Result<Vec<u8>> {
    let name = display(path);
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        // Someone typing is not a stalled writer: no idle timeout on a terminal.
        if stdin.is_terminal() {
            return read_capped(stdin.lock(), &name, limit);
        }
        return read_with_timeout(None, &name, limit);
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow!("{name}: cannot read the {}: {e}", limit.what))?;
    if meta.is_dir() {
        bail!("{name}: is a directory: expected a {} file", limit.what);
    }
    if meta.is_file() {
        if meta.len() > limit.cap {
            bail!(too_big(&name, limit, meta.len()));
        }
        let file =
            File::open(path).map_err(|e| anyhow!("{name}: cannot read the {}: {e}", limit.what))?;
        return read_capped(file, &name, limit);
    }
    // A FIFO, a device or a socket: opening a FIFO blocks until a writer comes, and
    // reading may never end, so both happen where a deadline can give up on them.
    read_with_timeout(Some(path), &name, limit)
}

/// `read_bytes` as UTF-8 text; a leading byte-order mark is dropped, as kubectl does.
pub fn read_text(path: &Path, limit: Limit) -> Result<String> {
    let bytes = read_bytes(path, limit)?;
    text(bytes, &display(path), limit.what)
}

/// UTF-8 text from bytes, naming where it stops being text.
pub fn text(bytes: Vec<u8>, name: &str, what: &str) -> Result<String> {
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..'\u{feff}'.len_utf8());
            }
            Ok(s)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count();
            bail!(
                "{name}: not UTF-8 text (invalid byte at offset {at}, line {line}): expected a {what} in YAML or JSON"
            )
        }
    }
}

/// A size as the messages state limits: MiB when whole, else bytes.
pub fn size_text(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_big(name: &str, limit: Limit, size: u64) -> String {
    format!(
        "{name}: the {} is over the {} limit ({}): split it into smaller files",
        limit.what,
        size_text(limit.cap),
        if size > limit.cap {
            format!("{size} bytes")
        } else {
            "more than that".to_string()
        }
    )
}

fn read_capped(reader: impl Read, name: &str, limit: Limit) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow!("{name}: cannot read the {}: {e}", limit.what))?;
    if bytes.len() as u64 > limit.cap {
        bail!(too_big(name, limit, 0));
    }
    Ok(bytes)
}

/// Reads on a helper thread and gives up when nothing arrives for `limit.idle`. A
/// thread left blocked in `open` or `read` ends with the process.
fn read_with_timeout(path: Option<&Path>, name: &str, limit: Limit) -> Result<Vec<u8>> {
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
    let path = path.map(Path::to_path_buf);
    std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let mut reader: Box<dyn Read> = match &path {
                Some(p) => match File::open(p) {
                    Ok(f) => Box::new(f),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                },
                None => Box::new(std::io::stdin()),
            };
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Ok(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .map_err(|e| anyhow!("{name}: cannot start reading: {e}"))?;
    let mut bytes = Vec::new();
    loop {
        match rx.recv_timeout(limit.idle) {
            Ok(Ok(chunk)) if chunk.is_empty() => return Ok(bytes),
            Ok(Ok(chunk)) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > limit.cap {
                    bail!(too_big(name, limit, 0));
                }
            }
            Ok(Err(e)) => bail!("{name}: cannot read the {}: {e}", limit.what),
            Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                "{name}: nothing to read for {} s (a pipe or FIFO with no writer?): expected a {}",
                limit.idle.as_secs(),
                limit.what
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(cap: u64) -> Limit {
        Limit {
            what: "workload",
            cap,
            idle: Duration::from_millis(300),
        }
    }

    #[test]
    fn devices_are_read_up_to_the_cap() {
        let err = read_bytes(Path::new("/dev/zero"), limit(1 << 20))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/dev/zero: the workload is over the 1 MiB limit"),
            "{err}"
        );
        assert!(
            read_bytes(Path::new("/dev/null"), limit(10))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_fifo_without_writer_is_given_up_on() {
        let dir = std::env::temp_dir().join(format!("host-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here: nothing to test
        }
        let err = read_bytes(&fifo, limit(10)).unwrap_err().to_string();
        assert!(err.contains("nothing to read for"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn regular_files_over_the_cap_are_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("host-input-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("big.yaml");
        std::fs::write(&file, vec![b'a'; 2048]).unwrap();
        let err = read_bytes(&file, limit(1024)).unwrap_err().to_string();
        assert!(
            err.contains("over the 1024 bytes limit (2048 bytes)"),
            "{err}"
        );
        assert!(
            read_bytes(&dir, limit(1024))
                .unwrap_err()
                .to_string()
                .contains("is a directory")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn text_drops_a_bom_and_names_the_bad_byte() {
        assert_eq!(
            text(b"\xef\xbb\xbfa: 1".to_vec(), "f", "workload").unwrap(),
            "a: 1"
        );
        let err = text(b"a: 1\nb: \xff".to_vec(), "f", "workload")
            .unwrap_err()
            .to_string();
        assert!(err.contains("offset 8, line 2"), "{err}");
    }
}

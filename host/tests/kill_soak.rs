//! Kill soak (run by `scripts/kill-soak.sh`; ignored by `cargo test`, it takes minutes):
//! several writers change one state directory at once (`project create`, `apply -f` of a
//! Secret, `adm set secret --cluster-wide`), and each kills its own `host` process with
//! SIGKILL at a random moment of about half its commands. After every kill the state
//! must load (`StateDir::read`, as every command does) and hold every change whose
//! command had exited 0 before the kill was checked; every 50 kills the `host` binary
//! itself must load it too.
//!
//! The kill moments are spread over a command's measured duration, half of them
//! uniformly and half in its last third, where the state is written, so they land
//! before the lock, during the plugin's load, while the state is written and after the
//! rename. Counted: kills whose change was found in the state anyway (killed
//! after the rename), temporary files left behind by a kill and, among them, torn ones
//! (killed while writing them): the evidence that kills hit the write itself.
//!
//! Settings: KILL_SOAK_KILLS (default 1000), KILL_SOAK_WRITERS (default 4).

use host::state::StateDir;
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A change a writer makes; acknowledged once its command exits 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Project(String),
    Secret(String),
    ClusterWide(String),
}

#[derive(Default)]
struct Tally {
    kills: AtomicUsize,
    acknowledged: AtomicUsize,
    refused: AtomicUsize,
    applied_anyway: AtomicUsize,
    checks: AtomicUsize,
    cli_checks: AtomicUsize,
    temp_left: AtomicUsize,
    temp_torn: AtomicUsize,
}

struct Soak {
    host: PathBuf,
    dir: PathBuf,
    work: PathBuf,
    kills_wanted: usize,
    acked: Mutex<BTreeSet<Change>>,
    /// Serialises the checks (not the writers).
    check_lock: Mutex<Option<(u64, SystemTime)>>,
    tally: Tally,
    failed: AtomicBool,
}

/// xorshift64: no dependency, a different sequence per writer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

impl Soak {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.host);
        cmd.arg("--state")
            .arg(&self.dir)
            .args(args)
            .env("RUNAI_SIM_CACHE", self.work.join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// The command and the change of writer `w`'s `i`th step.
    fn step(&self, w: usize, i: usize) -> (Vec<String>, Change) {
        let name = format!("w{w}-{i}");
        match i % 3 {
            0 => (
                vec!["project".into(), "create".into(), name.clone()],
                Change::Project(name),
            ),
            1 => {
                let file = self.work.join(format!("{name}.yaml"));
                std::fs::write(
                    &file,
                    format!(
                        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: runai}}\nstringData: {{k: soak-value}}\n"
                    ),
                )
                .expect("write the manifest");
                (
                    vec!["apply".into(), "-f".into(), file.display().to_string()],
                    Change::Secret(name),
                )
            }
            _ => {
                // The secret the previous step applied (refused if that was killed).
                let secret = format!("w{w}-{}", i - 1);
                (
                    vec![
                        "adm".into(),
                        "set".into(),
                        "secret".into(),
                        secret.clone(),
                        "--cluster-wide".into(),
                    ],
                    Change::ClusterWide(secret),
                )
            }
        }
    }

    fn holds(cluster: &host::cluster::Cluster, change: &Change) -> bool {
        let runai = |name: &str| {
            cluster
                .secrets
                .get(&("runai".to_string(), name.to_string()))
        };
        match change {
            Change::Project(p) => cluster.projects.contains_key(p),
            Change::Secret(s) => runai(s).is_some(),
            Change::ClusterWide(s) => runai(s).is_some_and(|s| s.is_cluster_wide()),
        }
    }

    /// After a kill: the state loads and holds every acknowledged change.
    fn check(&self, killed: &Change) {
        let mut last_temp = self.check_lock.lock().expect("check lock");
        let acked = self.acked.lock().expect("acks").clone();
        let cluster = match StateDir::new(&self.dir).read() {
            Ok(c) => c,
            Err(e) => {
                self.fail(format!("the state does not load after a kill: {e:#}"));
                return;
            }
        };
        let lost: Vec<&Change> = acked.iter().filter(|c| !Self::holds(&cluster, c)).collect();
        if !lost.is_empty() {
            self.fail(format!(
                "acknowledged changes lost: {lost:?} (after killing {killed:?})"
            ));
        }
        if Self::holds(&cluster, killed) {
            self.tally.applied_anyway.fetch_add(1, Ordering::Relaxed);
        }
        let n = self.tally.checks.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(50) {
            let out = self
                .command(&["project", "list"])
                .stdout(Stdio::piped())
                .output()
                .expect("host runs");
            let listed = String::from_utf8_lossy(&out.stdout);
            let missing = acked.iter().find(|c| match c {
                Change::Project(p) => !listed
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(p)),
                _ => false,
            });
            if !out.status.success() || missing.is_some() {
                self.fail(format!(
                    "`host project list` after a kill: {} (missing {missing:?})",
                    out.status
                ));
            }
            self.tally.cli_checks.fetch_add(1, Ordering::Relaxed);
        }
        // A temporary file no writer is busy with was left by a kill; a torn one
        // (not whole JSON) by a kill in the middle of writing it.
        let lock = std::fs::File::open(self.dir.join(".lock")).expect("lock file");
        if lock.try_lock().is_ok() {
            let temp = self.dir.join("state.json.tmp");
            if let Ok(meta) = std::fs::metadata(&temp) {
                let id = (meta.len(), meta.modified().expect("mtime"));
                if *last_temp != Some(id) {
                    *last_temp = Some(id);
                    self.tally.temp_left.fetch_add(1, Ordering::Relaxed);
                    let text = std::fs::read(&temp).unwrap_or_default();
                    if serde_json::from_slice::<serde_json::Value>(&text).is_err() {
                        self.tally.temp_torn.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn fail(&self, message: String) {
        eprintln!("FAIL: {message}");
        self.failed.store(true, Ordering::Relaxed);
    }

    /// `mean[k]`: how long step kind `k` (`i % 3`) takes alone.
    fn writer(&self, w: usize, mean: [Duration; 3]) {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((w as u64 + 1) << 32));
        let mut i = 0;
        while self.tally.kills.load(Ordering::Relaxed) < self.kills_wanted
            && !self.failed.load(Ordering::Relaxed)
        {
            let (args, change) = self.step(w, i);
            let span = mean[i % 3].as_micros() as u64;
            i += 1;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut child = self.command(&args).spawn().expect("spawn host");
            if rng.below(2) == 0 {
                // Anywhere in the command, or (half of the time) in its last third,
                // where the state is written.
                let delay = if rng.below(2) == 0 {
                    rng.below(span * 6 / 5)
                } else {
                    span * 2 / 3 + rng.below(span / 2)
                };
                std::thread::sleep(Duration::from_micros(delay));
                // SIGKILL; harmless when it has exited already (not yet reaped).
                let _ = child.kill();
            }
            let status = child.wait().expect("wait");
            match (status.code(), status.signal()) {
                (Some(0), _) => {
                    self.acked.lock().expect("acks").insert(change);
                    self.tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                (Some(_), _) => {
                    self.tally.refused.fetch_add(1, Ordering::Relaxed);
                }
                (None, Some(9)) => {
                    self.tally.kills.fetch_add(1, Ordering::Relaxed);
                    self.check(&change);
                }
                (None, signal) => self.fail(format!("{args:?} ended by signal {signal:?}")),
            }
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a soak of several minutes: scripts/kill-soak.sh"]
fn kills_during_writes_lose_no_acknowledged_change() {
    let kills_wanted = env_usize("KILL_SOAK_KILLS", 1000);
    let writers = env_usize("KILL_SOAK_WRITERS", 4);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kill-soak");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let soak = Arc::new(Soak {
        host: PathBuf::from(env!("CARGO_BIN_EXE_host")),
        dir: work.join("state"),
        work: work.clone(),
        kills_wanted,
        acked: Mutex::new(BTreeSet::new()),
        check_lock: Mutex::new(None),
        tally: Tally::default(),
        failed: AtomicBool::new(false),
    });

    // Measure how long a command takes (the plugin compiled and cached first), so the
    // kills spread over a whole command.
    let warm = soak
        .command(&["project", "create", "warm-up"])
        .status()
        .expect("host");
    assert!(warm.success());
    soak.acked
        .lock()
        .unwrap()
        .insert(Change::Project("warm-up".into()));
    let mut mean = [Duration::ZERO; 3];
    for i in 0..9 {
        let (args, change) = soak.step(99, i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        assert!(
            soak.command(&args).status().expect("host").success(),
            "{args:?}"
        );
        mean[i % 3] += started.elapsed() / 3;
        soak.acked.lock().unwrap().insert(change);
    }
    eprintln!(
        "kill soak: {writers} writers, {kills_wanted} kills; alone, project create takes ~{} ms, \
         apply ~{} ms, adm set ~{} ms",
        mean[0].as_millis(),
        mean[1].as_millis(),
        mean[2].as_millis()
    );

    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let soak = Arc::clone(&soak);
            std::thread::spawn(move || soak.writer(w, mean))
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let t = &soak.tally;
    let acked = soak.acked.lock().unwrap().len();
    eprintln!(
        "kill soak: {} kills in {:.0} s; {} commands acknowledged ({acked} distinct changes), {} refused \
         (adm set of a secret whose apply was killed); after every kill the state loaded and held every \
         acknowledged change ({} checks, {} through `host project list`); {} killed commands had written \
         their change already; {} temporary files left by a kill, {} of them torn",
        t.kills.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        t.acknowledged.load(Ordering::Relaxed),
        t.refused.load(Ordering::Relaxed),
        t.checks.load(Ordering::Relaxed),
        t.cli_checks.load(Ordering::Relaxed),
        t.applied_anyway.load(Ordering::Relaxed),
        t.temp_left.load(Ordering::Relaxed),
        t.temp_torn.load(Ordering::Relaxed),
    );
    assert!(!soak.failed.load(Ordering::Relaxed), "see FAIL above");
    assert!(t.kills.load(Ordering::Relaxed) >= kills_wanted);
    // The final state, once more, with everything acknowledged.
    let cluster = StateDir::new(&soak.dir).read().expect("the state loads");
    for change in soak.acked.lock().unwrap().iter() {
        assert!(Soak::holds(&cluster, change), "{change:?} lost");
    }
}

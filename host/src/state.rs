//! The simulator's persistent state: one JSON file in a state directory, changed
//! only under an exclusive lock and replaced atomically (write a temporary file,
//! fsync, rename, fsync the directory), so concurrent runs and a kill at any moment
//! leave the old or the new state, never a broken one, and lose no acknowledged change.
//! Like the cluster model, it holds no secret values; the workloads it records hold
//! their identity, references and findings only (`audit::offline::Stored`).

use crate::audit::offline::{Stored, Workloads};
use crate::cluster::Cluster;
use crate::cluster::secret::Secret;
use crate::cluster::{Namespace, Policy, Project};
use crate::input::{self, Limit};
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = ".lock";
const FORMAT_VERSION: u32 = 1;

/// Where `--state` points when it is not given.
pub const DEFAULT_DIR: &str = ".runai-sim";

#[derive(Serialize, Deserialize, Default)]
struct StateFile {
    version: u32,
    namespaces: Vec<Namespace>,
    projects: Vec<Project>,
    departments: Vec<(String, String)>,
    secrets: Vec<Secret>,
    policies: Vec<Policy>,
    /// The workloads `submit` and `apply -f` created (absent in states written before
    /// workloads were recorded).
    #[serde(default)]
    workloads: Vec<Stored>,
}

/// Everything a state holds: the cluster and the workloads that run in it.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub cluster: Cluster,
    pub workloads: Workloads,
}

/// What a change of the state comes to: written, or dropped with the state as it was
/// (a removal the policies refuse).
pub enum Outcome<T> {
    Write(T),
    Discard(T),
}

impl From<&State> for StateFile {
    fn from(state: &State) -> Self {
        let c = &state.cluster;
        StateFile {
            version: FORMAT_VERSION,
            namespaces: c.namespaces.values().cloned().collect(),
            projects: c.projects.values().cloned().collect(),
            departments: c.departments.clone().into_iter().collect(),
            secrets: c.secrets.values().cloned().collect(),
            policies: c.policies.clone(),
            workloads: state.workloads.iter().cloned().collect(),
        }
    }
}

impl From<StateFile> for State {
    fn from(f: StateFile) -> Self {
        let workloads = f.workloads.into_iter().collect();
        let cluster = Cluster {
            namespaces: f
                .namespaces
                .into_iter()
                .map(|n| (n.name.clone(), n))
                .collect(),
            projects: f
                .projects
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
            departments: f.departments.into_iter().collect(),
            secrets: f
                .secrets
                .into_iter()
                .map(|s| ((s.namespace.clone(), s.name.clone()), s))
                .collect(),
            policies: f.policies,
            ..Cluster::default()
        };
        State { cluster, workloads }
    }
}

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateDir { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Only the commands that build a state (`apply`, `project create`) make its
    /// directory: anywhere else a missing one is a mistyped `--state`, and reading it
    /// as an empty cluster would report wrong answers.
    fn lock(&self, exclusive: bool, create: bool) -> Result<File> {
        if create {
            fs::create_dir_all(&self.dir).with_context(|| {
                format!("{}: cannot create the state directory", self.dir.display())
            })?;
        } else if !self.dir.is_dir() {
            bail!(
                "{}: no such state directory: create one with `host project create` or `host apply -f`, \
                 or point --state (or RUNAI_SIM_STATE) at an existing one",
                crate::input::display(&self.dir)
            );
        }
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
        if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        }
        .with_context(|| format!("{}: cannot lock", path.display()))?;
        Ok(file)
    }

    fn load(&self) -> Result<State> {
        let path = self.path();
        if !path.exists() {
            return Ok(State::default());
        }
        let text = input::read_text(&path, Limit::new("state file", input::STATE_CAP))?;
        parse_state(&text, &path)
    }

    /// The current cluster, read under a shared lock.
    pub fn read(&self) -> Result<Cluster> {
        Ok(self.read_state()?.cluster)
    }

    /// The cluster and its recorded workloads, read under a shared lock.
    pub fn read_state(&self) -> Result<State> {
        let _lock = self.lock(false, false)?;
        self.load()
    }

    /// Reads, changes and writes the whole state (cluster and workloads) under an
    /// exclusive lock; `Outcome::Discard` or an error writes nothing.
    pub fn change_state<T>(
        &self,
        create: bool,
        change: impl FnOnce(&mut State) -> Result<Outcome<T>>,
    ) -> Result<T> {
        let _lock = self.lock(true, create)?;
        let mut state = self.load()?;
        match change(&mut state)? {
            Outcome::Write(result) => {
                self.write(&state)?;
                Ok(result)
            }
            Outcome::Discard(result) => Ok(result),
        }
    }

    /// Reads, changes and writes the state under an exclusive lock. When `change`
    /// fails, nothing is written. The directory must exist.
    pub fn update<T>(&self, change: impl FnOnce(&mut Cluster) -> Result<T>) -> Result<T> {
        self.change(false, change)
    }

    /// `update`, making the directory when it does not exist yet.
    pub fn create_or_update<T>(&self, change: impl FnOnce(&mut Cluster) -> Result<T>) -> Result<T> {
        self.change(true, change)
    }

    /// Writes `cluster` as the whole state under the exclusive lock, without reading
    /// the state it replaces (which may be one no command can read any more). The
    /// workloads recorded there go with it: they ran in the cluster it replaces.
    pub fn replace(&self, cluster: &Cluster) -> Result<()> {
        let _lock = self.lock(true, true)?;
        self.write(&State {
            cluster: cluster.clone(),
            workloads: Workloads::default(),
        })
    }

    /// The workloads are kept as they are.
    fn change<T>(&self, create: bool, change: impl FnOnce(&mut Cluster) -> Result<T>) -> Result<T> {
        self.change_state(create, |state| {
            Ok(Outcome::Write(change(&mut state.cluster)?))
        })
    }

    fn write(&self, state: &State) -> Result<()> {
        let path = self.path();
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let text = state_text(state)?;
        // What no command could read back is not written (an import of 300,000
        // Secrets made a 70 MB state that every later command refused).
        if text.len() as u64 > input::STATE_CAP {
            bail!(
                "{}: the state would be {} MiB, over the {} MiB a state may be: nothing was written",
                input::display(&path),
                text.len() >> 20,
                input::STATE_CAP >> 20
            );
        }
        let mut file =
            File::create(&tmp).with_context(|| format!("{}: cannot write", tmp.display()))?;
        file.write_all(&text)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &path)
            .with_context(|| format!("{}: cannot replace the state", path.display()))?;
        sync_dir(&self.dir)
    }
}

/// The cluster a state file's text holds; `path` names the file in errors. This is what
/// `StateDir::read` does once it has the text (public for the fuzzer and the tests).
pub fn parse(text: &str, path: &Path) -> Result<Cluster> {
    Ok(parse_state(text, path)?.cluster)
}

/// `parse`, with the recorded workloads.
pub fn parse_state(text: &str, path: &Path) -> Result<State> {
    let file: StateFile = serde_json::from_str(text).map_err(|e| {
        anyhow!(
            "{}: not a state file of this version of host ({}); remove the directory to start over",
            path.display(),
            guest::shown::redact_serde_message(&e.to_string())
        )
    })?;
    if file.version != FORMAT_VERSION {
        bail!(
            "{}: state format {} is not {FORMAT_VERSION}",
            path.display(),
            file.version
        );
    }
    for (i, w) in file.workloads.iter().enumerate() {
        if let Some((field, expected)) = w.problem() {
            bail!(
                "{}: `workloads[{i}].{field}`: expected {expected}; remove the entry from the file to go on",
                path.display()
            );
        }
    }
    Ok(file.into())
}

/// The text of the state file that holds `cluster` (and no workloads).
pub fn to_text(cluster: &Cluster) -> Result<Vec<u8>> {
    state_text(&State {
        cluster: cluster.clone(),
        workloads: Workloads::default(),
    })
}

/// The text of the state file that holds `state`, as `StateDir::update` writes it.
pub fn state_text(state: &State) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec_pretty(&StateFile::from(state))?)
}

/// The rename itself is durable only once the directory is synced.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: cannot sync the directory", dir.display()))
}

//! simulate, submit, inspect: the commands that run the plugin.

use super::{ClusterArgs, PluginArgs};
use crate::cluster::Cluster;
use crate::documents::{self, Entry};
use crate::input::{self, Limit};
use crate::plugin::{Options, Plugin};
use crate::report::{self, Format};
use crate::simulate::{self, Reported};
use crate::state::StateDir;
use crate::{inspect as inspect_plugin, manifest, submit as submit_cmd};
use anyhow::{Result, bail};
use std::io::Write;
use std::path::PathBuf;

pub fn load_plugin(args: &PluginArgs) -> Result<(Plugin, Vec<u8>, String)> {
    let (bytes, name) = match &args.path {
        Some(p) => (
            input::read_bytes(p, Limit::new("plugin", input::PLUGIN_CAP))?,
            input::display(p),
        ),
        None => (crate::plugin::BUILTIN.to_vec(), "built-in".to_string()),
    };
    let options = Options {
        limits: args.limits.clone(),
        ..Options::standard()
    };
    Ok((Plugin::load_with(&bytes, &name, &options)?, bytes, name))
}

/// The cluster to evaluate against: the state when `--state` is given, else
/// `--cluster`, else the built-in demo; plus `--policy` files.
pub(super) fn load_cluster(state: Option<&PathBuf>, args: &ClusterArgs) -> Result<Cluster> {
    if let Some(connection) = args.connection() {
        // A snapshot: the objects that do not load are said on stderr.
        let (built, _) = super::import::snapshot(&connection, &args.policies)?;
        return Ok(built.cluster);
    }
    crate::cluster::files::load(state, args.cluster.as_ref(), &args.policies)
}

/// Policies in a state were checked when applied, but the plugin may have changed
/// since: a bad one is reported with the state file it is in.
pub(super) fn check_state_policies(
    plugin: &Plugin,
    cluster: &Cluster,
    state: Option<&PathBuf>,
) -> Result<()> {
    let Some(dir) = state else { return Ok(()) };
    simulate::check_policies(plugin, cluster)
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", input::display(&StateDir::new(dir).path())))
}

fn print(reported: &[Reported], output: Format) -> Result<u8> {
    let rendered = report::render(reported, output)?;
    std::io::stdout().write_all(rendered.as_bytes())?;
    Ok(report::exit_code(
        reported.iter().filter_map(Reported::outcome),
    ))
}

pub fn simulate(
    plugin: &PluginArgs,
    state: Option<&PathBuf>,
    args: &ClusterArgs,
    inputs: &WorkloadInputs,
    workload_type: Option<&str>,
    output: Format,
) -> Result<u8> {
    let cluster = load_cluster(state, args)?;
    let mut entries = Vec::new();
    for (path, files) in inputs.files()? {
        let mut docs = Vec::new();
        for file in files {
            docs.extend(manifest::read_file(&file)?);
        }
        let sorted = documents::sort_path(docs, &input::display(&path))?;
        entries.extend(sorted);
    }
    let (plugin, _, _) = load_plugin(plugin)?;
    check_state_policies(&plugin, &cluster, state)?;
    let reported =
        simulate::simulate_documents(&plugin, &cluster, entries, workload_type, &inputs.scope)?;
    print(&reported, output)
}

/// The workload inputs of `simulate`: files and directories (`-R` to recurse, as
/// `kubectl apply -f`), and where documents that name no namespace go.
pub struct WorkloadInputs {
    pub paths: Vec<PathBuf>,
    pub recursive: bool,
    pub scope: simulate::Scope,
}

impl WorkloadInputs {
    /// Each path with its files: a file as given, a directory as the manifests in it
    /// (`*.yaml`, `*.yml`, `*.json`), sorted.
    pub(super) fn files(&self) -> Result<Vec<(PathBuf, Vec<PathBuf>)>> {
        let mut files = Vec::new();
        for path in &self.paths {
            if path.as_os_str() != "-" && path.is_dir() {
                let found = crate::walk::files(path, self.recursive, &crate::walk::is_manifest)?;
                if found.is_empty() {
                    bail!(
                        "{}: no manifests (*.yaml, *.yml, *.json) in the directory{}",
                        input::display(path),
                        if self.recursive {
                            " or below it"
                        } else {
                            " (-R reads the directories below it)"
                        }
                    );
                }
                files.push((path.clone(), found));
            } else {
                files.push((path.clone(), vec![path.clone()]));
            }
        }
        Ok(files)
    }
}

pub fn submit(
    plugin: &PluginArgs,
    state: Option<&PathBuf>,
    args: &ClusterArgs,
    mut submit_args: submit_cmd::SubmitArgs,
    output: Format,
) -> Result<u8> {
    let cluster = load_cluster(state, args)?;
    let Some(project) = cluster.find_project(&submit_args.project) else {
        let known: Vec<&str> = cluster.projects.keys().map(String::as_str).collect();
        bail!(
            "-p {}: no such project (projects: {})",
            crate::text::shown(&submit_args.project),
            crate::text::some(&known)
        );
    };
    submit_args.project = project.name.clone();
    let doc = submit_cmd::workload(&submit_args, &cluster.project_namespace(project))?;
    let (plugin, _, _) = load_plugin(plugin)?;
    check_state_policies(&plugin, &cluster, state)?;
    let outcomes = simulate::simulate(
        &plugin,
        &cluster,
        std::slice::from_ref(&doc),
        None,
        &simulate::Scope::default(),
    )?;
    let reported: Vec<Reported> = outcomes
        .into_iter()
        .map(|o| Reported::Evaluated(Box::new(o)))
        .collect();
    let code = print(&reported, output)?;
    // In a state, an admitted workload is created, as `runai submit` creates it; a
    // rejected one is not (the API server refuses it).
    if let Some(dir) = state
        && reported
            .iter()
            .filter_map(Reported::outcome)
            .all(|o| o.decision.allowed)
    {
        let created = StateDir::new(dir).change_state(false, |state| {
            Ok(
                match crate::audit::offline::record(
                    &plugin,
                    &state.cluster,
                    &doc,
                    crate::audit::offline::Place::default(),
                )? {
                    crate::audit::offline::Recording::Created(stored) => {
                        let key = stored.record.key.clone();
                        let replaced = state.workloads.upsert(*stored).is_some();
                        crate::state::Outcome::Write(Some((key, replaced)))
                    }
                    // The state changed since it was read: nothing is created.
                    crate::audit::offline::Recording::Refused(_) => {
                        crate::state::Outcome::Discard(None)
                    }
                },
            )
        })?;
        // On stderr: stdout holds the report, which scripts read as JSON or YAML.
        match created {
            Some((key, replaced)) => eprintln!(
                "{} {}/{} {} in {}",
                key.kind,
                crate::text::shown(&key.namespace),
                crate::text::shown(&key.name),
                if replaced { "replaced" } else { "created" },
                input::display(dir)
            ),
            // Nothing was created: not a success, whatever the report above says.
            None => {
                eprintln!(
                    "error: the state changed while the workload was evaluated and now rejects \
                     it: not created (submit it again to see why)"
                );
                return Ok(1);
            }
        }
    }
    Ok(code)
}

pub fn inspect(plugin: &PluginArgs) -> Result<u8> {
    let (plugin, bytes, name) = load_plugin(plugin)?;
    print!("{}", inspect_plugin::render(&plugin, &bytes, &name)?);
    Ok(0)
}

/// `host test`: every suite is read first (a bad one is exit 2, nothing runs), then run.
pub fn test(
    plugin: &PluginArgs,
    paths: &[PathBuf],
    format: super::TestFormat,
    junit: Option<&PathBuf>,
) -> Result<u8> {
    use crate::suite::{self, output, run};
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let files = suite::discover(&paths)?;
    if files.is_empty() {
        bail!(
            "no suites (*.suite.yaml) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let suites = files
        .iter()
        .map(|f| run::load(f))
        .collect::<Result<Vec<_>>>()?;
    let (plugin, _, _) = load_plugin(plugin)?;
    let results: Vec<_> = files
        .iter()
        .zip(&suites)
        .map(|(f, s)| run::run(&plugin, f, s))
        .collect();
    let rendered = match format {
        super::TestFormat::Text => output::text(&results),
        super::TestFormat::Json => output::json(&results),
    };
    std::io::stdout().write_all(rendered.as_bytes())?;
    if let Some(path) = junit {
        std::fs::write(path, output::junit(&results)).map_err(|e| {
            anyhow::anyhow!("{}: cannot write the JUnit report: {e}", path.display())
        })?;
    }
    let (_, failed) = output::totals(&results);
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Per scenario: an hour is more than any measurement needs, and far from the
/// `Duration` overflow (`--seconds 1e300` panicked).
const MAX_BENCH_SECONDS: f64 = 3600.0;

/// `host bench`: the built-in set-up, or a workload and cluster chosen as `simulate`
/// chooses them (with no workload, the benchmark workload on that cluster). The plugin
/// and limits of the command line are "containment on"; the Rego's agreement is checked
/// on the fixtures under the working directory (the repository's, when run from it).
pub fn bench(
    args: &PluginArgs,
    state: Option<&PathBuf>,
    cluster: &ClusterArgs,
    workload: Option<&PathBuf>,
    seconds: f64,
    json: bool,
) -> Result<u8> {
    if !(seconds > 0.0 && seconds <= MAX_BENCH_SECONDS) {
        bail!("--seconds: expected a number of seconds above 0 and at most {MAX_BENCH_SECONDS}");
    }
    let customised = state.is_some() || cluster.cluster.is_some() || !cluster.policies.is_empty();
    let setup = match (workload, customised) {
        (None, false) => crate::bench::Setup::builtin()?,
        (workload, _) => {
            let mut cluster = load_cluster(state, cluster)?;
            let doc = match workload {
                Some(path) => first_workload(path, &mut cluster)?,
                None => crate::bench::workload()?,
            };
            crate::bench::Setup {
                cluster,
                doc,
                builtin: false,
            }
        }
    };
    let (plugin, bytes, name) = load_plugin(args)?;
    let report = crate::bench::run(
        std::path::Path::new("."),
        std::time::Duration::from_secs_f64(seconds),
        &plugin,
        &bytes,
        &name,
        &setup,
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::bench::text(&report));
    }
    Ok(0)
}

/// The first workload of a file, with the Secrets and policies before it applied to
/// the cluster, as `simulate` would evaluate it.
fn first_workload(path: &std::path::Path, cluster: &mut Cluster) -> Result<manifest::Document> {
    let entries = documents::sort_path(manifest::read_file(path)?, &input::display(path))?;
    let mut applied = Vec::new();
    for entry in entries {
        match entry {
            Entry::Workload(doc) => {
                if !applied.is_empty() {
                    crate::cluster::load_documents(cluster, &applied)?;
                }
                return Ok(doc);
            }
            Entry::Apply(doc) => applied.push(doc),
            Entry::Skip(_) => {}
        }
    }
    // `sort_path` refuses a file without a workload.
    bail!("{}: no workload documents", input::display(path))
}

//! The command line: argument definitions here, one module per command group.

mod audit;
mod cluster_state;
mod evaluate;
mod import;
mod serve;
mod workload;

use crate::report::{EXIT_INPUT_ERROR, Format};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "host",
    version,
    about = "Check secrets in Run:ai workloads against policies, through the WebAssembly policy plugin",
    after_help = "Exit codes: 0 admitted and would start (or done); 1 rejected; 3 admitted but would \
                  not start; 2 usage or input error."
)]
pub struct Cli {
    /// Load this plugin component instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE.wasm")]
    plugin: Option<PathBuf>,
    /// Instruction budget per plugin call, in fuel units (0: no budget)
    /// [default: 1000000000; `serve`: 0, the deadline alone]
    #[arg(long, global = true, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Wall-clock deadline per plugin call, in milliseconds (0: none).
    #[arg(long, global = true, value_name = "MS", default_value_t = 2000)]
    deadline_ms: u64,
    /// Linear memory a plugin instance may use, in MiB.
    #[arg(long, global = true, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mib: u64,
    /// The simulator's state directory, for apply/project/secret/adm, and for
    /// simulate/submit/bench/audit when given here or by $RUNAI_SIM_STATE
    /// [default: $RUNAI_SIM_STATE, else ./.runai-sim]
    #[arg(long, global = true, value_name = "DIR")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate workloads against a cluster: --state, --cluster, or the built-in demo.
    Simulate {
        /// Workload files (YAML or JSON; `-` for standard input) or directories of them.
        #[arg(required = true, value_name = "WORKLOAD")]
        workloads: Vec<PathBuf>,
        /// Read directories recursively (as `kubectl apply -R`).
        #[arg(short = 'R', long)]
        recursive: bool,
        /// The namespace of workloads whose documents name none (as `kubectl apply -n`).
        #[arg(short = 'n', long, value_name = "NAMESPACE")]
        namespace: Option<String>,
        /// The project (name or id) of workloads whose documents name none.
        #[arg(short = 'p', long, value_name = "PROJECT")]
        project: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Workload type of REST API requests (their type comes from the endpoint).
        #[arg(long = "type", value_name = "TYPE", value_parser = ["training", "workspace", "distributed", "inference"])]
        workload_type: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Format,
    },
    /// Simulate `runai submit`: build the workload from its flags and evaluate it.
    Submit {
        /// Workload name.
        #[arg(value_name = "NAME", default_value = "job")]
        name: String,
        #[arg(short = 'p', long)]
        project: String,
        #[arg(short = 'i', long)]
        image: Option<String>,
        #[arg(short = 'g', long)]
        gpu: Option<String>,
        /// Submit an interactive workload instead of a training one.
        #[arg(long)]
        interactive: bool,
        /// NAME=VALUE or NAME=SECRET:<secret-name>,<secret-key>; repeatable.
        #[arg(short = 'e', long = "environment", value_name = "NAME=VALUE")]
        environment: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Format,
    },
    /// Add or replace objects in the state (Projects, Namespaces, Secrets, policies),
    /// and create workloads (recorded when admitted, as the API server creates them).
    Apply {
        #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Apply a Secret that drops keys in use even where a policy says
        /// `secretRemoval: deny`.
        #[arg(long)]
        force: bool,
    },
    /// List or delete the workloads recorded in the state.
    #[command(subcommand)]
    Workload(WorkloadCommand),
    /// Audit workloads (files, and with --state the recorded ones) against the current
    /// view: their findings, the PolicyReports the gateway would write, or the impact
    /// of a change before it is made.
    Audit(Box<audit::AuditArgs>),
    /// Create, delete or list projects in the state.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// List secrets in the state (names, keys, type and origin, never values), or delete one.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Administrator commands, as `runai-adm`.
    #[command(subcommand)]
    Adm(AdmCommand),
    /// Run policy test suites (`*.suite.yaml` under the paths, or the files given).
    Test {
        /// Suite files or directories to search [default: .]
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: TestFormat,
        /// Also write the results as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Evaluations per second and latency percentiles of the plugin, side by side with
    /// the same logic compiled natively and an equivalent Rego policy on regorus.
    Bench {
        /// A workload to measure (YAML or JSON, any form `simulate` reads; the file's
        /// first workload, with the Secrets and policies before it applied)
        /// [default: the built-in benchmark workload and policies]
        #[arg(value_name = "WORKLOAD")]
        workload: Option<PathBuf>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Seconds to measure each scenario.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Measure the audit instead (issue 22's targets) with this many workloads on a
        /// made-up cluster of 100 project namespaces with 100 secrets each.
        #[arg(long, value_name = "WORKLOADS", conflicts_with = "workload", value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
        audit: Option<u32>,
    },
    /// Show the plugin's WIT world, imports, size and SHA-256.
    Inspect,
    /// Snapshot a live cluster (read-only) into the state directory: namespaces,
    /// projects, departments, secrets (names, type and key names; never values) and
    /// policies, to simulate and test against offline.
    Import {
        /// The kubeconfig to read the cluster through (its current context).
        #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
        kubeconfig: Option<PathBuf>,
        /// Read the cluster with the pod's service account.
        #[arg(long)]
        in_cluster: bool,
        /// Extra policy files (V2 policies live in Run:ai's control plane, not in
        /// Kubernetes), added to the cluster's.
        #[arg(long = "policy", value_name = "FILE")]
        policies: Vec<PathBuf>,
    },
    /// The admission gateway: AdmissionReview v1 on /validate and /mutate, any workload
    /// on /v1/evaluate, over HTTPS; /healthz, /readyz, /metrics.
    Serve(Box<serve::ServeArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum ProjectCommand {
    Create {
        name: String,
        /// Namespace of the project [default: runai-NAME]
        #[arg(long)]
        namespace: Option<String>,
        #[arg(long)]
        department: Option<String>,
        /// The id REST API requests use as projectId.
        #[arg(long)]
        id: Option<String>,
    },
    Delete {
        name: String,
    },
    List,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Names, keys, type and origin of the secrets per namespace, never values.
    List {
        /// Only this namespace [default: all]
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Delete a namespace's own secret; deleting a cluster-wide source in `runai`
    /// removes its copies from every project namespace.
    Delete {
        name: String,
        /// The secret's namespace.
        #[arg(short = 'n', long, required = true)]
        namespace: String,
        /// Delete it even where a policy says `secretRemoval: deny`.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum WorkloadCommand {
    /// The recorded workloads: identity, secret references and last findings.
    List {
        /// Only this namespace [default: all]
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Format,
    },
    /// Delete a recorded workload: KIND/NAME (as kubectl: `trainingworkload/job`).
    Delete {
        #[arg(value_name = "KIND/NAME")]
        workload: String,
        #[arg(short = 'n', long, required = true)]
        namespace: String,
    },
}

#[derive(Subcommand)]
enum AdmCommand {
    /// `set secret NAME --cluster-wide`: propagate a secret of `runai` to every project.
    #[command(subcommand)]
    Set(AdmObject),
    /// `remove secret NAME --cluster-wide`: stop propagating it; copies go.
    #[command(subcommand)]
    Remove(AdmObject),
}

#[derive(Subcommand)]
enum AdmObject {
    Secret {
        name: String,
        /// Required, as with runai-adm: the change is cluster-wide.
        #[arg(long, required = true)]
        cluster_wide: bool,
        /// (remove) Remove it even where a policy says `secretRemoval: deny`.
        #[arg(long)]
        force: bool,
    },
}

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// Cluster manifests (Projects, Namespaces, Secrets, policies) instead of the demo.
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    cluster: Option<PathBuf>,
    /// Extra policy files, added to the cluster's.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// Read the cluster from the Kubernetes API through this kubeconfig (its current
    /// context): read-only; secrets' key names only.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "state", "in_cluster"])]
    kubeconfig: Option<PathBuf>,
    /// Read the cluster from the Kubernetes API with the pod's service account.
    #[arg(long, conflicts_with_all = ["cluster", "state"])]
    in_cluster: bool,
}

impl ClusterArgs {
    /// The live cluster to read, when one is given.
    pub fn connection(&self) -> Option<crate::live::Connection> {
        connection(self.kubeconfig.as_ref(), self.in_cluster)
    }
}

fn connection(kubeconfig: Option<&PathBuf>, in_cluster: bool) -> Option<crate::live::Connection> {
    match (kubeconfig, in_cluster) {
        (Some(path), _) => Some(crate::live::Connection::Kubeconfig(path.clone())),
        (None, true) => Some(crate::live::Connection::InCluster),
        (None, false) => None,
    }
}

/// What `host ARGS` (a `serve` command line, as a Deployment runs it) reads and writes
/// through the Kubernetes API in `namespace`: what its role must grant (a test holds
/// `deploy/`'s RBAC to it).
pub fn serve_grants(args: &[String], namespace: &str) -> Result<Vec<crate::kube_write::Grant>> {
    let cli = Cli::try_parse_from(std::iter::once("host".to_string()).chain(args.iter().cloned()))?;
    match &cli.command {
        Command::Serve(serve_args) => serve::grants(cli.state.clone(), serve_args, namespace),
        _ => anyhow::bail!("not a `serve` command line"),
    }
}

fn state_dir(cli_state: Option<PathBuf>) -> PathBuf {
    given_state(cli_state).unwrap_or_else(|| PathBuf::from(crate::state::DEFAULT_DIR))
}

/// The state a user named, with `--state` or `$RUNAI_SIM_STATE`: the view of the
/// commands that otherwise take the demo (simulate, submit, bench, audit of files).
/// `./.runai-sim` is not named: its being there does not change their view.
fn given_state(cli_state: Option<PathBuf>) -> Option<PathBuf> {
    cli_state.or_else(|| {
        std::env::var_os("RUNAI_SIM_STATE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Which plugin to load and how to contain it.
pub struct PluginArgs {
    pub path: Option<PathBuf>,
    pub limits: crate::plugin::Limits,
}

fn run(cli: Cli) -> Result<u8> {
    // The gateway relies on the deadline alone, as Kubewarden's policy-server does:
    // fuel cost it ~10% of its throughput under load and stops nothing the deadline and
    // the memory cap do not (README, "Fuel or the deadline alone"). Elsewhere fuel makes
    // a verdict independent of the machine's load.
    let fuel = cli.fuel.unwrap_or(match cli.command {
        Command::Serve(_) => 0,
        _ => crate::plugin::DEFAULT_FUEL,
    });
    let plugin = PluginArgs {
        path: cli.plugin,
        limits: crate::plugin::Limits {
            memory_bytes: (cli.memory_mib << 20) as usize,
            fuel: (fuel > 0).then_some(fuel),
            deadline: (cli.deadline_ms > 0)
                .then(|| std::time::Duration::from_millis(cli.deadline_ms)),
            ..crate::plugin::Limits::default()
        },
    };
    match cli.command {
        Command::Simulate {
            workloads,
            recursive,
            namespace,
            project,
            cluster,
            workload_type,
            output,
        } => evaluate::simulate(
            &plugin,
            given_state(cli.state.clone()).as_ref(),
            &cluster,
            &evaluate::WorkloadInputs {
                paths: workloads,
                recursive,
                scope: crate::simulate::Scope { namespace, project },
            },
            workload_type.as_deref(),
            output,
        ),
        Command::Submit {
            name,
            project,
            image,
            gpu,
            interactive,
            environment,
            cluster,
            output,
        } => {
            let args = crate::submit::SubmitArgs {
                project,
                name,
                image,
                gpu,
                interactive,
                environment,
            };
            evaluate::submit(
                &plugin,
                given_state(cli.state.clone()).as_ref(),
                &cluster,
                args,
                output,
            )
        }
        Command::Audit(args) => {
            // Nothing named to audit: the simulator's state, as `host workload list`
            // reads it ($RUNAI_SIM_STATE, else ./.runai-sim), when there is one.
            let state = given_state(cli.state.clone()).or_else(|| {
                let nothing = args.names_nothing();
                let default = state_dir(None);
                (nothing && default.is_dir()).then_some(default)
            });
            audit::audit(&plugin, state.as_ref(), *args)
        }
        Command::Workload(WorkloadCommand::List { namespace, output }) => {
            workload::list(&state_dir(cli.state), namespace.as_deref(), output)
        }
        Command::Workload(WorkloadCommand::Delete {
            workload,
            namespace,
        }) => workload::delete(&state_dir(cli.state), &namespace, &workload),
        Command::Inspect => evaluate::inspect(&plugin),
        Command::Import {
            kubeconfig,
            in_cluster,
            policies,
        } => import::import(
            &state_dir(cli.state),
            connection(kubeconfig.as_ref(), in_cluster),
            &policies,
        ),
        Command::Serve(args) => serve::serve(&plugin, cli.state, *args),
        Command::Bench {
            audit: Some(workloads),
            json,
            ..
        } => {
            let (plugin, _, _) = evaluate::load_plugin(&plugin)?;
            let report = crate::bench::audit::run(&plugin, workloads as usize)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                crate::bench::audit::print(&report);
            }
            Ok(0)
        }
        Command::Bench {
            workload,
            cluster,
            seconds,
            json,
            audit: None,
        } => evaluate::bench(
            &plugin,
            given_state(cli.state.clone()).as_ref(),
            &cluster,
            workload.as_ref(),
            seconds,
            json,
        ),
        Command::Test {
            paths,
            format,
            junit,
        } => evaluate::test(&plugin, &paths, format, junit.as_ref()),
        Command::Apply { files, force } => {
            cluster_state::apply(&plugin, &state_dir(cli.state), &files, force)
        }
        Command::Project(ProjectCommand::Create {
            name,
            namespace,
            department,
            id,
        }) => {
            cluster_state::project_create(&state_dir(cli.state), &name, namespace, department, id)
        }
        Command::Project(ProjectCommand::Delete { name }) => {
            cluster_state::project_delete(&state_dir(cli.state), &name)
        }
        Command::Project(ProjectCommand::List) => {
            cluster_state::project_list(&state_dir(cli.state))
        }
        Command::Secret(SecretCommand::List { namespace }) => {
            cluster_state::secret_list(&state_dir(cli.state), namespace.as_deref())
        }
        Command::Secret(SecretCommand::Delete {
            name,
            namespace,
            force,
        }) => {
            cluster_state::secret_delete(&plugin, &state_dir(cli.state), &namespace, &name, force)
        }
        Command::Adm(AdmCommand::Set(AdmObject::Secret { name, .. })) => {
            cluster_state::set_cluster_wide(&state_dir(cli.state), &name)
        }
        Command::Adm(AdmCommand::Remove(AdmObject::Secret { name, force, .. })) => {
            cluster_state::remove_cluster_wide(&plugin, &state_dir(cli.state), &name, force)
        }
    }
}

pub fn main() -> ExitCode {
    // No panic should be reachable from the command line; should one be, it ends as an
    // input error without its message, which could quote the input (a value).
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error{at}; this is a bug in host, please report it with the command \
             that caused it (the panic message is not shown: it may quote the input)"
        );
    }));
    match std::panic::catch_unwind(main_inner) {
        Ok(code) => code,
        Err(_) => ExitCode::from(EXIT_INPUT_ERROR),
    }
}

fn main_inner() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_INPUT_ERROR } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Names in messages are escaped where they are put in; this is the net
            // under them (newlines are kept: some messages list one problem a line).
            let message = format!("{e:#}");
            eprintln!("error: {}", crate::text::escape_controls(&message, true));
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

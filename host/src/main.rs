//! `host`: simulate secret handling of Run:ai workloads through the policy plugin.

use anyhow::Result;
use clap::{Parser, Subcommand};
use host::cluster::{Cluster, load_documents};
use host::plugin::Plugin;
use host::report::{self, EXIT_INPUT_ERROR, Format};
use host::{demo, inspect, manifest, simulate, submit};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "host",
    version,
    about = "Check secrets in Run:ai workloads against policies, through the WebAssembly policy plugin",
    after_help = "Exit codes: 0 admitted and would start; 1 rejected; 3 admitted but would not start; 2 usage or input error."
)]
struct Cli {
    /// Load this plugin component instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE.wasm")]
    plugin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate workloads against a cluster (the built-in demo unless --cluster).
    Simulate {
        /// Workload files (YAML or JSON; `-` for standard input).
        #[arg(required = true, value_name = "WORKLOAD")]
        workloads: Vec<PathBuf>,
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
    /// Show the plugin's WIT world, imports, size and SHA-256.
    Inspect,
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// Cluster manifests (Projects, Namespaces, Secrets, policies) instead of the demo.
    #[arg(long, value_name = "FILE")]
    cluster: Option<PathBuf>,
    /// Extra policy files, added to the cluster's.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
}

impl ClusterArgs {
    fn load(&self) -> Result<Cluster> {
        let mut state = match &self.cluster {
            Some(path) => {
                let mut c = Cluster::default();
                load_documents(&mut c, &manifest::read_file(path)?)?;
                c
            }
            None => demo::cluster()?,
        };
        for path in &self.policies {
            load_documents(&mut state, &manifest::read_file(path)?)?;
        }
        Ok(state)
    }
}

fn print_outcomes(outcomes: &[simulate::Outcome], output: Format) -> Result<u8> {
    let rendered = report::render(outcomes, output)?;
    std::io::stdout().write_all(rendered.as_bytes())?;
    Ok(report::exit_code(outcomes))
}

fn load_plugin(path: Option<&PathBuf>) -> Result<(Plugin, Vec<u8>, String)> {
    match path {
        Some(p) => {
            let plugin = Plugin::from_file(p)?;
            let bytes = std::fs::read(p)?;
            Ok((plugin, bytes, p.display().to_string()))
        }
        None => Ok((
            Plugin::builtin()?,
            host::plugin::BUILTIN.to_vec(),
            "built-in".to_string(),
        )),
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Simulate {
            workloads,
            cluster,
            workload_type,
            output,
        } => {
            let state = cluster.load()?;
            let mut docs = Vec::new();
            for path in &workloads {
                docs.extend(manifest::read_file(path)?);
            }
            let (plugin, _, _) = load_plugin(cli.plugin.as_ref())?;
            let outcomes = simulate::simulate(&plugin, &state, &docs, workload_type.as_deref())?;
            print_outcomes(&outcomes, output)
        }
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
            let state = cluster.load()?;
            let Some(found) = state.find_project(&project) else {
                anyhow::bail!(
                    "-p {project}: no such project (projects: {})",
                    state
                        .projects
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            let args = submit::SubmitArgs {
                project: found.name.clone(),
                name,
                image,
                gpu,
                interactive,
                environment,
            };
            let doc = submit::workload(&args, &state.project_namespace(found))?;
            let (plugin, _, _) = load_plugin(cli.plugin.as_ref())?;
            let outcomes = simulate::simulate(&plugin, &state, &[doc], None)?;
            print_outcomes(&outcomes, output)
        }
        Command::Inspect => {
            let (plugin, bytes, name) = load_plugin(cli.plugin.as_ref())?;
            print!("{}", inspect::render(&plugin, &bytes, &name)?);
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
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
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

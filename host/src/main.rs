//! `host`: simulate secret handling of Run:ai workloads through the policy plugin.

use anyhow::Result;
use clap::{Parser, Subcommand};
use host::cluster::{Cluster, load_documents};
use host::plugin::Plugin;
use host::report::{self, EXIT_INPUT_ERROR, Format};
use host::{demo, inspect, manifest, simulate};
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
        /// Cluster manifests (Projects, Namespaces, Secrets, policies) instead of the demo.
        #[arg(long, value_name = "FILE")]
        cluster: Option<PathBuf>,
        /// Extra policy files, added to the cluster's.
        #[arg(long = "policy", value_name = "FILE")]
        policies: Vec<PathBuf>,
        /// Workload type of REST API requests (their type comes from the endpoint).
        #[arg(long = "type", value_name = "TYPE", value_parser = ["training", "workspace", "distributed", "inference"])]
        workload_type: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Format,
    },
    /// Show the plugin's WIT world, imports, size and SHA-256.
    Inspect,
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
            policies,
            workload_type,
            output,
        } => {
            let mut state = match &cluster {
                Some(path) => {
                    let mut c = Cluster::default();
                    load_documents(&mut c, &manifest::read_file(path)?)?;
                    c
                }
                None => demo::cluster()?,
            };
            for path in &policies {
                load_documents(&mut state, &manifest::read_file(path)?)?;
            }
            let mut docs = Vec::new();
            for path in &workloads {
                docs.extend(manifest::read_file(path)?);
            }
            let (plugin, _, _) = load_plugin(cli.plugin.as_ref())?;
            let outcomes = simulate::simulate(&plugin, &state, &docs, workload_type.as_deref())?;
            let rendered = report::render(&outcomes, output)?;
            std::io::stdout().write_all(rendered.as_bytes())?;
            Ok(report::exit_code(&outcomes))
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

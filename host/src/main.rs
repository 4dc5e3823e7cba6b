//! `host`: simulate secret handling of Run:ai workloads through the policy plugin.

fn main() -> std::process::ExitCode {
    host::cli::main()
}

//! The one place that runs the plugin: compiled once per process, a fresh
//! sandboxed instance per call.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "secrets-policy",
});

pub use exports::runai::secrets_policy::evaluator::{
    ContainerStartup, Decision, Diagnostic, EnvSource, EnvVar, InputError, KeyRef, PolicyDocument,
    ProjectInfo, SecretKeyRef, SecretMetadata, Startup, Submission, Violation, Warning,
    WorkloadForm, WorkloadId,
};

/// The plugin built from `guest/`, embedded so the binary runs with no set-up.
pub const BUILTIN: &[u8] = include_bytes!(env!("GUEST_WASM"));

/// The contract's package. Its world imports nothing, so neither may a plugin.
pub const CONTRACT_PACKAGE: &str = "runai:secrets-policy@0.1.0";

/// Limits for one evaluation.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Largest workload or policy document accepted.
    pub input_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            input_bytes: 4 << 20,
        }
    }
}

pub struct Plugin {
    engine: Engine,
    component: Component,
    pre: SecretsPolicyPre<StoreLimits>,
    limits: Limits,
    sha256: String,
    size: usize,
}

impl Plugin {
    pub fn builtin() -> Result<Self> {
        Self::load(BUILTIN, "built-in plugin", Limits::default())
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read the plugin", path.display()))?;
        Self::load(&bytes, &path.display().to_string(), Limits::default())
    }

    /// Compiles a component and refuses it unless its imports are within the contract.
    pub fn load(bytes: &[u8], name: &str, limits: Limits) -> Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(32)
            .total_core_instances(32)
            .total_memories(32)
            .total_tables(32)
            .max_memory_size(limits.memory_bytes);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("cannot set up the WebAssembly engine")?;
        let component = Component::new(&engine, bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{name}: not a valid WebAssembly component"))?;
        check_imports(&engine, &component, name)?;
        let linker = Linker::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .and_then(SecretsPolicyPre::new)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{name}: does not export the {CONTRACT_PACKAGE} world"))?;
        Ok(Plugin {
            sha256: hex(&Sha256::digest(bytes)),
            size: bytes.len(),
            engine,
            component,
            pre,
            limits,
        })
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Every import of the component, as `name`.
    pub fn imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Every export of the component, as `name`.
    pub fn exports(&self) -> Vec<String> {
        self.component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    fn instantiate(&self) -> Result<(Store<StoreLimits>, SecretsPolicy)> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .instances(4)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(anyhow::Error::from)?;
        Ok((store, bindings))
    }

    fn check_size(&self, what: &str, len: usize) -> Result<()> {
        if len > self.limits.input_bytes {
            bail!(
                "{what} is {len} bytes; the limit is {} bytes",
                self.limits.input_bytes
            );
        }
        Ok(())
    }

    /// Runs one export in a fresh instance; a trap is an error, never a decision.
    fn call<R>(
        &self,
        doing: &str,
        f: impl FnOnce(&mut Store<StoreLimits>, &SecretsPolicy) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let (mut store, bindings) = self.instantiate()?;
        f(&mut store, &bindings)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("the plugin failed while {doing}"))
    }

    pub fn check_policies(
        &self,
        policies: &[PolicyDocument],
        projects: &[ProjectInfo],
    ) -> Result<Vec<Diagnostic>> {
        for p in policies {
            self.check_size(&p.source, p.json.len())?;
        }
        self.call("checking policies", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_check_policies(store, policies, projects)
        })
    }

    pub fn identify(&self, workload: &str) -> Result<Result<WorkloadId, InputError>> {
        self.check_size("the workload document", workload.len())?;
        self.call("reading the workload", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_identify(store, workload)
        })
    }

    pub fn evaluate(&self, submission: &Submission) -> Result<Result<Decision, InputError>> {
        self.check_size("the workload document", submission.workload.len())?;
        self.call("evaluating the workload", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_evaluate(store, submission)
        })
    }
}

fn check_imports(engine: &Engine, component: &Component, name: &str) -> Result<()> {
    let outside: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(import, _)| import.to_string())
        .collect();
    if !outside.is_empty() {
        bail!(
            "{name}: refused: it imports {} outside the {CONTRACT_PACKAGE} contract; a policy plugin \
             must be a pure function (build it for wasm32-unknown-unknown, not wasm32-wasip2)",
            outside.join(", ")
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

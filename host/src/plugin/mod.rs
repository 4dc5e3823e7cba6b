//! The one place that runs the plugin, for `simulate`, `test`, `bench` and the
//! gateway: compiled once per process (or loaded from the artifact cache), a fresh
//! sandboxed instance per call from a pre-instantiated component, with the limits
//! of `Limits`. A trap or an overrun is a `Failure`, never a crash.

mod cache;
pub mod limits;
mod ticker;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

pub use limits::{DEFAULT_FUEL, Failure, Limits};
use limits::{Limiter, classify};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "secrets-policy",
});

pub use exports::runai::secrets_policy::evaluator::{
    ContainerEnv, ContainerStartup, Decision, Diagnostic, EnvSource, EnvVar, InputError, KeyRef,
    PolicyDocument, ProjectInfo, Removal, RemovalDecision, SecretKeyRef, SecretMetadata,
    SecretReference, SecretUseKind, SecretUser, Startup, Submission, Violation, Warning,
    WorkloadForm, WorkloadId,
};

/// The plugin built from `guest/`, embedded so the binary runs with no set-up.
pub const BUILTIN: &[u8] = include_bytes!(env!("GUEST_WASM"));

/// The contract's package. Its world imports nothing, so neither may a plugin.
pub const CONTRACT_PACKAGE: &str = "runai:secrets-policy@0.5.0";

/// How a plugin is loaded.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Where precompiled artifacts are kept; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
}

impl Options {
    /// The default limits, with the user's artifact cache unless
    /// `RUNAI_SIM_NO_CACHE` is set.
    pub fn standard() -> Self {
        Options {
            limits: Limits::default(),
            cache_dir: cache::default_dir(),
        }
    }
}

pub struct Plugin {
    engine: Engine,
    component: Component,
    pre: SecretsPolicyPre<Limiter>,
    limits: Limits,
    sha256: String,
    size: usize,
    from_cache: bool,
    _ticker: Option<ticker::Ticker>,
}

/// A pooled, copy-on-write instance per call is cheap when the pool keeps the
/// linear memory of finished instances resident (reset through the page map).
fn engine(limits: &Limits) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(64)
        .total_core_instances(64)
        .total_memories(64)
        .total_tables(64)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(4 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_init_cow(true)
        .consume_fuel(limits.fuel.is_some())
        .epoch_interruption(limits.deadline.is_some());
    // For `perf record`: names the plugin's compiled functions in /tmp/perf-PID.map.
    if std::env::var_os("HOST_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("cannot set up the WebAssembly engine")
}

impl Plugin {
    pub fn builtin() -> Result<Self> {
        Self::load_with(BUILTIN, "built-in plugin", &Options::standard())
    }

    pub fn load(bytes: &[u8], name: &str, limits: Limits) -> Result<Self> {
        Self::load_with(
            bytes,
            name,
            &Options {
                limits,
                cache_dir: cache::default_dir(),
            },
        )
    }

    /// Compiles a component (or loads its cached artifact) and refuses it unless its
    /// imports are within the contract.
    pub fn load_with(bytes: &[u8], name: &str, options: &Options) -> Result<Self> {
        let limits = options.limits.clone();
        let engine = engine(&limits)?;
        let sha256 = hex(&Sha256::digest(bytes));
        let (component, from_cache) = match &options.cache_dir {
            Some(dir) => cache::load_or_compile(&engine, bytes, &sha256, dir)
                .with_context(|| format!("{name}: not a valid WebAssembly component"))?,
            None => (
                Component::new(&engine, bytes)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("{name}: not a valid WebAssembly component"))?,
                false,
            ),
        };
        check_imports(&engine, &component, name)?;
        let linker = Linker::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .and_then(SecretsPolicyPre::new)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{name}: does not export the {CONTRACT_PACKAGE} world"))?;
        Ok(Plugin {
            _ticker: limits.deadline.map(|_| ticker::Ticker::start(&engine)),
            sha256,
            size: bytes.len(),
            from_cache,
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

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the compiled code came from the artifact cache.
    pub fn loaded_from_cache(&self) -> bool {
        self.from_cache
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

    /// A fresh instance, with this call's budget and deadline.
    pub fn instance(&self) -> Result<Instance<'_>> {
        let mut store = Store::new(&self.engine, Limiter::new(&self.limits));
        store.limiter(|l| l);
        if let Some(fuel) = self.limits.fuel {
            store.set_fuel(fuel).map_err(anyhow::Error::from)?;
        }
        if let Some(deadline) = self.limits.deadline {
            store.set_epoch_deadline(ticker::ticks(deadline));
            store.epoch_deadline_trap();
        }
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(anyhow::Error::from)?;
        Ok(Instance {
            plugin: self,
            store,
            bindings,
        })
    }

    fn check_size(&self, what: &str, len: usize) -> Result<(), Failure> {
        if len > self.limits.input_bytes {
            return Err(Failure {
                code: "plugin-input",
                message: format!(
                    "{what} is {len} bytes; the limit is {} bytes",
                    self.limits.input_bytes
                ),
            });
        }
        Ok(())
    }

    pub fn check_policies(
        &self,
        policies: &[PolicyDocument],
        projects: &[ProjectInfo],
    ) -> Result<Vec<Diagnostic>> {
        for p in policies {
            self.check_size(&p.source, p.json.len())?;
        }
        Ok(self.instance()?.check_policies(policies, projects)?)
    }

    /// In a fresh instance. `Err` is a host error or a contained `Failure`.
    pub fn identify(&self, workload: &str) -> Result<Result<WorkloadId, InputError>> {
        self.check_size("the workload document", workload.len())?;
        Ok(self.instance()?.identify(workload)?)
    }

    /// In a fresh instance. `Err` is a host error or a contained `Failure`.
    pub fn evaluate(&self, submission: &Submission) -> Result<Result<Decision, InputError>> {
        self.check_size("the workload document", submission.workload.len())?;
        Ok(self.instance()?.evaluate(submission)?)
    }

    /// In a fresh instance: who breaks when a secret or some of its keys go, and what
    /// the policies say. `Err` is a host error or a contained `Failure`.
    pub fn check_removal(
        &self,
        removal: &Removal,
        policies: &[PolicyDocument],
        users: &[SecretUser],
    ) -> Result<Result<RemovalDecision, InputError>> {
        for p in policies {
            self.check_size(&p.source, p.json.len())?;
        }
        Ok(self.instance()?.check_removal(removal, policies, users)?)
    }
}

/// One instance of the plugin. `Plugin`'s methods use a fresh one per call; a
/// benchmark may reuse one to measure the instance cost apart.
pub struct Instance<'p> {
    plugin: &'p Plugin,
    store: Store<Limiter>,
    bindings: SecretsPolicy,
}

impl Instance<'_> {
    fn run<R>(
        &mut self,
        doing: &str,
        f: impl FnOnce(&mut Store<Limiter>, &SecretsPolicy) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        let limits = &self.plugin.limits;
        // A reused instance gets its full budget again for each call.
        if let Some(fuel) = limits.fuel {
            let _ = self.store.set_fuel(fuel);
        }
        if let Some(deadline) = limits.deadline {
            self.store.set_epoch_deadline(ticker::ticks(deadline));
        }
        f(&mut self.store, &self.bindings)
            .map_err(|e| classify(&e, self.store.data().memory_exceeded, limits, doing))
    }

    pub fn check_policies(
        &mut self,
        policies: &[PolicyDocument],
        projects: &[ProjectInfo],
    ) -> Result<Vec<Diagnostic>, Failure> {
        self.run("checking policies", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_check_policies(store, policies, projects)
        })
    }

    pub fn check_removal(
        &mut self,
        removal: &Removal,
        policies: &[PolicyDocument],
        users: &[SecretUser],
    ) -> Result<Result<RemovalDecision, InputError>, Failure> {
        self.run("deciding on a secret's removal", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_check_removal(store, removal, policies, users)
        })
    }

    /// The fuel the last call used: the sandbox's own count of the work done (about one
    /// unit a WebAssembly instruction), the same on a busy machine as on a quiet one.
    /// `None` without a fuel budget.
    pub fn fuel_used(&self) -> Option<u64> {
        let budget = self.plugin.limits.fuel?;
        let left = self.store.get_fuel().ok()?;
        Some(budget.saturating_sub(left))
    }

    pub fn identify(&mut self, workload: &str) -> Result<Result<WorkloadId, InputError>, Failure> {
        self.run("reading the workload", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_identify(store, workload)
        })
    }

    pub fn evaluate(
        &mut self,
        submission: &Submission,
    ) -> Result<Result<Decision, InputError>, Failure> {
        let result = self.run("evaluating the workload", |store, b| {
            b.runai_secrets_policy_evaluator()
                .call_evaluate(store, submission)
        })?;
        if let Ok(decision) = &result {
            let size = decision_size(decision);
            let limit = self.plugin.limits.output_bytes;
            if size > limit {
                return Err(Failure {
                    code: "plugin-output",
                    message: format!(
                        "the plugin's decision is {size} bytes; the limit is {limit} bytes"
                    ),
                });
            }
        }
        Ok(result)
    }
}

/// The bytes of text a decision carries.
fn decision_size(d: &Decision) -> usize {
    let findings: usize = d
        .violations
        .iter()
        .map(|v| v.code.len() + v.field.len() + v.message.len() + v.policy.len())
        .sum();
    let warnings: usize = d
        .warnings
        .iter()
        .map(|w| w.code.len() + w.field.len() + w.message.len() + w.policy.len())
        .sum();
    let env: usize = d
        .env
        .iter()
        .map(|c| c.container.len() + c.vars.iter().map(env_var_size).sum::<usize>())
        .sum();
    let startup: usize = d
        .startup
        .containers
        .iter()
        .map(|c| c.name.len() + c.state.len() + c.reason.len() + c.message.len())
        .sum();
    let references: usize = d
        .references
        .iter()
        .map(|r| {
            r.secret.len()
                + r.key.as_ref().map_or(0, String::len)
                + r.container.len()
                + r.field.len()
        })
        .sum();
    findings + warnings + env + startup + references + d.patch.len()
}

fn env_var_size(e: &EnvVar) -> usize {
    let source = match &e.source {
        EnvSource::Literal(v) | EnvSource::FieldRef(v) | EnvSource::Expanded(v) => v.len(),
        EnvSource::Secret(r) => r.name.len() + r.key.len(),
        EnvSource::ConfigMap(r) | EnvSource::UserCredential(r) => r.name.len() + r.key.len(),
    };
    e.name.len() + e.origin.as_ref().map_or(0, String::len) + source
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

//! Containment of one evaluation: memory, instructions (fuel), wall clock (epochs),
//! input and output size. An overrun is a `Failure` with a stable code, and the
//! caller rejects the submission: the plugin fails closed.

use std::time::Duration;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Largest workload or policy document handed to the plugin.
    pub input_bytes: usize,
    /// Largest decision accepted back (sum of its strings).
    pub output_bytes: usize,
    /// Wall-clock deadline per call (epoch interruption); `None` turns it off.
    pub deadline: Option<Duration>,
    /// Instruction budget per call (fuel); `None` turns it off.
    pub fuel: Option<u64>,
}

/// The default instruction budget. A typical evaluation (2 KB) uses ~0.2 M units; the
/// largest document the input cap admits (4 MiB, ~120k env items) ~0.5 G: twice that
/// lets any admissible document be evaluated, and still stops a runaway plugin in
/// about a second.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

impl Default for Limits {
    /// Safe defaults: a typical evaluation uses well under 1 MiB of heap and well
    /// under a millisecond.
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            input_bytes: 4 << 20,
            output_bytes: 4 << 20,
            deadline: Some(Duration::from_secs(2)),
            fuel: Some(DEFAULT_FUEL),
        }
    }
}

impl Limits {
    /// `fuel 1000000000, deadline 2000 ms, memory 64 MiB`, as reports print it.
    pub fn describe(&self) -> String {
        let fuel = self
            .fuel
            .map_or("no fuel".to_string(), |f| format!("fuel {f}"));
        let deadline = self.deadline.map_or("no deadline".to_string(), |d| {
            format!("deadline {} ms", d.as_millis())
        });
        format!("{fuel}, {deadline}, memory {} MiB", self.memory_bytes >> 20)
    }

    /// No deadline and no fuel (memory and size caps stay): for benchmarks.
    pub fn uncontained() -> Self {
        Limits {
            deadline: None,
            fuel: None,
            ..Limits::default()
        }
    }
}

/// Why a call into the plugin did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `plugin-timeout`, `plugin-budget`, `plugin-memory`, `plugin-output`,
    /// `plugin-input`, `plugin-trap`.
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Failure {}

/// `StoreLimits` that also remembers whether a memory limit was hit, so the trap
/// that follows is reported as a memory overrun.
pub struct Limiter {
    inner: StoreLimits,
    pub memory_exceeded: bool,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(8)
                .trap_on_grow_failure(true)
                .build(),
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let result = self.inner.memory_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.memory_exceeded = true;
        }
        result
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_exceeded = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Names what went wrong in a failed call.
pub fn classify(
    error: &wasmtime::Error,
    memory_exceeded: bool,
    limits: &Limits,
    doing: &str,
) -> Failure {
    if memory_exceeded {
        return Failure {
            code: "plugin-memory",
            message: format!(
                "the plugin exceeded its memory limit of {} bytes while {doing}",
                limits.memory_bytes
            ),
        };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => Failure {
            code: "plugin-budget",
            message: format!(
                "the plugin used up its instruction budget of {} fuel units while {doing}",
                limits.fuel.unwrap_or_default()
            ),
        },
        Some(wasmtime::Trap::Interrupt) => Failure {
            code: "plugin-timeout",
            message: format!(
                "the plugin did not finish within {:?} while {doing}",
                limits.deadline.unwrap_or_default()
            ),
        },
        Some(trap) => Failure {
            code: "plugin-trap",
            message: format!("the plugin trapped ({trap}) while {doing}"),
        },
        None => Failure {
            code: "plugin-trap",
            message: format!("the plugin failed while {doing}: {error:#}"),
        },
    }
}

//! The secrets policy plugin: pure logic over plain data, compiled natively for
//! tests and to a capability-free WebAssembly component for gateways.

pub mod by_name;
#[cfg(any(test, feature = "cases"))]
pub mod cases;
pub mod credentials;
pub mod decision;
pub mod defaults;
pub mod evaluate;
pub mod expansion;
pub mod glob;
pub mod kubelet;
pub mod listed;
pub mod names;
pub mod patch;
pub mod policy;
pub mod references;
pub mod removal;
pub mod request;
pub mod secret_ref;
pub mod selector;
pub mod shown;
pub mod workload;

#[cfg(target_arch = "wasm32")]
mod arena;
#[cfg(target_arch = "wasm32")]
mod export;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: arena::Arena = arena::Arena::new();

pub use decision::{Decision, Diagnostic, InputError, WorkloadId};
pub use request::{PolicyDocument, ProjectInfo, SecretMetadata, Submission};

/// Checks policy documents when they are loaded.
pub fn check_policies(policies: &[PolicyDocument], projects: &[ProjectInfo]) -> Vec<Diagnostic> {
    policy::check(policies, projects)
}

/// Recognises a workload document (its form, name, namespace and project).
pub fn identify(workload: &str) -> Result<WorkloadId, InputError> {
    workload::parse(workload).map(|w| w.id)
}

/// Decides on one submission.
pub fn evaluate(submission: &Submission) -> Result<Decision, InputError> {
    evaluate::evaluate(submission)
}

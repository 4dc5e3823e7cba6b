//! A failure stays in its scope. In a live cluster anyone who may write a policy in
//! their project's namespace can write one the plugin refuses, and an admin can
//! label two namespaces for one project: such an object must stop only what it
//! governs. A project namespace's bad policy or ambiguous tenancy rejects that
//! namespace's workloads (fail closed: a tenant must not escape the cluster's rules
//! by breaking its own policy); a bad policy of `runai` (an admin's) rejects every
//! workload, loudly. Everyone else is decided as usual.

use std::collections::BTreeMap;

/// Why workloads in a scope are rejected without being evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// `policy-invalid`, `policy-conflict` or `namespace-conflict`.
    pub code: String,
    /// The object at fault as the tenant of the scope may see it
    /// (`SecretPolicy runai-team-a/strict`, `Namespace runai-team-a`).
    pub object: String,
    /// What is wrong, in words the tenant of the scope may read (it names nothing
    /// outside the scope).
    pub message: String,
    /// The whole story for the admin (logs, `/readyz` behind a client certificate):
    /// it may name other namespaces and projects.
    pub detail: String,
}

/// What a cluster view leaves undecided, by scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine {
    /// Every namespace's workloads: a bad policy of `runai` or of a `--policy` file.
    pub everywhere: Vec<Blocked>,
    /// One namespace's workloads.
    pub namespaces: BTreeMap<String, Vec<Blocked>>,
}

impl Quarantine {
    pub fn is_empty(&self) -> bool {
        self.everywhere.is_empty() && self.namespaces.is_empty()
    }

    /// Why a workload of `namespace` cannot be decided, if it cannot.
    pub fn blocking(&self, namespace: &str) -> Vec<&Blocked> {
        self.everywhere
            .iter()
            .chain(self.namespaces.get(namespace).into_iter().flatten())
            .collect()
    }

    pub fn block(&mut self, namespace: &str, blocked: Blocked) {
        if namespace == super::SYSTEM_NAMESPACE {
            self.everywhere.push(blocked);
        } else {
            self.namespaces
                .entry(namespace.to_string())
                .or_default()
                .push(blocked);
        }
    }

    /// Everything blocked, for the admin's log and `/readyz` detail.
    pub fn details(&self) -> Vec<String> {
        let scoped = self.namespaces.iter().flat_map(|(ns, blocked)| {
            blocked.iter().map(move |b| {
                format!(
                    "namespace {}: {}",
                    guest::shown::shown(ns),
                    guest::shown::shown(&b.detail)
                )
            })
        });
        self.everywhere
            .iter()
            .map(|b| format!("every namespace: {}", guest::shown::shown(&b.detail)))
            .chain(scoped)
            .collect()
    }

    /// Counts without names (`/readyz` for anyone, metrics).
    pub fn counts(&self) -> (usize, usize) {
        (self.everywhere.len(), self.namespaces.len())
    }
}

//! Policies checked by scope. The plugin checks a set of policies as a whole (each
//! parses; no two claim one place), and a live cluster's policies are written by many
//! hands: one call for all of them would let one tenant's mistake, or its sheer
//! volume against the plugin's memory cap, refuse everyone's. So each namespace's
//! policies are checked on their own (every check across objects is within one
//! namespace: one V1 policy of a kind per namespace, one SecretPolicy of a name; the
//! V2 policies of the `--policy` files live with `runai`), and a namespace whose set
//! the plugin refuses is quarantined alone; `runai`'s refuse every namespace. A
//! namespace whose policies have not changed is not checked again.

use crate::cluster::quarantine::Blocked;
use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::plugin::{Plugin, PolicyDocument, ProjectInfo};
use std::collections::BTreeMap;

/// The most policy text one namespace may hold is the plugin's input cap for one
/// document (`--input` limits, 4 MiB by default): every evaluation in the namespace
/// reads all of it (with `runai`'s), and must fit the plugin's memory with the
/// workload. Past it the namespace is quarantined without asking the plugin
/// (measured: 18 MiB of valid policies passed their check within 64 MiB and then
/// made every evaluation `plugin-memory`, which a failure policy of `ignore` would
/// have admitted unevaluated).
fn max_namespace_policy_bytes(plugin: &Plugin) -> usize {
    plugin.limits().input_bytes
}

/// What one namespace's policies were checked as, and the answer.
struct Checked {
    docs: Vec<(String, String)>,
    /// The project infos, for `runai` only (V2 scopes name projects).
    projects: Vec<(String, Option<String>, Option<String>)>,
    blocked: Vec<Blocked>,
}

/// The answers of earlier checks, by namespace.
#[derive(Default)]
pub struct PolicyChecks {
    checked: BTreeMap<String, Checked>,
    /// Plugin calls made, for tests and logs.
    pub calls: u64,
}

impl PolicyChecks {
    /// Checks the cluster's policies namespace by namespace and quarantines each
    /// namespace whose policies the plugin refuses (or cannot check within its
    /// limits).
    pub fn apply(&mut self, plugin: &Plugin, cluster: &mut Cluster) {
        let mut by_namespace: BTreeMap<&str, Vec<PolicyDocument>> = BTreeMap::new();
        for p in &cluster.policies {
            by_namespace
                .entry(p.namespace.as_str())
                .or_default()
                .push(PolicyDocument {
                    source: p.source.clone(),
                    json: p.json.clone(),
                });
        }
        let infos = cluster.project_infos();
        let mut blocked: Vec<(String, Vec<Blocked>)> = Vec::new();
        for (namespace, docs) in &by_namespace {
            let result = self.check(plugin, namespace, docs, &infos);
            if !result.is_empty() {
                blocked.push((namespace.to_string(), result));
            }
        }
        // Namespaces whose policies are gone are forgotten.
        self.checked
            .retain(|ns, _| by_namespace.contains_key(ns.as_str()));
        for (namespace, list) in blocked {
            for b in list {
                cluster.quarantine.block(&namespace, b);
            }
        }
    }

    fn check(
        &mut self,
        plugin: &Plugin,
        namespace: &str,
        docs: &[PolicyDocument],
        infos: &[ProjectInfo],
    ) -> Vec<Blocked> {
        let key: Vec<(String, String)> = docs
            .iter()
            .map(|d| (d.source.clone(), d.json.clone()))
            .collect();
        let projects: Vec<_> = if namespace == SYSTEM_NAMESPACE {
            infos
                .iter()
                .map(|p| (p.name.clone(), p.id.clone(), p.department.clone()))
                .collect()
        } else {
            Vec::new()
        };
        if let Some(c) = self.checked.get(namespace)
            && c.docs == key
            && c.projects == projects
        {
            return c.blocked.clone();
        }
        let total: usize = docs.iter().map(|d| d.json.len()).sum();
        let max = max_namespace_policy_bytes(plugin);
        let blocked = if total > max && namespace != SYSTEM_NAMESPACE {
            let what = format!(
                "the policies of namespace {} hold {} of text: at most {} (every evaluation there reads them all)",
                guest::shown::shown(namespace),
                crate::input::size_text(total as u64),
                crate::input::size_text(max as u64)
            );
            vec![Blocked {
                code: "policy-invalid".to_string(),
                object: format!("policies of namespace {}", guest::shown::shown(namespace)),
                message: format!(
                    "{what}; its workloads are rejected until they are made smaller or fewer"
                ),
                detail: what,
            }]
        } else {
            self.check_with_plugin(plugin, namespace, docs, infos)
        };
        self.checked.insert(
            namespace.to_string(),
            Checked {
                docs: key,
                projects,
                blocked: blocked.clone(),
            },
        );
        blocked
    }

    fn check_with_plugin(
        &mut self,
        plugin: &Plugin,
        namespace: &str,
        docs: &[PolicyDocument],
        infos: &[ProjectInfo],
    ) -> Vec<Blocked> {
        self.calls += 1;
        match plugin.check_policies(docs, infos) {
            Ok(diagnostics) => diagnostics
                .into_iter()
                .map(|d| {
                    let field = if d.field.is_empty() {
                        String::new()
                    } else {
                        format!(" at `{}`", d.field)
                    };
                    let what = format!("{}{field}: {} ({})", d.source, d.message, d.code);
                    Blocked {
                        code: d.code.clone(),
                        object: d.source.clone(),
                        message: format!(
                            "{what}; the workloads it governs are rejected until it is fixed or deleted"
                        ),
                        detail: what,
                    }
                })
                .collect(),
            Err(e) => {
                let what = format!(
                    "the policies of namespace {} cannot be checked: {}",
                    guest::shown::shown(namespace),
                    crate::text::shown_max(&format!("{e:#}"), 400)
                );
                vec![Blocked {
                    code: "policy-invalid".to_string(),
                    object: format!("policies of namespace {}", guest::shown::shown(namespace)),
                    message: format!(
                        "{what}; its workloads are rejected until they are made smaller or fewer"
                    ),
                    detail: what,
                }]
            }
        }
    }
}

//! The secret removal guard in the simulator (SPEC §11): before a change that takes a
//! secret or some of its keys away from a namespace (`secret delete`, `adm remove
//! secret --cluster-wide`, an `apply` of a Secret with fewer keys or without its
//! cluster-wide label), the recorded workloads that reference what goes are handed to
//! the plugin's `check-removal`, which says who breaks and whether the policies deny.
//!
//! What goes is read from the namespaces' catalogs before and after the change, so
//! the simulator's derived copies count as they are: a cluster-wide source's copies go
//! from every project namespace, and a project's own secret deleted from under a
//! cluster-wide one of the same name leaves the copy in its place.

use super::offline::Workloads;
use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::manifest::Document;
use crate::plugin::{Plugin, Removal, SecretUser};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// One question for `check-removal`: the same keys going from some namespaces.
#[derive(Debug, Clone)]
pub struct Question {
    pub removal: Removal,
    pub users: Vec<SecretUser>,
}

/// What the guard says of a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// False when a policy in scope says `secretRemoval: deny` and something breaks.
    pub allowed: bool,
    /// The plugin's messages (what breaks and when); empty when nothing breaks or the
    /// policies allow it silently.
    pub messages: Vec<String>,
    /// `Kind namespace/name` of every workload that breaks.
    pub breaks: Vec<String>,
}

/// The keys of `secret` visible in `namespace`, if it is visible there.
fn keys(cluster: &Cluster, namespace: &str, secret: &str) -> Option<BTreeSet<String>> {
    cluster
        .catalog(namespace)
        .into_iter()
        .find(|s| s.name == secret)
        .map(|s| s.keys.into_iter().collect())
}

/// The questions a change from `before` to `after` raises about `secret`, changed in
/// `namespace` by `action` (the verb of the message). Only namespaces where recorded
/// workloads reference it are looked at; no question when nothing of it goes.
pub fn questions(
    before: &Cluster,
    after: &Cluster,
    workloads: &Workloads,
    namespace: &str,
    secret: &str,
    action: &str,
) -> Vec<Question> {
    let index = workloads.index();
    let namespaces: BTreeSet<String> = workloads
        .iter()
        .filter(|w| w.record.references.iter().any(|r| r.secret == secret))
        .map(|w| w.record.key.namespace.to_string())
        .collect();
    // The keys that go (empty: the whole secret), by namespace.
    let mut by_gone: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for ns in namespaces {
        let Some(had) = keys(before, &ns, secret) else {
            continue;
        };
        let gone = match keys(after, &ns, secret) {
            None => Vec::new(),
            Some(has) => {
                let gone: Vec<String> = had.difference(&has).cloned().collect();
                if gone.is_empty() {
                    continue;
                }
                gone
            }
        };
        by_gone.entry(gone).or_default().push(ns);
    }
    by_gone
        .into_iter()
        .filter_map(|(keys, namespaces)| {
            let users = index.secret_users(namespaces.iter().map(String::as_str), secret);
            (!users.is_empty()).then(|| Question {
                removal: Removal {
                    namespace: namespace.to_string(),
                    secret: secret.to_string(),
                    keys,
                    action: action.to_string(),
                },
                users,
            })
        })
        .collect()
}

/// Asks the plugin, under the policies in scope of the namespace the change is made
/// in (its own and `runai`'s, as the gateway asks). A change in `runai` also takes the
/// copies from the project namespaces whose workloads break, which in a cluster are
/// deletions reviewed under each project's policies: each is asked too, so a project's
/// `secretRemoval: deny` holds against a cluster-wide removal.
pub fn answer(plugin: &Plugin, before: &Cluster, questions: &[Question]) -> Result<Answer> {
    let mut answer = Answer {
        allowed: true,
        ..Answer::default()
    };
    for q in questions {
        let d = ask(plugin, before, &q.removal, &q.users)?;
        answer.allowed &= d.allowed;
        if !d.message.is_empty() {
            answer.messages.push(d.message);
        }
        // The plugin names a workload `Kind name` within its namespace.
        answer
            .breaks
            .extend(d.breaks.into_iter().map(|(ns, w)| match w.split_once(' ') {
                Some((kind, name)) => format!("{kind} {ns}/{name}"),
                None => format!("{ns}/{w}"),
            }));
        if q.removal.namespace != SYSTEM_NAMESPACE || !d.allowed {
            continue;
        }
        let affected: BTreeSet<&str> = q.users.iter().map(|u| u.namespace.as_str()).collect();
        for ns in affected {
            let copy = Removal {
                namespace: ns.to_string(),
                ..q.removal.clone()
            };
            let users: Vec<SecretUser> = q
                .users
                .iter()
                .filter(|u| u.namespace == ns)
                .cloned()
                .collect();
            let d = ask(plugin, before, &copy, &users)?;
            // Its warning repeats the one above; a refusal is the project's own.
            if !d.allowed {
                answer.allowed = false;
                answer.messages.push(d.message);
            }
        }
    }
    Ok(answer)
}

fn ask(
    plugin: &Plugin,
    before: &Cluster,
    removal: &Removal,
    users: &[SecretUser],
) -> Result<crate::plugin::RemovalDecision> {
    let policies = before.policies_for(&removal.namespace);
    plugin
        .check_removal(removal, &policies, users)?
        .map_err(|e| {
            anyhow::anyhow!(
                "the policies in scope of namespace {} cannot be read: {}",
                crate::text::shown(&removal.namespace),
                e.message
            )
        })
}

/// A change that may take something away: the namespace and secret it changes, and
/// the verb the message says it with (`deleting`, `removing the cluster-wide label of`).
pub type Touched = (String, String, &'static str);

/// What the guard says of a change from `before` to `after` of the `touched` secrets;
/// `None` when no recorded workload uses what goes (the plugin is not asked).
pub fn check(
    plugin: &Plugin,
    before: &Cluster,
    after: &Cluster,
    workloads: &Workloads,
    touched: &[Touched],
) -> Result<Option<Answer>> {
    let questions: Vec<Question> = touched
        .iter()
        .flat_map(|(ns, secret, action)| questions(before, after, workloads, ns, secret, action))
        .collect();
    if questions.is_empty() {
        return Ok(None);
    }
    answer(plugin, before, &questions).map(Some)
}

/// The Secrets an `apply` of `docs` changes: applied again with fewer keys, or (a
/// source in `runai`) without its cluster-wide label, they take something away.
pub fn touched_by_apply(before: &Cluster, after: &Cluster, docs: &[Document]) -> Vec<Touched> {
    docs.iter()
        .filter(|d| d.kind() == "Secret")
        .filter_map(|d| {
            let ns = d.str_at("/metadata/namespace")?.to_string();
            let name = d.str_at("/metadata/name")?.to_string();
            let unlabelled = ns == SYSTEM_NAMESPACE
                && before.is_cluster_wide_source(&name)
                && !after.is_cluster_wide_source(&name);
            let action = if unlabelled {
                "removing the cluster-wide label of"
            } else {
                "removing"
            };
            Some((ns, name, action))
        })
        .collect()
}

/// Whether any recorded workload references `secret` by name: else nothing can
/// break and the plugin need not even be loaded.
pub fn anyone_uses(workloads: &Workloads, touched: &[Touched]) -> bool {
    touched.iter().any(|(_, secret, _)| {
        workloads
            .iter()
            .any(|w| w.record.references.iter().any(|r| r.secret == *secret))
    })
}

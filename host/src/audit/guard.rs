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
use crate::cluster::Cluster;
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
    /// `namespace/Kind name` of every workload that breaks.
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
        .map(|w| w.record.key.namespace.clone())
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
/// in (its own and `runai`'s, as the gateway asks).
pub fn answer(plugin: &Plugin, before: &Cluster, questions: &[Question]) -> Result<Answer> {
    let mut answer = Answer {
        allowed: true,
        ..Answer::default()
    };
    for q in questions {
        let policies = before.policies_for(&q.removal.namespace);
        let d = plugin
            .check_removal(&q.removal, &policies, &q.users)?
            .map_err(|e| {
                anyhow::anyhow!(
                    "the policies in scope of namespace {} cannot be read: {}",
                    crate::text::shown(&q.removal.namespace),
                    e.message
                )
            })?;
        answer.allowed &= d.allowed;
        if !d.message.is_empty() {
            answer.messages.push(d.message);
        }
        answer
            .breaks
            .extend(d.breaks.into_iter().map(|(ns, w)| format!("{ns}/{w}")));
    }
    Ok(answer)
}

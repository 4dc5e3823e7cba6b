//! The secret removal guard (SPEC §11): a Secret DELETE, an UPDATE that drops keys, or
//! an UPDATE that takes the cluster-wide label off a secret of `runai` (its copies go
//! from every project namespace), while workloads reference what goes. The audit's
//! index says who references it; the plugin's `check-removal` says who breaks and what
//! the policies in scope want (`secretRemoval: deny|warn|allow`, warn by default): the
//! answer names the workloads and when they break, within the tenant's namespace (a
//! cluster-wide removal, an admin's, counts per namespace). Optional references do not
//! count. A Secret's values arrive in the review and are never read: key names only.
//!
//! `DELETE` of a collection (`kubectl delete secrets --all`) reaches the webhook as one
//! review per Secret: each is decided alone, and the API server stops at the first
//! refused.

use super::Gateway;
use super::objects::Checked;
use crate::cluster::secret::CLUSTER_WIDE_LABEL;
use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::plugin::{PolicyDocument, Removal};
use kube_core::DynamicObject;
use kube_core::admission::{AdmissionRequest, Operation};
use serde_json::Value;

/// What a Secret review takes away.
#[derive(Debug, Clone, Default)]
pub struct Taken {
    pub secret: String,
    /// The keys that go; empty when the whole secret goes.
    pub keys: Vec<String>,
    /// The copies in every project namespace go too (a cluster-wide source of `runai`
    /// deleted or unlabelled).
    pub cluster_wide: bool,
    pub action: &'static str,
}

fn keys(object: &Value) -> Vec<String> {
    ["data", "stringData"]
        .iter()
        .filter_map(|f| object.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect()
}

fn cluster_wide(object: &Value) -> bool {
    object["metadata"]["labels"][CLUSTER_WIDE_LABEL].as_str() == Some("true")
}

/// What a Secret DELETE or UPDATE takes away, if anything.
pub fn taken(request: &AdmissionRequest<DynamicObject>) -> Option<Taken> {
    let namespace = request.namespace.as_deref().unwrap_or("");
    let value = |o: &Option<DynamicObject>| o.as_ref().and_then(|o| serde_json::to_value(o).ok());
    let old = value(&request.old_object)?;
    let in_runai = namespace == SYSTEM_NAMESPACE;
    match request.operation {
        Operation::Delete => Some(Taken {
            secret: request.name.clone(),
            keys: Vec::new(),
            cluster_wide: in_runai && cluster_wide(&old),
            action: "deleting",
        }),
        Operation::Update => {
            let new = value(&request.object)?;
            if in_runai && cluster_wide(&old) && !cluster_wide(&new) {
                return Some(Taken {
                    secret: request.name.clone(),
                    keys: Vec::new(),
                    cluster_wide: true,
                    action: "removing the cluster-wide label of",
                });
            }
            // A set: a Secret may hold tens of thousands of keys, and this runs before
            // the review reaches a worker.
            let now: std::collections::HashSet<String> = keys(&new).into_iter().collect();
            let gone: Vec<String> = keys(&old)
                .into_iter()
                .filter(|k| !now.contains(k))
                .collect();
            (!gone.is_empty()).then(|| Taken {
                secret: request.name.clone(),
                keys: gone,
                cluster_wide: in_runai && cluster_wide(&new),
                action: "removing",
            })
        }
        _ => None,
    }
}

/// The decision on taking it away, from the index and the plugin.
pub fn check(gw: &Gateway, cluster: &Cluster, namespace: Option<String>, taken: &Taken) -> Checked {
    let Some(audit) = &gw.audit else {
        return Checked::Admitted;
    };
    let namespace = namespace.unwrap_or_default();
    // A cluster-wide source's copies live in every project namespace.
    let namespaces: Vec<String> = if taken.cluster_wide {
        cluster
            .project_namespaces()
            .into_keys()
            .chain([SYSTEM_NAMESPACE.to_string()])
            .collect()
    } else {
        vec![namespace.clone()]
    };
    let users =
        audit.with_index(|i| i.secret_users(namespaces.iter().map(String::as_str), &taken.secret));
    if users.is_empty() {
        return Checked::Admitted;
    }
    let policies: Vec<PolicyDocument> = cluster.policies_for(&namespace);
    let removal = Removal {
        namespace,
        secret: taken.secret.clone(),
        keys: taken.keys.clone(),
        action: taken.action.to_string(),
    };
    match gw.plugin.check_removal(&removal, &policies, &users) {
        Ok(Ok(d)) if !d.allowed => Checked::Refused {
            codes: vec!["secret-in-use".to_string()],
            message: d.message,
        },
        Ok(Ok(d)) if d.message.is_empty() => Checked::Admitted,
        Ok(Ok(d)) => Checked::Warned(lines(&d.message)),
        Ok(Err(e)) => Checked::Failed {
            reason: "policy-invalid",
            message: format!("the policies in scope cannot be read: {}", e.message),
        },
        Err(e) => match e.downcast::<crate::plugin::Failure>() {
            Ok(f) => Checked::Failed {
                reason: f.code,
                message: f.message,
            },
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the removal guard failed in the gateway");
                Checked::Failed {
                    reason: super::evaluate::GATEWAY_ERROR,
                    message: "the gateway failed while checking (an internal error; see its log)"
                        .to_string(),
                }
            }
        },
    }
}

/// A message as warnings the API server keeps whole: lines of at most 120 characters,
/// cut between words.
pub fn lines(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in message.split(' ') {
        if !line.is_empty()
            && line.chars().count() + 1 + word.chars().count() > super::admission::WARNING_CHARS
        {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

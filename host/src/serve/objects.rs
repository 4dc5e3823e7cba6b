//! `/validate` for the objects the view reads, so that a bad one is refused at its
//! own admission instead of being quarantined later: a SecretPolicy or a Run:ai V1
//! policy is checked by the plugin together with the other policies of its namespace
//! (one V1 policy of a kind per namespace; `kubectl apply` fails with the plugin's
//! message), and a Namespace whose `runai/queue` label would give a project a second
//! namespace, or a namespace a second project, is refused naming the conflict.
//! CREATE and UPDATE only; the webhook for these kinds fails open (`deploy/`): an
//! object that gets in while the gateway is down is quarantined, never trusted.

use super::Gateway;
use super::evaluate::{GATEWAY_ERROR, OVERLOADED, VIEW_NOT_SYNCED, VIEW_STALE};
use super::view::Freshness;
use super::workers::PoolError;
use crate::cluster::{Cluster, Namespace, QUEUE_LABEL, SYSTEM_NAMESPACE};
use crate::plugin::PolicyDocument;
use guest::shown::shown;
use kube_core::gvk::GroupVersionKind;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An object kind the view reads and `/validate` checks at its own admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    Policy,
    Namespace,
    /// UPDATE and DELETE: a secret, a key or a cluster-wide label taken from
    /// workloads that use it (the removal guard).
    Secret,
}

pub fn watched_kind(gvk: &GroupVersionKind) -> Option<Watched> {
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        (crate::live::SECRET_POLICY_GROUP, crate::live::SECRET_POLICY_KIND) => {
            Some(Watched::Policy)
        }
        (crate::live::RUNAI_GROUP, kind)
            if crate::live::RUNAI_KINDS.contains(&kind) && kind.ends_with("Policy") =>
        {
            Some(Watched::Policy)
        }
        ("", "Namespace") => Some(Watched::Namespace),
        ("", "Secret") => Some(Watched::Secret),
        _ => None,
    }
}

/// The check's outcome: nothing against it, or the refusal (codes and message).
pub enum Checked {
    Admitted,
    /// Admitted, with these warnings (what breaks when a secret goes).
    Warned(Vec<String>),
    Refused {
        codes: Vec<String>,
        message: String,
    },
    /// No answer (the plugin failed, the gateway was overloaded, the view cannot
    /// decide): the failure policy decides.
    Failed {
        reason: &'static str,
        message: String,
    },
}

/// Checks one object of a watched kind in `namespace` (policies) against the
/// current view.
pub async fn check(
    gw: &Arc<Gateway>,
    watched: Watched,
    namespace: Option<String>,
    object: Value,
    removal: super::removal::Taken,
) -> Checked {
    let lane = namespace.clone().unwrap_or_default();
    let worker_gw = gw.clone();
    let ran = gw
        .pool
        .run(&lane, move || {
            let view = worker_gw.views.current();
            // The Secrets' webhook fails open (a gateway that cannot decide never blocks
            // deleting one): a view it cannot trust says so and admits.
            let secret = matches!(watched, Watched::Secret);
            match worker_gw.views.freshness(&view) {
                Freshness::Current(_) => {}
                Freshness::NotSynced | Freshness::Stale(_) if secret => {
                    return Checked::Warned(vec![
                        "the secrets gateway's view of the cluster is not current: the \
                         workloads that use this secret were not checked"
                            .to_string(),
                    ]);
                }
                Freshness::NotSynced => {
                    return Checked::Failed {
                        reason: VIEW_NOT_SYNCED,
                        message: "the gateway's view of the cluster has not been synced yet"
                            .to_string(),
                    };
                }
                Freshness::Stale(_) => {
                    return Checked::Failed {
                        reason: VIEW_STALE,
                        message: "the gateway's view of the cluster is stale".to_string(),
                    };
                }
            }
            match watched {
                Watched::Policy => policy(&worker_gw, &view.cluster, namespace, object),
                Watched::Namespace => namespace_labels(&view.cluster, &object),
                Watched::Secret => {
                    super::removal::check(&worker_gw, &view.cluster, namespace, &removal)
                }
            }
        })
        .await;
    match ran {
        Ok(checked) => checked,
        Err(PoolError::Overloaded) => Checked::Failed {
            reason: OVERLOADED,
            message: "the gateway is overloaded".to_string(),
        },
        Err(PoolError::Panicked) => Checked::Failed {
            reason: GATEWAY_ERROR,
            message: "the gateway failed while checking (an internal error; see its log)"
                .to_string(),
        },
    }
}

/// The policy with the others of its namespace, as the live view will check them.
fn policy(
    gw: &Gateway,
    cluster: &Cluster,
    namespace: Option<String>,
    mut object: Value,
) -> Checked {
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    // The API server fills in the request's namespace; the plugin reads the object's.
    let namespace = namespace.unwrap_or_else(|| SYSTEM_NAMESPACE.to_string());
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), namespace.clone().into());
    }
    let source = format!("{kind} {}/{}", shown(&namespace), shown(&name));
    let mut docs: Vec<PolicyDocument> = cluster
        .policies
        .iter()
        .filter(|p| p.namespace == namespace && !(p.kind == kind && p.name == name))
        .map(|p| PolicyDocument {
            source: p.source.clone(),
            json: p.json.clone(),
        })
        .collect();
    docs.push(PolicyDocument {
        source: source.clone(),
        json: object.to_string(),
    });
    match gw.plugin.check_policies(&docs, &cluster.project_infos()) {
        // Only what concerns this object: another policy's old problem is not its own.
        Ok(diagnostics) => {
            let mine: Vec<_> = diagnostics
                .into_iter()
                .filter(|d| d.source == source)
                .collect();
            if mine.is_empty() {
                return Checked::Admitted;
            }
            let lines: Vec<String> = mine
                .iter()
                .map(|d| {
                    let at = if d.field.is_empty() {
                        String::new()
                    } else {
                        format!(" at `{}`", d.field)
                    };
                    format!("[{}]{at}: {}", d.code, d.message)
                })
                .collect();
            Checked::Refused {
                codes: mine.iter().map(|d| d.code.clone()).collect(),
                message: format!(
                    "the secrets policy gateway refuses {source}: {}",
                    lines.join("; ")
                ),
            }
        }
        Err(e) => match e.downcast::<crate::plugin::Failure>() {
            Ok(failure) => Checked::Failed {
                reason: failure.code,
                message: failure.message,
            },
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "checking a policy failed in the gateway");
                Checked::Failed {
                    reason: GATEWAY_ERROR,
                    message: "the gateway failed while checking (an internal error; see its log)"
                        .to_string(),
                }
            }
        },
    }
}

/// A Namespace whose labels would make a tenancy conflict that was not there before.
/// The message names the conflict: namespaces are the cluster admin's.
fn namespace_labels(cluster: &Cluster, object: &Value) -> Checked {
    let Some(name) = object["metadata"]["name"].as_str() else {
        return Checked::Admitted;
    };
    let labels: BTreeMap<String, String> = object["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if !labels.contains_key(QUEUE_LABEL) {
        return Checked::Admitted;
    }
    let mut probe = Cluster {
        namespaces: cluster.namespaces.clone(),
        projects: cluster.projects.clone(),
        ..Cluster::default()
    };
    let before: Vec<String> = probe
        .tenancy_conflicts(None)
        .into_iter()
        .map(|c| c.message)
        .collect();
    probe.namespaces.insert(
        name.to_string(),
        Namespace {
            name: name.to_string(),
            labels,
        },
    );
    let new: Vec<String> = probe
        .tenancy_conflicts(None)
        .into_iter()
        .filter(|c| c.namespaces.iter().any(|n| n == name) && !before.contains(&c.message))
        .map(|c| c.message)
        .collect();
    if new.is_empty() {
        return Checked::Admitted;
    }
    Checked::Refused {
        codes: vec![crate::cluster::NAMESPACE_CONFLICT.to_string()],
        message: format!(
            "the secrets policy gateway refuses the `{QUEUE_LABEL}` label of namespace {}: [{}]: {}",
            shown(name),
            crate::cluster::NAMESPACE_CONFLICT,
            new.join("; ")
        ),
    }
}

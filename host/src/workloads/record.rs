//! One workload as the index keeps it, built from the plugin's decision.

use super::Name;
use crate::plugin::{Decision, SecretReference, SecretUseKind};
use serde::{Deserialize, Serialize};

/// Who a workload is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    // Namespace first: the index keeps a namespace's workloads together.
    pub namespace: Name,
    pub kind: Name,
    pub name: Name,
}

impl Key {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Key {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// `Kind name`, escaped and bounded for messages.
    pub fn shown(&self) -> String {
        format!("{} {}", self.kind, guest::shown::shown(&self.name))
    }
}

/// How a workload uses a secret (the plugin's `secret-use-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Use {
    Env,
    EnvFrom,
    Volume,
    ImagePull,
}

/// One reference to a secret of the workload's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub secret: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Name>,
    #[serde(rename = "use")]
    pub kind: Use,
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub container: Name,
    pub field: Name,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl Reference {
    pub fn from_wit(r: &SecretReference) -> Self {
        Reference {
            secret: r.secret.as_str().into(),
            key: r.key.as_deref().map(Name::from),
            kind: match r.kind {
                SecretUseKind::Env => Use::Env,
                SecretUseKind::EnvFrom => Use::EnvFrom,
                SecretUseKind::Volume => Use::Volume,
                SecretUseKind::ImagePull => Use::ImagePull,
            },
            container: r.container.as_str().into(),
            field: r.field.as_str().into(),
            optional: r.optional,
        }
    }

    pub fn to_wit(&self) -> SecretReference {
        SecretReference {
            secret: self.secret.to_string(),
            key: self.key.as_ref().map(|k| k.to_string()),
            kind: match self.kind {
                Use::Env => SecretUseKind::Env,
                Use::EnvFrom => SecretUseKind::EnvFrom,
                Use::Volume => SecretUseKind::Volume,
                Use::ImagePull => SecretUseKind::ImagePull,
            },
            container: self.container.to_string(),
            field: self.field.to_string(),
            optional: self.optional,
        }
    }
}

/// What a finding comes to in a report (PolicyReport `result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// A violation, a finding of a policy in `audit` mode, or a container that
    /// would not start.
    Fail,
    /// A warning (a policy in `warn` mode, a built-in warning).
    Warn,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
        }
    }
}

/// The code of a finding that a container would not start (the start-up prediction).
pub const WILL_NOT_START: &str = "will-not-start";

/// One finding of the last decision. Messages are the plugin's (never a value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    pub message: String,
    /// The policy whose rule it is; empty for the built-in checks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Key,
    /// A Pod's controller, when it has one: reported on the owner, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Key>,
    pub references: Vec<Reference>,
    pub findings: Vec<Finding>,
}

impl Record {
    /// The record of a workload the plugin did not decide (trapped, out of time,
    /// fuel or memory): one `fail` finding that says so, as admission fails closed.
    pub fn undecided(key: Key, owner: Option<Key>, code: &str, message: &str) -> Self {
        Record {
            key,
            owner,
            references: Vec::new(),
            findings: vec![Finding {
                code: code.to_string(),
                outcome: Outcome::Fail,
                field: String::new(),
                message: format!("the plugin did not decide: {message}"),
                policy: String::new(),
            }],
        }
    }

    /// The record of a workload from the plugin's decision about it (asked with
    /// references).
    pub fn from_decision(key: Key, owner: Option<Key>, decision: &Decision) -> Self {
        let mut findings: Vec<Finding> = decision
            .violations
            .iter()
            .map(|v| Finding {
                code: v.code.clone(),
                outcome: Outcome::Fail,
                field: v.field.clone(),
                message: v.message.clone(),
                policy: v.policy.clone(),
            })
            .collect();
        findings.extend(decision.warnings.iter().map(|w| Finding {
            code: w.code.clone(),
            outcome: if w.audit {
                Outcome::Fail
            } else {
                Outcome::Warn
            },
            field: w.field.clone(),
            message: w.message.clone(),
            policy: w.policy.clone(),
        }));
        findings.extend(
            decision
                .startup
                .containers
                .iter()
                .filter(|c| !c.reason.is_empty())
                .map(|c| Finding {
                    code: WILL_NOT_START.to_string(),
                    outcome: Outcome::Fail,
                    field: String::new(),
                    message: format!(
                        "container {} would not start again: {}: {}",
                        guest::shown::shown(&c.name),
                        c.reason,
                        c.message
                    ),
                    policy: String::new(),
                }),
        );
        Record {
            key,
            owner,
            references: decision
                .references
                .iter()
                .map(Reference::from_wit)
                .collect(),
            findings,
        }
    }

    /// The secrets it references, each once.
    pub fn secrets(&self) -> Vec<&Name> {
        let mut out: Vec<&Name> = self.references.iter().map(|r| &r.secret).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.outcome == Outcome::Fail)
    }

    /// The bytes the record holds alone: its own struct, its workload's name, its
    /// lists and its findings' strings. The names it shares with other records
    /// (namespace, kind, secrets, keys, containers, fields: interned by the index)
    /// are not counted; the index's maps add a little more per record.
    pub fn heap_bytes(&self) -> usize {
        let findings: usize = self
            .findings
            .iter()
            .map(|f| {
                std::mem::size_of::<Finding>()
                    + f.code.capacity()
                    + f.field.capacity()
                    + f.message.capacity()
                    + f.policy.capacity()
            })
            .sum();
        std::mem::size_of::<Record>()
            + self.key.name.len()
            + self.references.capacity() * std::mem::size_of::<Reference>()
            + findings
    }
}

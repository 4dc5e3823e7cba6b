//! Policies: parsed once, checked when loaded, then applied to submissions.

pub mod secret_policy;

use crate::decision::Diagnostic;
use crate::request::PolicyDocument;
use secret_policy::SecretPolicy;
use serde::Deserialize;

/// The namespace whose policies apply to every project.
pub const SYSTEM_NAMESPACE: &str = "runai";

/// A policy that parsed, with the name violations cite.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    Secret(SecretPolicy),
}

impl Policy {
    pub fn namespace(&self) -> &str {
        match self {
            Policy::Secret(p) => &p.namespace,
        }
    }
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

fn diagnostic(doc: &PolicyDocument, field: &str, code: &str, message: String) -> Diagnostic {
    Diagnostic {
        source: doc.source.clone(),
        field: field.to_string(),
        code: code.to_string(),
        message,
    }
}

/// Parses one policy document; a diagnostic says what is wrong with it.
pub fn parse(doc: &PolicyDocument) -> Result<Policy, Diagnostic> {
    let head: Head = crate::workload::parse_json(&doc.json)
        .map_err(|e| diagnostic(doc, &e.field, "policy-invalid", e.message))?;
    let kind = head.kind.unwrap_or_default();
    let api_version = head.api_version.unwrap_or_default();
    match kind.as_str() {
        secret_policy::KIND => {
            if api_version != secret_policy::API_VERSION {
                return Err(diagnostic(
                    doc,
                    "apiVersion",
                    "policy-invalid",
                    format!(
                        "`{api_version}` for kind SecretPolicy: expected {}",
                        secret_policy::API_VERSION
                    ),
                ));
            }
            secret_policy::parse(&doc.json)
                .map(Policy::Secret)
                .map_err(|e| diagnostic(doc, &e.field, "policy-invalid", e.message))
        }
        "TrainingPolicy" | "InteractivePolicy" | "DistributedPolicy" | "InferencePolicy" => {
            Err(diagnostic(
                doc,
                "kind",
                "policy-unsupported",
                format!("{kind} (Run:ai V1 policy) is not evaluated by this plugin version yet"),
            ))
        }
        "" => Err(diagnostic(
            doc,
            "kind",
            "policy-invalid",
            format!("missing: expected kind {}", secret_policy::KIND),
        )),
        other => Err(diagnostic(
            doc,
            "kind",
            "policy-invalid",
            format!(
                "unsupported policy kind `{other}`: expected {}",
                secret_policy::KIND
            ),
        )),
    }
}

/// Checks policy documents as a set (each parses; no two claim the same identity).
pub fn check(docs: &[PolicyDocument]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut seen: Vec<(String, &PolicyDocument)> = Vec::new();
    for doc in docs {
        match parse(doc) {
            Ok(policy) => {
                let id = policy_id(&policy);
                if let Some((_, first)) = seen.iter().find(|(other, _)| *other == id) {
                    diagnostics.push(diagnostic(
                        doc,
                        "metadata.name",
                        "policy-conflict",
                        format!(
                            "{id} is defined twice: in {} and in {}",
                            first.source, doc.source
                        ),
                    ));
                } else {
                    seen.push((id, doc));
                }
            }
            Err(d) => diagnostics.push(d),
        }
    }
    diagnostics
}

pub fn policy_id(policy: &Policy) -> String {
    match policy {
        Policy::Secret(p) => p.id(),
    }
}

/// The policies that apply in one namespace: its own and those of `runai`.
#[derive(Debug, Default)]
pub struct PolicySet {
    pub secret_policies: Vec<SecretPolicy>,
}

impl PolicySet {
    pub fn load(docs: &[PolicyDocument], namespace: &str) -> Result<Self, Diagnostic> {
        let mut set = PolicySet::default();
        for doc in docs {
            let policy = parse(doc)?;
            let ns = policy.namespace();
            if ns != namespace && ns != SYSTEM_NAMESPACE {
                continue;
            }
            match policy {
                Policy::Secret(p) => set.secret_policies.push(p),
            }
        }
        // Cluster rules first, so reports read from the broadest rule down.
        set.secret_policies
            .sort_by_key(|p| p.namespace != SYSTEM_NAMESPACE);
        Ok(set)
    }
}

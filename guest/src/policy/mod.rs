//! Policies: parsed once, checked when loaded, then applied to submissions.

pub mod env_rules;
pub mod secret_policy;
pub mod v1;
pub mod v2;

use crate::decision::{Diagnostic, InputError};
use crate::request::{PolicyDocument, ProjectInfo};
use crate::workload::Str;
use env_rules::EnvRules;
use secret_policy::SecretPolicy;
use serde::Deserialize;
use serde::de::IgnoredAny;
use v1::V1Policy;
use v2::V2Policy;

/// The namespace whose policies apply to every project.
pub const SYSTEM_NAMESPACE: &str = "runai";

#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    Secret(SecretPolicy),
    V1(V1Policy),
    V2(V2Policy),
}

impl Policy {
    pub fn id(&self) -> String {
        match self {
            Policy::Secret(p) => p.id(),
            Policy::V1(p) => p.id(),
            Policy::V2(p) => p.id(),
        }
    }
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    kind: Option<Str<'a>>,
    #[serde(default)]
    meta: Option<IgnoredAny>,
    #[serde(default)]
    policy: Option<IgnoredAny>,
}

fn diagnostic(source: &str, field: &str, code: &str, message: String) -> Diagnostic {
    Diagnostic {
        source: source.to_string(),
        field: field.to_string(),
        code: code.to_string(),
        message,
    }
}

fn invalid(doc: &PolicyDocument) -> impl Fn(InputError) -> Diagnostic + '_ {
    move |e| diagnostic(&doc.source, &e.field, "policy-invalid", e.message)
}

const EXPECTED_KINDS: &str = "expected SecretPolicy, a V1 policy (TrainingPolicy, InteractivePolicy, \
     DistributedPolicy, InferencePolicy) or a V2 policy ({meta, policy})";

/// Parses one policy document; a diagnostic says what is wrong with it.
pub fn parse(doc: &PolicyDocument) -> Result<Policy, Diagnostic> {
    let head: Head = crate::workload::parse_json(&doc.json).map_err(invalid(doc))?;
    let Some(kind) = head.kind else {
        if head.meta.is_some() && head.policy.is_some() {
            return v2::parse(&doc.json, &doc.source)
                .map(Policy::V2)
                .map_err(invalid(doc));
        }
        return Err(diagnostic(
            &doc.source,
            "kind",
            "policy-invalid",
            format!("missing: {EXPECTED_KINDS}"),
        ));
    };
    let api_version = head.api_version.unwrap_or_default();
    let (api_version, kind) = (&*api_version, &*kind);
    if kind == secret_policy::KIND {
        if api_version != secret_policy::API_VERSION {
            return Err(diagnostic(
                &doc.source,
                "apiVersion",
                "policy-invalid",
                format!(
                    "`{}` for kind SecretPolicy: expected {}",
                    crate::shown::Shown(api_version),
                    secret_policy::API_VERSION
                ),
            ));
        }
        return secret_policy::parse(&doc.json)
            .map(Policy::Secret)
            .map_err(invalid(doc));
    }
    if v1::KINDS.iter().any(|(k, _)| *k == kind) {
        return v1::parse(&doc.json).map(Policy::V1).map_err(invalid(doc));
    }
    Err(diagnostic(
        &doc.source,
        "kind",
        "policy-invalid",
        format!(
            "unsupported policy kind `{}`: {EXPECTED_KINDS}",
            crate::shown::Shown(kind)
        ),
    ))
}

/// Checks policy documents as a set: each parses, no two claim the same place, and
/// no V2 rule field is set twice in one branch of the project tree.
pub fn check(docs: &[PolicyDocument], projects: &[ProjectInfo]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut parsed: Vec<(Policy, &PolicyDocument)> = Vec::new();
    for doc in docs {
        match parse(doc) {
            Ok(policy) => parsed.push((policy, doc)),
            Err(d) => diagnostics.push(d),
        }
    }
    for (i, (policy, doc)) in parsed.iter().enumerate() {
        for (earlier, first) in &parsed[..i] {
            if let Some(message) = conflict(earlier, policy, projects) {
                diagnostics.push(diagnostic(
                    &doc.source,
                    "",
                    "policy-conflict",
                    format!(
                        "{message}: {} (in {}) and {} (in {})",
                        earlier.id(),
                        first.source,
                        policy.id(),
                        doc.source
                    ),
                ));
            }
        }
    }
    diagnostics
}

fn conflict(a: &Policy, b: &Policy, projects: &[ProjectInfo]) -> Option<String> {
    match (a, b) {
        (Policy::Secret(x), Policy::Secret(y))
            if (&x.namespace, &x.name) == (&y.namespace, &y.name) =>
        {
            Some("the same SecretPolicy is defined twice".to_string())
        }
        (Policy::V1(x), Policy::V1(y)) if (&x.kind, &x.namespace) == (&y.kind, &y.namespace) => {
            Some(format!(
                "a namespace holds at most one {} (namespace {})",
                x.kind, x.namespace
            ))
        }
        (Policy::V2(x), Policy::V2(y)) if x.same_branch(y, projects) => {
            let mut fields = Vec::new();
            if x.can_add.is_some() && y.can_add.is_some() {
                fields.push("rules.environmentVariables.instances.canAdd");
            }
            if x.locked.is_some() && y.locked.is_some() {
                fields.push("rules.environmentVariables.instances.locked");
            }
            (!fields.is_empty())
                .then(|| format!("{} set by two policies in one branch", fields.join(" and ")))
        }
        _ => None,
    }
}

/// The policies handed over with one submission.
#[derive(Debug, Default)]
pub struct PolicySet {
    /// Cluster rules first, so reports read from the broadest rule down.
    pub secret_policies: Vec<SecretPolicy>,
    v1: Vec<V1Policy>,
    v2: Vec<V2Policy>,
}

impl PolicySet {
    pub fn load(docs: &[PolicyDocument], namespace: &str) -> Result<Self, Diagnostic> {
        let mut set = PolicySet::default();
        for doc in docs {
            match parse(doc)? {
                Policy::Secret(p) if in_scope(&p.namespace, namespace) => {
                    set.secret_policies.push(p)
                }
                Policy::V1(p) if in_scope(&p.namespace, namespace) => set.v1.push(p),
                Policy::V2(p) => set.v2.push(p),
                _ => {}
            }
        }
        set.secret_policies
            .sort_by_key(|p| p.namespace != SYSTEM_NAMESPACE);
        Ok(set)
    }

    /// `load`, its diagnostic as the input error of a call that was handed the
    /// policies (`evaluate`, `check-removal`).
    pub fn load_input(docs: &[PolicyDocument], namespace: &str) -> Result<Self, InputError> {
        Self::load(docs, namespace).map_err(|d| {
            InputError::new(
                "policies",
                format!(
                    "policy {} is invalid at `{}`: {}",
                    d.source, d.field, d.message
                ),
            )
        })
    }

    /// The Run:ai environment rules for a workload of `workload_type`: the V1 policy of
    /// its kind in the project namespace, else the one in `runai` (a fallback, not a
    /// merge); and the V2 policies whose scope and type cover it.
    pub fn env_rules(
        &self,
        workload_type: &str,
        namespace: &str,
        project: Option<&ProjectInfo>,
    ) -> Vec<EnvRules> {
        let mut out = Vec::new();
        let of_type = |ns: &str| {
            self.v1
                .iter()
                .find(|p| p.workload_type == workload_type && p.namespace == ns)
        };
        if let Some(p) = of_type(namespace).or_else(|| of_type(SYSTEM_NAMESPACE)) {
            out.push(p.rules.clone());
        }
        let v2: Vec<&V2Policy> = self
            .v2
            .iter()
            .filter(|p| p.applies_to(workload_type, project))
            .collect();
        out.extend(v2::effective(&v2));
        out
    }
}

fn in_scope(policy_namespace: &str, namespace: &str) -> bool {
    policy_namespace == namespace || policy_namespace == SYSTEM_NAMESPACE
}

//! `SecretPolicy` (SPEC §4.3): the rules Run:ai policies cannot express, such as
//! "passwords must come from secrets". A policy in `runai` holds for the whole
//! cluster, one in a project namespace for that project; each is applied on its
//! own, so a project's policy can add rules but never lift the cluster's.

use crate::decision::InputError;
use crate::glob::{self, Pairs, Pattern};
use crate::names::EnvNameValidation;
use serde::Deserialize;

pub const KIND: &str = "SecretPolicy";
pub const API_VERSION: &str = "secrets.policy.run.ai/v1alpha1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Reject the submission.
    #[default]
    Enforce,
    /// Admit it with warnings.
    Warn,
    /// Admit it and record the finding as an `audit:` warning.
    Audit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretPolicy {
    pub name: String,
    pub namespace: String,
    pub enforcement: Enforcement,
    pub sensitive_env_names: Vec<String>,
    pub allowed_secrets: Option<Vec<String>>,
    pub denied_secrets: Vec<String>,
    /// Compiled from the globs with the letter pairs a matching name must contain;
    /// names are compared case-insensitively.
    sensitive: Vec<(Pattern, Pairs)>,
    allowed: Option<Vec<Pattern>>,
    denied: Vec<Pattern>,
    pub require_existing_references: Option<bool>,
    pub allow_optional_references: bool,
    pub allow_env_from: bool,
    pub env_name_validation: Option<EnvNameValidation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    enforcement: Enforcement,
    #[serde(default)]
    sensitive_env_names: Vec<String>,
    #[serde(default)]
    allowed_secrets: Option<Vec<String>>,
    #[serde(default)]
    denied_secrets: Vec<String>,
    #[serde(default)]
    require_existing_references: Option<bool>,
    #[serde(default)]
    allow_optional_references: Option<bool>,
    #[serde(default)]
    allow_env_from: Option<bool>,
    #[serde(default)]
    env_name_validation: Option<EnvNameValidationField>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum EnvNameValidationField {
    Strict,
    Relaxed,
}

pub fn parse(json: &str) -> Result<SecretPolicy, InputError> {
    let doc: Document = crate::workload::parse_json(json)?;
    let spec = doc.spec;
    for (list, field) in [
        (&spec.sensitive_env_names, "spec.sensitiveEnvNames"),
        (&spec.denied_secrets, "spec.deniedSecrets"),
    ]
    .into_iter()
    .chain(
        spec.allowed_secrets
            .iter()
            .map(|l| (l, "spec.allowedSecrets")),
    ) {
        if let Some(i) = list.iter().position(|p| p.is_empty()) {
            return Err(InputError::new(
                format!("{field}[{i}]"),
                "empty pattern: expected a name or a glob such as `*PASSWORD*`",
            ));
        }
    }
    Ok(SecretPolicy {
        name: doc.metadata.name,
        namespace: doc
            .metadata
            .namespace
            .unwrap_or_else(|| super::SYSTEM_NAMESPACE.to_string()),
        enforcement: spec.enforcement,
        sensitive: spec
            .sensitive_env_names
            .iter()
            .map(|g| {
                let p = Pattern::new(g);
                let pairs = p.required_pairs();
                (p, pairs)
            })
            .collect(),
        allowed: spec
            .allowed_secrets
            .as_ref()
            .map(|list| list.iter().map(|g| Pattern::new(g)).collect()),
        denied: spec
            .denied_secrets
            .iter()
            .map(|g| Pattern::new(g))
            .collect(),
        sensitive_env_names: spec.sensitive_env_names,
        allowed_secrets: spec.allowed_secrets,
        denied_secrets: spec.denied_secrets,
        require_existing_references: spec.require_existing_references,
        allow_optional_references: spec.allow_optional_references.unwrap_or(true),
        allow_env_from: spec.allow_env_from.unwrap_or(true),
        env_name_validation: spec.env_name_validation.map(|v| match v {
            EnvNameValidationField::Strict => EnvNameValidation::Strict,
            EnvNameValidationField::Relaxed => EnvNameValidation::Relaxed,
        }),
    })
}

impl SecretPolicy {
    pub fn id(&self) -> String {
        format!("{KIND} {}/{}", self.namespace, self.name)
    }

    /// Env names are compared case-insensitively: `db_password` is as sensitive as
    /// `DB_PASSWORD`.
    pub fn is_sensitive(&self, env_name: &str) -> bool {
        if self.sensitive.is_empty() {
            return false;
        }
        // One pass over the name rules out most patterns; only the rest are matched.
        let name = env_name.as_bytes();
        let has = glob::pairs(name);
        self.sensitive
            .iter()
            .any(|(p, required)| has.may_contain(*required) && p.matches_bytes(name, true))
    }

    /// Why this policy forbids referencing `secret`, if it does.
    pub fn forbids_secret(&self, secret: &str) -> Option<String> {
        if let Some(i) = self.denied.iter().position(|p| p.matches(secret, false)) {
            return Some(format!(
                "secret `{secret}` matches denied pattern `{}`",
                self.denied_secrets[i]
            ));
        }
        match (&self.allowed, &self.allowed_secrets) {
            (Some(allowed), Some(globs)) if !allowed.iter().any(|p| p.matches(secret, false)) => {
                Some(format!(
                    "secret `{secret}` is not in the allowed list [{}]",
                    globs.join(", ")
                ))
            }
            _ => None,
        }
    }
}

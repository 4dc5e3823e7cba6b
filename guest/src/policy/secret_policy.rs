//! `SecretPolicy` (SPEC §4.3): the rules Run:ai policies cannot express, such as
//! "passwords must come from secrets". A policy in `runai` holds for the whole
//! cluster, one in a project namespace for that project; each is applied on its
//! own, so a project's policy can add rules but never lift the cluster's.

use crate::credentials::{Detector, Entropy};
use crate::decision::InputError;
use crate::glob::{self, Pairs, Pattern};
use crate::names::EnvNameValidation;
use crate::selector::LabelSelector;
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
    /// Where a secret may be used; `None`: anywhere.
    pub allowed_uses: Option<Vec<SecretUseKind>>,
    /// Secrets whose labels match may be referenced (besides `allowedSecrets`).
    pub allowed_selector: Option<LabelSelector>,
    /// `Some(false)`: a secret expanded into `command`/`args` is this policy's finding;
    /// otherwise a built-in warning.
    pub allow_secrets_in_args: Option<bool>,
    /// Off when `None`.
    pub credential_literals: Option<CredentialLiterals>,
    /// What removing a secret or key in use does; `None`: the policy does not say.
    pub secret_removal: Option<RemovalMode>,
}

/// What taking a secret or key away from running workloads does (`secretRemoval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemovalMode {
    /// Let it happen silently.
    Allow,
    /// Let it happen with a warning naming what breaks (the default).
    Warn,
    /// Refuse it while workloads would break.
    Deny,
}

impl RemovalMode {
    pub fn name(self) -> &'static str {
        match self {
            RemovalMode::Allow => "allow",
            RemovalMode::Warn => "warn",
            RemovalMode::Deny => "deny",
        }
    }
}

/// Where a workload uses a secret (`allowedSecretUses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretUseKind {
    /// `SECRET:` values, `valueFrom.secretKeyRef`, REST API `secret`.
    Env,
    EnvFrom,
    /// `volumes[].secret` and projected volumes' secret sources.
    Volume,
    ImagePull,
}

impl SecretUseKind {
    pub fn name(self) -> &'static str {
        match self {
            SecretUseKind::Env => "env",
            SecretUseKind::EnvFrom => "envFrom",
            SecretUseKind::Volume => "volume",
            SecretUseKind::ImagePull => "imagePull",
        }
    }
}

/// `credentialLiterals`: which detectors run, the entropy rule, and values allowed
/// by their SHA-256 (known test values).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialLiterals {
    pub detectors: Vec<Detector>,
    pub entropy: Entropy,
    /// Lower-case hex SHA-256 digests.
    pub allowed_sha256: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CredentialLiteralsField {
    #[serde(default)]
    detectors: Option<Vec<Detector>>,
    #[serde(default)]
    entropy: Option<Entropy>,
    #[serde(default)]
    allowed_values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(deserialize_with = "crate::workload::map_only::plain")]
    metadata: Metadata,
    #[serde(default, deserialize_with = "crate::workload::map_only::plain")]
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
    #[serde(default)]
    allowed_secret_uses: Option<Vec<SecretUseKind>>,
    #[serde(default)]
    allowed_secret_selector: Option<LabelSelector>,
    #[serde(default)]
    allow_secrets_in_args: Option<bool>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    credential_literals: Option<CredentialLiteralsField>,
    #[serde(default)]
    secret_removal: Option<RemovalMode>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum EnvNameValidationField {
    Strict,
    Relaxed,
}

/// The size bounds of a SecretPolicy, the same as the CRD's (`maxItems`,
/// `maxLength`, `maxProperties`): a policy is read and checked with every evaluation
/// in its scope, so no tenant's policy may cost the others without bound.
pub const MAX_GLOBS: usize = 1024;
pub const MAX_GLOB_LENGTH: usize = 256;
pub const MAX_ALLOWED_VALUES: usize = 1024;
pub const MAX_MATCH_LABELS: usize = 64;
pub const MAX_MATCH_EXPRESSIONS: usize = 32;
pub const MAX_EXPRESSION_VALUES: usize = 64;

fn too_many(field: &str, found: usize, max: usize) -> InputError {
    InputError::new(
        field,
        format!(
            "{found} entries: at most {max} (a policy is read with every evaluation in its scope)"
        ),
    )
}

fn check_bounds(spec: &Spec) -> Result<(), InputError> {
    let globs = [
        (Some(&spec.sensitive_env_names), "spec.sensitiveEnvNames"),
        (Some(&spec.denied_secrets), "spec.deniedSecrets"),
        (spec.allowed_secrets.as_ref(), "spec.allowedSecrets"),
    ];
    for (list, field) in globs {
        let Some(list) = list else { continue };
        if list.len() > MAX_GLOBS {
            return Err(too_many(field, list.len(), MAX_GLOBS));
        }
        if let Some(i) = list
            .iter()
            .position(|g| g.chars().count() > MAX_GLOB_LENGTH)
        {
            return Err(InputError::new(
                format!("{field}[{i}]"),
                format!("longer than {MAX_GLOB_LENGTH} characters"),
            ));
        }
    }
    if let Some(c) = &spec.credential_literals
        && c.allowed_values.len() > MAX_ALLOWED_VALUES
    {
        let field = "spec.credentialLiterals.allowedValues";
        return Err(too_many(field, c.allowed_values.len(), MAX_ALLOWED_VALUES));
    }
    if let Some(s) = &spec.allowed_secret_selector {
        let at = "spec.allowedSecretSelector";
        if s.match_labels.len() > MAX_MATCH_LABELS {
            let field = format!("{at}.matchLabels");
            return Err(too_many(&field, s.match_labels.len(), MAX_MATCH_LABELS));
        }
        if s.match_expressions.len() > MAX_MATCH_EXPRESSIONS {
            let field = format!("{at}.matchExpressions");
            return Err(too_many(
                &field,
                s.match_expressions.len(),
                MAX_MATCH_EXPRESSIONS,
            ));
        }
        for (i, e) in s.match_expressions.iter().enumerate() {
            if e.values.len() > MAX_EXPRESSION_VALUES {
                let field = format!("{at}.matchExpressions[{i}].values");
                return Err(too_many(&field, e.values.len(), MAX_EXPRESSION_VALUES));
            }
        }
    }
    Ok(())
}

pub fn parse(json: &str) -> Result<SecretPolicy, InputError> {
    let doc: Document = crate::workload::parse_json(json)?;
    let spec = doc.spec;
    check_bounds(&spec)?;
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
    if let Some(selector) = &spec.allowed_secret_selector {
        selector.validate("spec.allowedSecretSelector")?;
    }
    let credential_literals = spec
        .credential_literals
        .map(credential_literals)
        .transpose()?;
    Ok(SecretPolicy {
        secret_removal: spec.secret_removal,
        allowed_uses: spec.allowed_secret_uses,
        allowed_selector: spec.allowed_secret_selector,
        allow_secrets_in_args: spec.allow_secrets_in_args,
        credential_literals,
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

const SHA256_PREFIX: &str = "sha256:";

fn credential_literals(field: CredentialLiteralsField) -> Result<CredentialLiterals, InputError> {
    let at = "spec.credentialLiterals";
    if let Some(e) = &field.entropy
        && !(e.min_length >= 8 && (0.1..=7.0).contains(&e.min_bits_per_char))
    {
        return Err(InputError::new(
            format!("{at}.entropy"),
            "expected `minLength` of at least 8 and `minBitsPerChar` from 0.1 to 7 \
             (a random base64 string has about 5 to 6 bits per character)",
        ));
    }
    let mut allowed_sha256 = Vec::with_capacity(field.allowed_values.len());
    for (i, v) in field.allowed_values.iter().enumerate() {
        let hex = v.strip_prefix(SHA256_PREFIX).filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        let Some(hex) = hex else {
            return Err(InputError::new(
                format!("{at}.allowedValues[{i}]"),
                "expected `sha256:` and the 64 lower-case hex digits of the value's SHA-256 \
                 (`printf %s VALUE | sha256sum`), never the value itself",
            ));
        };
        allowed_sha256.push(hex.to_string());
    }
    Ok(CredentialLiterals {
        detectors: field.detectors.unwrap_or_else(|| Detector::ALL.to_vec()),
        entropy: field.entropy.unwrap_or_default(),
        allowed_sha256,
    })
}

impl CredentialLiterals {
    /// The detector that fires on `value`, unless the value is allowed by its hash.
    pub fn detect(&self, value: &str) -> Option<Detector> {
        let found = crate::credentials::detect(value, &self.detectors, &self.entropy)?;
        if self.allowed_sha256.is_empty() {
            return Some(found);
        }
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(value.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        (!self.allowed_sha256.contains(&hex)).then_some(found)
    }
}

impl SecretPolicy {
    /// Whether this policy lets a workload use a secret this way.
    pub fn allows_use(&self, kind: SecretUseKind) -> bool {
        self.allowed_uses
            .as_ref()
            .is_none_or(|uses| uses.contains(&kind))
    }

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

    /// Why this policy forbids referencing `secret`, if it does. `labels` are the
    /// secret's, when it exists: a secret is allowed when it matches `allowedSecrets`
    /// or `allowedSecretSelector` (either, where both are set).
    pub fn forbids_secret(
        &self,
        secret: &str,
        labels: Option<&[(String, String)]>,
    ) -> Option<String> {
        if let Some(i) = self.denied.iter().position(|p| p.matches(secret, false)) {
            return Some(format!(
                "secret `{secret}` matches denied pattern `{}`",
                self.denied_secrets[i]
            ));
        }
        let by_name = self
            .allowed
            .as_ref()
            .map(|allowed| allowed.iter().any(|p| p.matches(secret, false)));
        // A secret that does not exist has no labels to check (secret-not-found says
        // what is wrong); the name list still decides for it.
        let by_labels = match (&self.allowed_selector, labels) {
            (Some(selector), Some(labels)) => Some(selector.matches(labels)),
            _ => None,
        };
        match (
            by_name,
            by_labels,
            &self.allowed_secrets,
            &self.allowed_selector,
        ) {
            (Some(false), None, Some(globs), _) => Some(format!(
                "secret `{secret}` is not in the allowed list [{}]",
                crate::listed::some(globs)
            )),
            (None, Some(false), _, Some(selector)) => Some(format!(
                "secret `{secret}` does not have the allowed labels ({selector})"
            )),
            (Some(false), Some(false), Some(globs), Some(selector)) => Some(format!(
                "secret `{secret}` is neither in the allowed list [{}] nor has the allowed labels ({selector})",
                crate::listed::some(globs)
            )),
            _ => None,
        }
    }
}

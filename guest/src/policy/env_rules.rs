//! Run:ai environment rules, from V1 and V2 policies alike: defaults to inject, items
//! that are locked, cannot be removed or are required, and whether the workload may
//! add names of its own (SPEC §4.1, §4.2).

use crate::secret_ref::{self, Parsed};

/// A value a policy injects when the workload does not set the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    Literal(String),
    Secret { name: String, key: String },
    ConfigMap { name: String, key: String },
    FieldRef(String),
    UserCredential { name: String, key: String },
}

impl DefaultValue {
    /// A V1 item value: a literal or `SECRET:<name>,<key>`. `Err` says what is wrong.
    pub fn from_notation(value: &str) -> Result<Self, &'static str> {
        match secret_ref::parse(value) {
            Parsed::Reference { name, key } => Ok(DefaultValue::Secret {
                name: name.to_string(),
                key: key.to_string(),
            }),
            Parsed::Malformed(problem) => Err(problem),
            Parsed::Literal | Parsed::LiteralWithSecretLikePrefix => {
                Ok(DefaultValue::Literal(value.to_string()))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDefault {
    pub name: String,
    pub value: DefaultValue,
    /// The policy that sets it, as violations and `origin` cite it.
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRule {
    pub name: String,
    /// The workload may not set another value (V1 `canEdit: false`, V2 `locked`).
    pub locked: bool,
    /// The workload may not `exclude` it (V1 `canRemove: false`, V2 `locked`).
    pub cannot_remove: bool,
    /// It must be present once defaults are applied (V1 `required`).
    pub required: bool,
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanAdd {
    pub allowed: bool,
    /// The names the policy lists: the only ones a workload may set when not allowed.
    pub listed: Vec<String>,
    pub policy: String,
}

/// The effective environment rules of one policy kind (V1 or V2) for one workload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvRules {
    pub defaults: Vec<EnvDefault>,
    pub items: Vec<ItemRule>,
    pub can_add: Option<CanAdd>,
    /// V1 `environment.rules.required`: the policy that requires a non-empty env.
    pub env_required: Option<String>,
}

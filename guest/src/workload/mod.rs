//! Workload documents in every form of SPEC §3, normalised into one model: containers
//! with their env entries and envFrom sources, each carrying the path of the field in
//! the submitted document so violations can point at it.

mod map_entries;
mod runai_crd;

use crate::decision::{InputError, WorkloadId};
use serde::Deserialize;

pub use map_entries::{MapEntries, Str};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub id: WorkloadId,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub env_from: Vec<EnvFrom>,
    pub env: Vec<EnvEntry>,
}

/// One `envFrom[].secretRef`: every key of the secret becomes a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFrom {
    pub secret: String,
    pub prefix: String,
    pub optional: bool,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub name: String,
    /// Path of the entry itself (`spec.environment.items.NAME`, `...env[2]`).
    pub field: String,
    /// Path of the name (`spec.environment.items.NAME`, `...env[2].name`).
    pub name_field: String,
    pub value: EnvValue,
    /// `exclude: true`: the workload drops a policy default of this name.
    pub excluded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
    pub optional: bool,
    pub name_field: String,
    pub key_field: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal {
        value: String,
        field: String,
        /// Starts with `secret:` in another case than `SECRET:`: likely a typo.
        secret_like_prefix: bool,
    },
    /// A `SECRET:` string that does not follow the grammar.
    Malformed {
        field: String,
        problem: &'static str,
    },
    Secret(SecretRef),
    ConfigMap {
        name: String,
        key: String,
    },
    FieldRef(String),
    UserCredential {
        name: String,
        key: String,
    },
    /// No value at all (an `exclude` item, or an empty REST API entry).
    Unset,
}

/// Just enough of any document to tell its form.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    kind: Option<Str<'a>>,
}

/// The Run:ai workload type of a CRD kind.
pub fn runai_workload_type(kind: &str) -> Option<&'static str> {
    match kind {
        "TrainingWorkload" => Some("training"),
        "InteractiveWorkload" => Some("workspace"),
        "DistributedWorkload" => Some("distributed"),
        "InferenceWorkload" => Some("inference"),
        _ => None,
    }
}

pub fn is_runai_api_version(api_version: &str) -> bool {
    matches!(api_version, "run.ai/v2alpha1" | "run.ai/v1alpha1")
}

/// Recognises the form of a document and normalises it.
pub fn parse(json: &str) -> Result<Workload, InputError> {
    let head: Head = parse_json(json)?;
    let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
        return Err(InputError::new(
            "kind",
            "not a recognised workload: expected `apiVersion` and `kind` of a Run:ai workload \
             (TrainingWorkload, InteractiveWorkload, DistributedWorkload, InferenceWorkload)",
        ));
    };
    let (api_version, kind) = (&*api_version, &*kind);
    if runai_workload_type(kind).is_some() {
        if !is_runai_api_version(api_version) {
            return Err(InputError::new(
                "apiVersion",
                format!(
                    "`{api_version}` for kind {kind}: expected run.ai/v2alpha1 or run.ai/v1alpha1"
                ),
            ));
        }
        return runai_crd::parse(json);
    }
    Err(InputError::new(
        "kind",
        format!(
            "unsupported kind `{kind}` (apiVersion `{api_version}`): expected a Run:ai workload \
             (TrainingWorkload, InteractiveWorkload, DistributedWorkload, InferenceWorkload)"
        ),
    ))
}

/// Deserialises JSON; on failure, says which field was wrong and what was expected.
pub fn parse_json<'a, T: Deserialize<'a>>(json: &'a str) -> Result<T, InputError> {
    serde_json::from_str(json).map_err(|_| {
        // Re-run with path tracking only on the error path: it costs on every call.
        let de = &mut serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(_) => InputError::new("", "the document could not be read"),
            Err(err) => {
                let path = err.path().to_string();
                let field = if path == "." { String::new() } else { path };
                InputError::new(field, without_position(&err.into_inner().to_string()))
            }
        }
    })
}

/// serde_json appends "at line L column C" of the JSON text, which is not the user's
/// file once YAML was converted; the field path says where instead.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

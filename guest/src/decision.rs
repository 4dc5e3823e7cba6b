//! What the plugin answers: decisions as plain data, mirroring the WIT records.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadForm {
    RunaiCrd,
    RunaiApi,
    Kubernetes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadId {
    pub form: WorkloadForm,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub project: Option<String>,
    pub workload_type: Option<String>,
}

/// The document could not be understood; not a decision about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub field: String,
    pub message: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub source: String,
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: String,
    pub field: String,
    pub message: String,
    /// The policy that set the rule; empty for built-in reference checks.
    pub policy: String,
    /// The secret the finding is about, if any.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Warning {
    pub code: String,
    pub field: String,
    pub message: String,
    pub secret: Option<String>,
    /// The policy whose finding it is; empty for built-in warnings.
    pub policy: String,
    /// That policy's enforcement is `audit`.
    pub audit: bool,
}

/// How a workload uses a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReferenceKind {
    Env,
    EnvFrom,
    Volume,
    ImagePull,
}

impl ReferenceKind {
    pub fn name(self) -> &'static str {
        match self {
            ReferenceKind::Env => "env",
            ReferenceKind::EnvFrom => "envFrom",
            ReferenceKind::Volume => "volume",
            ReferenceKind::ImagePull => "imagePull",
        }
    }
}

/// One reference from a workload to a secret of its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    pub secret: String,
    /// The key it reads; `None` for every key (envFrom, a whole volume) or none.
    pub key: Option<String>,
    pub kind: ReferenceKind,
    /// Empty for pod-level uses.
    pub container: String,
    pub field: String,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    Literal(String),
    Secret {
        name: String,
        key: String,
        optional: bool,
    },
    ConfigMap {
        name: String,
        key: String,
    },
    FieldRef(String),
    UserCredential {
        name: String,
        key: String,
    },
    /// A literal after the kubelet's `$(VAR)` expansion: secret parts shown as
    /// `<secret NAME/KEY>`, sensitive literals as `<redacted>`.
    Expanded(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub source: EnvSource,
    /// The policy that injected it as a default; `None` when the workload set it.
    pub origin: Option<String>,
}

/// One container's resolved environment, in kubelet order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEnv {
    pub container: String,
    pub vars: Vec<EnvVar>,
}

pub const STATE_RUNNING: &str = "Running";
pub const STATE_WAITING: &str = "Waiting";
pub const REASON_CONFIG_ERROR: &str = "CreateContainerConfigError";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStartup {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub message: String,
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    pub starts: bool,
    pub containers: Vec<ContainerStartup>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub workload: WorkloadId,
    pub allowed: bool,
    pub violations: Vec<Violation>,
    pub warnings: Vec<Warning>,
    /// RFC 6902 JSON Patch as JSON text.
    pub patch: String,
    pub env: Vec<ContainerEnv>,
    pub startup: Startup,
    /// Every reference to a secret, when asked for.
    pub references: Vec<SecretReference>,
}

impl Decision {
    pub fn has_violation(&self, code: &str) -> bool {
        self.violations.iter().any(|v| v.code == code)
    }

    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }
}

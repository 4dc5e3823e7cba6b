//! The suite file format (SPEC §8). Unknown keys are errors, never ignored. The JSON
//! Schema editors use (schemas/suite.schema.json) is generated from these types.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Shown in the output; defaults to the file name.
    #[serde(default)]
    pub name: Option<String>,
    /// `demo` (the default), a manifest file relative to the suite, or inline manifests.
    #[serde(default)]
    pub cluster: Option<Value>,
    /// Policy files relative to the suite, or inline policy documents.
    #[serde(default)]
    pub policies: Vec<Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    /// Manifests to add: a file, one inline manifest, or a list of either.
    #[serde(default)]
    pub apply: Option<Value>,
    #[serde(default)]
    pub project: Option<ProjectStep>,
    /// `adm: {set: NAME}` / `adm: {remove: NAME}`: `runai-adm ... secret NAME --cluster-wide`.
    #[serde(default)]
    pub adm: Option<AdmStep>,
    /// `secret: {delete: NAME, namespace: NS}`: `host secret delete NAME -n NS`.
    #[serde(default)]
    pub secret: Option<SecretStep>,
    #[serde(default)]
    pub submit: Option<SubmitStep>,
    /// A workload of any form: a file or an inline document. Evaluated only, never
    /// created (as `host simulate`); `submit` and `apply` create what is admitted.
    #[serde(default)]
    pub simulate: Option<Value>,
    /// `workload: {delete: KIND/NAME, namespace: NS}`: `host workload delete`.
    #[serde(default)]
    pub workload: Option<WorkloadStep>,
    /// `audit: {}` (every recorded workload) or `audit: {namespace: NS}`: `host audit`,
    /// each created workload re-checked against the cluster as it is now.
    #[serde(default)]
    pub audit: Option<AuditStep>,
    /// Make a removal the policies refuse (`secretRemoval: deny`) anyway, as `--force`.
    #[serde(default)]
    pub force: bool,
    /// Workload type of a REST API request (`training` unless given).
    #[serde(default, rename = "type")]
    pub workload_type: Option<String>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectStep {
    #[serde(default)]
    pub create: Option<String>,
    #[serde(default)]
    pub delete: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmStep {
    #[serde(default)]
    pub set: Option<String>,
    #[serde(default)]
    pub remove: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretStep {
    pub delete: String,
    pub namespace: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadStep {
    /// `KIND/NAME` (any case of the kind): `trainingworkload/train1`, `job/nightly`.
    pub delete: String,
    pub namespace: String,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditStep {
    /// Only this namespace's workloads.
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitStep {
    pub project: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub gpu: Option<String>,
    #[serde(default)]
    pub interactive: bool,
    /// `NAME=VALUE` or `NAME=SECRET:<secret>,<key>`, as `-e` takes them.
    #[serde(default)]
    pub env: Vec<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub allowed: Option<bool>,
    /// The exit code `host simulate` would give: 0, 1 or 3.
    #[serde(default)]
    pub exit: Option<u8>,
    /// Exactly these violations (in any order).
    #[serde(default)]
    pub violations: Option<Vec<FindingExpect>>,
    /// Exactly these warnings (in any order).
    #[serde(default)]
    pub warnings: Option<Vec<FindingExpect>>,
    /// Exactly these resolved variables (in any order).
    #[serde(default)]
    pub env: Option<Vec<EnvExpect>>,
    /// The RFC 6902 operations, exactly.
    #[serde(default)]
    pub patch: Option<Value>,
    /// The submitted document with the patch applied, exactly.
    #[serde(default)]
    pub patched: Option<Value>,
    #[serde(default)]
    pub startup: Option<StartupExpect>,
    /// Exactly these documents of the step's file skipped (in any order): what is not
    /// a workload, a Secret or a policy.
    #[serde(default)]
    pub skipped: Option<Vec<SkippedExpect>>,
    /// What the removal guard said of a step that deletes a secret, removes keys or a
    /// cluster-wide secret (`secret`, `adm: {remove}`, `apply`).
    #[serde(default)]
    pub removal: Option<RemovalExpect>,
    /// An `audit` step's workloads, exactly (in any order).
    #[serde(default)]
    pub audit: Option<Vec<AuditExpect>>,
    /// The step fails with an error containing this text.
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovalExpect {
    /// Whether the policies refused it (`secretRemoval: deny`; then nothing changed
    /// unless the step says `force: true`).
    #[serde(default)]
    pub refused: Option<bool>,
    /// Exactly the workloads that break, `Kind namespace/name` (any order); `[]` when
    /// nothing does.
    #[serde(default)]
    pub breaks: Option<Vec<String>>,
    /// A substring of the plugin's message (what breaks and when).
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditExpect {
    /// `Kind/name` (any case of the kind).
    pub workload: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// `pass`, `warn` or `fail`, as `host audit` reports it.
    #[serde(default)]
    pub result: Option<String>,
    /// Exactly these findings (in any order).
    #[serde(default)]
    pub findings: Option<Vec<FindingExpect>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingExpect {
    pub code: String,
    #[serde(default)]
    pub field: Option<String>,
    /// A substring of the message.
    #[serde(default)]
    pub message: Option<String>,
    /// A regular expression the message must match.
    #[serde(default)]
    pub message_regex: Option<String>,
    /// A substring of the policy that set the rule (`built-in` for built-in checks).
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkippedExpect {
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    /// A substring of why it was skipped (`not a workload`, `apiVersion ...`).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvExpect {
    pub name: String,
    #[serde(default)]
    pub container: Option<String>,
    /// `SECRET/KEY`.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub literal: Option<String>,
    /// A substring of the origin: `workload`, or the policy that injected it.
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartupExpect {
    #[serde(default)]
    pub starts: Option<bool>,
    #[serde(default)]
    pub containers: Option<Vec<ContainerExpect>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerExpect {
    pub name: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// A substring of the kubelet's message.
    #[serde(default)]
    pub message: Option<String>,
}

//! Workload documents in every form of SPEC §3, normalised into one model: containers
//! with their env entries and envFrom sources, each carrying the path of the field in
//! the submitted document so violations can point at it.

mod kubernetes;
mod map_entries;
pub(crate) mod map_only;
mod runai_api;
pub mod runai_crd;
pub mod templates;

use crate::decision::{InputError, WorkloadId};
use crate::shown::Shown;
use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny};
use std::marker::PhantomData;

pub use map_entries::{MapEntries, Str};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub id: WorkloadId,
    /// Where env items live in the document, for the patch that injects defaults.
    pub layout: EnvLayout,
    pub containers: Vec<Container>,
    /// Pod-level references: secret volumes, projected secrets, imagePullSecrets.
    pub secret_uses: Vec<SecretUse>,
    /// A name the API server would refuse that holds a template placeholder: (field,
    /// why). Any other invalid name is an input error.
    pub name_problem: Option<(String, String)>,
}

/// A name the API server would refuse: an input error, or a finding when the name is a
/// template placeholder (`names::has_placeholder`).
pub(crate) fn check_name(
    kind: &str,
    name: &str,
    field: &str,
) -> Result<Option<(String, String)>, InputError> {
    let Some(problem) = crate::names::object_name_problem(kind, name) else {
        return Ok(None);
    };
    if !crate::names::has_placeholder(name) {
        return Err(InputError::new(field, problem));
    }
    Ok(Some((
        field.to_string(),
        format!("{problem}; it holds a template placeholder: fill it in before applying the file"),
    )))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvLayout {
    /// `spec.environment.items` (a map); which of its parents exist.
    RunaiCrd {
        has_spec: bool,
        has_environment: bool,
        has_items: bool,
    },
    /// `spec.environmentVariables` (a list).
    RunaiApi { has_spec: bool, has_list: bool },
    /// Run:ai policies do not govern Kubernetes objects.
    Kubernetes,
}

/// A namespace-scoped secret reference outside env (SPEC §2.1, last row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub kind: UseKind,
    /// The pod it is in (the index of its pod template in the document).
    pub pod: usize,
    pub secret: String,
    /// Path of the secret's name.
    pub field: String,
    pub optional: bool,
    /// Keys the volume projects (`items[].key`), with their paths.
    pub keys: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseKind {
    /// A `secret` volume or projected secret source, in the named volume.
    Volume(String),
    ImagePull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    /// The pod it runs in: the index of its pod template in the document (a Ray
    /// worker group, a Kubeflow replica type); 0 where there is one pod.
    pub pod: usize,
    pub env_from: Vec<EnvFrom>,
    pub env: Vec<EnvEntry>,
    /// `command` and `args` items of a pod's container (`command` and `arguments` of a
    /// Run:ai workload, `command` and `args` of a REST API request): literals the
    /// kubelet expands `$(VAR)` in, and where a credential may be pasted.
    pub args: Vec<Arg>,
}

/// One `command` or `args` item, with its path in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub field: String,
    pub value: String,
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
    /// Where the entry is in the document; paths are built only for findings.
    pub loc: Loc,
    pub value: EnvValue,
    /// `exclude: true`: the workload drops a policy default of this name.
    pub excluded: bool,
    /// When the entry sets more than one source (`value` and `secret`, ...), all of
    /// them; empty otherwise.
    pub sources: Vec<&'static str>,
    /// The policy that injected it as a default; `None` when the workload set it.
    pub origin: Option<String>,
}

/// Where an env entry sits in the submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    /// `spec.environment.items.NAME` of a Run:ai workload CRD.
    CrdItem,
    /// `spec.<role>.environment.items.NAME`: a DistributedWorkload's `master` or
    /// `worker` environment.
    CrdRoleItem { role: &'static str },
    /// `spec.environmentVariables[i]` of a REST API request; `injected` when a
    /// policy default appends it (its value is the whole entry).
    ApiItem { index: usize, injected: bool },
    /// `<container path>.env[i]` of a pod spec.
    PodEnv {
        container: std::rc::Rc<str>,
        index: usize,
    },
}

impl EnvEntry {
    /// The entry itself: `spec.environment.items.NAME`, `...env[2]`.
    pub fn field(&self) -> String {
        match &self.loc {
            Loc::CrdItem => format!("spec.environment.items.{}", self.name),
            Loc::CrdRoleItem { role } => format!("spec.{role}.environment.items.{}", self.name),
            Loc::ApiItem { index, .. } => format!("spec.environmentVariables[{index}]"),
            Loc::PodEnv { container, index } => format!("{container}.env[{index}]"),
        }
    }

    /// Its name: the map key of a CRD item, `.name` of a list entry.
    pub fn name_field(&self) -> String {
        match &self.loc {
            Loc::CrdItem | Loc::CrdRoleItem { .. } | Loc::ApiItem { injected: true, .. } => {
                self.field()
            }
            _ => format!("{}.name", self.field()),
        }
    }

    /// A literal value (or a `SECRET:` string).
    pub fn value_field(&self) -> String {
        match &self.loc {
            Loc::ApiItem { injected: true, .. } => self.field(),
            _ => format!("{}.value", self.field()),
        }
    }

    /// The name (`part` = "name") or key (`part` = "key") of a secret reference.
    pub fn secret_field(&self, part: &str) -> String {
        match &self.loc {
            Loc::CrdItem | Loc::CrdRoleItem { .. } => self.value_field(),
            Loc::ApiItem { injected: true, .. } => self.field(),
            Loc::ApiItem { .. } => format!("{}.secret.{part}", self.field()),
            Loc::PodEnv { .. } => format!("{}.valueFrom.secretKeyRef.{part}", self.field()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal {
        value: String,
        /// Starts with `secret:` in another case than `SECRET:`: likely a typo.
        secret_like_prefix: bool,
    },
    /// A `SECRET:` string that does not follow the grammar.
    Malformed {
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
    #[serde(rename = "projectId", default)]
    project_id: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "crate::workload::map_only::opt")]
    spec: Option<HeadSpec>,
}

#[derive(Deserialize)]
struct HeadSpec {
    #[serde(rename = "environmentVariables", default)]
    environment_variables: Option<IgnoredAny>,
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

/// What a document is to the plugin, from its `apiVersion` and `kind` (and, without
/// a kind, its shape): the host evaluates workloads and lists the rest as skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recognised {
    /// A form the plugin reads; the document may still be invalid (`parse` says why).
    Workload,
    /// A kind the plugin does not read (a Service, a ConfigMap), or no `kind` and not
    /// a Run:ai REST API request.
    NotAWorkload,
    /// A pod-template wrapper (a custom resource) at an API version whose layout the
    /// plugin does not know: never read as if it were a known one.
    UnknownVersion { expected: String },
}

pub fn recognise(json: &str) -> Recognised {
    // A head that cannot be read is a workload document gone wrong: `parse` says how.
    let Ok(head) = parse_json::<Head>(json) else {
        return Recognised::Workload;
    };
    let Some(kind) = head.kind.as_deref() else {
        let rest_api = head.project_id.is_some()
            || head
                .spec
                .as_ref()
                .is_some_and(|s| s.environment_variables.is_some());
        return if rest_api {
            Recognised::Workload
        } else {
            Recognised::NotAWorkload
        };
    };
    if runai_workload_type(kind).is_some() || kind == "AdmissionReview" {
        return Recognised::Workload;
    }
    match templates::pod_kind(kind) {
        // Kubernetes' own kinds have one version: another is a mistake `parse` names.
        Some(k) if k.is_builtin() => Recognised::Workload,
        Some(k) if head.api_version.as_deref().is_some_and(|v| k.reads(v)) => Recognised::Workload,
        Some(k) => Recognised::UnknownVersion {
            expected: k.expected(),
        },
        None => Recognised::NotAWorkload,
    }
}

/// Recognises the form of a document and normalises it.
pub fn parse(json: &str) -> Result<Workload, InputError> {
    if let Some(workload) = runai_crd::try_parse(json) {
        return Ok(workload);
    }
    let head: Head = parse_json(json)?;
    let rest_api = head.project_id.is_some()
        || head
            .spec
            .as_ref()
            .is_some_and(|s| s.environment_variables.is_some());
    let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
        if rest_api {
            return runai_api::parse(json);
        }
        return Err(InputError::new(
            "kind",
            format!("not a recognised workload: {EXPECTED_FORMS}"),
        ));
    };
    let (api_version, kind) = (&*api_version, &*kind);
    if runai_workload_type(kind).is_some() {
        if !is_runai_api_version(api_version) {
            return Err(InputError::new(
                "apiVersion",
                format!(
                    "`{}` for kind {}: expected run.ai/v2alpha1 or run.ai/v1alpha1",
                    Shown(api_version),
                    Shown(kind)
                ),
            ));
        }
        return runai_crd::parse(json);
    }
    if let Some(pod_kind) = templates::pod_kind(kind) {
        if !pod_kind.reads(api_version) {
            return Err(InputError::new(
                "apiVersion",
                format!(
                    "`{}` for kind {}: expected {}",
                    Shown(api_version),
                    Shown(kind),
                    pod_kind.expected()
                ),
            ));
        }
        return kubernetes::parse(json, pod_kind);
    }
    if kind == "AdmissionReview" {
        return admission_review(json, api_version);
    }
    Err(InputError::new(
        "kind",
        format!(
            "unsupported kind `{}` (apiVersion `{}`): {EXPECTED_FORMS}",
            Shown(kind),
            Shown(api_version)
        ),
    ))
}

#[derive(Deserialize)]
struct Review<'a> {
    #[serde(borrow, default, deserialize_with = "crate::workload::map_only::opt")]
    request: Option<ReviewRequest<'a>>,
}

#[derive(Deserialize)]
struct ReviewRequest<'a> {
    #[serde(borrow, default)]
    namespace: Option<Str<'a>>,
    #[serde(borrow)]
    object: Option<&'a serde_json::value::RawValue>,
}

/// An AdmissionReview v1 wraps a workload of form A or C in `request.object`; the
/// fields named in findings are those of the object, as its author wrote them.
fn admission_review(json: &str, api_version: &str) -> Result<Workload, InputError> {
    if api_version != "admission.k8s.io/v1" {
        return Err(InputError::new(
            "apiVersion",
            format!(
                "`{}` for kind AdmissionReview: expected admission.k8s.io/v1",
                Shown(api_version)
            ),
        ));
    }
    let review: Review = parse_json(json)?;
    let request = review
        .request
        .ok_or_else(|| InputError::new("request", "missing: an AdmissionReview needs `request`"))?;
    let object = request
        .object
        .ok_or_else(|| InputError::new("request.object", "missing: the reviewed object"))?;
    let inner: Head = parse_json(object.get())?;
    if inner.kind.as_deref() == Some("AdmissionReview") {
        return Err(InputError::new(
            "request.object.kind",
            "an AdmissionReview cannot wrap another one",
        ));
    }
    let mut workload = parse(object.get()).map_err(|e| {
        let field = if e.field.is_empty() {
            "request.object".to_string()
        } else {
            format!("request.object.{}", e.field)
        };
        InputError::new(field, e.message)
    })?;
    if workload.id.namespace.is_none() {
        workload.id.namespace = request.namespace.map(|n| n.to_string());
    }
    Ok(workload)
}

const EXPECTED_FORMS: &str = "expected a Run:ai workload (TrainingWorkload, InteractiveWorkload, \
     DistributedWorkload, InferenceWorkload), a Run:ai REST API request (with `projectId` and \
     `spec.environmentVariables`), a Kubernetes Pod, Job, CronJob, Deployment, StatefulSet, \
     DaemonSet, ReplicaSet or AdmissionReview, or a pod-template wrapper (RayCluster, RayJob, \
     RayCronJob, RayService, JobSet, LeaderWorkerSet, PyTorchJob, MPIJob, TFJob, XGBoostJob, \
     PaddleJob, JAXJob)";

/// Deserialises JSON; on failure, says which field was wrong and what was expected.
pub fn parse_json<'a, T: Deserialize<'a>>(json: &'a str) -> Result<T, InputError> {
    let seed = PhantomData::<map_only::MapOnly<T>>;
    match try_seed(json, seed) {
        Some(m) => Ok(m.0),
        None => Err(seed_error(json, seed)),
    }
}

/// Deserialises JSON with a seed (a reader that keeps state as it goes, as
/// `templates::read`); `None` when it fails: `seed_error` says why.
pub(crate) fn try_seed<'a, S: DeserializeSeed<'a>>(json: &'a str, seed: S) -> Option<S::Value> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = seed.deserialize(&mut de).ok()?;
    de.end().ok().map(|()| value)
}

/// Why a document does not deserialise: the field and what was expected. A second
/// pass, with path tracking, on the error path only: it costs on every call.
pub(crate) fn seed_error<'a, S: DeserializeSeed<'a>>(json: &'a str, seed: S) -> InputError {
    let mut de = serde_json::Deserializer::from_str(json);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
    let err = match seed.deserialize(tracked) {
        Ok(_) => match de.end() {
            Ok(()) => return InputError::new("", "the document could not be read"),
            Err(e) => e,
        },
        Err(err) => err,
    };
    let path = track.path().to_string();
    let message = crate::shown::redact_serde_message(&without_position(&err.to_string()));
    // serde reports a missing field at its parent: name the field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    let field = match (path.as_str(), missing) {
        (".", Some(name)) => name.to_string(),
        (".", None) => String::new(),
        (_, Some(name)) => format!("{path}.{name}"),
        (_, None) => path,
    };
    InputError::new(field, message)
}

/// serde_json appends "at line L column C" of the JSON text, which is not the user's
/// file once YAML was converted; the field path says where instead.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

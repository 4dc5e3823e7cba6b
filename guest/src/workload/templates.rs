//! Where the pod templates are in every Kubernetes kind the plugin reads: Pods, the
//! pod controllers, and the wrappers GPU clusters run (KubeRay, JobSet,
//! LeaderWorkerSet, the Kubeflow training jobs).
//!
//! One table, not code per kind: in the manifests we measured (README, "Real
//! manifests"), every pod template of every one of these kinds sits at a fixed path
//! with at most one list index or map key that varies (`workerGroupSpecs[*]`,
//! `pytorchReplicaSpecs.*`), and the template itself is always a PodTemplateSpec. So
//! a kind is a row (its group, the versions whose layout we know, its paths), a new
//! API version is a word, and a kind or version not in the table is never guessed at.

use super::map_entries::{MapEntries, Str};
use crate::decision::InputError;
use crate::shown::Shown;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A kind whose documents hold pod templates.
#[derive(Debug)]
pub struct PodKind {
    pub kind: &'static str,
    /// The API group; "" for the core group.
    pub group: &'static str,
    /// The versions whose layout is this row's, the one the API server prefers first.
    pub versions: &'static [&'static str],
    /// The resource, as webhooks and RBAC rules name it.
    pub resource: &'static str,
    /// Paths of its pod templates (objects whose `spec` is a PodSpec): fields joined
    /// by `.`, `[*]` for every item of a list, `*` for every key of a map; "" for the
    /// document itself (a Pod).
    pub templates: &'static [&'static str],
    /// Whether a document with no pod template at all is refused. A RayJob may have
    /// none: it can run on an existing cluster (`clusterSelector`) with the submitter
    /// KubeRay makes.
    pub needs_template: bool,
}

const fn kind(
    kind: &'static str,
    group: &'static str,
    versions: &'static [&'static str],
    resource: &'static str,
    templates: &'static [&'static str],
) -> PodKind {
    PodKind {
        kind,
        group,
        versions,
        resource,
        templates,
        needs_template: true,
    }
}

const RAY: &[&str] = &["v1", "v1alpha1"];
const KUBEFLOW: &[&str] = &["v1"];

pub const POD_KINDS: &[PodKind] = &[
    kind("Pod", "", &["v1"], "pods", &[""]),
    kind("Job", "batch", &["v1"], "jobs", &["spec.template"]),
    kind(
        "CronJob",
        "batch",
        &["v1"],
        "cronjobs",
        &["spec.jobTemplate.spec.template"],
    ),
    kind(
        "Deployment",
        "apps",
        &["v1"],
        "deployments",
        &["spec.template"],
    ),
    kind(
        "StatefulSet",
        "apps",
        &["v1"],
        "statefulsets",
        &["spec.template"],
    ),
    kind(
        "DaemonSet",
        "apps",
        &["v1"],
        "daemonsets",
        &["spec.template"],
    ),
    kind(
        "ReplicaSet",
        "apps",
        &["v1"],
        "replicasets",
        &["spec.template"],
    ),
    // KubeRay: v1alpha1 has v1's layout.
    kind(
        "RayCluster",
        "ray.io",
        RAY,
        "rayclusters",
        &[
            "spec.headGroupSpec.template",
            "spec.workerGroupSpecs[*].template",
        ],
    ),
    PodKind {
        needs_template: false,
        ..kind(
            "RayJob",
            "ray.io",
            RAY,
            "rayjobs",
            &[
                "spec.rayClusterSpec.headGroupSpec.template",
                "spec.rayClusterSpec.workerGroupSpecs[*].template",
                "spec.submitterPodTemplate",
            ],
        )
    },
    kind(
        "RayService",
        "ray.io",
        RAY,
        "rayservices",
        &[
            "spec.rayClusterConfig.headGroupSpec.template",
            "spec.rayClusterConfig.workerGroupSpecs[*].template",
        ],
    ),
    kind(
        "JobSet",
        "jobset.x-k8s.io",
        &["v1alpha2"],
        "jobsets",
        &["spec.replicatedJobs[*].template.spec.template"],
    ),
    kind(
        "LeaderWorkerSet",
        "leaderworkerset.x-k8s.io",
        &["v1"],
        "leaderworkersets",
        &[
            "spec.leaderWorkerTemplate.leaderTemplate",
            "spec.leaderWorkerTemplate.workerTemplate",
        ],
    ),
    // Kubeflow training jobs: a map from replica type (Master, Worker, Launcher, ...)
    // to a replica spec. MPIJob is served as v2beta1 by the MPI operator.
    kind(
        "PyTorchJob",
        "kubeflow.org",
        KUBEFLOW,
        "pytorchjobs",
        &["spec.pytorchReplicaSpecs.*.template"],
    ),
    kind(
        "MPIJob",
        "kubeflow.org",
        &["v2beta1", "v1"],
        "mpijobs",
        &["spec.mpiReplicaSpecs.*.template"],
    ),
    kind(
        "TFJob",
        "kubeflow.org",
        KUBEFLOW,
        "tfjobs",
        &["spec.tfReplicaSpecs.*.template"],
    ),
    kind(
        "XGBoostJob",
        "kubeflow.org",
        KUBEFLOW,
        "xgboostjobs",
        &["spec.xgbReplicaSpecs.*.template"],
    ),
    kind(
        "PaddleJob",
        "kubeflow.org",
        KUBEFLOW,
        "paddlejobs",
        &["spec.paddleReplicaSpecs.*.template"],
    ),
    kind(
        "JAXJob",
        "kubeflow.org",
        KUBEFLOW,
        "jaxjobs",
        &["spec.jaxReplicaSpecs.*.template"],
    ),
];

/// The row of a kind, whatever its version.
pub fn pod_kind(kind: &str) -> Option<&'static PodKind> {
    POD_KINDS.iter().find(|k| k.kind == kind)
}

impl PodKind {
    /// `group/version`, or `version` in the core group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// One of Kubernetes' own kinds (not a custom resource).
    pub fn is_builtin(&self) -> bool {
        matches!(self.group, "" | "apps" | "batch")
    }

    /// Whether this row reads documents of this apiVersion.
    pub fn reads(&self, api_version: &str) -> bool {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        group == self.group && self.versions.contains(&version)
    }

    /// The apiVersions read, for messages: `ray.io/v1 or ray.io/v1alpha1`.
    pub fn expected(&self) -> String {
        let all: Vec<String> = self.versions.iter().map(|v| self.api_version(v)).collect();
        all.join(" or ")
    }

    /// Its pods are several (head and workers, replica types): container names are
    /// then qualified by their template, `workerGroupSpecs[1]/ray-worker`.
    pub fn has_several_pods(&self) -> bool {
        self.templates.len() > 1 || self.templates.iter().any(|t| t.contains('*'))
    }
}

/// A pod template found in a document.
pub struct Found<'a> {
    /// Its path: `spec.workerGroupSpecs[1].template`; "" for a Pod.
    pub path: String,
    /// What names its pod in container names: the path up to the index or key that
    /// varies, else without `.template`, and without `spec.`: `workerGroupSpecs[1]`,
    /// `pytorchReplicaSpecs.Worker`, `submitterPodTemplate`.
    pub label: String,
    pub raw: &'a RawValue,
}

/// Every pod template of the document, in the table's order and the document's.
/// A `null` anywhere on a path is an absent field; any other value of the wrong
/// type is an error naming its field.
pub fn find<'a>(document: &'a RawValue, kind: &PodKind) -> Result<Vec<Found<'a>>, InputError> {
    let mut found = Vec::new();
    for pattern in kind.templates {
        let steps: Vec<Step> = steps(pattern);
        walk(document, &steps, String::new(), None, &mut found)?;
    }
    Ok(found)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'p> {
    Field(&'p str),
    EveryItem,
    EveryKey,
}

fn steps(pattern: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in pattern.split('.').filter(|p| !p.is_empty()) {
        match part.strip_suffix("[*]") {
            Some(field) => {
                steps.push(Step::Field(field));
                steps.push(Step::EveryItem);
            }
            None if part == "*" => steps.push(Step::EveryKey),
            None => steps.push(Step::Field(part)),
        }
    }
    steps
}

fn walk<'a>(
    value: &'a RawValue,
    steps: &[Step],
    path: String,
    varied: Option<&str>,
    found: &mut Vec<Found<'a>>,
) -> Result<(), InputError> {
    let Some((step, rest)) = steps.split_first() else {
        if value_type(value) != "a map" {
            return Err(InputError::new(
                path,
                format!(
                    "expected a map (a pod template), found {}",
                    value_type(value)
                ),
            ));
        }
        let label = match varied {
            Some(label) => label.to_string(),
            None => path.strip_suffix(".template").unwrap_or(&path).to_string(),
        };
        let label = label.strip_prefix("spec.").unwrap_or(&label).to_string();
        found.push(Found {
            path,
            label,
            raw: value,
        });
        return Ok(());
    };
    let expected = match step {
        Step::EveryItem => "a list",
        _ => "a map",
    };
    match value_type(value) {
        "null" => return Ok(()),
        t if t != expected => {
            return Err(InputError::new(
                path,
                format!("expected {expected}, found {t}"),
            ));
        }
        _ => {}
    }
    match step {
        Step::Field(name) => {
            let Some(inner) = field(value, name).map_err(|m| InputError::new(&path, m))? else {
                return Ok(());
            };
            let path = join(&path, name);
            walk(inner, rest, path, varied, found)
        }
        Step::EveryItem => {
            let items: Vec<&RawValue> = serde_json::from_str(value.get())
                .map_err(|_| InputError::new(&path, "expected a list"))?;
            for (i, item) in items.into_iter().enumerate() {
                let path = format!("{path}[{i}]");
                walk(item, rest, path.clone(), Some(&path), found)?;
            }
            Ok(())
        }
        Step::EveryKey => {
            let entries: MapEntries<&RawValue> = serde_json::from_str(value.get())
                .map_err(|_| InputError::new(&path, "expected a map"))?;
            for (key, item) in entries.0 {
                let path = join(&path, &key);
                walk(item, rest, path.clone(), Some(&path), found)?;
            }
            Ok(())
        }
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The JSON type of a value, as messages name it, from its first byte.
fn value_type(value: &RawValue) -> &'static str {
    match value.get().as_bytes().first() {
        Some(b'{') => "a map",
        Some(b'[') => "a list",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}

/// One field of an object, the others skipped unread; `None` when it is absent or
/// `null`. A field given twice is an error, as serde's derived structs make it.
fn field<'a>(object: &'a RawValue, name: &str) -> Result<Option<&'a RawValue>, String> {
    let mut de = serde_json::Deserializer::from_str(object.get());
    let value = FindField(name)
        .deserialize(&mut de)
        .map_err(|e| crate::shown::redact_serde_message(&e.to_string()))?;
    Ok(value.filter(|v| v.get() != "null"))
}

struct FindField<'n>(&'n str);

impl<'de, 'n> DeserializeSeed<'de> for FindField<'n> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 'n> Visitor<'de> for FindField<'n> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if &*key != self.0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if found.is_some() {
                return Err(serde::de::Error::custom(format!(
                    "duplicate field `{}`",
                    Shown(self.0)
                )));
            }
            found = Some(map.next_value::<&'de RawValue>()?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(json: &str, kind: &str) -> Result<Vec<(String, String)>, InputError> {
        let raw: &RawValue = serde_json::from_str(json).unwrap();
        let found = find(raw, pod_kind(kind).unwrap())?;
        Ok(found.into_iter().map(|f| (f.path, f.label)).collect())
    }

    #[test]
    fn every_pattern_is_well_formed() {
        for k in POD_KINDS {
            assert!(!k.versions.is_empty(), "{}", k.kind);
            for pattern in k.templates {
                let steps = steps(pattern);
                // A template is reached by a field, never by a bare wildcard.
                assert!(
                    pattern.is_empty() || matches!(steps.last(), Some(Step::Field(_))),
                    "{pattern}"
                );
                assert!(
                    steps
                        .iter()
                        .filter(|s| !matches!(s, Step::Field(_)))
                        .count()
                        <= 1,
                    "{pattern}: one varying part at most"
                );
            }
        }
    }

    #[test]
    fn templates_are_found_where_the_table_says_with_their_labels() {
        let ray = r#"{"spec":{"headGroupSpec":{"template":{}},"workerGroupSpecs":[{"template":{}},{"groupName":"x"},null,{"template":null},{"template":{}}]}}"#;
        assert_eq!(
            paths(ray, "RayCluster").unwrap(),
            [
                ("spec.headGroupSpec.template".into(), "headGroupSpec".into()),
                (
                    "spec.workerGroupSpecs[0].template".into(),
                    "workerGroupSpecs[0]".into()
                ),
                (
                    "spec.workerGroupSpecs[4].template".into(),
                    "workerGroupSpecs[4]".into()
                ),
            ]
        );
        let job = r#"{"spec":{"pytorchReplicaSpecs":{"Master":{"template":{}},"Worker":{"template":{}}}}}"#;
        assert_eq!(
            paths(job, "PyTorchJob").unwrap(),
            [
                (
                    "spec.pytorchReplicaSpecs.Master.template".into(),
                    "pytorchReplicaSpecs.Master".into()
                ),
                (
                    "spec.pytorchReplicaSpecs.Worker.template".into(),
                    "pytorchReplicaSpecs.Worker".into()
                ),
            ]
        );
        assert_eq!(
            paths(r#"{"spec":{"submitterPodTemplate":{}}}"#, "RayJob").unwrap(),
            [(
                "spec.submitterPodTemplate".into(),
                "submitterPodTemplate".into()
            )]
        );
        assert_eq!(
            paths(r#"{"spec":{}}"#, "Pod").unwrap(),
            [(String::new(), String::new())]
        );
    }

    #[test]
    fn wrong_types_on_the_way_are_errors_naming_the_field() {
        let cases = [
            (
                r#"{"spec":{"workerGroupSpecs":[{"template":"x"}]}}"#,
                "spec.workerGroupSpecs[0].template",
                "expected a map (a pod template), found a string",
            ),
            (
                r#"{"spec":{"workerGroupSpecs":{"template":{}}}}"#,
                "spec.workerGroupSpecs",
                "expected a list, found a map",
            ),
            (
                r#"{"spec":{"headGroupSpec":[1]}}"#,
                "spec.headGroupSpec",
                "expected a map, found a list",
            ),
            (
                r#"{"spec":{"headGroupSpec":{"template":{},"template":{}}}}"#,
                "spec.headGroupSpec",
                "duplicate field `template`",
            ),
        ];
        for (json, field, message) in cases {
            let e = paths(json, "RayCluster").unwrap_err();
            assert_eq!(e.field, field, "{json}");
            assert!(e.message.contains(message), "{json}: {}", e.message);
        }
    }
}

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

use super::map_entries::Str;
use super::map_only::MapOnly;
use crate::decision::InputError;
use crate::shown::Shown;
use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

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
    // A RayJob on a schedule: `spec.jobTemplate` is a RayJob's spec (KubeRay 1.5).
    PodKind {
        needs_template: false,
        ..kind(
            "RayCronJob",
            "ray.io",
            &["v1"],
            "raycronjobs",
            &[
                "spec.jobTemplate.rayClusterSpec.headGroupSpec.template",
                "spec.jobTemplate.rayClusterSpec.workerGroupSpecs[*].template",
                "spec.jobTemplate.submitterPodTemplate",
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

/// A pod template found in a document, read where it is.
pub struct Found<T> {
    /// Its path: `spec.workerGroupSpecs[1].template`; "" for a Pod.
    pub path: String,
    /// Where `label` is in `path`.
    label: std::ops::Range<usize>,
    pub template: T,
}

impl<T> Found<T> {
    /// What names its pod in container names: the path up to the index or key that
    /// varies, else without `.template`, and without `spec.`: `workerGroupSpecs[1]`,
    /// `pytorchReplicaSpecs.Worker`, `submitterPodTemplate`.
    pub fn label(&self) -> &str {
        self.path.get(self.label.clone()).unwrap_or_default()
    }
}

/// A document read for its pod templates: its `metadata` and every template.
pub struct Read<M, T> {
    pub metadata: Option<M>,
    /// Per pattern of the row, the templates it found in the document's order.
    by_pattern: Vec<Vec<Found<T>>>,
}

impl<M, T> Read<M, T> {
    /// In the table's order, then the document's (a head group written after its
    /// workers is still the first pod).
    pub fn templates(self) -> impl Iterator<Item = Found<T>> {
        self.by_pattern.into_iter().flatten()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pattern.iter().all(Vec::is_empty)
    }
}

/// Reads the document in one pass: only the fields on the kind's paths are descended
/// into, every other value is skipped unread, and each pod template is deserialized
/// into `T` where it is (a 3.5 MB RayCluster of 20,000 worker groups used up the
/// plugin's budget when each level was parsed again from its raw text). A `null`
/// anywhere on a path is an absent field; any other value of the wrong type is an
/// error naming its field.
pub fn read<'de, M, T>(json: &'de str, kind: &PodKind) -> Result<Read<M, T>, InputError>
where
    M: Deserialize<'de>,
    T: Deserialize<'de>,
{
    let mut patterns = [steps(""); MAX_PATTERNS];
    for (slot, pattern) in patterns.iter_mut().zip(kind.templates) {
        *slot = steps(pattern);
    }
    let count = kind.templates.len().min(MAX_PATTERNS);
    let mut active = Set::default();
    for (i, steps) in patterns[..count].iter().enumerate() {
        active.push(i, steps.as_slice());
    }
    let fresh = || Context {
        path: String::new(),
        out: (0..count).map(|_| Vec::new()).collect(),
    };
    let node = |context| Node {
        patterns: active,
        varied: None,
        root: true,
        context,
        marker: PhantomData::<M>,
    };
    let mut context = fresh();
    match super::try_seed(json, node(&mut context)) {
        Some(metadata) => Ok(Read {
            metadata,
            by_pattern: context.out,
        }),
        None => Err(super::seed_error(json, node(&mut fresh()))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'p> {
    Field(&'p str),
    EveryItem,
    EveryKey,
}

/// The most steps of a pattern, and patterns of a row (a test holds the table to them):
/// fixed arrays, so following the paths allocates nothing.
const MAX_STEPS: usize = 8;
const MAX_PATTERNS: usize = 4;

#[derive(Clone, Copy)]
struct Steps<'p> {
    items: [Step<'p>; MAX_STEPS],
    len: usize,
}

impl<'p> Steps<'p> {
    fn as_slice(&self) -> &[Step<'p>] {
        &self.items[..self.len]
    }

    fn push(&mut self, step: Step<'p>) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = step;
            self.len += 1;
        }
    }
}

fn steps(pattern: &str) -> Steps<'_> {
    let mut steps = Steps {
        items: [Step::EveryItem; MAX_STEPS],
        len: 0,
    };
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

/// The patterns still to follow from a value: (the row's pattern, its steps left).
#[derive(Clone, Copy)]
struct Set<'s, 'p> {
    items: [(usize, &'s [Step<'p>]); MAX_PATTERNS],
    len: usize,
}

impl Default for Set<'_, '_> {
    fn default() -> Self {
        Set {
            items: [(0, &[]); MAX_PATTERNS],
            len: 0,
        }
    }
}

impl<'s, 'p> Set<'s, 'p> {
    fn push(&mut self, pattern: usize, steps: &'s [Step<'p>]) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (pattern, steps);
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(usize, &'s [Step<'p>])> {
        self.items[..self.len].iter()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What the walk shares: the path of the value it is at (pushed and popped as it
/// goes down and up) and the templates found, per pattern.
struct Context<T> {
    path: String,
    out: Vec<Vec<Found<T>>>,
}

/// One value on the way to pod templates. The document's `metadata` (as `M`) is the
/// root's value.
struct Node<'s, 'p, 'c, M, T> {
    patterns: Set<'s, 'p>,
    /// Where the path's last index or key that varied ends, for labels.
    varied: Option<usize>,
    root: bool,
    context: &'c mut Context<T>,
    marker: PhantomData<M>,
}

impl<'s, 'p, M, T> Node<'s, 'p, '_, M, T> {
    /// Where the template is: a pattern ends here.
    fn at_template(&self) -> Option<usize> {
        self.patterns
            .iter()
            .find(|(_, steps)| steps.is_empty())
            .map(|(i, _)| *i)
    }

    fn expected(&self) -> &'static str {
        if self.at_template().is_some() {
            return "a map (a pod template)";
        }
        match self.patterns.iter().next().and_then(|(_, s)| s.first()) {
            Some(Step::EveryItem) => "a list",
            _ => "a map",
        }
    }

    /// The patterns that continue through `step`, with what is left of them.
    fn through(&self, step: Step) -> Set<'s, 'p> {
        let mut set = Set::default();
        for (i, steps) in self.patterns.iter() {
            if steps.first() == Some(&step) {
                set.push(*i, &steps[1..]);
            }
        }
        set
    }

    /// The node below, at the path the caller pushed.
    fn child(&mut self, patterns: Set<'s, 'p>, varies: bool) -> Node<'s, 'p, '_, IgnoredAny, T> {
        Node {
            patterns,
            varied: if varies {
                Some(self.context.path.len())
            } else {
                self.varied
            },
            root: false,
            context: self.context,
            marker: PhantomData,
        }
    }

    fn found(&mut self, pattern: usize, template: T) {
        let path = &self.context.path;
        let end = match self.varied {
            Some(end) => end,
            None => path.strip_suffix(".template").unwrap_or(path).len(),
        };
        let start = if path.starts_with("spec.") { 5 } else { 0 };
        let path = path.clone();
        if let Some(list) = self.context.out.get_mut(pattern) {
            list.push(Found {
                path,
                label: start.min(end)..end,
                template,
            });
        }
    }

    fn wrong<E: serde::de::Error>(&self, found: &str) -> E {
        E::custom(format!("expected {}, found {found}", self.expected()))
    }

    /// Appends `.field` (or `field` at the root) to the path; returns the length to
    /// go back to.
    fn push_field(&mut self, field: &str) -> usize {
        let path = &mut self.context.path;
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
        len
    }
}

impl<'de, M, T> DeserializeSeed<'de> for Node<'_, '_, '_, M, T>
where
    M: Deserialize<'de>,
    T: Deserialize<'de>,
{
    /// The root's metadata.
    type Value = Option<M>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, M, T> Visitor<'de> for Node<'_, '_, '_, M, T>
where
    M: Deserialize<'de>,
    T: Deserialize<'de>,
{
    type Value = Option<M>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expected())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut metadata = None;
        if let Some(pattern) = self.at_template() {
            // A Pod is its own template: its metadata is the document's.
            let fields = Intercept {
                map,
                metadata: &mut metadata,
                root: self.root,
            };
            let template = T::deserialize(MapAccessDeserializer::new(fields))?;
            self.found(pattern, template);
            return Ok(metadata);
        }
        if self.expected() == "a list" {
            return Err(self.wrong("a map"));
        }
        let every_key = self.through(Step::EveryKey);
        let mut seen: [Option<&str>; MAX_PATTERNS] = [None; MAX_PATTERNS];
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if self.root && &*key == "metadata" {
                if metadata.is_some() {
                    return Err(serde::de::Error::custom("duplicate field `metadata`"));
                }
                metadata = Some(map.next_value::<MapOnly<M>>()?.0);
                continue;
            }
            if !every_key.is_empty() {
                let back = self.push_field(&key);
                map.next_value_seed(self.child(every_key, true))?;
                self.context.path.truncate(back);
                continue;
            }
            let name = self
                .patterns
                .iter()
                .find_map(|(_, steps)| match steps.first() {
                    Some(Step::Field(name)) if *name == &*key => Some(*name),
                    _ => None,
                });
            let Some(name) = name else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            match seen.iter_mut().find(|s| s.is_none_or(|seen| seen == name)) {
                Some(Some(_)) => {
                    return Err(serde::de::Error::custom(format!(
                        "duplicate field `{}`",
                        Shown(name)
                    )));
                }
                Some(slot) => *slot = Some(name),
                None => {}
            }
            let through = self.through(Step::Field(name));
            let back = self.push_field(name);
            map.next_value_seed(self.child(through, false))?;
            self.context.path.truncate(back);
        }
        Ok(metadata)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.expected() != "a list" {
            return Err(self.wrong("a list"));
        }
        let every_item = self.through(Step::EveryItem);
        let back = self.context.path.len();
        for i in 0usize.. {
            use std::fmt::Write as _;
            let _ = write!(self.context.path, "[{i}]");
            let more = seq
                .next_element_seed(self.child(every_item, true))?
                .is_some();
            self.context.path.truncate(back);
            if !more {
                break;
            }
        }
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.wrong("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }
}

/// A template's fields for `T`, with the document's `metadata` taken aside when the
/// template is the document itself (a Pod).
struct Intercept<'m, A, M> {
    map: A,
    metadata: &'m mut Option<M>,
    root: bool,
}

impl<'de, A: MapAccess<'de>, M: Deserialize<'de>> MapAccess<'de> for Intercept<'_, A, M> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        loop {
            let Some(key) = self.map.next_key::<Str<'de>>()? else {
                return Ok(None);
            };
            if self.root && &*key == "metadata" {
                if self.metadata.is_some() {
                    return Err(serde::de::Error::custom("duplicate field `metadata`"));
                }
                *self.metadata = Some(self.map.next_value::<MapOnly<M>>()?.0);
                continue;
            }
            return match key.0 {
                Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
                Cow::Owned(k) => seed.deserialize(StringDeserializer::new(k)),
            }
            .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.map.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    fn paths(json: &str, kind: &str) -> Result<Vec<(String, String)>, InputError> {
        let read: Read<IgnoredAny, IgnoredAny> = read(json, pod_kind(kind).unwrap())?;
        Ok(read
            .templates()
            .map(|f| (f.path.clone(), f.label().to_string()))
            .collect())
    }

    #[test]
    fn every_pattern_is_well_formed() {
        for k in POD_KINDS {
            assert!(!k.versions.is_empty(), "{}", k.kind);
            assert!(k.templates.len() <= MAX_PATTERNS, "{}", k.kind);
            let all: Vec<Vec<Step>> = k
                .templates
                .iter()
                .map(|p| steps(p).as_slice().to_vec())
                .collect();
            for (pattern, steps) in k.templates.iter().zip(&all) {
                let parts = pattern.split('.').filter(|p| !p.is_empty()).count();
                let items = pattern.matches("[*]").count();
                assert_eq!(
                    steps.len(),
                    parts + items,
                    "{pattern}: over {MAX_STEPS} steps"
                );
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
                // No pattern ends where another goes on, nor meets another where that
                // one expects another type: a value has one role.
                for other in &all {
                    for depth in 0..steps.len().min(other.len()) {
                        if steps[..depth] == other[..depth] {
                            let (a, b) = (steps[depth], other[depth]);
                            let kind = |s: Step| matches!(s, Step::Field(_));
                            assert!(
                                kind(a) == kind(b) && (kind(a) || a == b),
                                "{pattern}: {a:?} against {b:?}"
                            );
                        }
                    }
                    if other.len() > steps.len() {
                        assert_ne!(
                            &other[..steps.len()],
                            &steps[..],
                            "{pattern} ends inside another"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn templates_are_found_where_the_table_says_with_their_labels() {
        let ray = r#"{"spec":{"workerGroupSpecs":[{"template":{}},{"groupName":"x"},null,{"template":null},{"template":{}}],"headGroupSpec":{"template":{}}}}"#;
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
        let jobset = r#"{"spec":{"replicatedJobs":[{"template":{"spec":{"template":{}}}}]}}"#;
        assert_eq!(
            paths(jobset, "JobSet").unwrap(),
            [(
                "spec.replicatedJobs[0].template.spec.template".into(),
                "replicatedJobs[0]".into()
            )]
        );
        assert_eq!(
            paths(r#"{"spec":{}}"#, "Pod").unwrap(),
            [(String::new(), String::new())]
        );
        assert_eq!(paths(r#"{"spec":null}"#, "RayCluster").unwrap(), []);
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
                r#"{"spec":{"workerGroupSpecs":[7]}}"#,
                "spec.workerGroupSpecs[0]",
                "expected a map, found a number",
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
            let e = paths(json, "RayCluster").err().unwrap();
            assert_eq!(e.field, field, "{json}: {}", e.message);
            assert!(e.message.contains(message), "{json}: {}", e.message);
        }
    }
}

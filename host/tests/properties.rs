//! Property tests of the simulated cluster (SPEC §5): after any sequence of changes
//! (applying Secrets, Projects and Namespaces, creating and deleting projects, setting
//! and removing cluster-wide propagation, deleting secrets), checked against a model
//! kept by the test itself:
//!
//! - a change that fails changes nothing, and one that succeeds does what the model says
//!   (set/remove cluster-wide succeed exactly when the secret is in `runai`, a delete
//!   exactly when the namespace holds it, and propagation reports the namespaces that
//!   receive a copy and those whose own secret keeps it out);
//! - the cluster's own secrets are exactly those applied and not deleted, unchanged
//!   (only the `runai/cluster-wide` label of a source in `runai` changes);
//! - every project namespace sees exactly its own secrets plus a copy of every
//!   `runai` secret labelled cluster-wide whose name it does not own; `runai` and
//!   other namespaces see only their own;
//! - no namespace is visible to two projects, and `runai` and `kube-*` to none.
//!
//! Manifests are applied as every caller applies them: to a copy of the cluster, kept
//! only when the whole file applies.

use host::cluster::secret::CLUSTER_WIDE_LABEL;
use host::cluster::{Cluster, QUEUE_LABEL, SYSTEM_NAMESPACE, load_documents};
use host::manifest::Document;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const PROJECTS: &[&str] = &["p0", "p1", "p2", "p3"];
/// Namespaces: `runai`, the default namespaces of the projects, two others that a
/// Namespace's `runai/queue` label or a project's `spec.namespace` may give a project,
/// and a `kube-*` one, which (like `runai`) no project may have.
const NAMESPACES: &[&str] = &["runai", "runai-p0", "runai-p1", "runai-p2", "ns-x", "ns-y"];
const SECRETS: &[&str] = &["s0", "s1", "s2", "s3"];
const KEYS: &[&str] = &["k0", "k1", "k2"];

#[derive(Debug, Clone)]
enum Op {
    ApplySecret {
        namespace: usize,
        name: usize,
        keys: Vec<usize>,
        cluster_wide: bool,
    },
    ApplyProject {
        name: usize,
        namespace: Option<usize>,
    },
    ApplyNamespace {
        name: usize,
        queue: Option<usize>,
    },
    CreateProject {
        name: usize,
        namespace: Option<usize>,
    },
    DeleteProject(usize),
    SetClusterWide(usize),
    RemoveClusterWide(usize),
    DeleteSecret {
        namespace: usize,
        name: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let ns = 0..NAMESPACES.len();
    // Secrets live in `runai` or a project namespace (others are refused): `runai` or a
    // project's default namespace most of the time.
    let secret_ns = prop_oneof![2 => Just(0), 2 => 1..4usize, 1 => ns.clone()];
    let secret = 0..SECRETS.len();
    let project = 0..PROJECTS.len();
    prop_oneof![
        4 => (secret_ns.clone(), secret.clone(), proptest::collection::vec(0..KEYS.len(), 0..3), any::<bool>())
            .prop_map(|(namespace, name, keys, cluster_wide)| Op::ApplySecret { namespace, name, keys, cluster_wide }),
        2 => (project.clone(), proptest::option::weighted(0.3, ns.clone()))
            .prop_map(|(name, namespace)| Op::ApplyProject { name, namespace }),
        1 => (ns.clone(), proptest::option::of(project.clone()))
            .prop_map(|(name, queue)| Op::ApplyNamespace { name, queue }),
        3 => (project.clone(), proptest::option::weighted(0.3, ns.clone()))
            .prop_map(|(name, namespace)| Op::CreateProject { name, namespace }),
        1 => project.prop_map(Op::DeleteProject),
        3 => secret.clone().prop_map(Op::SetClusterWide),
        2 => secret.clone().prop_map(Op::RemoveClusterWide),
        2 => (secret_ns, secret).prop_map(|(namespace, name)| Op::DeleteSecret { namespace, name }),
    ]
}

/// What the test knows the cluster holds, kept without the cluster's code.
#[derive(Debug, Clone, Default)]
struct Model {
    /// Own secrets by (namespace, name): key names and the cluster-wide label.
    secrets: BTreeMap<(String, String), (BTreeSet<String>, bool)>,
    /// Projects and their `spec.namespace`.
    projects: BTreeMap<String, Option<String>>,
    /// Namespaces and their `runai/queue` label.
    namespaces: BTreeMap<String, Option<String>>,
}

impl Model {
    /// SPEC §5: `spec.namespace`, else a namespace labelled `runai/queue=<project>`,
    /// else `runai-<project>`. (With several labelled namespaces the cluster takes the
    /// last by name; which one is not what these properties are about.)
    fn namespace_of(&self, project: &str) -> String {
        if let Some(Some(ns)) = self.projects.get(project) {
            return ns.clone();
        }
        self.namespaces
            .iter()
            .rev()
            .find(|(_, queue)| queue.as_deref() == Some(project))
            .map(|(ns, _)| ns.clone())
            .unwrap_or_else(|| format!("runai-{project}"))
    }

    fn project_namespaces(&self) -> BTreeSet<String> {
        self.projects.keys().map(|p| self.namespace_of(p)).collect()
    }

    fn cluster_wide(&self) -> BTreeMap<&str, &BTreeSet<String>> {
        self.secrets
            .iter()
            .filter(|((ns, _), (_, cw))| ns == SYSTEM_NAMESPACE && *cw)
            .map(|((_, name), (keys, _))| (name.as_str(), keys))
            .collect()
    }

    /// (name, keys, copy) of what `namespace` sees.
    fn visible(&self, namespace: &str) -> BTreeSet<(String, Vec<String>, bool)> {
        let mut seen: BTreeMap<String, (Vec<String>, bool)> = self
            .secrets
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, name), (keys, _))| (name.clone(), (keys.iter().cloned().collect(), false)))
            .collect();
        if namespace != SYSTEM_NAMESPACE && self.project_namespaces().contains(namespace) {
            for (name, keys) in self.cluster_wide() {
                seen.entry(name.to_string())
                    .or_insert_with(|| (keys.iter().cloned().collect(), true));
            }
        }
        seen.into_iter()
            .map(|(name, (keys, copy))| (name, keys, copy))
            .collect()
    }
}

fn doc(value: Value) -> Vec<Document> {
    vec![Document {
        source: "prop.yaml".to_string(),
        value,
    }]
}

/// Applies manifests as every caller does: to a copy, kept only when all of it applies
/// (`load_documents` may leave its cluster half-changed on an error).
fn apply(cluster: &mut Cluster, value: Value) -> anyhow::Result<()> {
    let mut next = cluster.clone();
    load_documents(&mut next, &doc(value))?;
    *cluster = next;
    Ok(())
}

fn snapshot(c: &Cluster) -> Vec<u8> {
    host::state::to_text(c).expect("the state serialises")
}

/// Runs `op` on the cluster and the model; checks that a failure changed nothing and
/// that a success did what the model expects.
fn step(cluster: &mut Cluster, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let before = snapshot(cluster);
    let ok = match op {
        Op::ApplySecret {
            namespace,
            name,
            keys,
            cluster_wide,
        } => {
            let (ns, name) = (NAMESPACES[*namespace], SECRETS[*name]);
            let keys: BTreeSet<String> = keys.iter().map(|k| KEYS[*k].to_string()).collect();
            let data: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| (k.clone(), json!("dmFsdWU=")))
                .collect();
            let mut metadata = json!({"name": name, "namespace": ns});
            if *cluster_wide {
                metadata["labels"] = json!({CLUSTER_WIDE_LABEL: "true"});
            }
            let r = apply(
                cluster,
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data}),
            );
            if r.is_ok() {
                model
                    .secrets
                    .insert((ns.to_string(), name.to_string()), (keys, *cluster_wide));
            }
            r.is_ok()
        }
        Op::ApplyProject { name, namespace } => {
            let (name, ns) = (PROJECTS[*name], namespace.map(|n| NAMESPACES[n]));
            let mut project =
                json!({"apiVersion": "run.ai/v2", "kind": "Project", "metadata": {"name": name}});
            if let Some(ns) = ns {
                project["spec"] = json!({"namespace": ns});
            }
            let r = apply(cluster, project);
            if r.is_ok() {
                model
                    .projects
                    .insert(name.to_string(), ns.map(str::to_string));
            }
            r.is_ok()
        }
        Op::ApplyNamespace { name, queue } => {
            let (name, queue) = (NAMESPACES[*name], queue.map(|p| PROJECTS[p]));
            let mut namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            if let Some(q) = queue {
                namespace["metadata"]["labels"] = json!({QUEUE_LABEL: q});
            }
            let r = apply(cluster, namespace);
            if r.is_ok() {
                model
                    .namespaces
                    .insert(name.to_string(), queue.map(str::to_string));
            }
            r.is_ok()
        }
        Op::CreateProject { name, namespace } => {
            let (name, ns) = (PROJECTS[*name], namespace.map(|n| NAMESPACES[n]));
            let r = cluster.create_project(name, ns.map(str::to_string), None, None);
            if let Ok(created_in) = &r {
                prop_assert!(
                    !model.projects.contains_key(name),
                    "project {name} created twice"
                );
                model
                    .projects
                    .insert(name.to_string(), ns.map(str::to_string));
                prop_assert_eq!(created_in, &model.namespace_of(name));
            }
            r.is_ok()
        }
        Op::DeleteProject(p) => {
            let name = PROJECTS[*p];
            let r = cluster.delete_project(name);
            prop_assert_eq!(r.is_ok(), model.projects.remove(name).is_some());
            r.is_ok()
        }
        Op::SetClusterWide(s) | Op::RemoveClusterWide(s) => {
            let name = SECRETS[*s];
            let set = matches!(op, Op::SetClusterWide(_));
            let r = if set {
                cluster.set_cluster_wide(name)
            } else {
                cluster.remove_cluster_wide(name)
            };
            let key = (SYSTEM_NAMESPACE.to_string(), name.to_string());
            prop_assert_eq!(r.is_ok(), model.secrets.contains_key(&key), "{:?}", op);
            if let Ok(p) = &r {
                let was = model.secrets[&key].1;
                prop_assert_eq!(p.unchanged, was == set, "{:?}", op);
                if !p.unchanged {
                    // The namespaces that receive (set) or lose (remove) a copy, and
                    // those whose own secret of that name keeps it out.
                    let (mut copies, mut conflicts) = (Vec::new(), Vec::new());
                    for ns in model.project_namespaces() {
                        if model.secrets.contains_key(&(ns.clone(), name.to_string())) {
                            conflicts.push(ns);
                        } else {
                            copies.push(ns);
                        }
                    }
                    prop_assert_eq!(&p.namespaces, &copies, "{:?}", op);
                    prop_assert_eq!(&p.conflicts, &conflicts, "{:?}", op);
                }
                model.secrets.get_mut(&key).expect("checked").1 = set;
            }
            r.is_ok()
        }
        Op::DeleteSecret { namespace, name } => {
            let (ns, name) = (NAMESPACES[*namespace], SECRETS[*name]);
            let key = (ns.to_string(), name.to_string());
            let r = cluster.delete_secret(ns, name);
            prop_assert_eq!(r.is_ok(), model.secrets.contains_key(&key), "{:?}", op);
            if let Ok(d) = &r {
                // Deleting a cluster-wide source removes its copies: the project
                // namespaces that saw one before and see none after.
                let with_copy = |model: &Model| -> BTreeSet<String> {
                    model
                        .project_namespaces()
                        .into_iter()
                        .filter(|p| {
                            model
                                .visible(p)
                                .iter()
                                .any(|(n, _, copy)| n == name && *copy)
                        })
                        .collect()
                };
                let before = with_copy(model);
                model.secrets.remove(&key);
                let after = with_copy(model);
                let copies: Vec<String> = before.difference(&after).cloned().collect();
                prop_assert_eq!(&d.copies, &copies, "{:?}", op);
            }
            r.is_ok()
        }
    };
    if !ok {
        prop_assert!(
            snapshot(cluster) == before,
            "{op:?} failed but changed the cluster"
        );
    }
    Ok(())
}

/// The properties of the module doc, on the cluster against the model.
fn check(cluster: &Cluster, model: &Model) -> Result<(), TestCaseError> {
    // Tenancy: no namespace belongs to two projects; `runai` and `kube-*` to none.
    let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in cluster.projects.values() {
        owners
            .entry(cluster.project_namespace(p))
            .or_default()
            .push(&p.name);
    }
    for (ns, projects) in &owners {
        prop_assert!(
            projects.len() == 1,
            "namespace {} is visible to projects {:?}",
            ns,
            projects
        );
        prop_assert!(
            ns != SYSTEM_NAMESPACE && !ns.starts_with("kube-"),
            "project {:?} has namespace {}",
            projects,
            ns
        );
    }
    // Own secrets: exactly those applied and not deleted, with their keys and label.
    let own: BTreeMap<(String, String), (BTreeSet<String>, bool)> = cluster
        .secrets
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                (s.keys.keys().cloned().collect(), s.is_cluster_wide()),
            )
        })
        .collect();
    prop_assert_eq!(&own, &model.secrets, "own secrets");
    // What every namespace sees.
    let project_namespaces: BTreeSet<String> = cluster.project_namespaces().into_keys().collect();
    prop_assert_eq!(&project_namespaces, &model.project_namespaces());
    let mut namespaces: BTreeSet<String> = NAMESPACES.iter().map(|n| n.to_string()).collect();
    namespaces.extend(project_namespaces);
    for ns in &namespaces {
        let seen: BTreeSet<(String, Vec<String>, bool)> = cluster
            .catalog(ns)
            .into_iter()
            .map(|m| (m.name, m.keys, m.cluster_wide_copy))
            .collect();
        prop_assert_eq!(&seen, &model.visible(ns), "what {} sees", ns);
    }
    Ok(())
}

proptest! {
    // 1,000 sequences of up to 40 changes: a few seconds in a debug build.
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_project_namespace_sees_exactly_its_secrets_and_the_cluster_wide_copies(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let mut cluster = Cluster::default();
        let mut model = Model::default();
        for op in &ops {
            step(&mut cluster, &mut model, op)?;
            check(&cluster, &model)?;
        }
    }
}

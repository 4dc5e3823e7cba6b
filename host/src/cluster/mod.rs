//! The simulated cluster: namespaces, projects, departments, secrets and policies,
//! and the views the plugin needs (SPEC §1, §5).

pub mod files;
mod load;
pub mod ops;
pub mod quarantine;
pub mod secret;

use crate::plugin::{PolicyDocument, ProjectInfo, SecretMetadata};
use anyhow::{Result, bail};
use guest::shown::shown;
use quarantine::{Blocked, Quarantine};
use secret::Secret;
use std::collections::BTreeMap;

pub use load::{POLICY_KINDS, apply_document, is_v2_policy, load_documents};

/// Where cluster-wide secrets and fallback policies live.
pub const SYSTEM_NAMESPACE: &str = "runai";
/// Label a namespace carries to say which project it belongs to.
pub const QUEUE_LABEL: &str = "runai/queue";
/// The code of a rejection in a namespace whose project cannot be told.
pub const NAMESPACE_CONFLICT: &str = "namespace-conflict";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Project {
    pub name: String,
    pub namespace: Option<String>,
    pub department: Option<String>,
    pub id: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub source: String,
    pub json: String,
}

#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub namespaces: BTreeMap<String, Namespace>,
    pub projects: BTreeMap<String, Project>,
    pub departments: BTreeMap<String, String>,
    /// By (namespace, name).
    pub secrets: BTreeMap<(String, String), Secret>,
    pub policies: Vec<Policy>,
    /// Where a project namespace's copies of cluster-wide secrets come from.
    pub copies: Copies,
    /// Scopes whose workloads are rejected undecided (a live view's bad objects).
    pub quarantine: Quarantine,
}

/// Copies of cluster-wide secrets in project namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Copies {
    /// The simulator propagates: a project namespace sees a copy of every
    /// cluster-wide secret of `runai`, derived on every read (SPEC §5).
    #[default]
    Derived,
    /// A live cluster: Run:ai made the copies, and only those that exist are there.
    /// A missing copy is missing.
    Stored,
}

/// A namespace whose project cannot be told (two projects claim it, or one project
/// claims two): the namespaces it involves, and the admin's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenancyConflict {
    pub namespaces: Vec<String>,
    pub message: String,
}

/// A project's own secret that shadows a cluster-wide one of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub namespace: String,
    pub secret: String,
}

/// Namespaces that belong to no project: the system namespace, and Kubernetes' own.
pub fn is_reserved_namespace(namespace: &str) -> bool {
    namespace == SYSTEM_NAMESPACE || namespace.starts_with("kube-")
}

impl Cluster {
    /// Tenancy (SPEC §1): a namespace belongs to at most one project, `runai` and
    /// `kube-*` to none, and a project's namespace is claimed by at most one
    /// `runai/queue` label. `extra` is a project about to be added.
    pub fn check_tenancy(&self, extra: Option<&Project>) -> Result<()> {
        match self.tenancy_conflicts(extra).into_iter().next() {
            Some(conflict) => bail!("{}", conflict.message),
            None => Ok(()),
        }
    }

    /// Every tenancy conflict, each with the namespaces it involves: the contested
    /// namespace, and every namespace the projects in it could otherwise run in
    /// (their `spec.namespace`, the namespaces labelled for them, `runai-<project>`),
    /// so that no namespace of a confused project is left undecided or misplaced.
    pub fn tenancy_conflicts(&self, extra: Option<&Project>) -> Vec<TenancyConflict> {
        let mut conflicts = Vec::new();
        let mut labelled: BTreeMap<&str, &str> = BTreeMap::new();
        for ns in self.namespaces.values() {
            if let Some(project) = ns.labels.get(QUEUE_LABEL)
                && let Some(other) = labelled.insert(project, &ns.name)
            {
                conflicts.push(TenancyConflict {
                    namespaces: self.involved(&[project], &[other, &ns.name]),
                    message: format!(
                        "namespaces {} and {} are both labelled {QUEUE_LABEL}={}: a project has one namespace",
                        shown(other),
                        shown(&ns.name),
                        shown(project)
                    ),
                });
            }
        }
        let mut owners: BTreeMap<String, &Project> = BTreeMap::new();
        for project in self.projects.values().chain(extra) {
            let namespace = Self::namespace_with(project, &labelled);
            if is_reserved_namespace(&namespace) {
                conflicts.push(TenancyConflict {
                    namespaces: self.involved(&[&project.name], &[&namespace]),
                    message: format!(
                        "project `{}` ({}) would run in namespace {}, which belongs to no project \
                         ({SYSTEM_NAMESPACE} holds cluster-wide secrets and fallback policies; kube-* are Kubernetes' own)",
                        shown(&project.name),
                        shown(&project.source),
                        shown(&namespace)
                    ),
                });
                continue;
            }
            if let Some(other) = owners.insert(namespace.clone(), project)
                && other.name != project.name
            {
                conflicts.push(TenancyConflict {
                    namespaces: self.involved(&[&other.name, &project.name], &[&namespace]),
                    message: format!(
                        "namespace {} is claimed by project `{}` ({}) and project `{}` ({}): a namespace \
                         belongs to at most one project, and its secrets only to that project",
                        shown(&namespace),
                        shown(&other.name),
                        shown(&other.source),
                        shown(&project.name),
                        shown(&project.source)
                    ),
                });
            }
        }
        conflicts
    }

    /// The namespaces a conflict involves: `contested`, and every namespace the
    /// `projects` could run in.
    fn involved(&self, projects: &[&str], contested: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = contested.iter().map(|ns| ns.to_string()).collect();
        for name in projects {
            out.push(format!("runai-{name}"));
            if let Some(ns) = self.projects.get(*name).and_then(|p| p.namespace.clone()) {
                out.push(ns);
            }
            out.extend(
                self.namespaces
                    .values()
                    .filter(|ns| ns.labels.get(QUEUE_LABEL).map(String::as_str) == Some(*name))
                    .map(|ns| ns.name.clone()),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    /// A live view does not fail whole on a tenancy conflict: the namespaces involved
    /// are quarantined (their workloads rejected, naming no one else) and the rest of
    /// the cluster is decided as usual.
    pub fn quarantine_tenancy_conflicts(&mut self) {
        for conflict in self.tenancy_conflicts(None) {
            for namespace in &conflict.namespaces {
                self.quarantine.block(
                    namespace,
                    Blocked {
                        code: NAMESPACE_CONFLICT.to_string(),
                        object: format!("Namespace {}", shown(namespace)),
                        message: format!(
                            "the project of namespace {} cannot be told: the namespaces' `{QUEUE_LABEL}` labels \
                             or the projects' `spec.namespace` give it to more than one project, or its project \
                             more than one namespace; its workloads are rejected until an admin fixes the labels",
                            shown(namespace)
                        ),
                        detail: conflict.message.clone(),
                    },
                );
            }
        }
    }

    /// Where a Secret may be stored: `runai`, or a project's namespace (`projects`:
    /// `project_namespaces()`, computed once for many secrets).
    pub fn check_secret_namespace(
        namespace: &str,
        source: &str,
        projects: &BTreeMap<String, &Project>,
    ) -> Result<()> {
        if namespace == SYSTEM_NAMESPACE || projects.contains_key(namespace) {
            return Ok(());
        }
        let what = if namespace.is_empty() {
            "an empty namespace".to_string()
        } else if !guest::names::is_dns1123_label(namespace) {
            format!(
                "namespace `{}`, which is not a valid namespace name (a DNS-1123 label)",
                shown(namespace)
            )
        } else {
            format!(
                "namespace {}, which is neither {SYSTEM_NAMESPACE} nor a project's namespace",
                shown(namespace)
            )
        };
        bail!(
            "{}: a Secret in {what}: expected {SYSTEM_NAMESPACE} (cluster-wide secrets) or the namespace of \
             a project (create the project first)",
            shown(source)
        )
    }

    /// Namespaces that claim a project with the `runai/queue` label, by project.
    fn queue_labels(&self) -> BTreeMap<&str, &str> {
        self.namespaces
            .values()
            .filter_map(|ns| Some((ns.labels.get(QUEUE_LABEL)?.as_str(), ns.name.as_str())))
            .collect()
    }

    fn namespace_with(project: &Project, labels: &BTreeMap<&str, &str>) -> String {
        if let Some(ns) = &project.namespace {
            return ns.clone();
        }
        match labels.get(project.name.as_str()) {
            Some(ns) => ns.to_string(),
            None => format!("runai-{}", project.name),
        }
    }

    /// The namespace a project's workloads run in (SPEC §5): `spec.namespace`, else a
    /// namespace labelled `runai/queue=<project>`, else `runai-<project>`.
    pub fn project_namespace(&self, project: &Project) -> String {
        Self::namespace_with(project, &self.queue_labels())
    }

    /// Every project's namespace, in one pass over namespaces and projects.
    pub fn project_namespaces(&self) -> BTreeMap<String, &Project> {
        let labels = self.queue_labels();
        self.projects
            .values()
            .map(|p| (Self::namespace_with(p, &labels), p))
            .collect()
    }

    /// A project by name, or by the REST API `projectId` (its `spec.id`).
    pub fn find_project(&self, name_or_id: &str) -> Option<&Project> {
        self.projects
            .values()
            .find(|p| p.id.as_deref() == Some(name_or_id))
            .or_else(|| self.projects.get(name_or_id))
    }

    pub fn project_of_namespace(&self, namespace: &str) -> Option<&Project> {
        let labels = self.queue_labels();
        self.projects
            .values()
            .find(|p| Self::namespace_with(p, &labels) == namespace)
    }

    /// The namespaces the view decides for: `runai` and the projects' namespaces. A
    /// namespace that belongs to no project (labelled for a project that does not
    /// exist, or whose project was deleted) holds no secrets the view knows of, so it
    /// is outside the view, as `default` is: deciding there would say
    /// `secret-not-found` of secrets that exist.
    pub fn namespace_exists(&self, namespace: &str) -> bool {
        namespace == SYSTEM_NAMESPACE || self.project_of_namespace(namespace).is_some()
    }

    /// A secret of `runai` labelled cluster-wide, by name.
    pub fn is_cluster_wide_source(&self, name: &str) -> bool {
        self.secrets
            .get(&(SYSTEM_NAMESPACE.to_string(), name.to_string()))
            .is_some_and(Secret::is_cluster_wide)
    }

    pub fn cluster_wide_sources(&self) -> impl Iterator<Item = &Secret> {
        self.secrets_in(SYSTEM_NAMESPACE)
            .filter(|s| s.is_cluster_wide())
    }

    pub fn secrets_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Secret> + 'a {
        self.secrets
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, s)| s)
    }

    /// The metadata of every secret visible in `namespace`: its own, plus the copies
    /// of cluster-wide secrets when it is a project namespace. Copies are derived
    /// from their source on every call, so projects created later receive them,
    /// updates to the source reach them, and removing the label or the source
    /// removes them; a project's own secret of the same name always wins.
    ///
    /// In a live view (`Copies::Stored`) the copies are the Secrets Run:ai made in the
    /// namespace, nothing is derived, and a copy is one whose source is cluster-wide.
    pub fn catalog(&self, namespace: &str) -> Vec<SecretMetadata> {
        let stored = self.copies == Copies::Stored && namespace != SYSTEM_NAMESPACE;
        let mut catalog: Vec<SecretMetadata> = self
            .secrets_in(namespace)
            .map(|s| metadata(s, stored && self.is_cluster_wide_source(&s.name)))
            .collect();
        if self.copies == Copies::Derived
            && namespace != SYSTEM_NAMESPACE
            && self.project_of_namespace(namespace).is_some()
        {
            for source in self.cluster_wide_sources() {
                if !catalog.iter().any(|own| own.name == source.name) {
                    catalog.push(metadata(source, true));
                }
            }
            catalog.sort_by(|a, b| a.name.cmp(&b.name));
        }
        catalog
    }

    /// Project secrets that keep a cluster-wide secret of the same name from being
    /// copied (SPEC §5: never overwritten; reported).
    pub fn conflicts(&self) -> Vec<Conflict> {
        let namespaces = self.project_namespaces();
        let mut conflicts = Vec::new();
        for source in self.cluster_wide_sources() {
            for namespace in namespaces.keys() {
                if self
                    .secrets
                    .contains_key(&(namespace.clone(), source.name.clone()))
                {
                    conflicts.push(Conflict {
                        namespace: namespace.clone(),
                        secret: source.name.clone(),
                    });
                }
            }
        }
        conflicts
    }

    /// What policy scoping needs to know of a project.
    pub fn project_info(&self, project: &Project) -> ProjectInfo {
        ProjectInfo {
            name: project.name.clone(),
            id: project.id.clone(),
            department: project.department.clone(),
        }
    }

    pub fn project_infos(&self) -> Vec<ProjectInfo> {
        self.projects
            .values()
            .map(|p| self.project_info(p))
            .collect()
    }

    /// The policies that apply in `namespace`: its own and those of `runai`.
    pub fn policies_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Policy> {
        self.policies
            .iter()
            .filter(move |p| p.namespace == namespace || p.namespace == SYSTEM_NAMESPACE)
    }

    /// Those policies as the plugin receives them.
    pub fn policies_for(&self, namespace: &str) -> Vec<PolicyDocument> {
        self.policies_in(namespace)
            .map(|p| PolicyDocument {
                source: p.source.clone(),
                json: p.json.clone(),
            })
            .collect()
    }

    pub fn all_policies(&self) -> Vec<PolicyDocument> {
        self.policies
            .iter()
            .map(|p| PolicyDocument {
                source: p.source.clone(),
                json: p.json.clone(),
            })
            .collect()
    }

    /// Namespaces other than `namespace` that hold a secret called `name`.
    pub fn namespaces_with_secret(&self, name: &str, except: &str) -> Vec<&Secret> {
        self.secrets
            .values()
            .filter(|s| s.name == name && s.namespace != except)
            .collect()
    }
}

fn metadata(secret: &Secret, cluster_wide_copy: bool) -> SecretMetadata {
    SecretMetadata {
        name: secret.name.clone(),
        keys: secret.keys.keys().cloned().collect(),
        secret_type: secret.secret_type.clone(),
        immutable: secret.immutable,
        cluster_wide_copy,
        labels: secret
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

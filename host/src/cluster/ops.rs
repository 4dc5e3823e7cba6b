//! Changes to the cluster: projects, deleting secrets, and `runai-adm set|remove secret
//! NAME --cluster-wide` (SPEC §5). Copies are derived from the labelled source (see
//! `Cluster::catalog`), so these only change the source and report what follows.

use super::secret::CLUSTER_WIDE_LABEL;
use super::{Cluster, Project, SYSTEM_NAMESPACE};
use anyhow::{Result, anyhow, bail};
use guest::names::is_dns1123_label;
use guest::shown::shown;

/// What `set secret --cluster-wide` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Propagation {
    pub secret: String,
    /// It was cluster-wide already: nothing changed.
    pub unchanged: bool,
    /// Project namespaces that have (set) or had (remove) a copy.
    pub namespaces: Vec<String>,
    /// Project namespaces whose own secret of the same name keeps the copy out.
    pub conflicts: Vec<String>,
}

/// What `secret delete` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Project namespaces whose propagated copy went with a cluster-wide source.
    pub copies: Vec<String>,
}

impl Cluster {
    /// Namespaces other than `except` that hold their own secret `name`, as a hint
    /// for an error: " (it exists in a, b...)", or nothing.
    fn found_elsewhere(&self, name: &str, except: &str, note: &str) -> String {
        let elsewhere: Vec<&str> = self
            .namespaces_with_secret(name, except)
            .into_iter()
            .map(|s| s.namespace.as_str())
            .collect();
        if elsewhere.is_empty() {
            String::new()
        } else {
            format!(" (it exists in {}{note})", crate::text::some(&elsewhere))
        }
    }

    fn source_in_runai(&mut self, name: &str, verb: &str) -> Result<&mut super::secret::Secret> {
        let key = (SYSTEM_NAMESPACE.to_string(), name.to_string());
        if !self.secrets.contains_key(&key) {
            let found = self.found_elsewhere(
                name,
                SYSTEM_NAMESPACE,
                &format!("; only secrets in {SYSTEM_NAMESPACE} propagate"),
            );
            let name = shown(name);
            bail!(
                "cannot {verb} secret `{name}` cluster-wide: there is no secret `{name}` in namespace \
                 {SYSTEM_NAMESPACE}{found}; create it there first (`host apply -f secret.yaml`)"
            );
        }
        self.secrets.get_mut(&key).ok_or_else(|| {
            anyhow!(
                "secret `{}` vanished from namespace {SYSTEM_NAMESPACE}",
                shown(name)
            )
        })
    }

    /// Deletes a namespace's own secret. Deleting a cluster-wide source removes its
    /// copies (SPEC §5); a copy itself cannot be deleted, only its source or the
    /// propagation.
    pub fn delete_secret(&mut self, namespace: &str, name: &str) -> Result<Deletion> {
        let key = (namespace.to_string(), name.to_string());
        let Some(secret) = self.secrets.get(&key) else {
            let (shown_name, shown_ns) = (shown(name), shown(namespace));
            if self
                .catalog(namespace)
                .iter()
                .any(|s| s.name == name && s.cluster_wide_copy)
            {
                bail!(
                    "secret `{shown_name}` in namespace {shown_ns} is a copy of {SYSTEM_NAMESPACE}/{shown_name}, \
                     kept there by its cluster-wide propagation: delete the source \
                     (`host secret delete {shown_name} -n {SYSTEM_NAMESPACE}`) or stop propagating it \
                     (`host adm remove secret {shown_name} --cluster-wide`)"
                );
            }
            let found = self.found_elsewhere(name, namespace, "");
            bail!("there is no secret `{shown_name}` in namespace {shown_ns}{found}");
        };
        let copies = if namespace == SYSTEM_NAMESPACE && secret.is_cluster_wide() {
            self.spread(name).0
        } else {
            Vec::new()
        };
        self.secrets.remove(&key);
        Ok(Deletion { copies })
    }

    /// Which project namespaces receive copies of `name`, and which keep their own.
    fn spread(&self, name: &str) -> (Vec<String>, Vec<String>) {
        let (mut copies, mut conflicts) = (Vec::new(), Vec::new());
        for namespace in self.project_namespaces().into_keys() {
            if self
                .secrets
                .contains_key(&(namespace.clone(), name.to_string()))
            {
                conflicts.push(namespace);
            } else {
                copies.push(namespace);
            }
        }
        (copies, conflicts)
    }

    /// Labels the secret in `runai` for propagation to every project namespace.
    pub fn set_cluster_wide(&mut self, name: &str) -> Result<Propagation> {
        let source = self.source_in_runai(name, "set")?;
        let unchanged = source.is_cluster_wide();
        source
            .labels
            .insert(CLUSTER_WIDE_LABEL.to_string(), "true".to_string());
        let (namespaces, conflicts) = self.spread(name);
        Ok(Propagation {
            secret: name.to_string(),
            unchanged,
            namespaces,
            conflicts,
        })
    }

    /// Drops the label: the propagated copies go, projects' own secrets stay.
    pub fn remove_cluster_wide(&mut self, name: &str) -> Result<Propagation> {
        let source = self.source_in_runai(name, "remove")?;
        let unchanged = !source.is_cluster_wide();
        source.labels.remove(CLUSTER_WIDE_LABEL);
        let (namespaces, conflicts) = if unchanged {
            (Vec::new(), Vec::new())
        } else {
            self.spread(name)
        };
        Ok(Propagation {
            secret: name.to_string(),
            unchanged,
            namespaces,
            conflicts,
        })
    }

    pub fn create_project(
        &mut self,
        name: &str,
        namespace: Option<String>,
        department: Option<String>,
        id: Option<String>,
    ) -> Result<String> {
        if !is_dns1123_label(name) {
            bail!(
                "project name `{}` is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)",
                shown(name)
            );
        }
        if self.projects.contains_key(name) {
            bail!("project `{}` already exists", shown(name));
        }
        let project = Project {
            name: name.to_string(),
            namespace,
            department,
            id,
            source: "project create".to_string(),
        };
        let ns = self.project_namespace(&project);
        if ns.len() > 63 || !is_dns1123_label(&ns) {
            bail!(
                "namespace `{}` of project `{name}` is not a valid namespace name (a DNS-1123 label of at most 63 characters)",
                shown(&ns)
            );
        }
        if let Some(other) = self.project_namespaces().get(&ns) {
            bail!(
                "namespace `{ns}` already belongs to project `{}`",
                other.name
            );
        }
        self.check_tenancy(Some(&project))?;
        self.projects.insert(name.to_string(), project);
        Ok(ns)
    }

    /// Deletes the project; its namespace's own objects stay, as in Run:ai.
    pub fn delete_project(&mut self, name: &str) -> Result<()> {
        if self.projects.remove(name).is_none() {
            bail!("project `{}` does not exist", shown(name));
        }
        Ok(())
    }
}

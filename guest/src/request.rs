//! What a gateway hands the plugin: mirrors the WIT `submission` records.

use crate::by_name;

/// A policy document as loaded by the gateway, as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub source: String,
    pub json: String,
}

/// One secret of the workload's namespace: names only, never values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretMetadata {
    pub name: String,
    pub keys: Vec<String>,
    pub secret_type: String,
    pub immutable: bool,
    pub cluster_wide_copy: bool,
    /// `metadata.labels`, sorted by key.
    pub labels: Vec<(String, String)>,
}

/// A Run:ai project as far as policy scoping needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectInfo {
    pub name: String,
    pub id: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Submission {
    pub workload: String,
    pub namespace: String,
    pub project: Option<ProjectInfo>,
    pub workload_type: Option<String>,
    pub policies: Vec<PolicyDocument>,
    pub secrets: Vec<SecretMetadata>,
    /// Return the resolved environment; a gateway deciding admission does not need it.
    pub with_env: bool,
    /// Return every reference to a secret (for a gateway's index of who uses what).
    pub with_references: bool,
}

/// The secrets of one namespace, looked up by name.
pub struct Catalog<'a> {
    pub namespace: &'a str,
    by_name: by_name::Map<&'a str, &'a SecretMetadata>,
}

impl<'a> Catalog<'a> {
    pub fn new(namespace: &'a str, secrets: &'a [SecretMetadata]) -> Self {
        let mut by_name = by_name::map_with_capacity(secrets.len());
        for s in secrets {
            by_name.entry(s.name.as_str()).or_insert(s);
        }
        Catalog { namespace, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&'a SecretMetadata> {
        self.by_name.get(name).copied()
    }
}

impl SecretMetadata {
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

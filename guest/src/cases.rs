//! Data-driven case files (`tests/cases/*.json`) shared by the native tests and the
//! host's tests through wasmtime, so both run the same table.

use crate::decision::Decision;
use crate::request::{PolicyDocument, SecretMetadata, Submission};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    #[serde(rename = "_comment", default)]
    pub comment: String,
    pub namespace: String,
    pub catalog: Vec<CatalogEntry>,
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogEntry {
    pub name: String,
    pub keys: Vec<String>,
    #[serde(default)]
    pub cluster_wide_copy: bool,
    /// `metadata.labels`, for label selectors.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
    pub env: serde_json::Map<String, serde_json::Value>,
    pub violations: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
    pub starts: bool,
}

/// What a case compares: `[code, field]` pairs (sorted) and the start-up prediction.
#[derive(Debug, PartialEq, Eq)]
pub struct Observed {
    pub violations: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
    pub starts: bool,
}

impl Observed {
    pub fn new(
        mut violations: Vec<(String, String)>,
        mut warnings: Vec<(String, String)>,
        starts: bool,
    ) -> Self {
        violations.sort();
        warnings.sort();
        Observed {
            violations,
            warnings,
            starts,
        }
    }

    pub fn of(decision: &Decision) -> Self {
        Observed::new(
            decision
                .violations
                .iter()
                .map(|v| (v.code.clone(), v.field.clone()))
                .collect(),
            decision
                .warnings
                .iter()
                .map(|w| (w.code.clone(), w.field.clone()))
                .collect(),
            decision.startup.starts,
        )
    }
}

impl CaseFile {
    /// Runs every case through `evaluate` and fails with all the differences at once.
    pub fn check_all(&self, mut evaluate: impl FnMut(&Case, Submission) -> Observed) {
        let failures: Vec<String> = self
            .cases
            .iter()
            .filter_map(|case| {
                let got = evaluate(case, case.submission(self));
                (got != case.expected()).then(|| {
                    format!(
                        "{}:\n  expected {:?}\n  got      {:?}",
                        case.name,
                        case.expected(),
                        got
                    )
                })
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            self.cases.len(),
            failures.join("\n")
        );
    }
}

pub fn load(json: &str) -> CaseFile {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("case file is not valid: {e}"))
}

impl Case {
    pub fn submission(&self, file: &CaseFile) -> Submission {
        let items: serde_json::Map<String, serde_json::Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!({ "value": v })))
            .collect();
        let workload = serde_json::json!({
            "apiVersion": "run.ai/v2alpha1",
            "kind": "TrainingWorkload",
            "metadata": {"name": "case", "namespace": file.namespace},
            "spec": {"name": {"value": "case"}, "environment": {"items": items}},
        });
        Submission {
            workload: workload.to_string(),
            namespace: file.namespace.clone(),
            project: None,
            workload_type: None,
            policies: self
                .policy
                .iter()
                .map(|p| PolicyDocument {
                    source: format!("case {:?}", self.name),
                    json: p.to_string(),
                })
                .collect(),
            secrets: file
                .catalog
                .iter()
                .map(|c| SecretMetadata {
                    name: c.name.clone(),
                    keys: c.keys.clone(),
                    secret_type: "Opaque".to_string(),
                    immutable: false,
                    cluster_wide_copy: c.cluster_wide_copy,
                    labels: c.labels.clone().into_iter().collect(),
                })
                .collect(),
            with_env: true,
            with_references: true,
        }
    }

    pub fn expected(&self) -> Observed {
        Observed::new(self.violations.clone(), self.warnings.clone(), self.starts)
    }
}

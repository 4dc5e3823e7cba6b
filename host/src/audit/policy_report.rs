//! The audit's results as PolicyReports (`wgpolicyk8s.io/v1alpha2`, the format Kyverno
//! and Kubewarden write by default and Policy Reporter shows): one `PolicyReport` per
//! namespace, named `runai-secrets`, and one `ClusterPolicyReport` for what concerns
//! the whole cluster. A result per finding (rule = the finding's code, `fail` or
//! `warn`), a `pass` per workload without findings; the resource is the workload, or
//! the controller that owns it (a Pod of a Job is reported on the Job, once). Messages
//! are the plugin's: they name secrets and keys, never a value.

use crate::workloads::{Index, Key, Outcome, Record};
use serde_json::{Value, json};

pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
pub const GROUP: &str = "wgpolicyk8s.io";
/// The name of every report this project writes, and its results' `source`.
pub const NAME: &str = "runai-secrets";
pub const SOURCE: &str = "runai-secrets";
/// The policy a workload without findings passes.
pub const PASS_POLICY: &str = "runai-secrets";
/// Results one report holds: an object must fit etcd's 1.5 MiB, and a namespace may
/// hold 50,000 pods. Failures first, then warnings, then passes; the summary counts
/// all of them.
pub const MAX_RESULTS: usize = 2000;

/// The apiVersion of a workload kind, for a report's resource reference: the one the
/// plugin's table of pod templates prefers (Pods, pod controllers, Ray, JobSet,
/// LeaderWorkerSet, Kubeflow jobs), or the Run:ai CRDs'.
pub fn api_version(kind: &str) -> Option<String> {
    if let Some(k) = guest::workload::templates::pod_kind(kind) {
        return k.versions.first().map(|v| k.api_version(v));
    }
    guest::workload::runai_workload_type(kind).map(|_| "run.ai/v2alpha1".to_string())
}

fn resource(key: &Key) -> Value {
    let mut r = json!({"kind": key.kind, "name": key.name, "namespace": key.namespace});
    if let Some(v) = api_version(&key.kind) {
        r["apiVersion"] = json!(v);
    }
    r
}

/// One result of a report, with the order it is kept in when the report is cut.
struct Result {
    rank: u8,
    value: Value,
}

fn results_of(record: &Record, timestamp: u64) -> Vec<Result> {
    let subject = resource(&record.key);
    if record.findings.is_empty() {
        return vec![Result {
            rank: 2,
            value: json!({
                "source": SOURCE, "policy": PASS_POLICY, "rule": "secrets", "result": "pass",
                "scored": true, "timestamp": {"seconds": timestamp, "nanos": 0},
                "resources": [subject],
                "message": "every secret reference resolves and no rule is broken",
            }),
        }];
    }
    record
        .findings
        .iter()
        .map(|f| {
            let policy = if f.policy.is_empty() {
                "built-in".to_string()
            } else {
                f.policy.clone()
            };
            let (result, severity, rank) = match f.outcome {
                Outcome::Fail => ("fail", "high", 0),
                Outcome::Warn => ("warn", "medium", 1),
            };
            let mut value = json!({
                "source": SOURCE, "policy": policy, "rule": f.code, "result": result,
                "severity": severity, "category": "Secrets", "scored": true,
                "timestamp": {"seconds": timestamp, "nanos": 0},
                "resources": [subject.clone()],
                "message": crate::text::shown_max(&f.message, 1024),
            });
            if !f.field.is_empty() {
                value["properties"] = json!({"field": crate::text::shown_max(&f.field, 512)});
            }
            Result { rank, value }
        })
        .collect()
}

/// The results of `records` (those reported as themselves: `Index::reported_in`), cut
/// to `MAX_RESULTS`, and the summary of all of them.
fn results(records: &[&Record], timestamp: u64) -> (Vec<Value>, Value, usize) {
    let mut all: Vec<Result> = records
        .iter()
        .flat_map(|r| results_of(r, timestamp))
        .collect();
    let count = |name: &str| all.iter().filter(|r| r.value["result"] == name).count();
    let summary = json!({"pass": count("pass"), "fail": count("fail"), "warn": count("warn"),
                         "error": 0, "skip": 0});
    all.sort_by_key(|r| r.rank);
    let left_out = all.len().saturating_sub(MAX_RESULTS);
    all.truncate(MAX_RESULTS);
    (
        all.into_iter().map(|r| r.value).collect(),
        summary,
        left_out,
    )
}

fn metadata(namespace: Option<&str>, left_out: usize) -> Value {
    let mut m = json!({
        "name": NAME,
        "labels": {"app.kubernetes.io/managed-by": "runai-secrets-gateway"},
    });
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    if left_out > 0 {
        m["annotations"] = json!({"secrets.policy.run.ai/results-left-out": left_out.to_string()});
    }
    m
}

/// The PolicyReport of one namespace's workloads.
pub fn namespace_report(namespace: &str, records: &[&Record], timestamp: u64) -> Value {
    let (results, summary, left_out) = results(records, timestamp);
    json!({
        "apiVersion": API_VERSION, "kind": "PolicyReport",
        "metadata": metadata(Some(namespace), left_out),
        "summary": summary, "results": results,
    })
}

/// A finding about the cluster as a whole (a `runai` policy the plugin refuses, a
/// cluster-wide secret whose copy is missing in a project namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFinding {
    pub policy: String,
    pub rule: String,
    pub message: String,
    /// The object it is about (`Secret runai/hf-token`), as a resource reference.
    pub resource: Value,
}

pub fn cluster_report(findings: &[ClusterFinding], timestamp: u64) -> Value {
    let results: Vec<Value> = findings
        .iter()
        .take(MAX_RESULTS)
        .map(|f| {
            json!({
                "source": SOURCE, "policy": f.policy, "rule": f.rule, "result": "fail",
                "severity": "high", "category": "Secrets", "scored": true,
                "timestamp": {"seconds": timestamp, "nanos": 0},
                "resources": [f.resource], "message": crate::text::shown_max(&f.message, 1024),
            })
        })
        .collect();
    json!({
        "apiVersion": API_VERSION, "kind": "ClusterPolicyReport",
        "metadata": metadata(None, findings.len().saturating_sub(MAX_RESULTS)),
        "summary": {"pass": 0, "fail": results.len(), "warn": 0, "error": 0, "skip": 0},
        "results": results,
    })
}

/// Every namespace's report, for `host audit -o policyreport`.
pub fn all(index: &Index, timestamp: u64) -> Vec<Value> {
    index
        .by_namespace()
        .into_iter()
        .map(|(ns, records)| namespace_report(ns, &records, timestamp))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{Finding, Reference};

    fn record(name: &str, findings: Vec<Finding>, owner: Option<Key>) -> Record {
        Record {
            key: Key::new("Pod", "runai-a", name),
            owner,
            references: Vec::<Reference>::new(),
            findings,
        }
    }

    fn finding(code: &str, outcome: Outcome) -> Finding {
        Finding {
            code: code.into(),
            outcome,
            field: "spec.containers[0].env[0]".into(),
            message: "m".into(),
            policy: String::new(),
        }
    }

    #[test]
    fn a_report_has_a_result_per_finding_and_a_pass_per_clean_workload() {
        let a = record(
            "a",
            vec![
                finding("secret-not-found", Outcome::Fail),
                finding("secret-ref-case", Outcome::Warn),
            ],
            None,
        );
        let b = record("b", vec![], None);
        // A controller's pod is reported on its owner, not again ...
        let job = Key::new("Job", "runai-a", "j");
        let c = record(
            "c",
            vec![finding("secret-not-found", Outcome::Fail)],
            Some(job.clone()),
        );
        let j = Record {
            key: job,
            ..record("j", vec![], None)
        };
        // ... unless the owner is a kind the audit does not read: then it stands for
        // itself (as the removal guard counts it).
        let d = record(
            "d",
            vec![finding("secret-key-not-found", Outcome::Fail)],
            Some(Key::new("InferenceService", "runai-a", "isvc")),
        );
        let mut index = Index::default();
        for r in [a, b, c, j, d] {
            index.upsert(r);
        }
        let reports = all(&index, 7);
        assert_eq!(reports.len(), 1);
        let report = &reports[0];
        assert_eq!(
            report["summary"],
            json!({"pass": 2, "fail": 2, "warn": 1, "error": 0, "skip": 0})
        );
        let resources: Vec<&Value> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["resources"][0]["name"])
            .collect();
        assert!(!resources.contains(&&json!("c")), "{resources:?}");
        assert!(resources.contains(&&json!("d")), "{resources:?}");
        let results = report["results"].as_array().unwrap();
        assert_eq!(results[0]["result"], "fail");
        assert_eq!(results[0]["rule"], "secret-not-found");
        assert_eq!(results[0]["policy"], "built-in");
        assert_eq!(
            results[0]["resources"][0],
            json!({"apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "runai-a"})
        );
        assert_eq!(
            results[0]["properties"]["field"],
            "spec.containers[0].env[0]"
        );
        let order: Vec<&Value> = results.iter().map(|r| &r["result"]).collect();
        assert_eq!(order, ["fail", "fail", "warn", "pass", "pass"]);
        assert_eq!(report["metadata"]["name"], NAME);
    }

    #[test]
    fn resources_name_the_apiversion_of_their_kind() {
        for (kind, expected) in [
            ("Pod", Some("v1")),
            ("CronJob", Some("batch/v1")),
            ("StatefulSet", Some("apps/v1")),
            ("TrainingWorkload", Some("run.ai/v2alpha1")),
            ("RayJob", Some("ray.io/v1")),
            ("JobSet", Some("jobset.x-k8s.io/v1alpha2")),
            ("MPIJob", Some("kubeflow.org/v2beta1")),
            ("ConfigMap", None),
        ] {
            assert_eq!(api_version(kind).as_deref(), expected, "{kind}");
        }
    }

    #[test]
    fn a_crowded_namespace_keeps_its_failures_and_counts_the_rest() {
        let mut records: Vec<Record> = (0..MAX_RESULTS + 10)
            .map(|i| record(&format!("p{i}"), vec![], None))
            .collect();
        records.push(record(
            "bad",
            vec![finding("secret-not-found", Outcome::Fail)],
            None,
        ));
        let refs: Vec<&Record> = records.iter().collect();
        let report = namespace_report("runai-a", &refs, 7);
        assert_eq!(report["results"].as_array().unwrap().len(), MAX_RESULTS);
        assert_eq!(report["results"][0]["result"], "fail");
        assert_eq!(report["summary"]["pass"], MAX_RESULTS + 10);
        assert_eq!(
            report["metadata"]["annotations"]["secrets.policy.run.ai/results-left-out"],
            "11"
        );
    }
}

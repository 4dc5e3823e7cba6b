//! `host bench --audit N`: the audit's targets (issue 22), side by side in one run, on
//! a made-up cluster of 100 project namespaces with 100 secrets each and N workloads
//! (each reading three secrets by key and one with envFrom):
//! - a full audit: every workload through the one evaluation path with references,
//!   in a fresh contained plugin instance each, and the same logic compiled natively;
//! - the re-audit after one secret changes: the workloads that reference it, found
//!   through the index, evaluated again, and their namespace's report rebuilt;
//! - the Secret DELETE review: who uses it (the index), and the plugin's
//!   `check-removal`, over an index of every workload;
//! - the memory one record takes, measured as the growth of the process' resident set
//!   while the index is built.

use super::native::Native;
use crate::audit::{Audited, audit_one, policy_report};
use crate::cluster::Cluster;
use crate::plugin::{Plugin, Removal};
use crate::simulate::Evaluator;
use crate::workloads::{Index, Key};
use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

const NAMESPACES: usize = 100;
const SECRETS: usize = 100;

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub workloads: usize,
    pub namespaces: usize,
    pub secrets: usize,
    /// Workloads of the full audit (at most 10,000), and the seconds to audit them,
    /// plugin (fresh contained instance each) and native.
    pub full_audit_workloads: usize,
    pub full_audit_plugin_s: f64,
    pub full_audit_native_s: f64,
    /// Workloads referencing the changed secret, and the time to evaluate them again
    /// and rebuild their namespace's report.
    pub reaudit_workloads: usize,
    pub reaudit_ms: f64,
    /// The Secret DELETE review over the whole index: p50 and p99.
    pub delete_review_p50_ms: f64,
    pub delete_review_p99_ms: f64,
    pub delete_review_users: usize,
    /// Resident memory the index of every workload took, and per record; the
    /// process' resident set at the end (the view of every secret, the index, the
    /// compiled plugin).
    pub index_rss_mb: f64,
    pub bytes_per_workload: f64,
    /// The records' own size, counted (strings, lists), per workload.
    pub counted_bytes_per_workload: f64,
    pub process_rss_mb: f64,
}

fn cluster() -> Result<Cluster> {
    let mut docs = Vec::new();
    for n in 0..NAMESPACES {
        docs.push(json!({"apiVersion": "run.ai/v2", "kind": "Project",
                         "metadata": {"name": format!("team-{n}")}, "spec": {}}));
        for s in 0..SECRETS {
            docs.push(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("secret-{s}"), "namespace": format!("runai-team-{n}")},
                "data": {"password": "", "user": "", "token": ""}}));
        }
    }
    docs.push(json!({"apiVersion": "secrets.policy.run.ai/v1alpha1", "kind": "SecretPolicy",
        "metadata": {"name": "baseline", "namespace": "runai"},
        "spec": {"sensitiveEnvNames": ["*PASSWORD*", "*TOKEN*"], "requireExistingReferences": true}}));
    let docs: Vec<crate::manifest::Document> = docs
        .into_iter()
        .enumerate()
        .map(|(i, value)| crate::manifest::Document {
            source: format!("bench#{i}"),
            value,
        })
        .collect();
    let mut c = Cluster::default();
    crate::cluster::load_documents(&mut c, &docs)?;
    Ok(c)
}

/// Workload `i`: in namespace `i % 100`, reading `secret-0` (a secret every workload
/// of the namespace shares, as a cluster-wide token is) and two more secrets by key,
/// and a fourth with envFrom.
fn workload(i: usize) -> (String, String) {
    let ns = format!("runai-team-{}", i % NAMESPACES);
    let s = |k: usize| {
        if k == 0 {
            "secret-0".to_string()
        } else {
            format!("secret-{}", 1 + (i / NAMESPACES + k) % (SECRETS - 1))
        }
    };
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("train-{i}"), "namespace": ns},
        "spec": {"containers": [{"name": "main", "image": "x",
            "envFrom": [{"secretRef": {"name": s(3)}}],
            "env": [
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": s(0), "key": "password"}}},
                {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": s(1), "key": "user"}}},
                {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": s(2), "key": "token"}}},
                {"name": "LR", "value": "0.1"}]}]}});
    (pod.to_string(), ns)
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn audit_all(
    evaluator: &dyn Evaluator,
    c: &Cluster,
    n: usize,
    index: &mut Index,
) -> Result<Duration> {
    let started = Instant::now();
    for i in 0..n {
        let (json, ns) = workload(i);
        match audit_one(evaluator, c, json, Some(&ns), None)? {
            Audited::Recorded(r) => index.upsert(r),
            Audited::Skipped { reason } => bail!("workload {i} was not evaluated: {reason}"),
        }
    }
    Ok(started.elapsed())
}

pub fn run(plugin: &Plugin, workloads: usize) -> Result<AuditReport> {
    let c = cluster()?;
    // The full audit, natively and in the plugin (a fresh contained instance each).
    let audited = workloads.min(10_000);
    let mut native_index = Index::default();
    let native = audit_all(&Native, &c, audited, &mut native_index)?;
    let mut plugin_index = Index::default();
    let full = audit_all(plugin, &c, audited, &mut plugin_index)?;
    if plugin_index.len() != native_index.len() {
        bail!("the plugin and the native logic indexed different workloads");
    }
    drop(native_index);
    // The index of every workload (records made from one evaluation each, as the
    // audit makes them), for its memory and the DELETE review.
    let before = rss_bytes().unwrap_or(0);
    let mut index = Index::default();
    let template: Vec<_> = plugin_index.records().cloned().collect();
    for i in 0..workloads {
        let mut r = template[i % template.len()].clone();
        r.key = Key::new(
            "Pod",
            &format!("runai-team-{}", i % NAMESPACES),
            &format!("train-{i}"),
        );
        index.upsert(r);
    }
    let after = rss_bytes().unwrap_or(0);
    let grown = after.saturating_sub(before) as f64;
    let estimated = index
        .records()
        .map(crate::workloads::Record::heap_bytes)
        .sum::<usize>() as f64;
    // The re-audit after `secret-0` of namespace 0 changes: its users, through the index
    // (every workload of the namespace: 100 of 10,000).
    let touched = plugin_index.touched_by("runai-team-0", ["secret-0"]);
    let started = Instant::now();
    for key in &touched {
        let i: usize = key.name.trim_start_matches("train-").parse().unwrap_or(0);
        let (json, ns) = workload(i);
        if let Audited::Recorded(r) = audit_one(plugin, &c, json, Some(&ns), None)? {
            plugin_index.upsert(r);
        }
    }
    let records: Vec<_> = plugin_index.reported_in("runai-team-0").collect();
    let _report = policy_report::namespace_report("runai-team-0", &records, 0);
    let reaudit = started.elapsed();
    // The DELETE review of `secret-5` in namespace 3, over the whole index.
    let policies = c.policies_for("runai-team-3");
    let removal = Removal {
        namespace: "runai-team-3".into(),
        secret: "secret-5".into(),
        keys: Vec::new(),
        action: "deleting".into(),
    };
    let mut times = Vec::new();
    let mut users = 0;
    for _ in 0..200 {
        let started = Instant::now();
        let u = index.secret_users(["runai-team-3"], "secret-5");
        users = u.len();
        let _ = plugin.check_removal(&removal, &policies, &u)?;
        times.push(started.elapsed());
    }
    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    Ok(AuditReport {
        workloads,
        namespaces: NAMESPACES,
        secrets: NAMESPACES * SECRETS,
        full_audit_workloads: audited,
        full_audit_plugin_s: full.as_secs_f64(),
        full_audit_native_s: native.as_secs_f64(),
        reaudit_workloads: touched.len(),
        reaudit_ms: reaudit.as_secs_f64() * 1000.0,
        delete_review_p50_ms: pct(0.5),
        delete_review_p99_ms: pct(0.99),
        delete_review_users: users,
        index_rss_mb: grown / (1 << 20) as f64,
        bytes_per_workload: grown / workloads.max(1) as f64,
        counted_bytes_per_workload: estimated / workloads.max(1) as f64,
        process_rss_mb: rss_bytes().unwrap_or(0) as f64 / (1 << 20) as f64,
    })
}

pub fn print(r: &AuditReport) {
    println!(
        "audit of {} workloads in {} namespaces with {} secrets",
        r.workloads, r.namespaces, r.secrets
    );
    println!(
        "  full audit of {}: plugin {:.2} s (fresh contained instance each), native {:.2} s ({:.2}x)",
        r.full_audit_workloads,
        r.full_audit_plugin_s,
        r.full_audit_native_s,
        r.full_audit_plugin_s / r.full_audit_native_s.max(1e-9)
    );
    println!(
        "  after one secret change: {} workloads evaluated again and their report rebuilt in {:.1} ms",
        r.reaudit_workloads, r.reaudit_ms
    );
    println!(
        "  Secret DELETE review ({} users found in an index of {}): p50 {:.2} ms, p99 {:.2} ms",
        r.delete_review_users, r.workloads, r.delete_review_p50_ms, r.delete_review_p99_ms
    );
    println!(
        "  the index: {:.1} MiB resident ({:.0} bytes a workload; {:.0} counted in its records); the process: {:.1} MiB",
        r.index_rss_mb, r.bytes_per_workload, r.counted_bytes_per_workload, r.process_rss_mb
    );
}

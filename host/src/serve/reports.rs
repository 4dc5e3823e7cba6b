//! The audit's PolicyReports, written as a careful controller writes: by the leader
//! only (one writer among replicas), with server-side apply and the gateway's own
//! field manager, batched (a namespace's report once per change, however many of its
//! workloads changed) and rate-limited (at most `per_second` writes a second), so an
//! audit of 10,000 workloads is not 10,000 writes. A cluster without the report CRD
//! gets none: metrics and logs go on, and the error is counted and logged once.

use super::audit::{Audit, take};
use super::metrics::Metrics;
use crate::audit::policy_report;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Reports {
    pending: Mutex<BTreeSet<String>>,
    per_second: usize,
    is_leader: Arc<dyn Fn() -> bool + Send + Sync>,
    /// The leader state when last written: a new leader writes every report again.
    was_leader: Mutex<bool>,
    /// The last write error, for `/readyz` (a missing CRD, a 403).
    last_error: Mutex<Option<String>>,
    /// After a failed write: no write before this instant, and the pause that follows
    /// the next failure (doubling to a minute; a success resets it).
    backoff: Mutex<(Option<Instant>, Duration)>,
    /// Namespaces whose last write failed, to be written again.
    failed: Mutex<BTreeSet<String>>,
}

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);

impl Reports {
    pub fn new(per_second: usize, is_leader: Arc<dyn Fn() -> bool + Send + Sync>) -> Self {
        Reports {
            pending: Mutex::new(BTreeSet::new()),
            per_second: per_second.max(1),
            is_leader,
            was_leader: Mutex::new(false),
            last_error: Mutex::new(None),
            backoff: Mutex::new((None, FIRST_RETRY)),
            failed: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn queue(&self, namespaces: Vec<String>) {
        if let Ok(mut f) = self.failed.lock() {
            for ns in &namespaces {
                f.remove(ns);
            }
        }
        if let Ok(mut p) = self.pending.lock() {
            p.extend(namespaces);
        }
    }

    /// Whether this replica holds the Lease (and so writes the reports).
    pub fn leading(&self) -> bool {
        (self.is_leader)()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Writes up to `per_second` pending reports, if this replica leads.
    pub async fn write(&self, client: &kube::Client, audit: &Audit, metrics: &Metrics) {
        let leading = (self.is_leader)();
        let became = {
            let mut was = match self.was_leader.lock() {
                Ok(w) => w,
                Err(p) => p.into_inner(),
            };
            let became = leading && !*was;
            *was = leading;
            became
        };
        if !leading {
            return;
        }
        if became {
            tracing::info!("audit: leading: writing every namespace's report");
            audit.mark_all_dirty();
            self.queue(audit.take_dirty(usize::MAX));
        }
        let paused = self
            .backoff
            .lock()
            .is_ok_and(|b| b.0.is_some_and(|until| Instant::now() < until));
        if paused {
            return;
        }
        // Namespaces whose last write failed come after every other: one report the
        // API server refuses never holds the others back.
        let mut batch = take(&self.pending, self.per_second);
        let room = self.per_second.saturating_sub(batch.len());
        batch.extend(take(&self.failed, room));
        let now = super::view::now();
        for ns in batch {
            let report = audit.with_index(|i| {
                let records: Vec<_> = i.reported_in(&ns).collect();
                policy_report::namespace_report(&ns, &records, now)
            });
            match apply(client, &ns, &report).await {
                Ok(()) => {
                    metrics.report_written(true);
                    if let Ok(mut e) = self.last_error.lock() {
                        *e = None;
                    }
                    if let Ok(mut b) = self.backoff.lock() {
                        *b = (None, FIRST_RETRY);
                    }
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    let first = self.last_error().as_deref() != Some(error.as_str());
                    if first {
                        tracing::warn!(namespace = %guest::shown::shown(&ns), error = %error,
                            "audit: cannot write the PolicyReport (is the wgpolicyk8s.io CRD installed? deploy/reports/)");
                    }
                    metrics.report_written(false);
                    if let Ok(mut e) = self.last_error.lock() {
                        *e = Some(error);
                    }
                    // Written again after a pause (a CRD installed later brings every
                    // report without waiting for a change).
                    if let Ok(mut b) = self.backoff.lock() {
                        let pause = b.1;
                        *b = (Some(Instant::now() + pause), (pause * 2).min(LAST_RETRY));
                    }
                    if let Ok(mut f) = self.failed.lock() {
                        f.insert(ns);
                    }
                }
            }
        }
    }
}

/// Server-side apply of one namespace's report, with the gateway's field manager.
async fn apply(client: &kube::Client, namespace: &str, report: &Value) -> anyhow::Result<()> {
    let target = crate::kube_write::Target {
        group: policy_report::GROUP,
        version: "v1alpha2",
        resource: "policyreports",
        namespace: Some(namespace.to_string()),
        name: policy_report::NAME.to_string(),
    };
    crate::kube_write::apply(client, &target, report)
        .await
        .map(drop)
}

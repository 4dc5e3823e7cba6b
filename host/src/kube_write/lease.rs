//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go's
//! leaderelection does it: one writer among replicas. The holder renews the Lease
//! every `retry`; another replica takes it over only when it has seen the same record,
//! unchanged, for `duration` (its own clock measures that, so clocks that disagree do
//! not matter), and every change is a compare-and-swap on `resourceVersion`, so two
//! replicas never both believe they won the same round. A holder that cannot renew
//! for `renew_deadline` stops acting as leader before its Lease can be taken.

use super::{Created, Target, Updated};
use anyhow::Result;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a Lease not renewed is still the holder's.
    pub duration: Duration,
    /// How long a leader keeps acting without a successful renewal.
    pub renew_deadline: Duration,
    /// How often to renew, or to try to acquire.
    pub retry: Duration,
}

impl Default for Timing {
    /// client-go's defaults.
    fn default() -> Self {
        Timing {
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }
}

/// What a step changed, for the caller's log line and metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing new: still the leader, or still following `holder`.
    None,
    /// Became the leader: of a Lease that did not exist, was released, or whose
    /// holder stopped renewing it (`from`, unchanged for the Lease's duration).
    Acquired { from: Option<String> },
    /// Stopped being the leader (another replica holds the Lease, or renewing failed
    /// for `renew_deadline`).
    Lost { why: String },
}

/// One replica's side of the election.
pub struct Elector {
    client: kube::Client,
    target: Target,
    identity: String,
    timing: Timing,
    /// The record last seen and when it was first seen as it is.
    observed: Option<(Record, Instant)>,
    /// When this replica last renewed successfully, while it leads.
    renewed: Option<Instant>,
}

/// The fields that say who holds the Lease: a change in any of them is a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    holder: String,
    renew_time: Option<String>,
    duration_seconds: Option<i32>,
    transitions: i32,
}

fn record(lease: &Lease) -> Record {
    let spec = lease.spec.clone().unwrap_or_default();
    Record {
        holder: spec.holder_identity.unwrap_or_default(),
        renew_time: spec.renew_time.map(|t| t.0.to_string()),
        duration_seconds: spec.lease_duration_seconds,
        transitions: spec.lease_transitions.unwrap_or(0),
    }
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl Elector {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: String,
        timing: Timing,
    ) -> Self {
        Elector {
            client,
            target: Target {
                group: "coordination.k8s.io",
                version: "v1",
                resource: "leases",
                namespace: Some(namespace.to_string()),
                name: name.to_string(),
            },
            identity,
            timing,
            observed: None,
            renewed: None,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Until when this replica may act as the leader without another renewal.
    pub fn leading_until(&self) -> Option<std::time::Instant> {
        self.renewed
            .map(|at| at + self.timing.renew_deadline)
            .filter(|until| *until > std::time::Instant::now())
    }

    /// Whether this replica may act as the leader now.
    pub fn is_leader(&self) -> bool {
        self.renewed
            .is_some_and(|at| at.elapsed() < self.timing.renew_deadline)
    }

    /// The holder last seen (this replica's identity while it leads).
    pub fn holder(&self) -> Option<&str> {
        self.observed
            .as_ref()
            .map(|(r, _)| r.holder.as_str())
            .filter(|h| !h.is_empty())
    }

    fn spec(&self, acquire: bool, transitions: i32, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let at = now();
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timing.duration.as_secs().max(1) as i32),
            acquire_time: if acquire {
                Some(at.clone())
            } else {
                previous.and_then(|p| p.acquire_time.clone())
            },
            renew_time: Some(at),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// One round: renew while leading, else take the Lease if it is free or its holder
    /// has stopped renewing it. Errors (the API server unreachable, 403) leave this
    /// replica a follower, or a leader until `renew_deadline` runs out.
    pub async fn step(&mut self) -> Result<Change> {
        let was_leader = self.is_leader();
        let outcome = self.round().await;
        let leads = self.is_leader();
        match (was_leader, leads, outcome) {
            (true, false, Ok(_)) => Ok(Change::Lost {
                why: match self.holder() {
                    Some(holder) => format!("the Lease is held by {}", crate::text::shown(holder)),
                    None => "the Lease was released".to_string(),
                },
            }),
            (true, false, Err(e)) => {
                self.renewed = None;
                Ok(Change::Lost {
                    why: format!(
                        "not renewed for {} s: {e:#}",
                        self.timing.renew_deadline.as_secs()
                    ),
                })
            }
            (_, _, outcome) => outcome,
        }
    }

    async fn round(&mut self) -> Result<Change> {
        let lease = match super::get(&self.client, &self.target).await? {
            Some(value) => serde_json::from_value::<Lease>(value).map_err(|e| {
                anyhow::anyhow!(
                    "get {}: not a Lease: {}",
                    self.target.describe(),
                    guest::shown::redact_serde_message(&e.to_string())
                )
            })?,
            None => return self.create().await,
        };
        let seen = record(&lease);
        let first_seen = match &self.observed {
            Some((known, since)) if *known == seen => *since,
            _ => Instant::now(),
        };
        self.observed = Some((seen.clone(), first_seen));
        if seen.holder == self.identity {
            return self.renew(lease, seen.transitions).await;
        }
        self.renewed = None;
        let duration = seen
            .duration_seconds
            .filter(|d| *d > 0)
            .map_or(self.timing.duration, |d| Duration::from_secs(d as u64));
        let free = seen.holder.is_empty();
        if !free && first_seen.elapsed() < duration {
            return Ok(Change::None);
        }
        // Free, or its holder has not renewed it for its whole duration: take it, if
        // nobody else changes it first.
        let from = (!free).then(|| seen.holder.clone());
        let spec = self.spec(true, seen.transitions + 1, None);
        let mut taken = lease;
        taken.spec = Some(spec);
        match super::update(&self.client, &self.target, &serde_json::to_value(&taken)?).await? {
            Updated::Updated(value) => {
                self.took(value);
                Ok(Change::Acquired { from })
            }
            Updated::Conflict => Ok(Change::None),
        }
    }

    async fn create(&mut self) -> Result<Change> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.target.name.clone()),
                namespace: self.target.namespace.clone(),
                labels: Some(
                    [(
                        "app.kubernetes.io/managed-by".to_string(),
                        super::FIELD_MANAGER.to_string(),
                    )]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            spec: Some(self.spec(true, 0, None)),
        };
        let mut value = serde_json::to_value(&lease)?;
        value["apiVersion"] = "coordination.k8s.io/v1".into();
        value["kind"] = "Lease".into();
        match super::create(&self.client, &self.target, &value).await? {
            Created::Created(value) => {
                self.took(value);
                Ok(Change::Acquired { from: None })
            }
            // Another replica created it first: it leads; look again next round.
            Created::Exists => Ok(Change::None),
        }
    }

    async fn renew(&mut self, lease: Lease, transitions: i32) -> Result<Change> {
        let mut renewed = lease;
        renewed.spec = Some(self.spec(false, transitions, renewed.spec.as_ref()));
        match super::update(&self.client, &self.target, &serde_json::to_value(&renewed)?).await? {
            Updated::Updated(value) => {
                let first = self.renewed.is_none();
                self.took(value);
                Ok(if first {
                    // A restart that finds its own identity still holding the Lease.
                    Change::Acquired { from: None }
                } else {
                    Change::None
                })
            }
            Updated::Conflict => Ok(Change::None),
        }
    }

    fn took(&mut self, value: serde_json::Value) {
        if let Ok(lease) = serde_json::from_value::<Lease>(value) {
            self.observed = Some((record(&lease), Instant::now()));
        }
        self.renewed = Some(Instant::now());
    }

    /// Gives the Lease up (on shutdown), so another replica takes it at once instead
    /// of after its duration.
    pub async fn release(&mut self) -> Result<()> {
        if !self.is_leader() {
            return Ok(());
        }
        self.renewed = None;
        let Some(value) = super::get(&self.client, &self.target).await? else {
            return Ok(());
        };
        let mut lease: Lease = serde_json::from_value(value)?;
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        super::update(&self.client, &self.target, &serde_json::to_value(&lease)?).await?;
        Ok(())
    }
}

/// This replica's identity in the Lease: the pod's name (its host name) and what tells
/// a restarted container from the one before it.
pub fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "gateway".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(200)
        .collect();
    format!("{host}_{}_{nanos:08x}", std::process::id())
}

//! One store per watched kind, kept current by list-then-watch, as client-go's
//! reflector does: list (paged), then watch from the list's resource version; a
//! watch the server ends is resumed from the last version seen; a watch that breaks
//! (410 Gone, an error event, a dropped connection, a silence) is followed by a new
//! list. A kind of a Run:ai or SecretPolicy CRD is found by discovery, and found
//! again when its URL answers 404 (the CRD was deleted, or no longer serves that
//! version): a reflector never retries a dead URL forever.
//!
//! The stores answer from what they last held: once every store has been listed
//! (the first sync), a broken watch only makes its store *stale* from the moment it
//! broke until the list after it is in. How stale the view may be before the gateway
//! stops deciding on it is the gateway's choice (`--max-staleness-seconds`).

use super::api::{self, Change};
use super::object::Unreadable;
use super::{Objects, Target, Unreadables};
use crate::manifest::Document;
use anyhow::Result;
use kube::Client;
use kube::core::ApiResource;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// First wait after a failed list or watch; doubled each time, up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a kind the API server does not serve is looked for again (its CRD may
/// be installed at any time).
const NOT_SERVED_POLL: Duration = Duration::from_secs(10);

pub fn by_key(items: Vec<super::object::Slim>) -> Objects {
    items
        .into_iter()
        .map(|o| ((o.namespace().to_string(), o.name().to_string()), o))
        .collect()
}

pub fn unreadable_by_key(items: Vec<Unreadable>) -> Unreadables {
    items
        .into_iter()
        .map(|o| ((o.namespace.clone(), o.name.clone()), o))
        .collect()
}

/// Whether the API server serves a kind, as far as the reflector knows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Served {
    /// Not asked yet, or discovery failed.
    Unknown,
    At(ApiResource),
    /// Discovery says the kind is not served (its CRD is not installed).
    No,
}

struct Store {
    target: Target,
    served: Served,
    /// The resource the objects were listed at: while the kind is discovered again,
    /// the view keeps building from what the store last held.
    listed_at: Option<ApiResource>,
    objects: Objects,
    unreadable: Unreadables,
    /// A list (or a "not served" answer) has been taken since the start.
    listed: bool,
    /// When the store stopped following the cluster (a broken watch, a failed list),
    /// until the list after it is in.
    stale_since: Option<Instant>,
    /// The last list, watch or discovery failure, until the next successful list.
    error: Option<String>,
    lists: u64,
}

impl Store {
    fn label(&self) -> String {
        match &self.served {
            Served::At(r) => format!("{} ({})", r.plural, r.api_version),
            Served::No => format!("{} ({}, not served)", self.target.kind, self.target.group),
            Served::Unknown => format!("{} ({})", self.target.kind, self.target.group),
        }
    }

    fn stale(&mut self, error: String) {
        self.stale_since.get_or_insert_with(Instant::now);
        self.error = Some(error);
    }
}

struct Shared {
    stores: Mutex<Vec<Store>>,
    /// One more for every change of a store (an event, a list, a break).
    generation: AtomicU64,
    changed: Notify,
}

/// The live stores; cheap to clone.
#[derive(Clone)]
pub struct Live {
    shared: Arc<Shared>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    pub resource: String,
    /// Listed at least once since the start.
    pub synced: bool,
    /// Following the cluster now (its watch holds).
    pub current: bool,
    pub served: bool,
    pub objects: usize,
    pub unreadable: usize,
    pub lists: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Every store has been listed once since the start: the view can be built.
    pub synced: bool,
    pub generation: u64,
    /// Seconds since the first store stopped following the cluster; 0 when all do.
    pub stale_seconds: f64,
    pub resources: Vec<ResourceStatus>,
}

/// One store's content, for building the view.
pub struct Listing<'a> {
    pub kind: &'a str,
    pub resource: Option<&'a ApiResource>,
    pub objects: &'a Objects,
    pub unreadable: &'a Unreadables,
}

impl Live {
    /// Starts a reflector per target on the current tokio runtime.
    pub fn start(client: Client, targets: Vec<Target>) -> Live {
        let stores = targets
            .into_iter()
            .map(|target| Store {
                served: match &target.fixed {
                    Some(r) => Served::At(r.clone()),
                    None => Served::Unknown,
                },
                listed_at: None,
                target,
                objects: Objects::new(),
                unreadable: Unreadables::new(),
                listed: false,
                stale_since: None,
                error: None,
                lists: 0,
            })
            .collect::<Vec<_>>();
        let count = stores.len();
        let live = Live {
            shared: Arc::new(Shared {
                stores: Mutex::new(stores),
                generation: AtomicU64::new(0),
                changed: Notify::new(),
            }),
        };
        for index in 0..count {
            tokio::spawn(reflect(client.clone(), live.clone(), index));
        }
        live
    }

    fn stores(&self) -> MutexGuard<'_, Vec<Store>> {
        match self.shared.stores.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn change<R>(&self, index: usize, f: impl FnOnce(&mut Store) -> R) -> Option<R> {
        let result = self.stores().get_mut(index).map(f);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.changed.notify_one();
        result
    }

    fn target(&self, index: usize) -> Option<(Target, Served)> {
        self.stores()
            .get(index)
            .map(|s| (s.target.clone(), s.served.clone()))
    }

    /// Waits until a store changes (a change since the last call counts).
    pub async fn changed(&self) {
        self.shared.changed.notified().await;
    }

    pub fn status(&self) -> Status {
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let stores = self.stores();
        let resources: Vec<ResourceStatus> = stores
            .iter()
            .map(|s| ResourceStatus {
                resource: s.label(),
                synced: s.listed,
                current: s.listed && s.stale_since.is_none(),
                served: s.served != Served::No,
                objects: s.objects.len(),
                unreadable: s.unreadable.len(),
                lists: s.lists,
                error: s.error.clone(),
            })
            .collect();
        let oldest = stores.iter().filter_map(|s| s.stale_since).min();
        Status {
            synced: resources.iter().all(|r| r.synced),
            generation,
            stale_seconds: oldest.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            resources,
        }
    }

    /// When the view stopped following the cluster (the oldest break of a store), if
    /// it has.
    pub fn stale_since(&self) -> Option<Instant> {
        self.stores().iter().filter_map(|s| s.stale_since).min()
    }

    /// The cluster view of the stores as they are now (stale ones as they were last
    /// seen), and the generation it was built from; `None` until every store has
    /// been listed once.
    pub fn build(&self, policies: &[Document]) -> Option<(u64, Result<super::Built>)> {
        let stores = self.stores();
        if !stores.iter().all(|s| s.listed) {
            return None;
        }
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let listings: Vec<Listing> = stores
            .iter()
            .map(|s| Listing {
                kind: &s.target.kind,
                resource: s.listed_at.as_ref(),
                objects: &s.objects,
                unreadable: &s.unreadable,
            })
            .collect();
        Some((generation, super::build(&listings, policies)))
    }
}

/// How long a list's watches must last for the backoff to start over.
const HELD: Duration = Duration::from_secs(60);

/// Discover (when needed), list, then watch until the watch breaks; forever.
async fn reflect(client: Client, live: Live, index: usize) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let Some((target, served)) = live.target(index) else {
            return;
        };
        let resource = match served {
            Served::At(resource) => resource,
            Served::Unknown | Served::No => match super::discover_kind(&client, &target).await {
                Ok(Some(resource)) => {
                    tracing::info!(kind = %target.kind, version = %resource.api_version, "served");
                    live.change(index, |s| s.served = Served::At(resource.clone()));
                    resource
                }
                Ok(None) => {
                    let first = served != Served::No;
                    if first {
                        tracing::warn!(kind = %target.kind, group = %target.group,
                            "not served by the API server (CRD not installed): the view has none; looking again every 10 s");
                    }
                    // A kind that is not served has no objects: that is what the
                    // cluster holds, not a failure.
                    live.change(index, |s| {
                        s.served = Served::No;
                        s.listed_at = None;
                        s.objects.clear();
                        s.unreadable.clear();
                        s.listed = true;
                        s.stale_since = None;
                        s.error = None;
                    });
                    backoff = MIN_BACKOFF;
                    tokio::time::sleep(NOT_SERVED_POLL).await;
                    continue;
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::warn!(kind = %target.kind, error = %error,
                        retry_ms = backoff.as_millis() as u64, "discovery failed");
                    live.change(index, |s| s.stale(error));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        let listed = match api::list(&client, &resource).await {
            Ok(listed) => listed,
            Err(e) => {
                let error = format!("{e:#}");
                let gone = rediscover(&live, index, &target, &e);
                tracing::warn!(resource = %resource.plural, error = %error, rediscover = gone,
                    retry_ms = backoff.as_millis() as u64, "list failed: the store is stale until a list is in");
                live.change(index, |s| s.stale(error));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let objects = by_key(listed.objects);
        let unreadable = unreadable_by_key(listed.unreadable);
        let (count, bad) = (objects.len(), unreadable.len());
        let mut version = listed.version;
        live.change(index, |s| {
            s.objects = objects;
            s.unreadable = unreadable;
            s.listed_at = Some(resource.clone());
            s.listed = true;
            s.stale_since = None;
            s.error = None;
            s.lists += 1;
        });
        tracing::info!(resource = %resource.plural, objects = count, unreadable = bad, "listed");
        let listed_at = tokio::time::Instant::now();
        // Watch until it breaks; a watch the server ends is resumed where it stopped.
        let broken = loop {
            let started = tokio::time::Instant::now();
            let watched = api::watch(&client, &resource, &version, |change| {
                live.change(index, |s| apply(s, change));
            })
            .await;
            match watched {
                Ok(next) => version = next,
                Err(e) => break e,
            }
            // A server that ends every watch at once is not asked again at once.
            if started.elapsed() < MIN_BACKOFF {
                tokio::time::sleep(MIN_BACKOFF).await;
            }
        };
        let gone = broken.downcast_ref::<api::Gone>().is_some();
        let not_found = rediscover(&live, index, &target, &broken);
        let error = format!("{broken:#}");
        tracing::warn!(resource = %resource.plural, error = %error, gone, rediscover = not_found,
            "watch broken: listing again; answers come from the last view meanwhile");
        live.change(index, |s| s.stale(error));
        // The backoff starts over only after a watch that held: a server that breaks
        // every watch at once (or answers 410 to each) is not listed again twice a
        // second. The first 410 after a watch that held is listed again at once.
        let held = listed_at.elapsed() >= HELD;
        if held {
            backoff = MIN_BACKOFF;
        }
        if !(gone && held) {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// A 404 at a discovered kind's URL: its CRD was deleted or no longer serves that
/// version. The kind is discovered again instead of retried at a dead URL.
fn rediscover(live: &Live, index: usize, target: &Target, error: &anyhow::Error) -> bool {
    let not_found = error.downcast_ref::<api::NotFound>().is_some();
    if not_found && target.fixed.is_none() {
        live.change(index, |s| s.served = Served::Unknown);
        return true;
    }
    false
}

fn apply(store: &mut Store, change: Change) {
    match change {
        Change::Put(o) => {
            let key = (o.namespace().to_string(), o.name().to_string());
            store.unreadable.remove(&key);
            store.objects.insert(key, *o);
        }
        Change::PutUnreadable(o) => {
            let key = (o.namespace.clone(), o.name.clone());
            store.objects.remove(&key);
            store.unreadable.insert(key, o);
        }
        Change::Delete(namespace, name) => {
            let key = (namespace, name);
            store.objects.remove(&key);
            store.unreadable.remove(&key);
        }
    }
}

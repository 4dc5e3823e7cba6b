//! One store per watched resource, kept current by list-then-watch, as client-go's
//! reflector does: list (paged), then watch from the list's resource version; a
//! watch the server ends is resumed from the last version seen; a watch that breaks
//! (410 Gone, an error event, a dropped connection, a silence) is followed by a new
//! list, and the store is marked not synced from the break until that list is in.
//! Nothing is served from a store that is not synced: `Status::synced` is false
//! and the gateway answers by its failure policy meanwhile.

use super::object::Slim;
use super::{Built, Objects, api};
use crate::manifest::Document;
use anyhow::Result;
use kube::Client;
use kube::core::{ApiResource, WatchEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// First wait after a failed list or watch; doubled each time, up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub fn by_key(items: Vec<Slim>) -> Objects {
    items
        .into_iter()
        .map(|o| ((o.namespace().to_string(), o.name().to_string()), o))
        .collect()
}

struct Store {
    objects: Objects,
    synced: bool,
    /// The last list or watch failure, until the next successful list.
    error: Option<String>,
    lists: u64,
}

struct Shared {
    resources: Vec<ApiResource>,
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
    pub synced: bool,
    pub objects: usize,
    pub lists: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub synced: bool,
    pub generation: u64,
    pub resources: Vec<ResourceStatus>,
}

impl Live {
    /// Starts a reflector per resource on the current tokio runtime.
    pub fn start(client: Client, resources: Vec<ApiResource>) -> Live {
        let stores = resources
            .iter()
            .map(|_| Store {
                objects: Objects::new(),
                synced: false,
                error: None,
                lists: 0,
            })
            .collect();
        let live = Live {
            shared: Arc::new(Shared {
                resources,
                stores: Mutex::new(stores),
                generation: AtomicU64::new(0),
                changed: Notify::new(),
            }),
        };
        for index in 0..live.shared.resources.len() {
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

    fn change(&self, index: usize, f: impl FnOnce(&mut Store)) {
        if let Some(store) = self.stores().get_mut(index) {
            f(store);
        }
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.changed.notify_one();
    }

    /// Waits until a store changes (a change since the last call counts).
    pub async fn changed(&self) {
        self.shared.changed.notified().await;
    }

    pub fn status(&self) -> Status {
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let stores = self.stores();
        let resources: Vec<ResourceStatus> = self
            .shared
            .resources
            .iter()
            .zip(stores.iter())
            .map(|(r, s)| ResourceStatus {
                resource: format!("{} ({})", r.plural, r.api_version),
                synced: s.synced,
                objects: s.objects.len(),
                lists: s.lists,
                error: s.error.clone(),
            })
            .collect();
        Status {
            synced: resources.iter().all(|r| r.synced),
            generation,
            resources,
        }
    }

    /// The cluster view of the stores as they are now, and the generation it was
    /// built from; `None` while a store is not synced.
    pub fn build(&self, policies: &[Document]) -> Option<(u64, Result<Built>)> {
        let stores = self.stores();
        if !stores.iter().all(|s| s.synced) {
            return None;
        }
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let pairs: Vec<(&ApiResource, &Objects)> = self
            .shared
            .resources
            .iter()
            .zip(stores.iter().map(|s| &s.objects))
            .collect();
        Some((generation, super::build(&pairs, policies)))
    }
}

/// How long a list's watches must last for the backoff to start over.
const HELD: Duration = Duration::from_secs(60);

/// List, then watch until the watch breaks; forever.
async fn reflect(client: Client, live: Live, index: usize) {
    let Some(resource) = live.shared.resources.get(index).cloned() else {
        return;
    };
    let mut backoff = MIN_BACKOFF;
    loop {
        let (items, mut version) = match api::list(&client, &resource).await {
            Ok(listed) => listed,
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(resource = %resource.plural, error = %error,
                    retry_ms = backoff.as_millis() as u64, "list failed: the cluster view is not synced");
                live.change(index, |s| {
                    s.synced = false;
                    s.error = Some(error);
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let objects = by_key(items);
        let count = objects.len();
        live.change(index, |s| {
            s.objects = objects;
            s.synced = true;
            s.error = None;
            s.lists += 1;
        });
        tracing::info!(resource = %resource.plural, objects = count, "listed");
        let listed_at = tokio::time::Instant::now();
        // Watch until it breaks; a watch the server ends is resumed where it stopped.
        let broken = loop {
            let started = tokio::time::Instant::now();
            let watched = api::watch(&client, &resource, &version, |event| {
                live.change(index, |s| apply(&mut s.objects, event));
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
        let error = format!("{broken:#}");
        tracing::warn!(resource = %resource.plural, error = %error, gone,
            "watch broken: listing again; the cluster view is not synced meanwhile");
        live.change(index, |s| {
            s.synced = false;
            s.error = Some(error);
        });
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

fn apply(objects: &mut Objects, event: WatchEvent<Slim>) {
    match event {
        WatchEvent::Added(o) | WatchEvent::Modified(o) => {
            objects.insert((o.namespace().to_string(), o.name().to_string()), o);
        }
        WatchEvent::Deleted(o) => {
            objects.remove(&(o.namespace().to_string(), o.name().to_string()));
        }
        WatchEvent::Bookmark(_) | WatchEvent::Error(_) => {}
    }
}

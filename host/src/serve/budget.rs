//! What the gateway holds in memory for requests it has not answered yet. Only
//! evaluations go through the worker pool; reading and decoding a body happen on the
//! async threads for every connection at once, and a decoded review takes ~15 times
//! its body. So bodies are admitted against a budget of bytes before they are read,
//! and held until the answer is built: 64 concurrent 1.3 MB reviews peaked at 1.4 GB
//! without it. A request that cannot get its share within the queue timeout is
//! answered 503, and the API server applies the webhook's own failurePolicy.
//! Connections are capped too: past the cap a new connection is closed at once.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const KIB: usize = 1024;

pub struct Budget {
    bodies: Arc<Semaphore>,
    /// In KiB.
    total: usize,
    connections: Arc<Semaphore>,
}

impl Budget {
    pub fn new(body_bytes: usize, connections: usize) -> Self {
        let total = body_bytes.div_ceil(KIB).clamp(1, Semaphore::MAX_PERMITS);
        Budget {
            bodies: Arc::new(Semaphore::new(total)),
            total,
            connections: Arc::new(Semaphore::new(connections.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// A share for a body of `declared` bytes (`max` when it does not say), waiting at
    /// most `wait`.
    pub async fn body(
        &self,
        declared: Option<u64>,
        max: usize,
        wait: Duration,
    ) -> Option<OwnedSemaphorePermit> {
        let bytes = declared.map_or(max, |d| usize::try_from(d).unwrap_or(max).min(max));
        let kib = bytes.div_ceil(KIB).clamp(1, self.total);
        let permits = u32::try_from(kib).unwrap_or(u32::MAX);
        tokio::time::timeout(wait, self.bodies.clone().acquire_many_owned(permits))
            .await
            .ok()?
            .ok()
    }

    /// A connection's place, if one is free.
    pub fn connection(&self) -> Option<OwnedSemaphorePermit> {
        self.connections.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn bodies_wait_for_their_share_and_give_up_after_the_wait() {
        let budget = Budget::new(100 * KIB, 2);
        let wait = Duration::from_millis(20);
        let big = budget.body(Some(80 * 1024), 1 << 20, wait).await.unwrap();
        assert!(budget.body(Some(30 * 1024), 1 << 20, wait).await.is_none());
        let small = budget.body(Some(10), 1 << 20, wait).await.unwrap();
        drop(big);
        // An unknown length takes the most a body may be, at most the whole budget.
        let unknown = budget.body(None, 1 << 20, wait).await;
        assert!(unknown.is_none());
        drop(small);
        assert!(budget.body(None, 1 << 20, wait).await.is_some());
    }

    #[test]
    fn connections_past_the_cap_get_no_place() {
        let budget = Budget::new(KIB, 2);
        let (a, _b) = (budget.connection().unwrap(), budget.connection().unwrap());
        assert!(budget.connection().is_none());
        drop(a);
        assert!(budget.connection().is_some());
    }
}

//! The bounded worker pool that runs evaluations: `--workers` threads take jobs from
//! a queue of `--queue` places. A job that finds the queue full, or that waited
//! longer than `--queue-timeout-ms` before a worker took it, is not run: the caller
//! answers `gateway-overloaded` by its failure policy. So an overload costs a short
//! wait and a clear answer, never unbounded memory. Evaluations run here, not on the
//! async runtime, so that a plugin running to its deadline stalls one worker, not the
//! connections, `/healthz` or `/metrics`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The queue was full, or the job waited too long in it.
    Overloaded,
    /// The job panicked (a bug of the gateway, contained to this request).
    Panicked,
}

pub struct Pool {
    queue: SyncSender<Job>,
    queue_timeout: Duration,
}

impl Pool {
    pub fn start(workers: usize, queue: usize, queue_timeout: Duration) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("evaluate-{i}"))
                .spawn(move || work(&rx))?;
        }
        Ok(Pool {
            queue: tx,
            queue_timeout,
        })
    }

    /// Runs `f` on a worker and waits for its result without blocking the runtime.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        // Who gets to the job first: a worker starting it, or the caller giving up on
        // it at the queue timeout (answered then, not when a worker comes to it).
        let claim = Arc::new(AtomicU8::new(QUEUED));
        let claimed = claim.clone();
        let job: Job = Box::new(move || {
            if claimed
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                let result = catch_unwind(AssertUnwindSafe(f)).map_err(|_| PoolError::Panicked);
                let _ = tx.send(result);
            }
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                return Err(PoolError::Overloaded);
            }
        }
        tokio::select! {
            result = &mut rx => return result.unwrap_or(Err(PoolError::Panicked)),
            _ = tokio::time::sleep(self.queue_timeout) => {}
        }
        if claim
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return Err(PoolError::Overloaded);
        }
        rx.await.unwrap_or(Err(PoolError::Panicked))
    }
}

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // Only the waiting worker holds the lock; it is released before the job runs.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_panic_is_an_error_and_the_worker_goes_on() {
        let pool = Pool::start(1, 4, Duration::from_secs(5)).unwrap();
        runtime().block_on(async {
            let panicked = pool.run(|| -> u32 { panic!("bug") }).await;
            assert_eq!(panicked, Err(PoolError::Panicked));
            assert_eq!(pool.run(|| 7).await, Ok(7));
        });
    }

    #[test]
    fn a_full_queue_answers_overloaded_at_once() {
        let pool = Arc::new(Pool::start(1, 1, Duration::from_secs(5)).unwrap());
        let rt = runtime();
        let (started, is_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        // One job holds the worker...
        let p = pool.clone();
        let busy = rt.spawn(async move {
            p.run(move || {
                started.send(()).unwrap();
                released.recv().unwrap();
            })
            .await
        });
        rt.block_on(async {
            while is_started.try_recv().is_err() {
                tokio::task::yield_now().await;
            }
        });
        // ...one fills the queue (a spawned task is polled before `block_on` goes on)...
        let p = pool.clone();
        let queued = rt.spawn(async move { p.run(|| 1).await });
        rt.block_on(tokio::task::yield_now());
        // ...and the third finds no place.
        assert_eq!(rt.block_on(pool.run(|| 2)), Err(PoolError::Overloaded));
        release.send(()).unwrap();
        assert_eq!(rt.block_on(busy).unwrap(), Ok(()));
        assert_eq!(rt.block_on(queued).unwrap(), Ok(1));
    }

    #[test]
    fn a_job_that_waited_too_long_is_not_run() {
        let pool = Pool::start(1, 4, Duration::from_millis(10)).unwrap();
        runtime().block_on(async {
            let slow = pool.run(|| std::thread::sleep(Duration::from_millis(1500)));
            let late = pool.run(|| 1);
            let started = std::time::Instant::now();
            let late = async {
                let answer = late.await;
                (answer, started.elapsed())
            };
            let (slow, (late, answered_after)) = tokio::join!(slow, late);
            assert_eq!(slow, Ok(()));
            assert_eq!(late, Err(PoolError::Overloaded));
            // At its own timeout, not when the worker is free again.
            assert!(
                answered_after < Duration::from_millis(1000),
                "{answered_after:?}"
            );
        });
    }
}

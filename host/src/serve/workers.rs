//! The bounded worker pool that runs evaluations, shared fairly between namespaces.
//! `--workers` threads take jobs from per-namespace lanes in turn (round robin), so a
//! flood from one project waits behind its own jobs, not in front of everyone's.
//! Cost matters as much as count: one project's expensive policy (seconds per
//! evaluation) would otherwise hold every worker while another project's clean pod
//! times out in the queue. So each lane's evaluation time is tracked (a moving
//! average): lanes whose evaluations are *heavy* (over `HEAVY`) share at most
//! `workers - 1` workers between them, keeping one for everyone else; a lane whose
//! cost is not known yet runs one job at a time until its first one tells.
//!
//! A job that finds its lane's share of the queue (`--queue` / 4) or the whole queue
//! full, or that waited longer than `--queue-timeout-ms` before a worker took it, is
//! not run: the caller answers `gateway-overloaded` by its failure policy. So an
//! overload costs a short wait and a clear answer, never unbounded memory.
//! Evaluations run here, not on the async runtime, so that a plugin running to its
//! deadline stalls one worker, not the connections, `/healthz` or `/metrics`.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

/// An evaluation slower than this (on average, per lane) is heavy. A typical one
/// takes tens of microseconds; the expensive policies that starve others, seconds.
pub const HEAVY: Duration = Duration::from_millis(20);
/// Weight of the newest evaluation in a lane's moving average.
const ALPHA: f64 = 0.5;
/// Idle lanes kept (for their measured cost) before the idle ones are forgotten.
const MAX_LANES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The queue was full, or the job waited too long in it.
    Overloaded,
    /// The job panicked (a bug of the gateway, contained to this request).
    Panicked,
}

struct Entry {
    claim: Arc<AtomicU8>,
    job: Job,
}

impl Entry {
    fn abandoned(&self) -> bool {
        self.claim.load(Ordering::Acquire) == ABANDONED
    }
}

#[derive(Default)]
struct Lane {
    jobs: VecDeque<Entry>,
    running: usize,
    /// Moving average of its evaluations, in seconds; `None` until one has run.
    cost: Option<f64>,
}

impl Lane {
    fn heavy(&self) -> bool {
        self.cost.is_some_and(|c| c > HEAVY.as_secs_f64())
    }

    /// Drops the jobs whose callers gave up (they time out in the order they came,
    /// so they are at the front); returns how many.
    fn purge(&mut self) -> usize {
        let mut purged = 0;
        while self.jobs.front().is_some_and(Entry::abandoned) {
            self.jobs.pop_front();
            purged += 1;
        }
        purged
    }
}

#[derive(Default)]
struct Sched {
    lanes: HashMap<String, Lane>,
    /// Lanes with waiting jobs, in the order they get their next turn.
    turn: VecDeque<String>,
    waiting: usize,
    heavy_running: usize,
}

struct Shared {
    sched: Mutex<Sched>,
    ready: Condvar,
    workers: usize,
    queue: usize,
    lane_queue: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Sched> {
        match self.sched.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Heavy lanes together keep one worker free for the others.
    fn heavy_cap(&self) -> usize {
        self.workers.saturating_sub(1).max(1)
    }
}

impl Sched {
    /// The next job to run, in turn: the first lane (round robin) that may run one
    /// more. Returns the lane, the job and whether it runs as heavy.
    fn next(&mut self, heavy_cap: usize) -> Option<(String, Entry, bool)> {
        for _ in 0..self.turn.len() {
            let key = self.turn.pop_front()?;
            let Some(lane) = self.lanes.get_mut(&key) else {
                continue;
            };
            self.waiting -= lane.purge();
            if lane.jobs.is_empty() {
                continue;
            }
            let heavy = lane.heavy();
            let may = match lane.cost {
                None => lane.running == 0,
                Some(_) if heavy => self.heavy_running < heavy_cap,
                Some(_) => true,
            };
            if !may {
                self.turn.push_back(key);
                continue;
            }
            let entry = lane.jobs.pop_front()?;
            self.waiting -= 1;
            lane.running += 1;
            if heavy {
                self.heavy_running += 1;
            }
            if !lane.jobs.is_empty() {
                self.turn.push_back(key.clone());
            }
            return Some((key, entry, heavy));
        }
        None
    }

    fn finished(&mut self, key: &str, heavy: bool, took: Option<Duration>) {
        if heavy {
            self.heavy_running -= 1;
        }
        if let Some(lane) = self.lanes.get_mut(key) {
            lane.running -= 1;
            if let Some(took) = took {
                let t = took.as_secs_f64();
                lane.cost = Some(lane.cost.map_or(t, |c| ALPHA * t + (1.0 - ALPHA) * c));
            }
        }
        if self.lanes.len() > MAX_LANES {
            self.lanes
                .retain(|_, lane| lane.running > 0 || !lane.jobs.is_empty());
        }
    }
}

pub struct Pool {
    shared: Arc<Shared>,
    queue_timeout: Duration,
    /// Evaluations asked of the pool and not yet answered (queued or running).
    active: Arc<AtomicUsize>,
}

/// Counts an evaluation in `active` for as long as its caller waits for it.
struct Active<'a>(&'a AtomicUsize);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    pub fn start(workers: usize, queue: usize, queue_timeout: Duration) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            sched: Mutex::new(Sched::default()),
            ready: Condvar::new(),
            workers,
            queue,
            lane_queue: (queue / 4).max(1),
        });
        for i in 0..workers {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("evaluate-{i}"))
                .spawn(move || work(&shared))?;
        }
        Ok(Pool {
            shared,
            queue_timeout,
            active: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// How many evaluations are queued or running now: work with no deadline (the
    /// audit) waits while there are any.
    pub fn activity(&self) -> Arc<AtomicUsize> {
        self.active.clone()
    }

    /// Runs `f` on a worker in `lane`'s turn (a namespace) and waits for its result
    /// without blocking the runtime.
    pub async fn run<R: Send + 'static>(
        &self,
        lane: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        self.active.fetch_add(1, Ordering::AcqRel);
        let _active = Active(&self.active);
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
        {
            let mut sched = self.shared.lock();
            let waiting = {
                let lane = sched.lanes.entry(lane.to_string()).or_default();
                let purged = lane.purge();
                let waiting = lane.jobs.len();
                sched.waiting -= purged;
                waiting
            };
            if waiting >= self.shared.lane_queue || sched.waiting >= self.shared.queue {
                return Err(PoolError::Overloaded);
            }
            let lane_state = sched.lanes.entry(lane.to_string()).or_default();
            let was_idle = lane_state.jobs.is_empty();
            lane_state.jobs.push_back(Entry {
                claim: claim.clone(),
                job,
            });
            sched.waiting += 1;
            if was_idle && !sched.turn.iter().any(|k| k == lane) {
                sched.turn.push_back(lane.to_string());
            }
        }
        self.shared.ready.notify_one();
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

fn work(shared: &Shared) {
    let mut sched = shared.lock();
    loop {
        let Some((key, entry, heavy)) = sched.next(shared.heavy_cap()) else {
            sched = match shared.ready.wait(sched) {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            continue;
        };
        drop(sched);
        let started = Instant::now();
        let ran = !entry.abandoned();
        (entry.job)();
        let took = ran.then(|| started.elapsed());
        sched = shared.lock();
        sched.finished(&key, heavy, took);
        // A lane may run again, or the heavy share has a place: let others look.
        shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

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
            let panicked = pool.run("a", || -> u32 { panic!("bug") }).await;
            assert_eq!(panicked, Err(PoolError::Panicked));
            assert_eq!(pool.run("a", || 7).await, Ok(7));
        });
    }

    /// Holds a worker with a job of `lane` until `release` is sent.
    fn hold(
        pool: &Arc<Pool>,
        rt: &tokio::runtime::Runtime,
        lane: &'static str,
    ) -> (
        tokio::task::JoinHandle<Result<(), PoolError>>,
        mpsc::Sender<()>,
    ) {
        let (started, is_started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let p = pool.clone();
        let busy = rt.spawn(async move {
            p.run(lane, move || {
                started.send(()).unwrap();
                released.recv().unwrap();
            })
            .await
        });
        rt.block_on(async {
            while is_started.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        (busy, release)
    }

    /// The audit waits while admission has evaluations queued or running: the count
    /// follows every way a call ends (answered, refused, panicked).
    #[test]
    fn activity_counts_what_admission_waits_for() {
        let pool = Arc::new(Pool::start(1, 4, Duration::from_secs(5)).unwrap());
        let active = pool.activity();
        let rt = runtime();
        assert_eq!(active.load(Ordering::Acquire), 0);
        let (busy, release) = hold(&pool, &rt, "a");
        assert_eq!(active.load(Ordering::Acquire), 1);
        let p = pool.clone();
        let queued = rt.spawn(async move { p.run("a", || 1).await });
        rt.block_on(tokio::task::yield_now());
        assert_eq!(active.load(Ordering::Acquire), 2);
        assert_eq!(rt.block_on(pool.run("a", || 2)), Err(PoolError::Overloaded));
        assert_eq!(active.load(Ordering::Acquire), 2);
        release.send(()).unwrap();
        rt.block_on(busy).unwrap().unwrap();
        assert_eq!(rt.block_on(queued).unwrap(), Ok(1));
        let panicked = rt.block_on(pool.run("a", || -> u32 { panic!("bug") }));
        assert_eq!(panicked, Err(PoolError::Panicked));
        assert_eq!(active.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_full_share_of_the_queue_answers_overloaded_at_once() {
        // queue 4: each lane may keep 1 waiting.
        let pool = Arc::new(Pool::start(1, 4, Duration::from_secs(5)).unwrap());
        let rt = runtime();
        let (busy, release) = hold(&pool, &rt, "a");
        // One of lane a waits (a spawned task is polled before `block_on` goes on)...
        let p = pool.clone();
        let queued = rt.spawn(async move { p.run("a", || 1).await });
        rt.block_on(tokio::task::yield_now());
        // ...the next of lane a finds its share full, and lane b still has a place.
        assert_eq!(rt.block_on(pool.run("a", || 2)), Err(PoolError::Overloaded));
        let p = pool.clone();
        let other = rt.spawn(async move { p.run("b", || 3).await });
        rt.block_on(tokio::task::yield_now());
        release.send(()).unwrap();
        assert_eq!(rt.block_on(busy).unwrap(), Ok(()));
        assert_eq!(rt.block_on(queued).unwrap(), Ok(1));
        assert_eq!(rt.block_on(other).unwrap(), Ok(3));
    }

    #[test]
    fn a_job_that_waited_too_long_is_not_run() {
        let pool = Pool::start(1, 4, Duration::from_millis(10)).unwrap();
        runtime().block_on(async {
            let slow = pool.run("a", || std::thread::sleep(Duration::from_millis(1500)));
            let late = pool.run("b", || 1);
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

    #[test]
    fn heavy_lanes_leave_a_worker_to_the_others() {
        let pool = Arc::new(Pool::start(2, 64, Duration::from_secs(30)).unwrap());
        let rt = runtime();
        // Lane a's first evaluation tells it is heavy.
        assert_eq!(
            rt.block_on(pool.run("a", || std::thread::sleep(HEAVY * 2))),
            Ok(())
        );
        // It holds one worker; its next job waits, though the second worker is free...
        let (busy, release) = hold(&pool, &rt, "a");
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        let second_a = rt.spawn(async move { p.run("a", move || tx.send(()).unwrap()).await });
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
        assert!(rx.try_recv().is_err(), "a heavy lane took the last worker");
        // ...which lane b gets at once.
        assert_eq!(rt.block_on(pool.run("b", || 5)), Ok(5));
        release.send(()).unwrap();
        assert_eq!(rt.block_on(busy).unwrap(), Ok(()));
        assert_eq!(rt.block_on(second_a).unwrap(), Ok(()));
    }

    #[test]
    fn a_lane_of_unknown_cost_runs_one_job_at_a_time_and_a_light_one_more() {
        let pool = Arc::new(Pool::start(2, 64, Duration::from_secs(30)).unwrap());
        let rt = runtime();
        // Unknown cost: while its first job runs, its second waits.
        let (busy, release) = hold(&pool, &rt, "new");
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        let second = rt.spawn(async move { p.run("new", move || tx.send(()).unwrap()).await });
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
        assert!(
            rx.try_recv().is_err(),
            "a second job of an unknown lane ran"
        );
        release.send(()).unwrap();
        assert_eq!(rt.block_on(busy).unwrap(), Ok(()));
        assert_eq!(rt.block_on(second).unwrap(), Ok(()));
        // Known light: two at once.
        assert_eq!(rt.block_on(pool.run("light", || ())), Ok(()));
        let (busy, release) = hold(&pool, &rt, "light");
        assert_eq!(rt.block_on(pool.run("light", || 9)), Ok(9));
        release.send(()).unwrap();
        assert_eq!(rt.block_on(busy).unwrap(), Ok(()));
    }
}

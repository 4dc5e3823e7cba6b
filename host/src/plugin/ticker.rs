//! The clock behind per-call deadlines: a thread that advances the engine's epoch
//! every tick until the plugin is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::Engine;

pub const TICK: Duration = Duration::from_millis(5);

/// Epoch ticks in `deadline`, at least one.
pub fn ticks(deadline: Duration) -> u64 {
    (deadline.as_micros() / TICK.as_micros()).max(1) as u64
}

pub struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

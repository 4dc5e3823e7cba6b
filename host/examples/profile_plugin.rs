//! Evaluates the benchmark workload in a fresh sandboxed instance per call, in a loop,
//! for a profiler: `HOST_PERF_MAP=1 perf record -e cpu-clock -g
//! target/dist/examples/profile_plugin 20000` (the perf map names the plugin's
//! functions). Containment is on, as `host` runs it; `off` among the arguments turns
//! fuel and the deadline off, `reused` evaluates in one instance (`reused pollute`
//! instantiates and drops another one before each call), `instantiate` only creates and
//! drops instances.

use host::bench;
use host::plugin::{Limits, Options, Plugin};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20000);
    let flags: Vec<String> = args.collect();
    let mut limits = Limits::default();
    if flags.iter().any(|f| f == "off") {
        limits.fuel = None;
        limits.deadline = None;
    }
    // The artifact cache keeps compilation out of the profile.
    let options = Options {
        limits,
        ..Options::standard()
    };
    let plugin = Plugin::load_with(host::plugin::BUILTIN, "built-in plugin", &options)
        .expect("plugin loads");
    let cluster = bench::cluster().expect("cluster");
    let doc = bench::workload().expect("workload");
    let submission = bench::submission(&cluster, &doc).expect("submission");
    if flags.iter().any(|f| f == "instantiate") {
        for _ in 0..n {
            drop(std::hint::black_box(
                plugin.instance().expect("instantiates"),
            ));
        }
        return;
    }
    if flags.iter().any(|f| f == "reused") {
        let mut instance = plugin.instance().expect("instantiates");
        // `pollute`: instantiate and drop another instance before each call, to tell
        // what instantiation costs the evaluation after it apart from its own time.
        let pollute = flags.iter().any(|f| f == "pollute");
        for _ in 0..n {
            if pollute {
                drop(std::hint::black_box(
                    plugin.instance().expect("instantiates"),
                ));
            }
            let decision = instance.evaluate(&submission).expect("runs");
            std::hint::black_box(decision.expect("evaluates"));
        }
        return;
    }
    for _ in 0..n {
        let decision = plugin.evaluate(&submission).expect("runs");
        std::hint::black_box(decision.expect("evaluates"));
    }
}

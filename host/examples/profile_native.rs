//! Evaluates the benchmark workload with the plugin's logic compiled natively, in a
//! loop, for a profiler: `valgrind --tool=callgrind target/dist/examples/profile_native 300`.

use host::bench;

fn main() {
    let cluster = bench::cluster().expect("cluster");
    let doc = bench::workload().expect("workload");
    let native = bench::native::submission(&bench::submission(&cluster, &doc).expect("submission"));
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    for _ in 0..n {
        std::hint::black_box(guest::evaluate(&native).expect("evaluates"));
    }
}

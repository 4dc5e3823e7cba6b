//! The scenarios of `host bench` under criterion: the ~2 KB benchmark workload with
//! V1 + V2 + SecretPolicy, natively, in reused and fresh instances (containment on
//! and off), and the equivalent Rego policy on regorus's RVM.
//! Run with `cargo bench -p host --bench evaluate`.

use criterion::{Criterion, criterion_group, criterion_main};
use host::bench::{self, rego};
use host::plugin::{BUILTIN, Limits, Options, Plugin};
use std::hint::black_box;

fn evaluate(c: &mut Criterion) {
    let cluster = bench::cluster().expect("cluster");
    let doc = bench::workload().expect("workload");
    let sub = bench::submission(&cluster, &doc).expect("submission");
    let native = bench::native::submission(&sub);
    let mut group = c.benchmark_group("evaluate");
    group.bench_function("native", |b| b.iter(|| black_box(guest::evaluate(&native))));
    for (label, limits) in [
        ("containment on", Limits::default()),
        ("containment off", Limits::uncontained()),
    ] {
        let plugin = Plugin::load_with(
            BUILTIN,
            "built-in",
            &Options {
                limits,
                cache_dir: None,
            },
        )
        .expect("plugin");
        let mut instance = plugin.instance().expect("instance");
        group.bench_function(format!("reused instance, {label}"), |b| {
            b.iter(|| black_box(instance.evaluate(&sub).expect("evaluates")))
        });
        group.bench_function(format!("fresh instance, {label}"), |b| {
            b.iter(|| black_box(plugin.evaluate(&sub).expect("evaluates")))
        });
    }
    let globs = bench::sensitive_globs(&cluster).expect("the baseline's globs");
    let data = rego::data(&sub.secrets, &globs).expect("data");
    let mut rvm = rego::Rvm::new(data).expect("rvm");
    group.bench_function("regorus RVM", |b| {
        b.iter(|| black_box(rvm.eval(&sub.workload).expect("evaluates")))
    });
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);

//! `adm set|remove secret --cluster-wide` and catalog building as the cluster grows:
//! the time per operation should grow linearly with the number of projects.
//! Run with `cargo bench -p host --bench propagation`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use host::cluster::{Cluster, load_documents};
use host::manifest;
use std::hint::black_box;

/// `projects` projects and 1,000 secrets in `runai`, one of them cluster-wide.
fn cluster(projects: usize) -> Cluster {
    let mut text = String::new();
    for i in 0..projects {
        text.push_str(&format!("---\napiVersion: run.ai/v2\nkind: Project\nmetadata: {{name: p{i}}}\nspec: {{id: \"{i}\"}}\n"));
    }
    for i in 0..1000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}, namespace: runai}}\nstringData: {{k: v}}\n"
        ));
    }
    let mut cluster = Cluster::default();
    let docs = manifest::parse(&text, "bench").expect("bench manifests");
    load_documents(&mut cluster, &docs).expect("bench cluster");
    cluster.set_cluster_wide("s0").expect("set");
    cluster
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster-wide");
    group.sample_size(10);
    for projects in [1_000, 5_000, 10_000] {
        let base = cluster(projects);
        group.throughput(Throughput::Elements(projects as u64));
        group.bench_with_input(
            BenchmarkId::new("set+remove", projects),
            &projects,
            |b, _| {
                let mut c = base.clone();
                b.iter(|| {
                    black_box(c.set_cluster_wide("s1").expect("set"));
                    black_box(c.remove_cluster_wide("s1").expect("remove"));
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("catalog", projects), &projects, |b, _| {
            b.iter(|| black_box(base.catalog(&format!("runai-p{}", projects / 2))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

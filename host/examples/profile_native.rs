//! Evaluates the benchmark workload natively in a loop, for a profiler.
use host::bench;
use host::manifest;
fn main() {
    let cluster = bench::cluster().expect("cluster");
    let doc = manifest::parse(bench::WORKLOAD, "w").expect("w").remove(0);
    let s = bench::submission(&cluster, &doc).expect("s");
    let native = guest::Submission {
        workload: s.workload.clone(),
        namespace: s.namespace.clone(),
        project: s.project.as_ref().map(|p| guest::ProjectInfo {
            name: p.name.clone(),
            id: p.id.clone(),
            department: p.department.clone(),
        }),
        workload_type: None,
        policies: s
            .policies
            .iter()
            .map(|p| guest::PolicyDocument {
                source: p.source.clone(),
                json: p.json.clone(),
            })
            .collect(),
        secrets: s
            .secrets
            .iter()
            .map(|m| guest::SecretMetadata {
                name: m.name.clone(),
                keys: m.keys.clone(),
                ..Default::default()
            })
            .collect(),
    };
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    for _ in 0..n {
        std::hint::black_box(guest::evaluate(&native).unwrap());
    }
}

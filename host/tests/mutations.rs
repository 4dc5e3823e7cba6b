//! No input reaches a panic in the plugin's logic: every workload fixture and the
//! benchmark's policies, mutated deterministically (truncated, cut, or spliced with
//! JSON syntax, `SECRET:` fragments and odd escapes), give a decision or an input
//! error. Inside WebAssembly a panic would be a trap: contained, but a rejection
//! for the wrong reason.

use host::plugin::Submission;
use host::{bench, manifest};

const ROUNDS_PER_DOCUMENT: usize = 400;

const SPLICES: &[&str] = &[
    "SECRET:",
    ",",
    "\"",
    "{",
    "}",
    "[",
    "]",
    ":",
    "\\u0000",
    "\\ud800",
    "é",
    "null",
    "true",
    "1e999",
    "-",
    " ",
    "*",
    "..",
    "a,b,c",
    "SECRET:a,",
    "secret:x,y",
    "{\"value\":",
];

/// xorshift64: the same mutations on every run.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn boundary(&mut self, text: &str) -> usize {
        let mut at = self.next() % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    fn mutate(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        for _ in 0..1 + self.next() % 3 {
            let at = self.boundary(&out);
            match self.next() % 3 {
                0 => out.insert_str(at, SPLICES[self.next() % SPLICES.len()]),
                1 => {
                    let mut end = (at + 1 + self.next() % 8).min(out.len());
                    while !out.is_char_boundary(end) {
                        end += 1;
                    }
                    out.replace_range(at..end, "");
                }
                _ => out.truncate(at),
            }
        }
        out
    }
}

fn documents() -> Vec<manifest::Document> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let mut docs = Vec::new();
    for dir in [
        "tests/workloads",
        "tests/workloads/malformed",
        "policies/examples",
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("fixture folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_file() && !p.ends_with("expectations.yaml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("fixture");
            let name = path.display().to_string();
            docs.extend(manifest::parse(&text, &name).expect("fixtures are YAML or JSON"));
        }
    }
    docs
}

#[test]
fn mutated_workloads_and_policies_never_panic() {
    let cluster = bench::cluster().expect("cluster");
    let docs = documents();
    assert!(docs.len() >= 15, "{} fixtures", docs.len());
    let mut mutator = Mutator(0x9e37_79b9_7f4a_7c15);
    let mut decided = 0;
    for doc in &docs {
        // REST API requests and AdmissionReviews do not name a namespace themselves.
        let namespace = doc.str_at("/metadata/namespace").unwrap_or("runai-team-a");
        let base = bench::native::submission(&Submission {
            with_env: true,
            with_references: false,
            ..bench::submission_in(&cluster, doc.value.to_string(), namespace)
        });
        for round in 0..ROUNDS_PER_DOCUMENT {
            let mut s = base.clone();
            if round % 2 == 0 {
                s.workload = mutator.mutate(&s.workload);
            } else {
                let i = mutator.next() % s.policies.len();
                s.policies[i].json = mutator.mutate(&s.policies[i].json);
            }
            let outcome = std::panic::catch_unwind(|| {
                let _ = guest::identify(&s.workload);
                let _ = guest::check_policies(&s.policies, &[]);
                guest::evaluate(&s).is_ok()
            });
            match outcome {
                Ok(ok) => decided += usize::from(ok),
                Err(_) => panic!(
                    "panicked on a mutation of {}:\nworkload: {}\npolicies: {:?}",
                    doc.source, s.workload, s.policies
                ),
            }
        }
    }
    // Not every mutation breaks the document: some must still be decided.
    assert!(decided > 0);
}

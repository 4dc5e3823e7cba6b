//! The fuzz targets' checks (fuzz/src/lib.rs) on their seed corpora (fuzz/seeds.txt)
//! and on every input the fuzzer found (fuzz/regressions/TARGET/, each minimized; the
//! file name says what it found). A finding replays here in every `cargo test`, and the
//! checks are compiled, so the fuzz targets cannot rot between fuzzing runs.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("secret_ref", harness::secret_ref),
    ("workload", harness::workload),
    ("policies", harness::policies),
    ("manifest", harness::manifest),
    ("secrets", harness::secrets),
    ("suite", harness::suite),
    ("state", harness::state),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The files of `path`: itself, or the files directly in it, sorted.
fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: Check, file: &Path) {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let outcome = std::panic::catch_unwind(|| check(&data));
    assert!(
        outcome.is_ok(),
        "fuzz target {target} fails on {} (replay: cargo +nightly fuzz run {target} {})",
        file.display(),
        file.display()
    );
}

#[test]
fn seeds_pass_every_check() {
    let root = root();
    let seeds = std::fs::read_to_string(root.join("fuzz/seeds.txt")).expect("fuzz/seeds.txt");
    let mut counts = vec![0usize; TARGETS.len()];
    for line in seeds
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (target, path) = line.split_once(' ').expect("`TARGET PATH`");
        let i = TARGETS
            .iter()
            .position(|(t, _)| *t == target)
            .unwrap_or_else(|| panic!("fuzz/seeds.txt: unknown target {target}"));
        let found = files(&root.join(path.trim()));
        assert!(!found.is_empty(), "fuzz/seeds.txt: {path} holds no file");
        for file in found {
            replay(target, TARGETS[i].1, &file);
            counts[i] += 1;
        }
    }
    for ((target, _), n) in TARGETS.iter().zip(counts) {
        assert!(n > 0, "no seed for fuzz target {target}");
    }
}

#[test]
fn every_finding_stays_fixed() {
    let root = root();
    for (target, check) in TARGETS {
        for file in files(&root.join("fuzz/regressions").join(target)) {
            replay(target, *check, &file);
        }
    }
}

/// Found by the `workload` target (fuzz/regressions/workload/spec-is-a-list.yaml,
/// environment-is-a-list.yaml): serde reads a struct from a JSON array, positionally,
/// so a Run:ai workload whose `spec` or `spec.environment` was a list was admitted with
/// a patch that could not apply. Fixed on main (`workload::map_only`).
#[test]
fn a_spec_or_environment_that_is_a_list_is_an_input_error() {
    let crd = |spec: &str| {
        format!(
            r#"{{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{{"name":"a","namespace":"runai-team-a"}},"spec":{spec}}}"#
        )
    };
    for workload in [
        crd("[null]"),
        crd(r#"{"environment":[{"LR":{"value":"1"}}]}"#),
        r#"{"name":"r","projectId":"team-a","spec":[[{"name":"X","value":"1"}]]}"#.to_string(),
    ] {
        assert!(guest::identify(&workload).is_err(), "accepted: {workload}");
    }
}

//! Every workload fixture under `tests/workloads/`, through wasmtime on the demo
//! cluster, against `tests/workloads/expectations.yaml`.

use host::manifest;
use host::plugin::{EnvSource, Plugin};
use host::simulate::simulate_one;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    file: String,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    violations: Vec<(String, String)>,
    #[serde(default)]
    warnings: Vec<(String, String)>,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default)]
    env: Vec<(String, String, String)>,
    #[serde(default)]
    startup: Vec<(String, String, String, String)>,
    #[serde(default)]
    error: Option<(String, String)>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/workloads")
}

fn source(s: &EnvSource) -> String {
    match s {
        EnvSource::Literal(v) => format!("literal {v}"),
        EnvSource::Secret(r) => format!(
            "secret {}/{}{}",
            r.name,
            r.key,
            if r.optional { "?" } else { "" }
        ),
        EnvSource::ConfigMap(r) => format!("configMap {}/{}", r.name, r.key),
        EnvSource::FieldRef(p) => format!("fieldRef {p}"),
        EnvSource::UserCredential(r) => format!("userCredential {}/{}", r.name, r.key),
        EnvSource::Expanded(v) => format!("expanded {v}"),
    }
}

#[test]
fn every_fixture_meets_its_expectation() {
    let text = std::fs::read_to_string(dir().join("expectations.yaml")).expect("expectations file");
    let expectations: Vec<Expectation> =
        serde_yaml_ng::from_str(&text).expect("expectations parse");
    let plugin = Plugin::builtin().expect("plugin loads");
    let cluster = host::demo::cluster().expect("demo cluster loads");

    // Every fixture has an expectation, so a new file cannot go unchecked.
    let mut files: Vec<String> = Vec::new();
    for sub in ["", "malformed"] {
        for entry in std::fs::read_dir(dir().join(sub)).expect("fixture dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_file() && name != "expectations.yaml" {
                files.push(if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                });
            }
        }
    }
    files.sort();
    let mut expected_files: Vec<String> = expectations.iter().map(|e| e.file.clone()).collect();
    expected_files.sort();
    assert_eq!(
        files, expected_files,
        "fixtures and expectations.yaml list the same files"
    );

    let mut failures = Vec::new();
    for e in &expectations {
        let docs = manifest::read_file(&dir().join(&e.file)).expect("fixture reads");
        assert_eq!(docs.len(), 1, "{}: one workload per fixture", e.file);
        let result = simulate_one(&plugin, &cluster, &docs[0], None);
        match (&e.error, result) {
            (Some((field, message)), Err(err)) => {
                let err = format!("{err:#}");
                if !err.contains(&format!("`{field}`")) || !err.contains(message.as_str()) {
                    failures.push(format!(
                        "{}: expected error at `{field}` with {message:?}, got {err}",
                        e.file
                    ));
                }
            }
            (Some(_), Ok(_)) => failures.push(format!(
                "{}: expected an input error, got a decision",
                e.file
            )),
            (None, Err(err)) => failures.push(format!("{}: unexpected error {err:#}", e.file)),
            (None, Ok(outcome)) => {
                let d = &outcome.decision;
                let got_v: Vec<_> = d
                    .violations
                    .iter()
                    .map(|v| (v.code.clone(), v.field.clone()))
                    .collect();
                let got_w: Vec<_> = d
                    .warnings
                    .iter()
                    .map(|w| (w.code.clone(), w.field.clone()))
                    .collect();
                let got_env: Vec<_> = d
                    .env
                    .iter()
                    .flat_map(|c| c.vars.iter().map(move |v| (&c.container, v)))
                    .map(|(c, v)| (c.clone(), v.name.clone(), source(&v.source)))
                    .collect();
                let got_startup: Vec<_> = d
                    .startup
                    .containers
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            c.state.clone(),
                            c.reason.clone(),
                            c.message.clone(),
                        )
                    })
                    .collect();
                let got_hints: Vec<String> = outcome.hints.keys().cloned().collect();
                let checks = [
                    (
                        "allowed",
                        format!("{:?}", e.allowed),
                        format!("{:?}", Some(d.allowed)),
                    ),
                    (
                        "violations",
                        format!("{:?}", e.violations),
                        format!("{got_v:?}"),
                    ),
                    (
                        "warnings",
                        format!("{:?}", e.warnings),
                        format!("{got_w:?}"),
                    ),
                    ("env", format!("{:?}", e.env), format!("{got_env:?}")),
                    (
                        "startup",
                        format!("{:?}", e.startup),
                        format!("{got_startup:?}"),
                    ),
                    ("hints", format!("{:?}", e.hints), format!("{got_hints:?}")),
                    (
                        "starts",
                        format!("{}", e.startup.iter().all(|c| c.1 == "Running")),
                        format!("{}", d.startup.starts),
                    ),
                ];
                for (what, want, got) in checks {
                    if want != got {
                        failures.push(format!(
                            "{} {what}:\n  expected {want}\n  got      {got}",
                            e.file
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

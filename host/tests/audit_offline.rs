//! The offline audit of recorded workloads: a workload re-checked from its references
//! alone (the state keeps no document) gives, against the view it was submitted to,
//! exactly the findings of its full evaluation, with the fields of its own document;
//! and against a changed view, what the change does to its references.

use host::audit::offline::{self, Audited, Place, Stored};
use host::cluster::Cluster;
use host::manifest::{self, Document};
use host::plugin::Plugin;
use host::workloads::Finding;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn plugin() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| Plugin::builtin().expect("plugin loads"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every workload fixture that the plugin reads and the demo cluster places.
fn fixtures() -> Vec<Document> {
    let mut docs = Vec::new();
    for dir in ["tests/workloads", "policies/examples", "tests/audit"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.is_file()
                    && p.file_name().unwrap() != "expectations.yaml"
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml" | "json")
                    )
            })
            .collect();
        files.sort();
        for f in files {
            docs.extend(manifest::read_file(&f).unwrap());
        }
    }
    docs
}

fn stored(cluster: &Cluster, doc: &Document) -> Option<Stored> {
    match offline::evaluate_for_record(plugin(), cluster, doc, Place::default()) {
        Ok(Ok((stored, _))) => Some(stored),
        // Not a workload of the demo cluster (a missing namespace, the REST API form
        // without its project): nothing is recorded.
        _ => None,
    }
}

fn checked(cluster: &Cluster, stored: &Stored) -> offline::Checked {
    match offline::recheck(plugin(), cluster, stored).unwrap() {
        Audited::Checked(c) => c,
        Audited::Skipped { reason, .. } => panic!("{}: skipped: {reason}", stored.source),
    }
}

fn lines(findings: &[Finding]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} at {}: {} ({})",
                f.outcome.name(),
                f.code,
                f.field,
                f.message,
                f.policy
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_recheck_against_the_same_view_gives_the_full_evaluations_findings() {
    let cluster = host::demo::cluster().unwrap();
    let mut seen = 0;
    for doc in fixtures() {
        let Some(stored) = stored(&cluster, &doc) else {
            continue;
        };
        seen += 1;
        let c = checked(&cluster, &stored);
        assert_eq!(
            lines(&c.record.findings),
            lines(&stored.record.findings),
            "{}",
            doc.source
        );
        assert_eq!(
            c.record.references, stored.record.references,
            "{}",
            doc.source
        );
    }
    assert!(seen >= 8, "only {seen} fixtures were recorded");
}

/// (fixture, secret to take away as namespace/name[/key], the findings of the
/// re-check that are new: outcome, code and field of the workload's own document).
const CHANGES: &[(&str, &str, &[&str])] = &[
    (
        "policies/examples/train-ok.yaml",
        "runai-team-a/my-secret/password",
        &[
            "fail secret-key-not-found at spec.environment.items.MYPASSWORD.value",
            "fail will-not-start at ",
        ],
    ),
    (
        "policies/examples/train-ok.yaml",
        "runai/wandb",
        &[
            "fail secret-not-found at spec.environment.items.WANDB_API_KEY.value",
            "fail will-not-start at ",
        ],
    ),
    (
        "tests/audit/job-volumes.yaml",
        "runai-team-a/my-secret/username",
        &[
            "fail secret-key-not-found at spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key",
            "fail secret-key-not-found at spec.template.spec.volumes[0].secret.items[0].key",
            "fail will-not-start at ",
        ],
    ),
    (
        "tests/audit/job-volumes.yaml",
        "runai-team-a/my-secret/password",
        &[
            "fail secret-key-not-found at spec.template.spec.volumes[1].projected.sources[0].secret.items[0].key",
            "fail will-not-start at ",
        ],
    ),
    (
        "tests/audit/job-volumes.yaml",
        "runai/wandb",
        &[
            "fail secret-not-found at spec.template.spec.containers[0].envFrom[0].secretRef.name",
            "fail secret-not-found at spec.template.spec.volumes[1].projected.sources[1].secret.name",
            "fail will-not-start at ",
            "warn secret-not-found at spec.template.spec.imagePullSecrets[0].name",
        ],
    ),
    (
        "tests/workloads/api-training.json",
        "runai-team-a/my-secret/password",
        &["fail secret-key-not-found at spec.environmentVariables[1].secret.key"],
    ),
];

#[test]
fn a_recheck_against_a_changed_view_finds_what_the_change_breaks_at_the_documents_fields() {
    let cluster = host::demo::cluster().unwrap();
    for (file, without, expected) in CHANGES {
        let doc = manifest::read_file(&root().join(file)).unwrap().remove(0);
        let stored = stored(&cluster, &doc).unwrap_or_else(|| panic!("{file} is recorded"));
        let mut changed = cluster.clone();
        host::audit::impact::WithoutSecret::parse(without)
            .unwrap()
            .apply(&mut changed)
            .unwrap();
        let c = checked(&changed, &stored);
        let before: Vec<(String, String)> = stored
            .record
            .findings
            .iter()
            .map(|f| (f.code.clone(), f.field.clone()))
            .collect();
        let mut new: Vec<String> = c
            .record
            .findings
            .iter()
            .filter(|f| !before.contains(&(f.code.clone(), f.field.clone())))
            .map(|f| format!("{} {} at {}", f.outcome.name(), f.code, f.field))
            .collect();
        new.sort();
        new.dedup();
        // Sorted: `fail` before `warn`.
        assert_eq!(new, *expected, "{file} without {without}");
    }
}

/// `host audit` as a user runs it against the demo cluster: (arguments, exit code,
/// what stdout holds, what stderr holds).
type Command = (
    &'static [&'static str],
    i32,
    &'static [&'static str],
    &'static [&'static str],
);

const COMMANDS: &[Command] = &[
    (
        &["policies/examples/train-ok.yaml"],
        0,
        &["PASS", "1 workload(s) audited: 0 fail, 0 warn, 1 pass"],
        &[],
    ),
    (
        &[
            "policies/examples/train-ok.yaml",
            "tests/workloads/pod-broken.yaml",
        ],
        1,
        &["FAIL", "1 fail, 0 warn, 1 pass"],
        &[],
    ),
    // A file given twice is one workload.
    (
        &[
            "tests/workloads/pod-broken.yaml",
            "tests/workloads/pod-broken.yaml",
        ],
        1,
        &["1 workload(s) audited: 1 fail, 0 warn, 0 pass"],
        &[],
    ),
    (
        &["tests/audit/job-volumes.yaml", "-o", "json"],
        0,
        &[
            "\"result\": \"warn\"",
            "\"origin\": \"file\"",
            "\"checked\": \"now\"",
        ],
        &[],
    ),
    (
        &["tests/workloads/pod-broken.yaml", "-o", "policyreport"],
        1,
        &[
            "kind: PolicyReport",
            "namespace: runai-team-a",
            "result: fail",
        ],
        &[],
    ),
    (
        &["tests/workloads/pod-broken.yaml", "-o", "junit"],
        1,
        &[
            "<testsuites name=\"host audit\" tests=\"1\" failures=\"1\">",
            "<failure",
        ],
        &[],
    ),
    (
        &["tests/audit/with-service.yaml", "-o", "yaml"],
        0,
        &["kind: Deployment", "result: pass", "reason: not a workload"],
        &[],
    ),
    (
        &[
            "policies/examples/train-ok.yaml",
            "--candidate-policy",
            "tests/audit/strict-team-a.yaml",
        ],
        1,
        &[
            "newly rejected: 1: TrainingWorkload runai-team-a/",
            "clean -> rejected",
            "secret-not-allowed",
        ],
        &[],
    ),
    (
        &[
            "policies/examples/train-ok.yaml",
            "--without-secret",
            "runai/wandb",
            "-o",
            "json",
        ],
        1,
        &["\"effect\": \"newly-rejected\"", "\"newly-rejected\": 1"],
        &[],
    ),
    (
        &[
            "policies/examples/train-ok.yaml",
            "--without-secret",
            "runai-team-a/my-secret/nokey",
        ],
        2,
        &[],
        &["--without-secret runai-team-a/my-secret/nokey: the secret has no key `nokey`"],
    ),
    // A workload the plugin gives up on fails closed.
    (
        &["policies/examples/train-ok.yaml", "--fuel", "1"],
        1,
        &["FAIL, fails closed: the plugin did not decide"],
        &[],
    ),
    (
        &["tests/workloads/expectations.yaml"],
        2,
        &[],
        &["tests/workloads/expectations.yaml", "no workload"],
    ),
    (&[], 2, &[], &["nothing to audit"]),
    (
        &[
            "policies/examples/train-ok.yaml",
            "--candidate-policy",
            "tests/workloads/pod-broken.yaml",
        ],
        2,
        &[],
        &["--candidate-policy takes policies", "not `Pod`"],
    ),
    // An empty candidate is an error, not a plain audit.
    (
        &[
            "policies/examples/train-ok.yaml",
            "--candidate-policy",
            "/dev/null",
        ],
        2,
        &[],
        &["/dev/null: --candidate-policy: the file holds no documents"],
    ),
    // The same removal twice, or a key of a secret that goes whole, is one removal.
    (
        &[
            "policies/examples/train-ok.yaml",
            "--without-secret",
            "runai/wandb",
            "--without-secret",
            "runai/wandb",
            "--without-secret",
            "runai/wandb/api-key",
        ],
        1,
        &["newly rejected: 1: TrainingWorkload runai-team-a/"],
        &[],
    ),
];

#[test]
fn host_audit_as_a_user_runs_it() {
    for (args, code, stdout, stderr) in COMMANDS {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .arg("audit")
            .args(*args)
            .current_dir(root())
            .env_remove("RUNAI_SIM_STATE")
            .output()
            .unwrap();
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(*code), "{args:?}\n{o}\n{e}");
        for part in *stdout {
            assert!(o.contains(part), "{args:?}: {part:?} not in\n{o}");
        }
        for part in *stderr {
            assert!(e.contains(part), "{args:?}: {part:?} not in\n{e}");
        }
        assert!(!o.contains("audit-fixture-web-token"), "{args:?}: a value");
    }
}

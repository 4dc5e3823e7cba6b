//! A bad plugin or a hostile document cannot take the host down: every overrun is
//! contained, reported with its code, and the next evaluation is unaffected.

use host::plugin::{Limits, Options, Plugin, Submission};
use std::time::Duration;

const HOSTILE: &[u8] = include_bytes!(env!("HOSTILE_WASM"));

fn submission(workload: &str) -> Submission {
    Submission {
        workload: workload.to_string(),
        namespace: "runai-team-a".into(),
        project: None,
        workload_type: None,
        policies: Vec::new(),
        secrets: Vec::new(),
        with_env: true,
        with_references: false,
    }
}

fn hostile(limits: Limits) -> Plugin {
    Plugin::load_with(
        HOSTILE,
        "hostile.wasm",
        &Options {
            limits,
            cache_dir: None,
        },
    )
    .expect("the hostile plugin loads")
}

fn failure_code(plugin: &Plugin, workload: &str) -> String {
    let err = plugin
        .evaluate(&submission(workload))
        .expect_err("contained as an error");
    let failure = err
        .downcast_ref::<host::plugin::Failure>()
        .unwrap_or_else(|| panic!("a Failure, not {err:#}"));
    failure.code.to_string()
}

fn still_serves(plugin: &Plugin) {
    let decision = plugin
        .evaluate(&submission(r#"{"kind":"TrainingWorkload","name":"fine"}"#))
        .expect("the next evaluation runs")
        .expect("and decides");
    assert!(decision.allowed);
}

#[test]
fn each_overrun_is_contained_and_the_next_evaluation_succeeds() {
    let limits = Limits {
        memory_bytes: 32 << 20,
        deadline: Some(Duration::from_millis(200)),
        fuel: None,
        ..Limits::default()
    };
    let plugin = hostile(limits);
    for (workload, code) in [
        (r#"{"name":"hostile-loop"}"#, "plugin-timeout"),
        (r#"{"name":"hostile-oom"}"#, "plugin-memory"),
        (r#"{"name":"hostile-trap"}"#, "plugin-trap"),
        (r#"{"name":"hostile-huge"}"#, "plugin-output"),
    ] {
        assert_eq!(failure_code(&plugin, workload), code, "{workload}");
        still_serves(&plugin);
    }
}

#[test]
fn the_instruction_budget_stops_a_loop_deterministically() {
    let plugin = hostile(Limits {
        fuel: Some(5_000_000),
        deadline: None,
        ..Limits::default()
    });
    assert_eq!(
        failure_code(&plugin, r#"{"name":"hostile-loop"}"#),
        "plugin-budget"
    );
    still_serves(&plugin);
}

#[test]
fn a_10_mb_workload_is_refused_before_the_plugin_runs() {
    let plugin = Plugin::builtin().expect("plugin");
    let big = format!(r#"{{"kind":"Pod","pad":"{}"}}"#, "x".repeat(10 << 20));
    assert_eq!(failure_code(&plugin, &big), "plugin-input");
    let ok = host::demo::cluster().expect("demo");
    let doc = host::manifest::parse(
        include_str!("../../policies/examples/train-ok.yaml"),
        "train-ok.yaml",
    )
    .unwrap();
    let outcome =
        host::simulate::simulate_one(&plugin, &ok, &doc[0], None).expect("a normal evaluation");
    assert!(outcome.decision.allowed);
}

#[test]
fn a_workload_at_the_input_cap_is_evaluated_in_full_under_the_default_limits() {
    // Every check is linear in the env items, so the default budget covers the largest
    // document the input cap admits; `VAR_0` comes twice, and the last one wins.
    let n = 110_000;
    let mut items: Vec<String> = (0..n)
        .map(|i| format!(r#""VAR_{i}":{{"value":"{i}"}}"#))
        .collect();
    items.push(r#""VAR_0":{"value":"last"}"#.to_string());
    let workload = format!(
        r#"{{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{{"name":"big","namespace":"runai-team-a"}},"spec":{{"environment":{{"items":{{{}}}}}}}}}"#,
        items.join(",")
    );
    assert!(workload.len() > 3 << 20 && workload.len() < Limits::default().input_bytes);
    let plugin = Plugin::builtin().expect("plugin");
    let decision = plugin
        .evaluate(&submission(&workload))
        .expect("runs within the default limits")
        .expect("decides");
    assert!(decision.allowed, "{:?}", decision.violations);
    let vars: Vec<_> = decision.env.iter().flat_map(|c| &c.vars).collect();
    assert_eq!(vars.len(), n);
    assert_eq!(vars[0].name, "VAR_0");
    assert!(matches!(&vars[0].source, host::plugin::EnvSource::Literal(v) if v == "last"));
    assert_eq!(decision.warnings.len(), 1, "{:?}", decision.warnings);
    assert_eq!(decision.warnings[0].code, "duplicate-env");
}

#[test]
fn a_large_policy_on_a_large_workload_is_evaluated_under_the_default_limits() {
    // 20k locked policy items with defaults, `canAdd: false`, and a workload setting
    // half of them: scanning the env per policy item (and the policy per env entry)
    // would spend hundreds of millions of comparisons; the lookups are hashed. Only
    // the half the workload lacks is injected, and nothing is violated.
    let n = 20_000;
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#""POL_{i}":{{"value":"p","rules":{{"canEdit":false}}}}"#))
        .collect();
    let policy = format!(
        r#"{{"apiVersion":"run.ai/v2alpha1","kind":"TrainingPolicy","metadata":{{"name":"big","namespace":"runai-team-a"}},"spec":{{"environment":{{"rules":{{"canAdd":false}},"items":{{{}}}}}}}}}"#,
        items.join(",")
    );
    let env: Vec<String> = (0..n / 2)
        .map(|i| format!(r#""POL_{i}":{{"value":"p"}}"#))
        .collect();
    let workload = format!(
        r#"{{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{{"name":"big","namespace":"runai-team-a"}},"spec":{{"environment":{{"items":{{{}}}}}}}}}"#,
        env.join(",")
    );
    let request = Submission {
        policies: vec![host::plugin::PolicyDocument {
            source: "big-policy.yaml".into(),
            json: policy,
        }],
        with_env: false,
        with_references: false,
        ..submission(&workload)
    };
    let decision = Plugin::builtin()
        .expect("plugin")
        .evaluate(&request)
        .expect("runs within the default limits")
        .expect("decides");
    assert!(decision.allowed, "{:?}", &decision.violations[..1]);
    let injected = decision.patch.matches(r#""op":"add""#).count();
    assert_eq!(injected, n / 2, "{}", &decision.patch[..200]);
    assert!(decision.patch.contains(&format!(r#"POL_{}""#, n - 1)));
    assert!(!decision.patch.contains(r#"POL_0""#));
}

/// `host simulate` with the hostile plugin on a workload named `name`: exit code and
/// the JSON report.
fn simulate_hostile(name: &str, flags: &[&str]) -> (Option<i32>, serde_json::Value) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let workload = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &workload,
        format!("apiVersion: run.ai/v2alpha1\nkind: TrainingWorkload\nmetadata: {{name: {name}, namespace: runai-team-a}}\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["simulate", "-o", "json", "--plugin", env!("HOSTILE_WASM")])
        .args(flags)
        .arg(&workload)
        .output()
        .expect("runs");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

#[test]
fn the_host_fails_closed_on_a_hostile_plugin() {
    // Through the CLI: the submission is rejected with the reason, exit 1, no crash.
    let (code, reports) = simulate_hostile("hostile-trap", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(reports[0]["allowed"], false);
    assert_eq!(reports[0]["violations"][0]["code"], "plugin-trap");
    assert!(
        reports[0]["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fail closed")
    );
}

#[test]
fn compiled_artifacts_are_cached_and_foreign_entries_ignored() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifact-cache");
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options {
        limits: Limits::default(),
        cache_dir: Some(dir.clone()),
    };
    let first = Plugin::load_with(HOSTILE, "hostile.wasm", &options).expect("compiles");
    assert!(!first.loaded_from_cache());
    let second = Plugin::load_with(HOSTILE, "hostile.wasm", &options).expect("loads");
    assert!(
        second.loaded_from_cache(),
        "an unchanged plugin is not recompiled"
    );
    still_serves(&second);

    // Another engine configuration (no fuel, no epochs) has its own entry.
    let other = Options {
        limits: Limits::uncontained(),
        cache_dir: Some(dir.clone()),
    };
    assert!(
        !Plugin::load_with(HOSTILE, "hostile.wasm", &other)
            .expect("compiles")
            .loaded_from_cache()
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // A damaged entry is not trusted: it is ignored, replaced, and the plugin still works.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"not an artifact").unwrap();
    }
    let again = Plugin::load_with(HOSTILE, "hostile.wasm", &options).expect("recompiles");
    assert!(!again.loaded_from_cache());
    still_serves(&again);
    assert!(
        Plugin::load_with(HOSTILE, "hostile.wasm", &options)
            .expect("loads")
            .loaded_from_cache()
    );
}

#[test]
fn the_limits_are_set_on_the_command_line() {
    for (flags, code) in [
        (
            &["--fuel", "1000000", "--deadline-ms", "0"][..],
            "plugin-budget",
        ),
        (
            &["--fuel", "0", "--deadline-ms", "100"][..],
            "plugin-timeout",
        ),
    ] {
        let (exit, reports) = simulate_hostile("hostile-loop", flags);
        assert_eq!(exit, Some(1), "{flags:?}");
        assert_eq!(reports[0]["violations"][0]["code"], code, "{flags:?}");
    }
}

#[test]
fn a_fail_closed_report_reads_without_empty_parts() {
    // The plugin trapped before it said where the workload goes: no `kind /name`, no
    // `at ` with nothing after it.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-text");
    std::fs::create_dir_all(&dir).unwrap();
    let workload = dir.join("w.yaml");
    std::fs::write(
        &workload,
        "apiVersion: run.ai/v2alpha1\nkind: TrainingWorkload\nmetadata: {name: hostile-trap, namespace: runai-team-a}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["simulate", "--plugin", env!("HOSTILE_WASM")])
        .arg(&workload)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("TrainingWorkload hostile-trap ("),
        "{text}"
    );
    assert!(text.contains("    x plugin-trap\n"), "{text}");
    assert!(!text.contains(" at \n") && !text.contains(" /"), "{text}");
}

#[test]
fn adversarial_literals_are_scanned_in_linear_time_under_the_default_limits() {
    // Each value is one token prefix repeated (so every position starts a candidate)
    // or a long chain of `$(VAR)` references: a scan or an expansion that rereads the
    // value from each candidate would use up the budget long before the end.
    let mb = 1 << 20;
    let values = [
        "AKIA".repeat(mb / 4 / 4),
        "ghp_".repeat(mb / 4 / 4),
        "eyJ".repeat(mb / 4 / 3),
        "a://".repeat(mb / 4 / 4),
    ];
    let mut env: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(r#"{{"name":"V{i}","value":"{v}"}}"#))
        .collect();
    env.push(format!(
        r#"{{"name":"CHAIN","value":"{}"}}"#,
        "$(V0)".repeat(20_000)
    ));
    let workload = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p","namespace":"runai-team-a"}},"spec":{{"containers":[{{"name":"c","args":["$(CHAIN)"],"env":[{}]}}]}}}}"#,
        env.join(",")
    );
    assert!(workload.len() < Limits::default().input_bytes);
    let mut s = submission(&workload);
    s.policies = vec![host::plugin::PolicyDocument {
        source: "creds.yaml".into(),
        json: r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy","metadata":{"name":"c","namespace":"runai"},"spec":{"credentialLiterals":{}}}"#.into(),
    }];
    let plugin = Plugin::builtin().expect("plugin");
    let decision = plugin
        .evaluate(&s)
        .expect("runs within the default limits")
        .expect("decides");
    let codes: Vec<&str> = decision
        .violations
        .iter()
        .map(|v| v.code.as_str())
        .collect();
    // None of them is a credential: a prefix repeated is not a token.
    assert!(!codes.contains(&"credential-literal"), "{codes:?}");
}

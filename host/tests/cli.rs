//! End to end: the real `host` binary with the embedded plugin on the demo cluster.

use serde_json::Value;
use std::process::Output;

mod common;

use common::{host, root};

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = host(&all);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}{}", stdout(&out), stderr(&out)));
    (code(&out), value)
}

fn codes(report: &Value, list: &str) -> Vec<(String, String)> {
    report[list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            (
                v["code"].as_str().unwrap_or("").to_string(),
                v["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn admitted_workload_on_the_demo_cluster() {
    let (code, reports) = json(&["simulate", "policies/examples/train-ok.yaml"]);
    assert_eq!(code, 0);
    let r = &reports[0];
    assert_eq!(r["workload"]["kind"], "TrainingWorkload");
    assert_eq!(r["workload"]["name"], "train1");
    assert_eq!(r["workload"]["namespace"], "runai-team-a");
    assert_eq!(r["workload"]["project"], "team-a");
    assert_eq!(r["allowed"], true);
    assert_eq!(r["violations"], Value::Array(vec![]));
    assert_eq!(r["patch"], Value::Array(vec![]));
    assert_eq!(r["startup"]["starts"], true);
    assert_eq!(r["startup"]["containers"][0]["state"], "Running");
    let env: Vec<_> = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        env,
        ["LEARNING_RATE", "MYUSERNAME", "MYPASSWORD", "WANDB_API_KEY"],
        "in the order written"
    );
    assert_eq!(r["env"][0]["source"], serde_json::json!({"literal": true}));
    assert_eq!(r["env"][0]["value"], "0.2");
    assert_eq!(
        r["env"][1]["source"],
        serde_json::json!({"secret": {"name": "my-secret", "key": "username", "optional": false}})
    );
    assert_eq!(r["env"][1]["origin"], "workload");
    assert_eq!(r["env"][1]["container"], "train1");
}

#[test]
fn rejected_workload_names_each_field() {
    let (code, reports) = json(&["simulate", "policies/examples/train-mistakes.yaml"]);
    assert_eq!(code, 1);
    let r = &reports[0];
    assert_eq!(r["allowed"], false);
    let mut got = codes(r, "violations");
    got.sort();
    let item = |n: &str| format!("spec.environment.items.{n}.value");
    assert_eq!(
        got,
        [
            ("secret-key-not-found".to_string(), item("MYUSERNAME")),
            ("secret-not-found".to_string(), item("REGISTRY_TOKEN")),
            ("secret-ref-syntax".to_string(), item("HF_TOKEN")),
            ("sensitive-literal".to_string(), item("DB_PASSWORD")),
        ]
    );
    assert_eq!(
        codes(r, "warnings"),
        [("secret-ref-case".to_string(), item("OTHER"))]
    );
    let not_found = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "secret-not-found")
        .unwrap();
    assert!(
        not_found["hint"]
            .as_str()
            .unwrap()
            .contains("host adm set secret registry-creds --cluster-wide")
    );
    let sensitive = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "sensitive-literal")
        .unwrap();
    assert_eq!(sensitive["policy"], "SecretPolicy runai/baseline");
    let password = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DB_PASSWORD")
        .unwrap();
    assert_eq!(password["value"], "<redacted>");
    let c = &r["startup"]["containers"][0];
    assert_eq!(r["startup"]["starts"], false);
    assert_eq!(c["state"], "Waiting");
    assert_eq!(c["reason"], "CreateContainerConfigError");
    assert_eq!(
        c["message"],
        "couldn't find key user-name in Secret runai-team-a/my-secret"
    );
}

#[test]
fn secrets_are_namespace_scoped_and_the_hint_says_where() {
    let (code, reports) = json(&["simulate", "tests/fixtures/team-b-borrows.yaml"]);
    assert_eq!(code, 1);
    let r = &reports[0];
    assert_eq!(
        r["workload"]["namespace"], "runai-team-b",
        "from the project label"
    );
    assert_eq!(
        codes(r, "violations"),
        [(
            "secret-not-found".to_string(),
            "spec.environment.items.MYUSERNAME.value".to_string()
        )],
        "the cluster-wide wandb copy is visible, team-a's secret is not"
    );
    let hint = r["violations"][0]["hint"].as_str().unwrap();
    assert!(
        hint.contains("exists in runai-team-a") && hint.contains("namespace-scoped"),
        "{hint}"
    );
    assert_eq!(
        r["startup"]["containers"][0]["message"],
        "secret \"my-secret\" not found"
    );
}

#[test]
fn admitted_but_would_not_start_exits_3() {
    let (code, reports) = json(&[
        "simulate",
        "--cluster",
        "tests/fixtures/lenient-cluster.yaml",
        "policies/examples/train-ok.yaml",
    ]);
    assert_eq!(code, 3);
    assert_eq!(reports[0]["allowed"], true);
    assert_eq!(reports[0]["startup"]["starts"], false);
}

#[test]
fn several_workloads_give_one_report_each_and_the_worst_exit_code() {
    let (code, reports) = json(&[
        "simulate",
        "policies/examples/train-ok.yaml",
        "policies/examples/train-mistakes.yaml",
    ]);
    assert_eq!(code, 1);
    assert_eq!(reports.as_array().unwrap().len(), 2);
    assert_eq!(reports[0]["allowed"], true);
    assert_eq!(reports[1]["allowed"], false);
}

#[test]
fn yaml_and_text_outputs() {
    let out = host(&["simulate", "policies/examples/train-ok.yaml", "-o", "yaml"]);
    assert_eq!(code(&out), 0);
    let reports: Value = serde_yaml_ng::from_str(&stdout(&out)).expect("YAML output parses");
    assert_eq!(reports[0]["workload"]["name"], "train1");
    let out = host(&["simulate", "policies/examples/train-mistakes.yaml"]);
    let text = stdout(&out);
    assert!(text.contains("REJECTED"), "{text}");
    assert!(
        text.contains("secret-key-not-found at spec.environment.items.MYUSERNAME.value"),
        "{text}"
    );
}

#[test]
fn input_errors_exit_2_naming_file_and_field() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["simulate", "no/such/file.yaml"],
            &["no/such/file.yaml", "cannot read"],
        ),
        (
            &["simulate", "tests/fixtures/unknown-kind.yaml"],
            &["tests/fixtures/unknown-kind.yaml", "`kind`", "ConfigMap"],
        ),
        (
            &[
                "simulate",
                "--policy",
                "tests/fixtures/bad-policy.yaml",
                "policies/examples/train-ok.yaml",
            ],
            &[
                "tests/fixtures/bad-policy.yaml",
                "`spec.enforcement`",
                "expected one of `enforce`, `warn`, `audit`",
            ],
        ),
        (
            &[
                "simulate",
                "--cluster",
                "tests/fixtures/seed-secret.yaml",
                "policies/examples/train-ok.yaml",
            ],
            &[
                "tests/fixtures/seed-secret.yaml",
                "`metadata` is missing",
                "`metadata.name`",
                "`data` is missing",
                "`username`, `password`",
            ],
        ),
        (
            &[
                "simulate",
                "--cluster",
                "tests/fixtures/lenient-cluster.yaml",
                "tests/fixtures/team-b-borrows.yaml",
            ],
            &[
                "tests/fixtures/team-b-borrows.yaml",
                "project `team-b` does not exist",
            ],
        ),
        (&["simulate"], &["WORKLOAD"]),
        (&["frobnicate"], &["unrecognized subcommand"]),
    ];
    for (args, needles) in cases {
        let out = host(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "{args:?}: nothing half-written on stdout"
        );
        let err = stderr(&out);
        for needle in *needles {
            assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn inspect_shows_world_imports_size_and_hash() {
    let out = host(&["inspect"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("imports: none"), "{text}");
    assert!(
        text.contains("package runai:secrets-policy@0.5.0"),
        "{text}"
    );
    assert!(
        text.contains("evaluate: func(request: submission)"),
        "{text}"
    );
    let hash = text
        .lines()
        .find_map(|l| l.strip_prefix("sha256:"))
        .expect("a hash line")
        .trim();
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// Every value (decoded and as written) of every Secret in the given cluster file.
fn secret_values(cluster_file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(cluster_file)).expect("cluster file");
    let mut values = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let doc: Value = serde::Deserialize::deserialize(doc).expect("YAML");
        if doc["kind"] != "Secret" {
            continue;
        }
        for (field, encoded) in [("data", true), ("stringData", false)] {
            for v in doc[field].as_object().into_iter().flat_map(|m| m.values()) {
                let v = v.as_str().expect("string value").to_string();
                if encoded {
                    values.push(String::from_utf8(decode_base64(&v)).expect("utf-8 demo value"));
                }
                values.push(v);
            }
        }
    }
    values
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn no_secret_value_appears_in_any_output() {
    let mut values = secret_values("policies/demo/cluster.yaml");
    values.extend(secret_values("tests/fixtures/lenient-cluster.yaml"));
    assert_eq!(
        values.len(),
        8,
        "each demo value decoded and as written, and the lenient one"
    );
    let mut demo: Vec<String> = vec![
        "policies/examples/train-ok.yaml".into(),
        "policies/examples/train-mistakes.yaml".into(),
        "tests/fixtures/team-b-borrows.yaml".into(),
    ];
    // Every well-formed workload fixture of every form.
    for entry in std::fs::read_dir(root().join("tests/workloads")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_file() && name != "expectations.yaml" {
            demo.push(format!("tests/workloads/{name}"));
        }
    }
    assert!(demo.len() >= 10, "{demo:?}");
    let demo: Vec<&str> = demo.iter().map(String::as_str).collect();
    let lenient: &[&str] = &[
        "--cluster",
        "tests/fixtures/lenient-cluster.yaml",
        "policies/examples/train-ok.yaml",
        "policies/examples/train-mistakes.yaml",
    ];
    for inputs in [&demo[..], lenient] {
        for format in ["text", "json", "yaml"] {
            let mut args = vec!["simulate", "-o", format];
            args.extend(inputs);
            let out = host(&args);
            let all = stdout(&out) + &stderr(&out);
            assert!(
                all.contains("train1"),
                "{args:?} printed reports to check: {all}"
            );
            for value in &values {
                assert!(
                    !all.contains(value.as_str()),
                    "{args:?} leaked a secret value"
                );
            }
        }
    }
}

#[test]
fn submit_builds_the_workload_from_runai_flags() {
    let (exit, reports) = json(&[
        "submit",
        "job1",
        "-p",
        "team-a",
        "-i",
        "ubuntu",
        "-e",
        "MYUSERNAME=SECRET:my-secret,username",
        "-e",
        "URL=http://example/?a=b",
    ]);
    assert_eq!(exit, 0);
    let r = &reports[0];
    assert_eq!(r["workload"]["kind"], "TrainingWorkload");
    assert_eq!(r["workload"]["namespace"], "runai-team-a");
    assert_eq!(
        r["env"][1]["value"], "http://example/?a=b",
        "split on the first `=` only"
    );

    let (exit, reports) = json(&[
        "submit",
        "-p",
        "team-b",
        "--interactive",
        "-e",
        "DB_PASSWORD=hunter2",
    ]);
    assert_eq!(exit, 1);
    assert_eq!(reports[0]["workload"]["kind"], "InteractiveWorkload");
    assert_eq!(codes(&reports[0], "violations")[0].0, "sensitive-literal");

    for (args, needle) in [
        (
            &["submit", "-p", "nope", "-e", "A=b"][..],
            "-p nope: no such project",
        ),
        (&["submit", "-p", "team-a", "-e", "A"][..], "no `=`"),
        (&["submit", "-e", "A=b"][..], "--project"),
    ] {
        let out = host(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn bench_measures_every_scenario_with_the_command_line_limits() {
    let out = host(&["bench", "--seconds", "0.3", "--json", "--fuel", "0"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["plugin"], "built-in");
    assert_eq!(
        report["containment"],
        "no fuel, deadline 2000 ms, memory 64 MiB"
    );
    assert_eq!(report["fixtures_agreeing"], 6);
    // The tests are a dev build: the report says its native baseline is not the plugin's.
    assert_eq!(report["native_like_plugin"], false);
    let native_build = report["native_build"].as_str().expect("native_build");
    assert!(
        native_build.starts_with("profile debug, opt-level 0"),
        "{native_build}"
    );
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            assert!(s["evaluations"].as_u64() > Some(0), "{s}");
            assert!(s["p99_us"].as_f64() >= s["p50_us"].as_f64(), "{s}");
            s["name"].as_str().expect("name")
        })
        .collect();
    assert_eq!(
        names,
        [
            "native",
            "reused instance, containment off",
            "fresh instance, containment off",
            "reused instance, containment on",
            "fresh instance, containment on",
            "regorus RVM (compiled program)",
            "native, issue 17 rules on",
            "fresh instance, containment on, issue 17 rules on",
        ]
    );
    // Four ratios to native, the two costs of issue 17's rules, and regorus.
    assert_eq!(report["ratios"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        report["ratios"][4]["name"],
        "native, issue 17 rules on / off"
    );
    assert_eq!(report["workload"], "policies/bench/workload.yaml");
    assert_eq!(
        report["policies"],
        "TrainingPolicy + V2Policy + SecretPolicy"
    );
    assert_eq!(report["regorus_skipped"], Value::Null);
    assert_eq!(report["ratios"][0]["target"], "<= 2.0");
    // Without fuel there is no fuel to count.
    assert_eq!(report["fuel"], serde_json::json!([]));

    // With it (the default), what one evaluation uses, with the rules and without.
    let out = host(&["bench", "--seconds", "0.1", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let fuel: Vec<(&str, u64)> = report["fuel"]
        .as_array()
        .expect("fuel")
        .iter()
        .map(|f| {
            (
                f["scenario"].as_str().expect("scenario"),
                f["units"].as_u64().expect("units"),
            )
        })
        .collect();
    assert_eq!(
        fuel.iter().map(|f| f.0).collect::<Vec<_>>(),
        [
            "fresh instance, containment on",
            "fresh instance, containment on, issue 17 rules on"
        ]
    );
    assert!(fuel[0].1 > 10_000 && fuel[1].1 > fuel[0].1, "{fuel:?}");
}

/// A policy author's own workload and policies, like `kwctl bench`: placed as `simulate`
/// places it; regorus only where the Rego stands in for the plugin; no targets, which
/// are stated for the built-in set-up.
#[test]
fn bench_measures_a_given_workload_on_a_given_cluster() {
    let scenarios = |report: &Value| -> Vec<String> {
        report["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .map(|s| s["name"].as_str().expect("name").to_string())
            .collect()
    };
    let bench = |args: &[&str]| -> Value {
        let mut all = vec!["bench", "--seconds", "0.1", "--json"];
        all.extend_from_slice(args);
        let out = host(&all);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("a JSON report")
    };

    let crd = bench(&["policies/examples/train-ok.yaml"]);
    assert_eq!(crd["workload"], "policies/examples/train-ok.yaml");
    assert_eq!(crd["namespace"], "runai-team-a");
    assert_eq!(crd["policies"], "SecretPolicy");
    assert_eq!(scenarios(&crd).len(), 6, "{crd}");
    assert!(
        crd["ratios"]
            .as_array()
            .expect("ratios")
            .iter()
            .all(|r| r["target"].is_null())
    );

    let pod = bench(&["tests/workloads/pod-broken.yaml"]);
    assert_eq!(scenarios(&pod).len(), 5, "{pod}");
    assert!(!scenarios(&pod).iter().any(|s| s.contains("regorus")));
    assert_eq!(
        pod["regorus_skipped"],
        "the Rego policy reads Run:ai workload CRDs only"
    );
    assert_eq!(pod["ratios"].as_array().map(Vec::len), Some(4));

    // A policy default the Rego cannot see (it reads the workload as submitted): the
    // Rego no longer finds what the plugin finds, so it is not measured.
    let policy = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-default.yaml");
    std::fs::write(
        &policy,
        "apiVersion: run.ai/v2alpha1\nkind: TrainingPolicy\nmetadata: {name: d, namespace: runai-team-a}\n\
         spec: {environment: {items: {API_TOKEN: {value: plain-text}}}}\n",
    )
    .expect("write the policy");
    let policy = policy.display().to_string();
    let defaulted = bench(&["policies/examples/train-ok.yaml", "--policy", &policy]);
    assert_eq!(scenarios(&defaulted).len(), 5, "{defaulted}");
    assert!(
        defaulted["regorus_skipped"]
            .as_str()
            .is_some_and(|r| r.contains("differ from the plugin's")),
        "{defaulted}"
    );

    // The benchmark workload on the demo cluster plus one more policy file.
    let extra = bench(&["--policy", "policies/bench/policies.yaml"]);
    assert_eq!(extra["workload"], "policies/bench/workload.yaml");
    assert_eq!(
        extra["policies"],
        "TrainingPolicy + V2Policy + SecretPolicy"
    );

    // A file as users keep it: its first workload (a RayService after a ServiceAccount
    // and the Secret it reads, applied first), not its first document.
    let file = "policies/pod-templates/ray-service-with-service.yaml";
    let wrapped = bench(&[file]);
    assert_eq!(wrapped["workload"], format!("{file}#2"));
    assert_eq!(wrapped["namespace"], "runai-team-a");
    assert_eq!(scenarios(&wrapped).len(), 5, "{wrapped}");

    let service = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-service.yaml");
    std::fs::write(
        &service,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    )
    .expect("write the file");
    let service = service.display().to_string();
    for (args, needle) in [
        (&["bench", "nope.yaml"][..], "nope.yaml"),
        (&["bench", "--cluster", "nope.yaml"][..], "nope.yaml"),
        (&["bench", &service][..], "no workload documents in"),
    ] {
        let out = host(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn kubectl_like_inputs_namespace_project_and_directories() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kubectl-like");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    let pod = |name: &str, ns: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}{ns}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
        )
    };
    std::fs::write(dir.join("a.yaml"), pod("a", "")).unwrap();
    std::fs::write(
        dir.join("b.json"),
        r#"{"name": "b", "spec": {"environmentVariables": []}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a manifest").unwrap();
    std::fs::write(
        dir.join("nested/c.yml"),
        pod("c", ", namespace: runai-team-b"),
    )
    .unwrap();
    std::fs::write(dir.join("nested/deeper/d.yaml"), pod("d", "")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let d = |p: &str| dir.join(p).to_string_lossy().into_owned();
    // (arguments, exit code, placements "kind name namespace" or the error text)
    let cases: Vec<(Vec<String>, i32, Vec<&str>)> = vec![
        (
            vec![d("a.yaml"), "-n".into(), "runai-team-a".into()],
            0,
            vec!["Pod a runai-team-a"],
        ),
        (
            vec![d("a.yaml"), "-p".into(), "team-b".into()],
            0,
            vec!["Pod a runai-team-b"],
        ),
        (
            vec![d("b.json"), "-p".into(), "1001".into()],
            0,
            vec!["TrainingCreationRequest b runai-team-a"],
        ),
        (
            vec![d("nested/c.yml"), "-n".into(), "runai-team-a".into()],
            2,
            vec![
                "the namespace of the document (runai-team-b) does not match the namespace it is submitted to (runai-team-a)",
            ],
        ),
        (
            vec![d("nested/c.yml"), "-p".into(), "team-a".into()],
            2,
            vec![
                "`metadata.namespace` is runai-team-b but project team-a runs in namespace runai-team-a",
            ],
        ),
        (
            vec![d("a.yaml")],
            2,
            vec![
                "names no namespace or project",
                "-n NAMESPACE or -p PROJECT",
            ],
        ),
        // A directory: its manifests, not below it unless -R (notes.txt is not one).
        (
            vec![
                dir.to_string_lossy().into_owned(),
                "-n".into(),
                "runai-team-a".into(),
            ],
            0,
            vec![
                "Pod a runai-team-a",
                "TrainingCreationRequest b runai-team-a",
            ],
        ),
        (
            vec![d("nested"), "-R".into(), "-p".into(), "team-b".into()],
            0,
            vec!["Pod c runai-team-b", "Pod d runai-team-b"],
        ),
        (
            vec![d("empty")],
            2,
            vec!["no manifests (*.yaml, *.yml, *.json) in the directory (-R reads"],
        ),
    ];
    for (args, want_code, want) in cases {
        let mut all = vec!["simulate".to_string()];
        all.extend(args.clone());
        all.extend(["-o".into(), "json".into()]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = host(&refs);
        assert_eq!(code(&out), want_code, "{args:?}: {}", stderr(&out));
        if want_code == 0 {
            let reports: Value = serde_json::from_slice(&out.stdout).expect("JSON");
            let got: Vec<String> = reports
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let w = &r["workload"];
                    format!(
                        "{} {} {}",
                        w["kind"].as_str().unwrap(),
                        w["name"].as_str().unwrap(),
                        w["namespace"].as_str().unwrap()
                    )
                })
                .collect();
            assert_eq!(got, want, "{args:?}");
        } else {
            for text in want {
                assert!(stderr(&out).contains(text), "{args:?}: {}", stderr(&out));
            }
        }
    }
}

/// What each element of `simulate -o json` is: `kind name verdict` or `kind name
/// skipped: reason`.
fn elements(reports: &Value) -> Vec<String> {
    reports
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| match r.get("skipped") {
            Some(s) => format!(
                "{} {} skipped: {}",
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            ),
            None => format!(
                "{} {} {}",
                r["workload"]["kind"].as_str().unwrap(),
                r["workload"]["name"].as_str().unwrap(),
                if r["allowed"] == true {
                    "admitted"
                } else {
                    "rejected"
                }
            ),
        })
        .collect()
}

#[test]
fn files_as_users_keep_them_evaluate_their_workloads_and_list_the_rest() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("files-as-they-are");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    let deployment = |name: &str, secret: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n      \
             containers:\n      - name: c\n        env: [{{name: TOKEN, valueFrom: {{secretKeyRef: {{name: {secret}, key: token}}}}}}]\n"
        )
    };
    let service =
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: app-creds}\nstringData: {token: s3cr3t-app-token-value}\n";
    let write =
        |name: &str, docs: &[&str]| std::fs::write(dir.join(name), docs.join("---\n")).unwrap();
    write(
        "app.yaml",
        &[
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: llm}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n",
            secret,
            &deployment("web", "app-creds"),
            service,
            "apiVersion: ray.io/v2\nkind: RayCluster\nmetadata: {name: future}\nspec: {}\n",
        ],
    );
    // A Secret after the workload is not there yet when the workload is admitted,
    // as with `kubectl apply -f`.
    write("late.yaml", &[&deployment("early", "app-creds"), secret]);
    write("service.yaml", &[service]);
    write(
        "bad-secret.yaml",
        &[
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: not-base64!}\n",
            &deployment("web", "app-creds"),
        ],
    );
    // A SecretPolicy in the file governs the workloads after it.
    write(
        "policy.yaml",
        &[
            "apiVersion: secrets.policy.run.ai/v1alpha1\nkind: SecretPolicy\nmetadata: {name: files-only}\n\
             spec: {allowedSecretUses: [volume]}\n",
            secret,
            &deployment("web", "app-creds"),
        ],
    );
    write(
        "other-namespace.yaml",
        &[
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai-team-b}\n",
            &deployment("web", "s"),
        ],
    );
    write(
        "app/deployment.yaml",
        &[&deployment("in-dir", "team-token")],
    );
    write(
        "app/secret.yaml",
        &[
            "apiVersion: v1\nkind: Secret\nmetadata: {name: team-token}\nstringData: {token: t0ken-in-a-dir}\n",
        ],
    );
    write("app/service.yaml", &[service]);
    let d = |p: &str| dir.join(p).to_string_lossy().into_owned();
    let ns = ["-n", "runai-team-a"];

    let file = d("app.yaml");
    let (exit, reports) = json(&["simulate", &file, ns[0], ns[1]]);
    assert_eq!(exit, 0, "{reports}");
    assert_eq!(
        elements(&reports),
        [
            "Namespace llm skipped: not a workload",
            "ConfigMap cfg skipped: not a workload",
            "Deployment web admitted",
            "Service web skipped: not a workload",
            "RayCluster future skipped: apiVersion `ray.io/v2` of RayCluster is not one the plugin reads (it reads ray.io/v1 or ray.io/v1alpha1)",
        ]
    );
    // Every format lists them.
    let text = stdout(&host(&["simulate", &file, ns[0], ns[1]]));
    assert!(
        text.contains("Service web (") && text.contains("SKIPPED: not a workload"),
        "{text}"
    );
    let yaml = stdout(&host(&["simulate", &file, ns[0], ns[1], "-o", "yaml"]));
    assert!(yaml.contains("skipped:\n    kind: Service"), "{yaml}");
    assert!(!text.contains("s3cr3t") && !yaml.contains("s3cr3t"));

    let (exit, reports) = json(&["simulate", &d("late.yaml"), ns[0], ns[1]]);
    assert_eq!(exit, 1, "{reports}");
    assert_eq!(
        codes(&reports[0], "violations"),
        [(
            "secret-not-found".to_string(),
            "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name".to_string()
        )]
    );
    let (exit, reports) = json(&["simulate", &d("policy.yaml"), ns[0], ns[1]]);
    assert_eq!(exit, 1, "{reports}");
    assert_eq!(codes(&reports[0], "violations")[0].0, "secret-use-denied");
    // A directory: a file of it may hold only a Service. Its files are applied in
    // order, as `kubectl apply -f DIR` does: secret.yaml comes after deployment.yaml.
    let (exit, reports) = json(&["simulate", &d("app"), ns[0], ns[1]]);
    assert_eq!(exit, 1, "{reports}");
    assert_eq!(
        elements(&reports),
        [
            "Deployment in-dir rejected",
            "Service web skipped: not a workload"
        ]
    );

    // Nothing to check is not a pass; a Secret `host apply -f` refuses is refused here.
    for (args, needles) in [
        (
            vec![d("service.yaml")],
            vec![
                "no workload documents in",
                "(skipped: Service web)",
                "unsupported kind `Service`",
            ],
        ),
        (
            vec![d("bad-secret.yaml"), "-n".into(), "runai-team-a".into()],
            vec!["bad-secret.yaml#0", "base64"],
        ),
        (
            vec![
                d("other-namespace.yaml"),
                "-n".into(),
                "runai-team-a".into(),
            ],
            vec![
                "other-namespace.yaml#0: the namespace of the document (runai-team-b) does not match \
                 the namespace it is submitted to (runai-team-a)",
            ],
        ),
    ] {
        let mut all = vec!["simulate".to_string()];
        all.extend(args.clone());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = host(&refs);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        for needle in needles {
            assert!(
                stderr(&out).contains(needle),
                "{needle:?}: {}",
                stderr(&out)
            );
        }
    }
}

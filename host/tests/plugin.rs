//! The plugin through wasmtime: the same case table as the native tests, policy
//! checks, input errors, and the import check at load time.

use guest::cases::{self, Observed};
use host::plugin::{Limits, Plugin, PolicyDocument, SecretMetadata, Submission};
use std::sync::OnceLock;

/// Compiling the component takes ~1.5 s in a debug build: once per test binary.
fn plugin() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| Plugin::builtin().expect("the built-in plugin loads"))
}

fn to_wit(s: guest::Submission) -> Submission {
    Submission {
        workload: s.workload,
        namespace: s.namespace,
        project: s.project.map(|p| host::plugin::ProjectInfo {
            name: p.name,
            id: p.id,
            department: p.department,
        }),
        workload_type: s.workload_type,
        with_env: s.with_env,
        with_references: s.with_references,
        policies: s
            .policies
            .into_iter()
            .map(|p| PolicyDocument {
                source: p.source,
                json: p.json,
            })
            .collect(),
        secrets: s
            .secrets
            .into_iter()
            .map(|m| SecretMetadata {
                name: m.name,
                keys: m.keys,
                secret_type: m.secret_type,
                immutable: m.immutable,
                cluster_wide_copy: m.cluster_wide_copy,
                labels: m.labels,
            })
            .collect(),
    }
}

#[test]
fn secret_reference_cases_through_wasmtime() {
    let file = cases::load(include_str!("../../tests/cases/secret-refs.json"));
    file.check_all(|case, submission| {
        let native = guest::evaluate(&submission).expect("native evaluation");
        let decision = plugin()
            .evaluate(&to_wit(submission))
            .expect("the plugin runs")
            .unwrap_or_else(|e| panic!("{}: input error {e:?}", case.name));
        // The component and the native build are the same logic: the same decision in
        // every field (messages, patch text, environment, startup), not only the findings.
        assert_eq!(
            host::bench::native::decision(&decision),
            native,
            "{}",
            case.name
        );
        Observed::of(&native)
    });
}

/// A gateway leaves `with-env` false: the same decision in every other part, and no
/// environment to copy out.
#[test]
fn without_env_the_decision_is_the_same_but_for_the_environment() {
    let file = cases::load(include_str!("../../tests/cases/secret-refs.json"));
    let mut compared = 0;
    for case in &file.cases {
        let full = to_wit(case.submission(&file));
        let gateway = Submission {
            with_env: false,
            ..full.clone()
        };
        let mut with_env = plugin().evaluate(&full).expect("runs").expect("decides");
        let without = plugin().evaluate(&gateway).expect("runs").expect("decides");
        assert!(without.env.is_empty(), "{}: {:?}", case.name, without.env);
        if with_env.env.iter().any(|c| !c.vars.is_empty()) {
            compared += 1;
        }
        with_env.env.clear();
        assert_eq!(
            format!("{with_env:?}"),
            format!("{without:?}"),
            "{}",
            case.name
        );
    }
    assert!(compared > 10, "only {compared} cases resolve any variable");
}

fn policy(json: &str) -> Vec<PolicyDocument> {
    vec![PolicyDocument {
        source: "p.yaml".into(),
        json: json.into(),
    }]
}

#[test]
fn policy_check_reports_field_and_expectation() {
    let cases = [
        (
            r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy","metadata":{"name":"p"},"spec":{"enforcement":"block"}}"#,
            "spec.enforcement",
            "unknown value, expected one of `enforce`, `warn`, `audit`",
        ),
        (
            r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy","metadata":{"name":"p"},"spec":{"sensitiveEnvName":["*"]}}"#,
            "spec.sensitiveEnvName",
            "unknown field `sensitiveEnvName`, expected one of",
        ),
        (
            r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy","metadata":{"name":"p"},"spec":{"deniedSecrets":"x"}}"#,
            "spec.deniedSecrets",
            "expected a sequence",
        ),
        (
            r#"{"apiVersion":"secrets.policy.run.ai/v1","kind":"SecretPolicy","metadata":{"name":"p"}}"#,
            "apiVersion",
            "expected secrets.policy.run.ai/v1alpha1",
        ),
        (
            r#"{"kind":"Gadget"}"#,
            "kind",
            "unsupported policy kind `Gadget`",
        ),
    ];
    for (json, field, message) in cases {
        let diagnostics = plugin()
            .check_policies(&policy(json), &[])
            .expect("the plugin runs");
        assert_eq!(diagnostics.len(), 1, "{json}: {diagnostics:?}");
        assert_eq!(diagnostics[0].source, "p.yaml");
        assert_eq!(diagnostics[0].field, field, "{json}");
        assert!(
            diagnostics[0].message.contains(message),
            "{json}: {}",
            diagnostics[0].message
        );
    }
    let good = r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy","metadata":{"name":"p","namespace":"runai"},"spec":{"sensitiveEnvNames":["*KEY"]}}"#;
    assert!(
        plugin()
            .check_policies(&policy(good), &[])
            .expect("runs")
            .is_empty()
    );
}

#[test]
fn unreadable_workloads_are_input_errors_with_a_field() {
    let cases = [
        ("not json", "", "expected"),
        (
            r#"{"apiVersion":"v1","kind":"ConfigMap"}"#,
            "kind",
            "unsupported kind `ConfigMap`",
        ),
        (
            r#"{"apiVersion":"run.ai/v3","kind":"TrainingWorkload"}"#,
            "apiVersion",
            "expected run.ai/v2alpha1",
        ),
        (
            r#"{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{"name":"t"},"spec":{"environment":{"items":{"LR":{"value":0.2}}}}}"#,
            "spec.environment.items.LR.value",
            "expected a string",
        ),
        (
            r#"{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload"}"#,
            "metadata.name",
            "missing",
        ),
    ];
    for (json, field, message) in cases {
        let err = plugin()
            .identify(json)
            .expect("the plugin runs")
            .expect_err(json);
        assert_eq!(err.field, field, "{json}");
        assert!(err.message.contains(message), "{json}: {}", err.message);
    }
}

#[test]
fn the_builtin_plugin_imports_nothing() {
    assert_eq!(plugin().imports(), Vec::<String>::new());
    assert!(
        plugin()
            .exports()
            .iter()
            .any(|e| e == "runai:secrets-policy/evaluator@0.5.0")
    );
}

#[test]
fn a_plugin_with_imports_is_refused_naming_the_import() {
    let component = wat::parse_str(
        r#"(component
             (import "wasi:cli/environment@0.2.0" (instance (export "get-environment" (func))))
           )"#,
    )
    .expect("test component assembles");
    let err = Plugin::load(&component, "sneaky.wasm", Limits::default())
        .err()
        .expect("refused");
    let message = format!("{err:#}");
    assert!(message.contains("sneaky.wasm"), "{message}");
    assert!(message.contains("wasi:cli/environment@0.2.0"), "{message}");
}

#[test]
fn a_component_without_the_contract_is_refused() {
    let component = wat::parse_str("(component)").expect("assembles");
    let err = Plugin::load(&component, "empty.wasm", Limits::default())
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("does not export the runai:secrets-policy"),
        "{err:#}"
    );
}

#[test]
fn oversized_documents_are_refused_before_the_plugin_runs() {
    let limits = Limits {
        input_bytes: 1024,
        ..Limits::default()
    };
    let small = Plugin::load(host::plugin::BUILTIN, "built-in", limits).expect("loads");
    let big = format!(r#"{{"kind":"{}"}}"#, "x".repeat(2048));
    let err = small.identify(&big).expect_err("too big");
    assert!(err.to_string().contains("the limit is 1024 bytes"), "{err}");
}

/// The patch is text the gateway applies: the plugin and the native build must write
/// the same bytes, whatever serde_json features the host's build enables (the host
/// turns on `preserve_order`, which the component does not have).
#[test]
fn the_patch_text_is_the_same_natively_and_in_the_plugin() {
    let mut cluster = host::demo::cluster().expect("demo cluster");
    for (text, name) in [
        (
            include_str!("../../policies/v2/cluster-defaults.yaml"),
            "cluster-defaults.yaml",
        ),
        (
            include_str!("../../policies/bench/policies.yaml"),
            "bench/policies.yaml",
        ),
    ] {
        let docs = host::manifest::parse(text, name).expect("policy parses");
        host::cluster::load_documents(&mut cluster, &docs).expect("policy loads");
    }
    let api = r#"{"name":"api","projectId":"1001","spec":{"environmentVariables":[{"name":"LR","value":"0.1"}]}}"#;
    let crd = r#"{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{"name":"w","namespace":"runai-team-a","labels":{"project":"team-a"}},"spec":{}}"#;
    for workload in [api, crd] {
        let submission = host::bench::submission_in(&cluster, workload.to_string(), "runai-team-a");
        let native =
            guest::evaluate(&host::bench::native::submission(&submission)).expect("native decides");
        let decision = plugin()
            .evaluate(&submission)
            .expect("the plugin runs")
            .expect("decides");
        assert!(decision.patch.len() > 2, "{workload}: no defaults injected");
        assert_eq!(decision.patch, native.patch, "{workload}");
    }
}

/// `host bench` times nothing unless the native logic and the plugin decide its workload
/// alike in every field: a plugin that decides otherwise is refused, by name of the part.
#[test]
fn the_benchmark_refuses_a_plugin_that_decides_otherwise() {
    let cluster = host::bench::cluster().expect("cluster");
    let doc = host::bench::workload().expect("workload");
    let sub = host::bench::submission(&cluster, &doc).expect("submission");
    host::bench::check_native_agreement(plugin(), &sub).expect("the built-in plugin agrees");
    let other = Plugin::load(
        include_bytes!(env!("HOSTILE_WASM")),
        "hostile plugin",
        Limits::default(),
    )
    .expect("loads");
    let err = host::bench::check_native_agreement(&other, &sub)
        .expect_err("a plugin deciding otherwise is refused")
        .to_string();
    assert!(err.contains("their workload differ"), "{err}");
}

/// The removal check of contract 0.5.0 through the component: the same answer as the
/// logic compiled natively, for the cases of its own table.
#[test]
fn a_removal_is_decided_in_the_component_as_natively() {
    use host::plugin::{Removal, SecretReference, SecretUseKind, SecretUser};
    let reference = |key: Option<&str>, kind: SecretUseKind, optional: bool| SecretReference {
        secret: "db".into(),
        key: key.map(String::from),
        kind,
        container: "c".into(),
        field: "f".into(),
        optional,
    };
    let users = vec![
        SecretUser {
            namespace: "runai-team-a".into(),
            workload: "Pod train-7".into(),
            reference: reference(Some("password"), SecretUseKind::Env, false),
        },
        SecretUser {
            namespace: "runai-team-a".into(),
            workload: "Pod opt".into(),
            reference: reference(Some("password"), SecretUseKind::Env, true),
        },
    ];
    let deny = PolicyDocument {
        source: "guard".into(),
        json: r#"{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy",
                 "metadata":{"name":"guard","namespace":"runai"},"spec":{"secretRemoval":"deny"}}"#
            .into(),
    };
    for (keys, policies, allowed, breaks) in [
        (vec![], vec![], true, 1),
        (vec!["password".to_string()], vec![deny.clone()], false, 1),
        (vec!["user".to_string()], vec![deny.clone()], true, 0),
    ] {
        let removal = Removal {
            namespace: "runai-team-a".into(),
            secret: "db".into(),
            keys: keys.clone(),
            action: "deleting".into(),
        };
        let d = plugin()
            .check_removal(&removal, &policies, &users)
            .expect("runs")
            .expect("decides");
        assert_eq!(
            (d.allowed, d.breaks.len()),
            (allowed, breaks),
            "{keys:?}: {}",
            d.message
        );
        let native = guest::removal::check(
            &guest::removal::Removal {
                namespace: removal.namespace.clone(),
                secret: removal.secret.clone(),
                keys,
                action: removal.action.clone(),
            },
            &policies
                .iter()
                .map(|p| guest::PolicyDocument {
                    source: p.source.clone(),
                    json: p.json.clone(),
                })
                .collect::<Vec<_>>(),
            &users
                .iter()
                .map(|u| guest::removal::SecretUser {
                    namespace: u.namespace.clone(),
                    workload: u.workload.clone(),
                    reference: host::bench::native::reference(&u.reference),
                })
                .collect::<Vec<_>>(),
        )
        .expect("decides");
        assert_eq!(
            (native.allowed, native.message.as_str(), native.mode.name()),
            (d.allowed, d.message.as_str(), d.mode.as_str())
        );
    }
}

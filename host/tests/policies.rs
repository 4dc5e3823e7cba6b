//! The policy case table (`tests/policies/cases.yaml`) through wasmtime, and the
//! JSON Patch of every case applied to its workload.

use host::cluster::{Cluster, load_documents};
use host::manifest::{self, Document};
use host::plugin::{EnvSource, Plugin};
use host::simulate::{Outcome, check_policies, simulate_one};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    policies: Vec<Value>,
    workload: Value,
    #[serde(default, rename = "type")]
    workload_type: Option<String>,
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    violations: Option<Vec<(String, String, String)>>,
    #[serde(default)]
    warnings: Option<Vec<(String, String)>>,
    #[serde(default)]
    warning_text: Option<String>,
    #[serde(default)]
    env: Option<Vec<(String, String, String)>>,
    #[serde(default)]
    patch: Option<Vec<Value>>,
    #[serde(default)]
    load_error: Option<(String, String)>,
}

fn source(s: &EnvSource) -> String {
    match s {
        EnvSource::Literal(v) => format!("literal {v}"),
        EnvSource::Secret(r) => format!("secret {}/{}", r.name, r.key),
        EnvSource::ConfigMap(r) => format!("configMap {}/{}", r.name, r.key),
        EnvSource::FieldRef(p) => format!("fieldRef {p}"),
        EnvSource::UserCredential(r) => format!("userCredential {}/{}", r.name, r.key),
        EnvSource::Expanded(v) => format!("expanded {v}"),
    }
}

fn env_of(o: &Outcome) -> Vec<(String, String, String)> {
    o.decision
        .env
        .iter()
        .flat_map(|c| &c.vars)
        .map(|e| {
            let origin = host::report::origin_text(e.origin.as_deref());
            (e.name.clone(), source(&e.source), origin)
        })
        .collect()
}

fn run(plugin: &Plugin, base: &str, case: &Case) -> Result<(), String> {
    let mut cluster = Cluster::default();
    let base_docs = manifest::parse(base, "cluster.yaml").map_err(|e| e.to_string())?;
    load_documents(&mut cluster, &base_docs).map_err(|e| e.to_string())?;
    let docs: Vec<Document> = case
        .policies
        .iter()
        .enumerate()
        .map(|(i, v)| Document {
            source: format!("case#{i}"),
            value: v.clone(),
        })
        .collect();
    load_documents(&mut cluster, &docs).map_err(|e| format!("{e:#}"))?;
    let loaded = check_policies(plugin, &cluster);
    match (&case.load_error, loaded) {
        (Some((code, text)), Err(e)) => {
            let e = format!("{e:#}");
            return if e.contains(&format!("({code})")) && e.contains(text.as_str()) {
                Ok(())
            } else {
                Err(format!("expected load error {code} with {text:?}, got {e}"))
            };
        }
        (Some(_), Ok(())) => return Err("expected a load error; the policies loaded".into()),
        (None, Err(e)) => return Err(format!("unexpected load error {e:#}")),
        (None, Ok(())) => {}
    }
    let workload = Document {
        source: "workload".into(),
        value: case.workload.clone(),
    };
    let ty = case.workload_type.as_deref();
    let outcome = simulate_one(plugin, &cluster, &workload, ty).map_err(|e| format!("{e:#}"))?;
    let d = &outcome.decision;
    let mut problems = Vec::new();
    let mut expect = |what: &str, want: Option<String>, got: String| {
        if let Some(want) = want
            && want != got
        {
            problems.push(format!("{what}:\n    expected {want}\n    got      {got}"));
        }
    };
    expect(
        "allowed",
        case.allowed.map(|a| a.to_string()),
        d.allowed.to_string(),
    );
    let got_v: Vec<_> = d
        .violations
        .iter()
        .map(|v| (v.code.clone(), v.field.clone(), v.policy.clone()))
        .collect();
    expect(
        "violations",
        case.violations.as_ref().map(|v| format!("{v:?}")),
        format!("{got_v:?}"),
    );
    let got_w: Vec<_> = d
        .warnings
        .iter()
        .map(|w| (w.code.clone(), w.field.clone()))
        .collect();
    expect(
        "warnings",
        case.warnings.as_ref().map(|w| format!("{w:?}")),
        format!("{got_w:?}"),
    );
    expect(
        "env",
        case.env.as_ref().map(|e| format!("{e:?}")),
        format!("{:?}", env_of(&outcome)),
    );
    let patch: Vec<Value> = serde_json::from_str(&d.patch).map_err(|e| e.to_string())?;
    // Compared as JSON values: key order inside an operation does not matter.
    if let Some(want) = &case.patch
        && *want != patch
    {
        problems.push(format!(
            "patch:\n    expected {}\n    got      {}",
            Value::from(want.clone()),
            d.patch
        ));
    }
    if let Some(text) = &case.warning_text
        && !d.warnings.iter().all(|w| w.message.contains(text.as_str()))
    {
        problems.push(format!(
            "warnings do not all contain {text:?}: {:?}",
            d.warnings
        ));
    }

    // Applying the patch to the submitted document gives the workload the plugin
    // evaluated: the same env (now set by the workload), and nothing left to inject.
    if !patch.is_empty() {
        let ops: json_patch::Patch =
            serde_json::from_value(Value::Array(patch)).map_err(|e| e.to_string())?;
        let mut patched = case.workload.clone();
        json_patch::patch(&mut patched, &ops)
            .map_err(|e| format!("the patch does not apply: {e}"))?;
        let again = simulate_one(
            plugin,
            &cluster,
            &Document {
                source: "patched".into(),
                value: patched,
            },
            ty,
        )
        .map_err(|e| format!("{e:#}"))?;
        let names = |o: &Outcome| {
            env_of(o)
                .into_iter()
                .map(|(n, s, _)| (n, s))
                .collect::<Vec<_>>()
        };
        if names(&again) != names(&outcome) {
            problems.push(format!(
                "patched workload env {:?} != evaluated env {:?}",
                names(&again),
                names(&outcome)
            ));
        }
        if again.decision.patch != "[]" {
            problems.push(format!(
                "patched workload still gets a patch: {}",
                again.decision.patch
            ));
        }
        if again.decision.allowed != d.allowed {
            problems.push("patched workload gets another verdict".into());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

#[test]
fn policy_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/policies");
    let base = std::fs::read_to_string(dir.join("cluster.yaml")).expect("base cluster");
    let text = std::fs::read_to_string(dir.join("cases.yaml")).expect("cases");
    let cases: Vec<Case> = serde_yaml_ng::from_str(&text).expect("cases parse");
    assert!(cases.len() >= 30, "{}", cases.len());
    let plugin = Plugin::builtin().expect("plugin");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            run(&plugin, &base, c)
                .err()
                .map(|e| format!("{}:\n  {e}", c.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

//! The Rego baseline: `policies/bench/secrets.rego` on regorus, compiled once and run
//! on its RVM (its fastest path), with the tree-walking Engine for agreement checks.

use crate::plugin::SecretMetadata;
use anyhow::{Context, Result, anyhow};
use guest::glob::Pattern;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::{Engine, Value};
use serde_json::json;
use std::collections::BTreeSet;

pub const POLICY: &str = include_str!("../../../policies/bench/secrets.rego");
const ENTRY: &str = "data.secrets.violations";

/// `{code, field}` pairs, the shape both sides are compared in.
pub type Findings = BTreeSet<(String, String)>;

/// The data document: the catalog and the sensitive-name globs split by shape as the
/// plugin compiles them (`X` exact, `*X*` contains, `X*` prefix, `*X` suffix),
/// upper-cased as the plugin matches names case-insensitively.
pub fn data(catalog: &[SecretMetadata], sensitive_globs: &[String]) -> Result<Value> {
    let catalog: serde_json::Map<String, serde_json::Value> = catalog
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                serde_json::Value::Object(
                    s.keys.iter().map(|k| (k.clone(), json!(true))).collect(),
                ),
            )
        })
        .collect();
    let (mut exact, mut contains, mut prefix, mut suffix) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for glob in sensitive_globs {
        match Pattern::new(&glob.to_uppercase()) {
            Pattern::Exact(x) => exact.push(x),
            Pattern::Contains(x) => contains.push(x),
            Pattern::Prefix(x) => prefix.push(x),
            Pattern::Suffix(x) => suffix.push(x),
            Pattern::Glob(_) => {
                return Err(anyhow!(
                    "glob {glob:?} has no plain-string form for the Rego baseline"
                ));
            }
        }
    }
    // `contains` as {part: ""}: the policy tests all parts at once with `strings.replace_n`.
    let contains: serde_json::Map<String, serde_json::Value> =
        contains.into_iter().map(|x| (x, json!(""))).collect();
    let doc = json!({"catalog": catalog, "sensitive": {"exact": exact, "contains": contains, "prefix": prefix, "suffix": suffix}});
    Value::from_json_str(&doc.to_string()).map_err(|e| anyhow!("{e}"))
}

fn findings(value: &Value) -> Result<Findings> {
    let json: serde_json::Value =
        serde_json::from_str(&value.to_json_str().map_err(|e| anyhow!("{e}"))?)?;
    let items = match json {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => Vec::new(),
        other => return Err(anyhow!("unexpected Rego result {other}")),
    };
    Ok(items
        .into_iter()
        .map(|v| {
            (
                v["code"].as_str().unwrap_or_default().to_string(),
                v["field"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// The compiled program on one VM (one per thread, as regorus recommends).
pub struct Rvm {
    vm: RegoVM,
}

impl Rvm {
    pub fn new(data: Value) -> Result<Self> {
        let mut engine = Engine::new();
        engine
            .add_policy("secrets.rego".into(), POLICY.into())
            .map_err(|e| anyhow!("{e}"))
            .context("policies/bench/secrets.rego")?;
        let entry: regorus::Rc<str> = ENTRY.into();
        let compiled = engine
            .compile_with_entrypoint(&entry)
            .map_err(|e| anyhow!("{e}"))?;
        let program =
            Compiler::compile_from_policy(&compiled, &[ENTRY]).map_err(|e| anyhow!("{e}"))?;
        let mut vm = RegoVM::new_with_policy(compiled);
        vm.load_program(program);
        vm.set_data(data).map_err(|e| anyhow!("{e}"))?;
        Ok(Rvm { vm })
    }

    /// Parses the workload's JSON text and evaluates the policy on it.
    pub fn eval(&mut self, workload_json: &str) -> Result<Value> {
        self.vm
            .set_input(Value::from_json_str(workload_json).map_err(|e| anyhow!("{e}"))?);
        self.vm
            .execute_entry_point_by_name(ENTRY)
            .map_err(|e| anyhow!("{e}"))
    }

    pub fn findings(&mut self, workload_json: &str) -> Result<Findings> {
        findings(&self.eval(workload_json)?)
    }
}

/// The same policy on regorus's tree-walking interpreter.
pub fn engine_findings(data: &Value, workload_json: &str) -> Result<Findings> {
    let mut engine = Engine::new();
    engine
        .add_policy("secrets.rego".into(), POLICY.into())
        .map_err(|e| anyhow!("{e}"))?;
    engine.add_data(data.clone()).map_err(|e| anyhow!("{e}"))?;
    engine.set_input(Value::from_json_str(workload_json).map_err(|e| anyhow!("{e}"))?);
    findings(
        &engine
            .eval_rule(ENTRY.to_string())
            .map_err(|e| anyhow!("{e}"))?,
    )
}

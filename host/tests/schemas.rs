//! Schemas for the API server and for editors (issue 17 item 8):
//! - `deploy/crds/secretpolicy.yaml`, the SecretPolicy CRD, round-trips through the
//!   API's own type (a misspelled or misplaced field disappears and fails), and every
//!   SecretPolicy in the repository validates against its schema;
//! - `schemas/secretpolicy.schema.json` (JSON Schema for editors) is generated from the
//!   CRD's schema, and `schemas/suite.schema.json` from the suite types: both must be
//!   current (`UPDATE_SCHEMAS=1 cargo test -p host --test schemas` rewrites them);
//! - every suite validates against the suite schema;
//! - a mistake (unknown field, bad enum, wrong type) is refused by the schema *and* by
//!   the plugin or the suite loader, so the two cannot drift apart unnoticed.
//!
//! The validator below covers the JSON Schema keywords these schemas use.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    host::manifest::parse(&text, &path.display().to_string())
        .unwrap_or_else(|e| panic!("{e:#}"))
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn crd() -> Value {
    yaml_docs(&root().join("deploy/crds/secretpolicy.yaml")).remove(0)
}

/// The schema of the SecretPolicy object, as the API server applies it.
fn crd_schema() -> Value {
    crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

// ---------------------------------------------------------------- the validator

/// The CEL rules of the CRD (`x-kubernetes-validations`), as the API server checks
/// them, and as the editor schema says them in JSON Schema. A new rule in the CRD
/// fails the tests until it is taught here.
const SELECTOR_VALUES_RULE: &str = "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0";

const LABEL_KEY: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

fn label_keys_rule() -> String {
    format!("self.all(k, size(k) <= 317 && k.matches('{LABEL_KEY}'))")
}

fn cel(rule: &str, value: &Value) -> bool {
    if rule == label_keys_rule() {
        let key = regex_lite::Regex::new(LABEL_KEY).unwrap();
        return value
            .as_object()
            .is_some_and(|m| m.keys().all(|k| k.len() <= 317 && key.is_match(k)));
    }
    match rule {
        SELECTOR_VALUES_RULE => {
            let values = value
                .get("values")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match value["operator"].as_str() {
                Some("In" | "NotIn") => values > 0,
                _ => values == 0,
            }
        }
        other => panic!("the CRD has a CEL rule this test does not know: {other}"),
    }
}

fn cel_as_json_schema(rule: &str) -> Value {
    if rule == label_keys_rule() {
        return json!({"propertyNames": {"maxLength": 317, "pattern": LABEL_KEY}});
    }
    match rule {
        SELECTOR_VALUES_RULE => json!({
            "if": {"properties": {"operator": {"enum": ["In", "NotIn"]}}},
            "then": {"required": ["values"], "properties": {"values": {"minItems": 1}}},
            "else": {"properties": {"values": {"maxItems": 0}}}
        }),
        other => panic!("the CRD has a CEL rule this test does not know: {other}"),
    }
}

/// Problems of `value` against `schema` (JSON Schema 2020-12 and OpenAPI v3 subset):
/// `type`, `properties` (closed when `closed`: kubectl's strict field validation),
/// `required`, `additionalProperties`, `items`, `enum`, `const`, `minLength`,
/// `minimum`, `maximum`, `pattern`, `anyOf`, `oneOf`, `$ref` into `$defs`.
fn validate(
    schema: &Value,
    value: &Value,
    root: &Value,
    at: &str,
    closed: bool,
    out: &mut Vec<String>,
) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return out.push(format!("{at}: not allowed")),
        Value::Object(s) => s,
        _ => return,
    };
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if value.is_object() && !cel(rule["rule"].as_str().unwrap_or(""), value) {
            out.push(format!("{at}: {}", rule["message"]));
        }
    }
    if let Some(condition) = schema.get("if") {
        let mut p = Vec::new();
        validate(condition, value, root, at, false, &mut p);
        let branch = if p.is_empty() {
            schema.get("then")
        } else {
            schema.get("else")
        };
        if let Some(b) = branch {
            validate(b, value, root, at, false, out);
        }
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return validate(&root["$defs"][name], value, root, at, closed, out);
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(part, value, root, at, closed, out);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|o| {
                    let mut p = Vec::new();
                    validate(o, value, root, at, closed, &mut p);
                    p.is_empty()
                })
                .count();
            if passing == 0 || (key == "oneOf" && passing > 1) {
                out.push(format!("{at}: matches {passing} of the {key} options"));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            return out.push(format!("{at}: expected {types:?}, found {value}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        out.push(format!("{at}: expected {c}"));
    }
    if let (Some(min), Some(s)) = (
        schema.get("minLength").and_then(Value::as_u64),
        value.as_str(),
    ) && (s.chars().count() as u64) < min
    {
        out.push(format!("{at}: shorter than {min}"));
    }
    if let (Some(p), Some(s)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) && !regex_lite::Regex::new(p).unwrap().is_match(s)
    {
        out.push(format!("{at}: does not match {p}"));
    }
    if let (Some(max), Some(s)) = (
        schema.get("maxLength").and_then(Value::as_u64),
        value.as_str(),
    ) && (s.chars().count() as u64) > max
    {
        out.push(format!("{at}: longer than {max}"));
    }
    if let (Some(max), Some(m)) = (
        schema.get("maxProperties").and_then(Value::as_u64),
        value.as_object(),
    ) && (m.len() as u64) > max
    {
        out.push(format!("{at}: more than {max} properties"));
    }
    if let (Some(names), Some(m)) = (schema.get("propertyNames"), value.as_object()) {
        for k in m.keys() {
            validate(
                names,
                &json!(k),
                root,
                &format!("{at}.{k} (key)"),
                false,
                out,
            );
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            out.push(format!("{at}: below {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            out.push(format!("{at}: above {max}"));
        }
    }
    if let Value::Object(map) = value {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str()
                && !map.contains_key(r)
            {
                out.push(format!("{at}: `{r}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (k, v) in map {
            let field = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match (
                properties.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(s, v, root, &field, closed, out),
                (None, Some(extra)) => validate(extra, v, root, &field, closed, out),
                (None, None) if properties.is_some() && closed => {
                    out.push(format!("{field}: unknown field"))
                }
                _ => {}
            }
        }
    }
    if let Value::Array(list) = value {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (list.len() as u64) < min
        {
            out.push(format!("{at}: fewer than {min} items"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && (list.len() as u64) > max
        {
            out.push(format!("{at}: more than {max} items"));
        }
    }
    if let (Some(items), Value::Array(list)) = (schema.get("items"), value) {
        for (i, v) in list.iter().enumerate() {
            validate(items, v, root, &format!("{at}[{i}]"), closed, out);
        }
    }
}

fn problems(schema: &Value, value: &Value, closed: bool) -> Vec<String> {
    let mut out = Vec::new();
    validate(schema, value, schema, "", closed, &mut out);
    out
}

// ---------------------------------------------------------------- generation

/// The JSON Schema editors use for SecretPolicy files: the CRD's schema with the
/// object's head spelled out and every object closed to unknown fields (the CRD may
/// not say so: a structural schema has no `additionalProperties` beside `properties`).
fn secretpolicy_json_schema() -> Value {
    fn close(v: &mut Value) {
        if let Value::Object(m) = v {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            let rules = m.remove("x-kubernetes-validations");
            for child in m.values_mut() {
                close(child);
            }
            // The conditions are partial schemas: they stay open.
            if let Some(Value::Array(rules)) = rules {
                let all: Vec<Value> = rules
                    .iter()
                    .map(|r| cel_as_json_schema(r["rule"].as_str().unwrap_or("")))
                    .collect();
                m.insert("allOf".into(), Value::Array(all));
            }
        } else if let Value::Array(a) = v {
            a.iter_mut().for_each(close);
        }
    }
    let mut spec = crd_schema()["properties"]["spec"].clone();
    close(&mut spec);
    let crd = crd();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://runai-secrets-policy.example/schemas/secretpolicy.schema.json",
        "title": "SecretPolicy",
        "description": crd_schema()["description"],
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": format!("{}/{}", crd["spec"]["group"].as_str().unwrap(), crd["spec"]["versions"][0]["name"].as_str().unwrap())},
            "kind": {"const": crd["spec"]["names"]["kind"]},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "namespace": {"type": "string", "description": "runai: the whole cluster; a project namespace: that project"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            },
            "spec": spec
        }
    })
}

fn suite_json_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(host::suite::model::Suite)).unwrap();
    if let Value::Object(m) = &mut schema {
        m.insert(
            "$id".into(),
            json!("https://runai-secrets-policy.example/schemas/suite.schema.json"),
        );
        m.insert(
            "description".into(),
            json!("A policy test suite for `host test` (SPEC §8): a cluster, policies, and steps with expectations."),
        );
    }
    schema
}

fn current(file: &str, generated: &Value) -> Value {
    let path = root().join("schemas").join(file);
    let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is not current: run `UPDATE_SCHEMAS=1 cargo test -p host --test schemas`",
        path.display()
    );
    generated.clone()
}

// ---------------------------------------------------------------- the tests

#[test]
fn the_crd_round_trips_through_its_api_type() {
    let doc = crd();
    let typed: CustomResourceDefinition = serde_json::from_value(doc.clone()).expect("a CRD");
    // The API type keeps `minimum` as a float: 8 comes back as 8.0, which is the same.
    fn numbers_as_floats(v: &Value) -> Value {
        match v {
            Value::Number(n) => json!(n.as_f64()),
            Value::Array(a) => Value::Array(a.iter().map(numbers_as_floats).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    assert_eq!(
        numbers_as_floats(&serde_json::to_value(&typed).unwrap()),
        numbers_as_floats(&doc),
        "changed in a round trip through the API type (a misspelled or misplaced field?)"
    );
    assert_eq!(typed.spec.names.kind, "SecretPolicy");
    let version = &typed.spec.versions[0];
    assert!(version.served && version.storage);
}

/// Every SecretPolicy document anywhere in the repository (inline in suites and
/// case tables too).
fn secret_policies() -> Vec<(String, Value)> {
    fn collect(v: &Value, source: &str, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                if m.get("kind").and_then(Value::as_str) == Some("SecretPolicy") {
                    out.push((source.to_string(), v.clone()));
                }
                m.values().for_each(|c| collect(c, source, out));
            }
            Value::Array(a) => a.iter().for_each(|c| collect(c, source, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for dir in ["policies", "tests/suites", "tests/policies"] {
        for file in host::walk::files(&root().join(dir), true, &host::walk::is_manifest).unwrap() {
            let text = std::fs::read_to_string(&file).unwrap();
            // Case tables use YAML anchors; read them as plain YAML.
            let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect();
            for d in docs {
                collect(&d, &file.display().to_string(), &mut out);
            }
        }
    }
    out
}

#[test]
fn every_secretpolicy_example_validates_against_the_crd_and_the_editor_schema() {
    let editor = current("secretpolicy.schema.json", &secretpolicy_json_schema());
    let crd_schema = crd_schema();
    let policies = secret_policies();
    assert!(
        policies.len() >= 15,
        "found {} SecretPolicies",
        policies.len()
    );
    let mut failures = Vec::new();
    for (source, policy) in &policies {
        // The policy cases that must fail at load are expected to fail here too.
        let must_fail = host_refuses(policy);
        for (what, schema) in [("CRD", &crd_schema), ("editor schema", &editor)] {
            let p = problems(schema, policy, true);
            if p.is_empty() == must_fail {
                failures.push(format!(
                    "{source}: {}: the {what} says {p:?}, the plugin {}",
                    policy["metadata"]["name"],
                    if must_fail {
                        "refuses it"
                    } else {
                        "accepts it"
                    }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the plugin refuses a policy at load.
fn host_refuses(policy: &Value) -> bool {
    static PLUGIN: std::sync::OnceLock<host::plugin::Plugin> = std::sync::OnceLock::new();
    let plugin = PLUGIN.get_or_init(|| host::plugin::Plugin::builtin().expect("plugin"));
    let diagnostics = plugin
        .check_policies(
            &[host::plugin::PolicyDocument {
                source: "p".into(),
                json: policy.to_string(),
            }],
            &[],
        )
        .expect("runs");
    !diagnostics.is_empty()
}

#[test]
fn mistakes_are_refused_by_the_schema_and_by_the_plugin_alike() {
    let base = json!({
        "apiVersion": "secrets.policy.run.ai/v1alpha1",
        "kind": "SecretPolicy",
        "metadata": {"name": "p", "namespace": "runai"},
        "spec": {}
    });
    // (spec, accepted) — every field the schema knows, valid and not.
    let full = json!({"enforcement": "warn", "sensitiveEnvNames": ["*TOKEN*"], "allowedSecrets": ["a-*"], "deniedSecrets": ["b"],
                "requireExistingReferences": true, "allowOptionalReferences": false, "allowEnvFrom": false,
                "allowSecretsInArgs": false, "envNameValidation": "strict", "secretRemoval": "deny",
                "allowedSecretUses": ["env", "envFrom", "volume", "imagePull"],
                "allowedSecretSelector": {"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["dev"]}]},
                "credentialLiterals": {"detectors": ["jwt", "high-entropy"], "entropy": {"minLength": 40, "minBitsPerChar": 4.2},
                                       "allowedValues": ["sha256:43a979d7d1da0297e0076d9e2b6e20908c96f1f88b1c8848e23aa2d848660fc4"]}});
    let cases = [
        (full.clone(), true),
        (json!({"enforcement": "block"}), false),
        (json!({"secretRemoval": "refuse"}), false),
        (json!({"sensitiveEnvName": ["*"]}), false),
        (json!({"allowedSecretUses": ["files"]}), false),
        (json!({"allowEnvFrom": "no"}), false),
        (json!({"envNameValidation": "loose"}), false),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "Like", "values": ["x"]}]}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchLabel": {"a": "b"}}}),
            false,
        ),
        (
            json!({"credentialLiterals": {"detectors": ["github"]}}),
            false,
        ),
        (
            json!({"credentialLiterals": {"allowedValues": ["ghp_plain"]}}),
            false,
        ),
        (
            json!({"credentialLiterals": {"entropy": {"minLength": 4}}}),
            false,
        ),
        (
            json!({"credentialLiterals": {"entropy": {"minBitsPerChar": 9}}}),
            false,
        ),
        (json!({"credentialLiterals": {"allowed": []}}), false),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "In"}]}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "Exists", "values": ["x"]}]}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "Exists"}]}}),
            true,
        ),
        // Label keys and values, as the API server takes them.
        (
            json!({"allowedSecretSelector": {"matchLabels": {"a b": "c"}}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchLabels": {"example.com/tier": "gpu-1"}}}),
            true,
        ),
        (
            json!({"allowedSecretSelector": {"matchLabels": {"tier": "a b"}}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchLabels": {"tier": "x".repeat(64)}}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "-t", "operator": "Exists"}]}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "In", "values": ["a b"]}]}}),
            false,
        ),
        // Sizes: the plugin's bounds, the same in the CRD.
        (json!({"sensitiveEnvNames": vec!["*X*"; 1024]}), true),
        (json!({"sensitiveEnvNames": vec!["*X*"; 1025]}), false),
        (json!({"deniedSecrets": ["x".repeat(257)]}), false),
        (json!({"allowedSecrets": vec!["a"; 1025]}), false),
        (
            json!({"allowedSecretSelector": {"matchLabels": (0..65).map(|i| (format!("k{i}"), json!("v"))).collect::<Map<String, Value>>()}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": vec![json!({"key": "t", "operator": "Exists"}); 33]}}),
            false,
        ),
        (
            json!({"allowedSecretSelector": {"matchExpressions": [{"key": "t", "operator": "In", "values": vec!["v"; 65]}]}}),
            false,
        ),
        (
            json!({"credentialLiterals": {"allowedValues": vec!["sha256:43a979d7d1da0297e0076d9e2b6e20908c96f1f88b1c8848e23aa2d848660fc4"; 1025]}}),
            false,
        ),
    ];
    let editor = secretpolicy_json_schema();
    let crd_schema = crd_schema();
    for (spec, accepted) in cases {
        let mut policy = base.clone();
        policy["spec"] = spec.clone();
        assert_eq!(!host_refuses(&policy), accepted, "plugin on {spec}");
        assert_eq!(
            problems(&editor, &policy, true).is_empty(),
            accepted,
            "editor schema on {spec}"
        );
        assert_eq!(
            problems(&crd_schema, &policy, true).is_empty(),
            accepted,
            "CRD on {spec}"
        );
    }
    // The first case sets every field the schema knows: a field added to the schema
    // must be added there, where the plugin has to accept it.
    let mut known: Vec<&String> = crd_schema["properties"]["spec"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut covered: Vec<&String> = full.as_object().unwrap().keys().collect();
    known.sort();
    covered.sort();
    assert_eq!(known, covered);
}

#[test]
fn every_suite_validates_against_the_suite_schema() {
    let schema = current("suite.schema.json", &suite_json_schema());
    let mut suites = Vec::new();
    for dir in ["policies", "tests/suites"] {
        suites.extend(
            host::walk::files(&root().join(dir), true, &|n: &str| {
                n.ends_with(".suite.yaml")
            })
            .unwrap(),
        );
    }
    suites.push(root().join("tests/failing/wrong-expectations.yaml"));
    assert!(suites.len() >= 9, "{suites:?}");
    for file in &suites {
        let doc = yaml_docs(file).remove(0);
        let p = problems(&schema, &doc, true);
        assert!(p.is_empty(), "{}: {p:?}", file.display());
    }
    // A typo is refused by the schema as by `host test`.
    let mut typo: Map<String, Value> = Map::new();
    typo.insert(
        "steps".into(),
        json!([{"submit": {"project": "team-a"}, "expext": {"allowed": true}}]),
    );
    assert!(!problems(&schema, &Value::Object(typo), true).is_empty());
}

/// Every policy mistake the plugin's cases refuse at load (`tests/policies/cases.yaml`),
/// and who refuses it first in a cluster: the API server, from the SecretPolicy CRD's
/// schema (`crd`), or only the gateway's validating webhook, which runs the plugin's
/// checks (`webhook`: Run:ai's V1 CRDs have no strict schema, and no schema sees a
/// pair of objects); V2 policies are not Kubernetes objects and are checked when the
/// `--policy` files load (`files`). A new case must be placed here.
#[test]
fn which_policy_mistakes_only_the_webhook_catches() {
    let expected: &[(&str, &str)] = &[
        (
            "v2 the same rule set twice in one branch is a conflict",
            "files",
        ),
        ("v2 a department and one of its projects conflict", "files"),
        ("v2 a default with two sources is refused", "files"),
        ("a malformed SECRET default is refused at load", "webhook"),
        ("an unknown rule is refused at load", "webhook"),
        ("an unknown enforcement mode is refused at load", "crd"),
        (
            "two V1 policies of one kind in one namespace conflict",
            "webhook",
        ),
        (
            "an allowed value that is not a SHA-256 is refused at load",
            "crd",
        ),
        ("an unknown detector is refused at load", "crd"),
        (
            "a selector operator without values is refused at load",
            "crd",
        ),
        (
            "a selector key that is not a label key is refused at load (the API server accepted it before its CRD said so)",
            "crd",
        ),
        (
            "a policy spec given as a list is refused, not read field by field",
            "crd",
        ),
    ];
    let schema = crd_schema();
    let cases: Vec<Value> = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("tests/policies/cases.yaml")).unwrap(),
    )
    .unwrap();
    let mut found: Vec<(String, &str)> = Vec::new();
    for case in cases.iter().filter(|c| c.get("load_error").is_some()) {
        let policies = case["policies"].as_array().cloned().unwrap_or_default();
        let who = if policies.iter().all(|p| p.get("kind").is_none()) {
            "files"
        } else if policies
            .iter()
            .any(|p| p["kind"] == "SecretPolicy" && !problems(&schema, p, true).is_empty())
        {
            "crd"
        } else {
            "webhook"
        };
        found.push((case["name"].as_str().unwrap_or("").to_string(), who));
    }
    let found: Vec<(&str, &str)> = found.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    assert_eq!(found, expected);
}

//! Comparing an outcome with a step's expectations. Each mismatch is a small diff:
//! `-` what the suite expects, `+` what happened.

use super::model::{
    AuditExpect, ContainerExpect, EnvExpect, Expect, FindingExpect, RemovalExpect, SkippedExpect,
};
use crate::audit::guard::Answer;
use crate::audit::offline::Audited;
use crate::documents::Skipped;
use crate::plugin::EnvSource;
use crate::report;
use crate::simulate::Outcome;
use serde_json::Value;
use std::collections::HashSet;

/// Lines only in `expected` get `-`, only in `actual` `+`, both a space.
pub fn diff(what: &str, expected: &[String], actual: &[String]) -> String {
    let mut out = format!("  {what}:\n");
    for line in expected {
        let mark = if actual.contains(line) { ' ' } else { '-' };
        out.push_str(&format!("    {mark} {line}\n"));
    }
    for line in actual.iter().filter(|l| !expected.contains(l)) {
        out.push_str(&format!("    + {line}\n"));
    }
    out
}

fn one(what: &str, expected: String, actual: String) -> Option<String> {
    (expected != actual).then(|| diff(what, &[expected], &[actual]))
}

/// Findings as `code at field` plus what the expectation asks of the message and policy.
fn findings(
    what: &str,
    expected: &[FindingExpect],
    actual: &[(String, String, String, String)],
) -> Option<String> {
    let mut want: Vec<String> = Vec::new();
    let mut got: Vec<String> = Vec::new();
    let mut unmatched: Vec<&(String, String, String, String)> = actual.iter().collect();
    for e in expected {
        let line = match &e.field {
            Some(f) => format!("{} at {f}", e.code),
            None => e.code.clone(),
        };
        let position = unmatched.iter().position(|(code, field, message, policy)| {
            *code == e.code
                && e.field.as_ref().is_none_or(|f| f == field)
                && e.message
                    .as_ref()
                    .is_none_or(|m| message.contains(m.as_str()))
                && e.message_regex
                    .as_ref()
                    .is_none_or(|r| regex_lite::Regex::new(r).is_ok_and(|re| re.is_match(message)))
                && e.policy.as_ref().is_none_or(|p| {
                    let policy = if policy.is_empty() {
                        "built-in"
                    } else {
                        policy
                    };
                    policy.contains(p.as_str())
                })
        });
        let mut detail = line.clone();
        if let Some(m) = &e.message {
            detail.push_str(&format!(" (message contains {m:?})"));
        }
        if let Some(r) = &e.message_regex {
            detail.push_str(&format!(" (message matches /{r}/)"));
        }
        if let Some(p) = &e.policy {
            detail.push_str(&format!(" (policy {p:?})"));
        }
        match position {
            Some(i) => {
                unmatched.remove(i);
                want.push(detail.clone());
                got.push(detail);
            }
            None => want.push(detail),
        }
    }
    for (code, field, message, policy) in unmatched {
        let by = if policy.is_empty() {
            String::new()
        } else {
            format!(" [{policy}]")
        };
        got.push(format!("{code} at {field}: {message}{by}"));
    }
    (want != got).then(|| diff(what, &want, &got))
}

fn source(s: &EnvSource) -> (Option<String>, Option<String>) {
    match s {
        EnvSource::Secret(r) => (Some(format!("{}/{}", r.name, r.key)), None),
        EnvSource::Literal(v) => (None, Some(v.clone())),
        _ => (None, None),
    }
}

fn env(expected: &[EnvExpect], outcome: &Outcome) -> Option<String> {
    let describe = |container: &str,
                    name: &str,
                    secret: &Option<String>,
                    literal: &Option<String>,
                    origin: &str| {
        let mut s = format!("{container}/{name}");
        if let Some(x) = secret {
            s.push_str(&format!(" <- secret {x}"));
        }
        if let Some(v) = literal {
            s.push_str(&format!(" = {v:?}"));
        }
        if !origin.is_empty() {
            s.push_str(&format!(" [{origin}]"));
        }
        s
    };
    let mut want = Vec::new();
    let mut got = Vec::new();
    // (container, variable, origin as reports print it)
    let mut unmatched: Vec<_> = outcome
        .decision
        .env
        .iter()
        .flat_map(|c| {
            c.vars
                .iter()
                .map(move |v| (&c.container, v, report::origin_text(v.origin.as_deref())))
        })
        .collect();
    for e in expected {
        let line = describe(
            e.container.as_deref().unwrap_or("*"),
            &e.name,
            &e.secret,
            &e.literal,
            e.origin.as_deref().unwrap_or(""),
        );
        let position = unmatched.iter().position(|(container, v, origin)| {
            let (secret, literal) = source(&v.source);
            v.name == e.name
                && e.container.as_ref().is_none_or(|c| c == *container)
                && e.secret.as_ref().is_none_or(|s| Some(s) == secret.as_ref())
                && e.literal
                    .as_ref()
                    .is_none_or(|l| Some(l) == literal.as_ref())
                && e.origin
                    .as_ref()
                    .is_none_or(|o| origin.contains(o.as_str()))
        });
        if let Some(i) = position {
            unmatched.remove(i);
            got.push(line.clone());
        }
        want.push(line);
    }
    for (container, v, origin) in unmatched {
        let (secret, literal) = source(&v.source);
        got.push(describe(container, &v.name, &secret, &literal, &origin));
    }
    (want != got).then(|| diff("env", &want, &got))
}

fn containers(expected: &[ContainerExpect], outcome: &Outcome) -> Option<String> {
    let actual = &outcome.decision.startup.containers;
    let mut want = Vec::new();
    let mut got = Vec::new();
    for (i, e) in expected.iter().enumerate() {
        let line = format!(
            "{}: {} {} {}",
            e.name,
            e.state.as_deref().unwrap_or("*"),
            e.reason.as_deref().unwrap_or("*"),
            e.message
                .as_deref()
                .map(|m| format!("(message contains {m:?})"))
                .unwrap_or_default()
        );
        let matches = actual.get(i).is_some_and(|c| {
            c.name == e.name
                && e.state.as_ref().is_none_or(|s| *s == c.state)
                && e.reason.as_ref().is_none_or(|r| *r == c.reason)
                && e.message
                    .as_ref()
                    .is_none_or(|m| c.message.contains(m.as_str()))
        });
        want.push(line.clone());
        if matches {
            got.push(line);
        } else if let Some(c) = actual.get(i) {
            got.push(format!(
                "{}: {} {} {}",
                c.name, c.state, c.reason, c.message
            ));
        }
    }
    for c in actual.iter().skip(expected.len()) {
        got.push(format!(
            "{}: {} {} {}",
            c.name, c.state, c.reason, c.message
        ));
    }
    (want != got).then(|| diff("startup.containers", &want, &got))
}

fn json_lines(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(Value::to_string).collect(),
        other => serde_json::to_string_pretty(other)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

/// The variables whose literal values the decision shows as `<redacted>`.
fn redacted_names(outcome: &Outcome) -> HashSet<&str> {
    outcome
        .decision
        .env
        .iter()
        .flat_map(|c| &c.vars)
        .filter(
            |v| matches!(&v.source, EnvSource::Literal(value) if value == guest::kubelet::REDACTED),
        )
        .map(|v| v.name.as_str())
        .collect()
}

/// The strings that `credential-literal` findings point at outside env entries
/// (`command`/`args` items, a Run:ai `arguments` string): shown redacted wherever they
/// appear in a report's diff, as the decision never shows them.
fn credential_strings(outcome: &Outcome, submitted: &Value) -> HashSet<String> {
    let d = &outcome.decision;
    d.violations
        .iter()
        .map(|v| (&v.code, &v.field))
        .chain(d.warnings.iter().map(|w| (&w.code, &w.field)))
        .filter(|(code, _)| *code == "credential-literal")
        .filter_map(|(_, field)| crate::field::string_at(submitted, field))
        .map(str::to_string)
        .collect()
}

/// A copy of `doc` with every string in `values` redacted.
fn redact_strings(doc: &Value, values: &HashSet<String>) -> Value {
    match doc {
        Value::String(s) if values.contains(s) => {
            Value::String(guest::kubelet::REDACTED.to_string())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_strings(v, values)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_strings(v, values)).collect())
        }
        other => other.clone(),
    }
}

/// A copy of a workload document with the literal values of `names` redacted wherever
/// an env entry holds one: `{name: N, value: V}` list entries (pod env, the REST API)
/// and `N: {value: V}` map items (Run:ai CRDs).
fn redact_literals(doc: &Value, names: &HashSet<&str>) -> Value {
    let redacted = || Value::String(guest::kubelet::REDACTED.to_string());
    match doc {
        Value::Object(map) => {
            let entry_name = map.get("name").and_then(Value::as_str);
            let is_entry = entry_name.is_some_and(|n| names.contains(n));
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(_) if is_entry && k == "value" => redacted(),
                            Value::Object(item)
                                if names.contains(k.as_str())
                                    && item.get("value").is_some_and(Value::is_string) =>
                            {
                                let mut item = item.clone();
                                item.insert("value".to_string(), redacted());
                                Value::Object(item)
                            }
                            other => redact_literals(other, names),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_literals(v, names)).collect())
        }
        other => other.clone(),
    }
}

/// Every mismatch between the expectation and the outcome, as diff blocks, and after
/// them what the plugin actually found (as `kyverno test` and `gator verify` give the
/// reason), redacted as every report is.
pub fn outcome(
    expect: &Expect,
    outcome: &Outcome,
    submitted: &Value,
    skipped: &[Skipped],
) -> Vec<String> {
    let mut failures = mismatches(expect, outcome, submitted);
    if let Some(want) = &expect.skipped {
        failures.extend(skipped_documents(want, skipped));
    }
    if !failures.is_empty() {
        failures.push(actual_findings(outcome));
    }
    failures
}

/// The decision's verdict and findings: code, field, message and policy.
fn actual_findings(outcome: &Outcome) -> String {
    use crate::text::{shown, shown_max};
    let d = &outcome.decision;
    let mut out = format!(
        "  actual decision: {}\n",
        if d.allowed { "admitted" } else { "rejected" }
    );
    if d.violations.is_empty() && d.warnings.is_empty() {
        out.push_str("    (no findings)\n");
    }
    let at = |field: &str| {
        if field.is_empty() {
            String::new()
        } else {
            format!(" at {}", shown(field))
        }
    };
    for v in &d.violations {
        let by = if v.policy.is_empty() {
            "built-in check".to_string()
        } else {
            shown(&v.policy).into_owned()
        };
        out.push_str(&format!(
            "    x {}{}: {} ({by})\n",
            shown(&v.code),
            at(&v.field),
            shown_max(&v.message, 2000)
        ));
    }
    for w in &d.warnings {
        out.push_str(&format!(
            "    ! {}{}: {}\n",
            shown(&w.code),
            at(&w.field),
            shown_max(&w.message, 2000)
        ));
    }
    out
}

/// The skipped documents as `kind name: reason`, matched in any order.
fn skipped_documents(expected: &[SkippedExpect], actual: &[Skipped]) -> Option<String> {
    let mut want = Vec::new();
    let mut got = Vec::new();
    let mut unmatched: Vec<&Skipped> = actual.iter().collect();
    for e in expected {
        let line = format!(
            "{} {}{}",
            e.kind,
            e.name.as_deref().unwrap_or("*"),
            e.reason
                .as_deref()
                .map(|r| format!(": (reason contains {r:?})"))
                .unwrap_or_default()
        );
        let position = unmatched.iter().position(|s| {
            s.kind == e.kind
                && e.name.as_ref().is_none_or(|n| *n == s.name)
                && e.reason
                    .as_ref()
                    .is_none_or(|r| s.reason.contains(r.as_str()))
        });
        if let Some(i) = position {
            unmatched.remove(i);
            got.push(line.clone());
        }
        want.push(line);
    }
    for s in unmatched {
        got.push(format!("{} {}: {}", s.kind, s.name, s.reason));
    }
    (want != got).then(|| diff("skipped", &want, &got))
}

fn mismatches(expect: &Expect, outcome: &Outcome, submitted: &Value) -> Vec<String> {
    let d = &outcome.decision;
    let mut failures = Vec::new();
    if let Some(a) = expect.allowed {
        failures.extend(one("allowed", a.to_string(), d.allowed.to_string()));
    }
    if let Some(code) = expect.exit {
        let actual = report::exit_code(std::slice::from_ref(outcome));
        failures.extend(one("exit", code.to_string(), actual.to_string()));
    }
    let as_tuple = |code: &str, field: &str, message: &str, policy: &str| {
        (
            code.to_string(),
            field.to_string(),
            message.to_string(),
            policy.to_string(),
        )
    };
    if let Some(v) = &expect.violations {
        let actual: Vec<_> = d
            .violations
            .iter()
            .map(|x| as_tuple(&x.code, &x.field, &x.message, &x.policy))
            .collect();
        failures.extend(findings("violations", v, &actual));
    }
    if let Some(w) = &expect.warnings {
        let actual: Vec<_> = d
            .warnings
            .iter()
            .map(|x| as_tuple(&x.code, &x.field, &x.message, ""))
            .collect();
        failures.extend(findings("warnings", w, &actual));
    }
    if let Some(e) = &expect.env {
        failures.extend(env(e, outcome));
    }
    let patch: Value = serde_json::from_str(&d.patch).unwrap_or(Value::Null);
    if let Some(p) = &expect.patch
        && *p != patch
    {
        failures.push(diff("patch", &json_lines(p), &json_lines(&patch)));
    }
    if let Some(want) = &expect.patched {
        let mut doc = submitted.clone();
        let applied = serde_json::from_value::<json_patch::Patch>(patch)
            .map_err(|e| e.to_string())
            .and_then(|ops| json_patch::patch(&mut doc, &ops).map_err(|e| e.to_string()));
        match applied {
            Err(e) => failures.push(format!("  patched:\n    the patch does not apply: {e}\n")),
            Ok(()) if doc != *want => {
                // Both sides are shown with sensitive literals redacted, as the decision
                // shows them: the workload's own values must not reach the report.
                let names = redacted_names(outcome);
                let credentials = credential_strings(outcome, submitted);
                let shown = |v: &Value| redact_strings(&redact_literals(v, &names), &credentials);
                failures.push(diff(
                    "patched",
                    &json_lines(&shown(want)),
                    &json_lines(&shown(&doc)),
                ))
            }
            Ok(()) => {}
        }
    }
    if let Some(s) = &expect.startup {
        if let Some(starts) = s.starts {
            failures.extend(one(
                "startup.starts",
                starts.to_string(),
                d.startup.starts.to_string(),
            ));
        }
        if let Some(c) = &s.containers {
            failures.extend(containers(c, outcome));
        }
    }
    failures
}

/// What the removal guard said against `expected`; no answer: nothing used what went.
pub fn removal(expected: &RemovalExpect, answer: Option<&Answer>) -> Option<String> {
    let refused = answer.is_some_and(|a| !a.allowed);
    let breaks: Vec<String> = answer.map(|a| a.breaks.clone()).unwrap_or_default();
    let message = answer.map(|a| a.messages.join("; ")).unwrap_or_default();
    let mut out = String::new();
    if let Some(r) = expected.refused
        && let Some(d) = one("removal refused", r.to_string(), refused.to_string())
    {
        out.push_str(&d);
    }
    if let Some(want) = &expected.breaks {
        let mut want = want.clone();
        let mut got = breaks.clone();
        want.sort();
        got.sort();
        if want != got {
            out.push_str(&diff("removal breaks", &want, &got));
        }
    }
    if let Some(m) = &expected.message
        && !message.contains(m.as_str())
    {
        out.push_str(&diff(
            "removal message",
            &[format!("contains {m:?}")],
            std::slice::from_ref(&message),
        ));
    }
    (!out.is_empty()).then_some(out)
}

/// An audit's workloads against `expected`: exactly these, each with its result and
/// (when given) exactly its findings.
pub fn audit(expected: &[AuditExpect], audited: &[Audited]) -> Option<String> {
    let mut out = String::new();
    let mut unmatched: Vec<&Audited> = audited.iter().collect();
    let mut want = Vec::new();
    let mut got = Vec::new();
    for e in expected {
        let (kind, name) = e.workload.split_once('/').unwrap_or(("", &e.workload));
        let position = unmatched.iter().position(|a| match a {
            Audited::Checked(c) => {
                let k = &c.record.key;
                k.kind.eq_ignore_ascii_case(kind)
                    && k.name == name
                    && e.namespace.as_ref().is_none_or(|ns| *ns == k.namespace)
            }
            Audited::Skipped { .. } => false,
        });
        let line = match &e.namespace {
            Some(ns) => format!("{} in {ns}", e.workload),
            None => e.workload.clone(),
        };
        let Some(i) = position else {
            want.push(line);
            continue;
        };
        want.push(line.clone());
        got.push(line.clone());
        let Audited::Checked(c) = unmatched.remove(i) else {
            continue;
        };
        let result = if c.fails() {
            "fail"
        } else if c.record.findings.is_empty() {
            "pass"
        } else {
            "warn"
        };
        if let Some(r) = &e.result
            && let Some(d) = one(&format!("{line}: result"), r.clone(), result.to_string())
        {
            out.push_str(&d);
        }
        if let Some(f) = &e.findings {
            let actual: Vec<(String, String, String, String)> = c
                .record
                .findings
                .iter()
                .map(|f| {
                    (
                        f.code.clone(),
                        f.field.clone(),
                        f.message.clone(),
                        f.policy.clone(),
                    )
                })
                .collect();
            if let Some(d) = findings(&format!("{line}: findings"), f, &actual) {
                out.push_str(&d);
            }
        }
    }
    for a in unmatched {
        got.push(match a {
            Audited::Checked(c) => {
                let k = &c.record.key;
                format!("{}/{} in {}", k.kind, k.name, k.namespace)
            }
            Audited::Skipped { source, reason, .. } => format!("{source} (skipped: {reason})"),
        });
    }
    if want != got {
        out.insert_str(0, &diff("audited workloads", &want, &got));
    }
    (!out.is_empty()).then_some(out)
}

//! `host workload list|delete`: the workloads the state recorded.

use crate::audit::offline::Stored;
use crate::report::Format;
use crate::state::{Outcome, StateDir};
use crate::text::{shown, shown_max, some};
use crate::workloads::{Finding, Outcome as Result_, Reference};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// A recorded workload as `-o json|yaml` shows it.
#[derive(Serialize)]
struct Listed<'a> {
    kind: &'a str,
    name: &'a str,
    namespace: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    source: &'a str,
    references: &'a [Reference],
    /// The findings of its last full evaluation (at submission); `host audit` decides
    /// them again against the current state.
    findings: &'a [Finding],
}

fn listed(s: &Stored) -> Listed<'_> {
    let r = &s.record;
    Listed {
        kind: &r.key.kind,
        name: &r.key.name,
        namespace: &r.key.namespace,
        owner: r.owner.as_ref().map(|o| format!("{}/{}", o.kind, o.name)),
        source: &s.source,
        references: &r.references,
        findings: &r.findings,
    }
}

pub fn list(dir: &Path, namespace: Option<&str>, output: Format) -> Result<u8> {
    let state = StateDir::new(dir).read_state()?;
    let shown_ones: Vec<&Stored> = state
        .workloads
        .iter()
        .filter(|w| namespace.is_none_or(|ns| w.record.key.namespace == ns))
        .collect();
    match output {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &shown_ones.iter().map(|s| listed(s)).collect::<Vec<_>>()
            )?
        ),
        Format::Yaml => print!(
            "{}",
            serde_yaml_ng::to_string(&serde_json::to_value(
                shown_ones.iter().map(|s| listed(s)).collect::<Vec<_>>()
            )?)?
        ),
        Format::Text => {
            println!(
                "{:<24} {:<20} {:<28} {:<32} FINDINGS AT SUBMISSION",
                "NAMESPACE", "KIND", "NAME", "SECRETS"
            );
            for s in &shown_ones {
                let r = &s.record;
                let count = |o: Result_| r.findings.iter().filter(|f| f.outcome == o).count();
                println!(
                    "{:<24} {:<20} {:<28} {:<32} {} fail, {} warn",
                    shown(&r.key.namespace),
                    shown(&r.key.kind),
                    shown(&r.key.name),
                    shown_max(&some(&r.secrets()), 400),
                    count(Result_::Fail),
                    count(Result_::Warn)
                );
            }
        }
    }
    Ok(0)
}

pub fn delete(dir: &Path, namespace: &str, arg: &str) -> Result<u8> {
    let key = StateDir::new(dir).change_state(false, |state| {
        Ok(Outcome::Write(state.workloads.delete(namespace, arg)?))
    })?;
    println!(
        "{} {}/{} deleted",
        key.kind,
        shown(&key.namespace),
        shown(&key.name)
    );
    Ok(0)
}

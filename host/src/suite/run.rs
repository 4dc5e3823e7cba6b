//! Running one suite: set up its cluster in memory, then each step in order.

use super::check;
use super::model::{Expect, Step, Suite};
use crate::cluster::{Cluster, load_documents};
use crate::documents::{self, Entry, Skipped};
use crate::input::{self, Limit};
use crate::manifest::{self, Document};
use crate::plugin::Plugin;
use crate::simulate::{Outcome, Reported, Scope, check_policies, simulate_documents, simulate_one};
use crate::{demo, submit};
use anyhow::{Result, anyhow, bail};
use guest::shown::{redact_serde_message, shown};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    /// Diff blocks; empty when the case passed.
    pub failures: Vec<String>,
    /// Documents of the step's workload file that are not workloads.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone)]
pub struct SuiteResult {
    pub file: String,
    pub name: String,
    pub cases: Vec<CaseResult>,
}

pub fn load(path: &Path) -> Result<Suite> {
    let text = input::read_text(path, Limit::new("suite", input::MANIFEST_CAP))?;
    parse(&text, path)
}

/// A suite from its text; `path` names the file in errors (public for the fuzzer).
pub fn parse(text: &str, path: &Path) -> Result<Suite> {
    let name = input::display(path);
    let mut docs = manifest::parse(text, &name)?;
    if docs.len() != 1 {
        bail!(
            "{name}: expected one suite (a YAML mapping with `steps`), found {} documents",
            docs.len()
        );
    }
    let suite: Suite = serde_path_to_error::deserialize(docs.remove(0).value).map_err(|e| {
        let path = e.path().to_string();
        let message = redact_serde_message(&e.into_inner().to_string());
        if path == "." {
            anyhow!("{name}: not a valid suite: {message}")
        } else {
            anyhow!("{name}: not a valid suite: `{}`: {message}", shown(&path))
        }
    })?;
    for (i, step) in suite.steps.iter().enumerate() {
        let Some(expect) = &step.expect else { continue };
        let findings = expect
            .violations
            .iter()
            .flatten()
            .chain(expect.warnings.iter().flatten());
        for regex in findings.filter_map(|f| f.message_regex.as_ref()) {
            regex_lite::Regex::new(regex).map_err(|e| {
                anyhow!(
                    "{}: steps[{i}].expect: `message_regex` {regex:?} is not a valid regex: {e}",
                    path.display()
                )
            })?;
        }
    }
    Ok(suite)
}

/// Manifests from a suite value: a file (relative to the suite), an inline manifest,
/// or a list of either.
fn documents(value: &Value, dir: &Path, at: &str) -> Result<Vec<Document>> {
    match value {
        Value::String(file) => manifest::read_file(&dir.join(file)),
        Value::Array(items) => {
            let mut docs = Vec::new();
            for (i, item) in items.iter().enumerate() {
                docs.extend(documents(item, dir, &format!("{at}[{i}]"))?);
            }
            Ok(docs)
        }
        Value::Object(_) => Ok(vec![Document {
            source: at.to_string(),
            value: value.clone(),
        }]),
        _ => bail!("`{at}`: expected a file name, a manifest or a list of them"),
    }
}

fn setup(suite: &Suite, dir: &Path, file: &str, plugin: &Plugin) -> Result<Cluster> {
    let mut cluster = match &suite.cluster {
        None => demo::cluster()?,
        Some(Value::String(s)) if s == "demo" => demo::cluster()?,
        Some(v) => {
            let mut c = Cluster::default();
            load_documents(&mut c, &documents(v, dir, &format!("{file} cluster"))?)?;
            c
        }
    };
    for (i, p) in suite.policies.iter().enumerate() {
        load_documents(
            &mut cluster,
            &documents(p, dir, &format!("{file} policies[{i}]"))?,
        )?;
    }
    check_policies(plugin, &cluster)?;
    Ok(cluster)
}

fn step_name(step: &Step, i: usize) -> String {
    if let Some(n) = &step.name {
        return n.clone();
    }
    let what = if let Some(s) = &step.submit {
        format!(
            "submit -p {} {}",
            s.project,
            // Names only: a case name is printed in every report format, and a value
            // may be a credential.
            s.env
                .iter()
                .map(|e| format!(
                    "-e {}=...",
                    shown(e.split_once('=').map_or("?", |(n, _)| n))
                ))
                .collect::<Vec<_>>()
                .join(" ")
        )
    } else if let Some(Value::String(f)) = &step.simulate {
        format!("simulate {f}")
    } else if step.simulate.is_some() {
        "simulate (inline)".to_string()
    } else if step.apply.is_some() {
        "apply".to_string()
    } else if let Some(p) = &step.project {
        format!(
            "project {}",
            p.create.as_deref().map_or("delete", |_| "create")
        )
    } else if let Some(d) = &step.secret {
        format!("secret delete {}/{}", d.namespace, d.delete)
    } else {
        "adm".to_string()
    };
    format!("step {}: {}", i + 1, what.trim())
}

/// A step that changes the cluster. Its result is an error message or nothing.
fn change(step: &Step, cluster: &mut Cluster, dir: &Path, at: &str, plugin: &Plugin) -> Result<()> {
    if let Some(v) = &step.apply {
        let docs = documents(v, dir, &format!("{at}.apply"))?;
        let mut next = cluster.clone();
        load_documents(&mut next, &docs)?;
        check_policies(plugin, &next)?;
        *cluster = next;
    } else if let Some(p) = &step.project {
        match (&p.create, &p.delete) {
            (Some(name), None) => {
                cluster.create_project(
                    name,
                    p.namespace.clone(),
                    p.department.clone(),
                    p.id.clone(),
                )?;
            }
            (None, Some(name)) => cluster.delete_project(name)?,
            _ => bail!("`{at}.project`: expected exactly one of `create` and `delete`"),
        }
    } else if let Some(a) = &step.adm {
        match (&a.set, &a.remove) {
            (Some(name), None) => drop(cluster.set_cluster_wide(name)?),
            (None, Some(name)) => drop(cluster.remove_cluster_wide(name)?),
            _ => bail!("`{at}.adm`: expected exactly one of `set` and `remove`"),
        }
    } else if let Some(d) = &step.secret {
        cluster.delete_secret(&d.namespace, &d.delete)?;
    }
    Ok(())
}

/// What a workload step evaluates: the submitted workload, or the one workload of
/// its file (its Secrets and policies applied for this step only, the other documents
/// skipped); with the document as submitted, for `patched`.
struct Evaluated {
    outcome: Outcome,
    document: Document,
    skipped: Vec<Skipped>,
}

fn evaluate(
    plugin: &Plugin,
    step: &Step,
    cluster: &Cluster,
    dir: &Path,
    at: &str,
) -> Result<Evaluated> {
    if let Some(s) = &step.submit {
        let project = cluster
            .find_project(&s.project)
            .ok_or_else(|| anyhow!("`{at}.submit.project`: no project `{}`", s.project))?;
        let args = submit::SubmitArgs {
            project: project.name.clone(),
            name: s.name.clone().unwrap_or_else(|| "job".to_string()),
            image: s.image.clone(),
            gpu: s.gpu.clone(),
            interactive: s.interactive,
            environment: s.env.clone(),
        };
        let document = submit::workload(&args, &cluster.project_namespace(project))?;
        let outcome = simulate_one(plugin, cluster, &document, None)?;
        return Ok(Evaluated {
            outcome,
            document,
            skipped: Vec::new(),
        });
    }
    let value = step
        .simulate
        .as_ref()
        .ok_or_else(|| anyhow!("`{at}`: expected `submit` or `simulate`"))?;
    let docs = documents(value, dir, &format!("{at}.simulate"))?;
    let entries = documents::sort_path(docs, &format!("`{at}.simulate`"))?;
    let workloads: Vec<Document> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Workload(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    let skipped = documents::skipped_in(&entries);
    let [document] = <[Document; 1]>::try_from(workloads)
        .map_err(|w| anyhow!("`{at}.simulate`: expected one workload, found {}", w.len()))?;
    let reported = simulate_documents(
        plugin,
        cluster,
        entries,
        step.workload_type.as_deref(),
        &Scope::default(),
    )?;
    let outcome = reported
        .into_iter()
        .find_map(|r| match r {
            Reported::Evaluated(o) => Some(*o),
            Reported::Skipped(_) => None,
        })
        .ok_or_else(|| anyhow!("`{at}.simulate`: the workload was not evaluated"))?;
    Ok(Evaluated {
        outcome,
        document,
        skipped,
    })
}

fn expected_error(expect: Option<&Expect>, result: Result<()>, what: &str) -> Vec<String> {
    match (expect.and_then(|e| e.error.as_ref()), result) {
        (Some(text), Err(e)) if format!("{e:#}").contains(text.as_str()) => Vec::new(),
        (Some(text), Err(e)) => vec![check::diff(
            "error",
            std::slice::from_ref(text),
            &[format!("{e:#}")],
        )],
        (Some(text), Ok(())) => vec![check::diff(
            "error",
            std::slice::from_ref(text),
            &[format!("{what} succeeded")],
        )],
        (None, Err(e)) => vec![format!("  {what} failed: {e:#}\n")],
        (None, Ok(())) => Vec::new(),
    }
}

pub fn run(plugin: &Plugin, path: &Path, suite: &Suite) -> SuiteResult {
    let file = path.display().to_string();
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = suite.name.clone().unwrap_or_else(|| file.clone());
    let mut cases = Vec::new();
    let mut cluster = match setup(suite, &dir, &file, plugin) {
        Ok(c) => c,
        Err(e) => {
            cases.push(CaseResult {
                name: "setup".to_string(),
                failures: vec![format!("  setup failed: {e:#}\n")],
                skipped: Vec::new(),
            });
            return SuiteResult { file, name, cases };
        }
    };
    for (i, step) in suite.steps.iter().enumerate() {
        let at = format!("{file} steps[{i}]");
        let case = step_name(step, i);
        let actions = [
            step.apply.is_some(),
            step.project.is_some(),
            step.adm.is_some(),
            step.secret.is_some(),
            step.submit.is_some(),
            step.simulate.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            cases.push(CaseResult {
                name: case,
                failures: vec![format!(
                    "  `{at}`: expected exactly one of apply, project, adm, secret, submit, simulate\n"
                )],
                skipped: Vec::new(),
            });
            break;
        }
        let evaluates = step.submit.is_some() || step.simulate.is_some();
        if !evaluates {
            let failures = expected_error(
                step.expect.as_ref(),
                change(step, &mut cluster, &dir, &at, plugin),
                "the step",
            );
            // Set-up steps count as cases when they expect something or fail.
            let failed = !failures.is_empty();
            if step.expect.is_some() || failed {
                cases.push(CaseResult {
                    name: case,
                    failures,
                    skipped: Vec::new(),
                });
            }
            if failed {
                break;
            }
            continue;
        }
        let mut skipped = Vec::new();
        let failures = match evaluate(plugin, step, &cluster, &dir, &at) {
            Err(e) => expected_error(step.expect.as_ref(), Err(e), "evaluation"),
            Ok(evaluated) => {
                skipped = evaluated.skipped;
                match &step.expect {
                    Some(expect) if expect.error.is_some() => {
                        expected_error(Some(expect), Ok(()), "evaluation")
                    }
                    Some(expect) => check::outcome(
                        expect,
                        &evaluated.outcome,
                        &evaluated.document.value,
                        &skipped,
                    ),
                    None => {
                        vec![
                            "  no `expect`: a workload step must say what it expects\n".to_string(),
                        ]
                    }
                }
            }
        };
        cases.push(CaseResult {
            name: case,
            failures,
            skipped,
        });
    }
    SuiteResult { file, name, cases }
}

//! Running one suite: set up its cluster in memory, then each step in order.

use super::check;
use super::model::{Expect, Step, Suite};
use crate::audit::guard::{self, Answer};
use crate::audit::offline::{self, Audited, Place, Recording};
use crate::cluster::{Cluster, load_documents};
use crate::documents::{self, Entry, Skipped};
use crate::input::{self, Limit};
use crate::manifest::{self, Document};
use crate::plugin::Plugin;
use crate::simulate::{Outcome, Reported, Scope, check_policies, simulate_documents, simulate_one};
use crate::state::State;
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
    } else if let Some(w) = &step.workload {
        format!("workload delete {} -n {}", w.delete, w.namespace)
    } else if let Some(a) = &step.audit {
        match &a.namespace {
            Some(ns) => format!("audit -n {ns}"),
            None => "audit".to_string(),
        }
    } else {
        "adm".to_string()
    };
    format!("step {}: {}", i + 1, what.trim())
}

/// A step that changes the cluster or its workloads, as the simulator's state
/// changes: what the removal guard said of it, when recorded workloads use what goes.
/// A removal the policies refuse changes nothing unless the step says `force: true`.
fn change(
    step: &Step,
    state: &mut State,
    dir: &Path,
    at: &str,
    plugin: &Plugin,
) -> Result<Option<Answer>> {
    let before = &state.cluster;
    let mut next = before.clone();
    let mut touched: Vec<guard::Touched> = Vec::new();
    let mut created = Vec::new();
    let mut gone_namespace = None;
    if let Some(v) = &step.apply {
        let docs = documents(v, dir, &format!("{at}.apply"))?;
        let (workloads, docs): (Vec<_>, Vec<_>) = docs.into_iter().partition(offline::is_workload);
        load_documents(&mut next, &docs)?;
        check_policies(plugin, &next)?;
        touched = guard::touched_by_apply(before, &next, &docs);
        // Created as the API server creates them: a rejected one is an error.
        for doc in &workloads {
            match offline::record(plugin, &next, doc, Place::default())? {
                Recording::Created(stored) => created.push(*stored),
                Recording::Refused(why) => bail!(
                    "{}: the workload is rejected, not created: {}",
                    doc.source,
                    why.join("; ")
                ),
            }
        }
    } else if let Some(p) = &step.project {
        match (&p.create, &p.delete) {
            (Some(name), None) => {
                next.create_project(
                    name,
                    p.namespace.clone(),
                    p.department.clone(),
                    p.id.clone(),
                )?;
            }
            (None, Some(name)) => {
                // Its workloads go with it.
                gone_namespace = next.projects.get(name).map(|p| next.project_namespace(p));
                next.delete_project(name)?;
            }
            _ => bail!("`{at}.project`: expected exactly one of `create` and `delete`"),
        }
    } else if let Some(a) = &step.adm {
        match (&a.set, &a.remove) {
            (Some(name), None) => drop(next.set_cluster_wide(name)?),
            (None, Some(name)) => {
                next.remove_cluster_wide(name)?;
                touched.push((
                    crate::cluster::SYSTEM_NAMESPACE.to_string(),
                    name.clone(),
                    "removing the cluster-wide label of",
                ));
            }
            _ => bail!("`{at}.adm`: expected exactly one of `set` and `remove`"),
        }
    } else if let Some(d) = &step.secret {
        next.delete_secret(&d.namespace, &d.delete)?;
        touched.push((d.namespace.clone(), d.delete.clone(), "deleting"));
    } else if let Some(w) = &step.workload {
        state.workloads.delete(&w.namespace, &w.delete)?;
        return Ok(None);
    }
    let answer = guard::check(plugin, before, &next, &state.workloads, &touched)?;
    if answer.as_ref().is_some_and(|a| !a.allowed) && !step.force {
        return Ok(answer);
    }
    state.cluster = next;
    if let Some(ns) = gone_namespace {
        state.workloads.remove_namespace(&ns);
    }
    for stored in created {
        state.workloads.upsert(stored);
    }
    Ok(answer)
}

/// A removal the policies refused, as `host` says it, when the step does not expect
/// it (`expect.removal`).
fn refused(step: &Step, answer: Option<&Answer>) -> Result<()> {
    match answer {
        Some(a) if !a.allowed && !step.force => bail!(
            "{}; nothing was changed (`force: true` does it anyway)",
            a.messages.join("; ")
        ),
        _ => Ok(()),
    }
}

/// An `audit` step: every recorded workload in scope re-checked against the cluster
/// as it is now.
fn audit(plugin: &Plugin, state: &State, namespace: Option<&str>) -> Result<Vec<Audited>> {
    state
        .workloads
        .iter()
        .filter(|w| namespace.is_none_or(|ns| w.record.key.namespace == ns))
        .map(|w| offline::recheck(plugin, &state.cluster, w))
        .collect()
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

/// Records an admitted workload in the suite's state.
fn create(plugin: &Plugin, state: &mut State, document: &Document) -> Result<()> {
    match offline::record(plugin, &state.cluster, document, Place::default())? {
        Recording::Created(stored) => {
            state.workloads.upsert(*stored);
            Ok(())
        }
        Recording::Refused(why) => bail!("rejected: {}", why.join("; ")),
    }
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
    let mut state = match setup(suite, &dir, &file, plugin) {
        Ok(cluster) => State {
            cluster,
            workloads: Default::default(),
        },
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
            step.workload.is_some(),
            step.audit.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            cases.push(CaseResult {
                name: case,
                failures: vec![format!(
                    "  `{at}`: expected exactly one of apply, project, adm, secret, workload, submit, simulate, audit\n"
                )],
                skipped: Vec::new(),
            });
            break;
        }
        if let Some(a) = &step.audit {
            let failures = match (audit(plugin, &state, a.namespace.as_deref()), &step.expect) {
                (
                    Ok(audited),
                    Some(Expect {
                        audit: Some(expected),
                        error: None,
                        ..
                    }),
                ) => check::audit(expected, &audited).into_iter().collect(),
                (Ok(_), Some(expect)) if expect.error.is_some() => {
                    expected_error(Some(expect), Ok(()), "the audit")
                }
                (Err(e), expect) => expected_error(expect.as_ref(), Err(e), "the audit"),
                (Ok(_), _) => vec![
                    "  no `expect.audit`: an audit step must say what it expects\n".to_string(),
                ],
            };
            cases.push(CaseResult {
                name: case,
                failures,
                skipped: Vec::new(),
            });
            continue;
        }
        let evaluates = step.submit.is_some() || step.simulate.is_some();
        if !evaluates {
            let expect = step.expect.as_ref();
            let failures = match (change(step, &mut state, &dir, &at, plugin), expect) {
                (Ok(answer), Some(e)) if e.removal.is_some() => {
                    let mut failures: Vec<String> = e
                        .removal
                        .as_ref()
                        .and_then(|r| check::removal(r, answer.as_ref()))
                        .into_iter()
                        .collect();
                    if e.error.is_some() {
                        failures.extend(expected_error(expect, Ok(()), "the step"));
                    }
                    failures
                }
                (Ok(answer), _) => {
                    expected_error(expect, refused(step, answer.as_ref()), "the step")
                }
                (Err(e), _) => expected_error(expect, Err(e), "the step"),
            };
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
        let failures = match evaluate(plugin, step, &state.cluster, &dir, &at) {
            Err(e) => expected_error(step.expect.as_ref(), Err(e), "evaluation"),
            Ok(evaluated) => {
                skipped = evaluated.skipped;
                // A submitted workload the plugin admits is created, as `runai submit`
                // creates it (a `simulate` step only evaluates).
                if step.submit.is_some()
                    && evaluated.outcome.decision.allowed
                    && let Err(e) = create(plugin, &mut state, &evaluated.document)
                {
                    cases.push(CaseResult {
                        name: case,
                        failures: vec![format!("  creating the workload failed: {e:#}\n")],
                        skipped: Vec::new(),
                    });
                    break;
                }
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

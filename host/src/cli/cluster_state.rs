//! apply, project, secret list|delete, adm: the commands that change or show the state.

use super::evaluate::load_plugin;
use crate::audit::guard;
use crate::audit::offline::{self, Recording};
use crate::cluster::ops::Propagation;
use crate::cluster::{Cluster, SYSTEM_NAMESPACE, load_documents};
use crate::input;
use crate::manifest;
use crate::plugin::Plugin;
use crate::simulate::check_policies;
use crate::state::{Outcome, State, StateDir};
use crate::text::{shown, shown_max, some};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What `apply` did.
struct Applied {
    objects: usize,
    created: Vec<String>,
    /// Workloads the plugin rejected (not created), with why.
    rejected: Vec<(String, Vec<String>)>,
    guard: Guarded,
}

pub fn apply(plugin: &super::PluginArgs, dir: &Path, files: &[PathBuf], force: bool) -> Result<u8> {
    // Read everything first: a bad file changes nothing.
    let mut docs = Vec::new();
    for file in files {
        docs.extend(manifest::read_file(file)?);
    }
    // As `kubectl apply`: no object is a mistake (an empty file, the wrong one), and the
    // state is not made for nothing.
    if docs.is_empty() {
        let names: Vec<String> = files.iter().map(|f| input::display(f)).collect();
        anyhow::bail!(
            "no objects in {}: nothing to apply (expected Kubernetes or Run:ai objects)",
            some(&names)
        );
    }
    let (workload_docs, docs): (Vec<_>, Vec<_>) = docs.into_iter().partition(offline::is_workload);
    let (plugin, _, _) = load_plugin(plugin)?;
    let applied = StateDir::new(dir).change_state(true, |state| {
        let before = state.cluster.clone();
        load_documents(&mut state.cluster, &docs)?;
        keep_project_namespaces(&before, &state.cluster)?;
        check_policies(&plugin, &state.cluster)?;
        let touched = guard::touched_by_apply(&before, &state.cluster, &docs);
        let guard = guard(&plugin, &before, state, &touched, force)?;
        if !guard.went_ahead() {
            return Ok(Outcome::Discard(Applied {
                objects: 0,
                created: Vec::new(),
                rejected: Vec::new(),
                guard,
            }));
        }
        let mut created = Vec::new();
        let mut rejected = Vec::new();
        for doc in &workload_docs {
            match offline::record(&plugin, &state.cluster, doc, offline::Place::default())? {
                Recording::Created(stored) => {
                    created.push(workload_line(&stored.record.key, &stored.record));
                    state.workloads.upsert(*stored);
                }
                Recording::Refused(why) => rejected.push((doc.source.clone(), why)),
            }
        }
        Ok(Outcome::Write(Applied {
            objects: docs.len(),
            created,
            rejected,
            guard,
        }))
    })?;
    applied.guard.print();
    if !applied.guard.went_ahead() {
        return Ok(1);
    }
    for doc in &docs {
        let name = doc
            .str_at("/metadata/name")
            .or_else(|| doc.str_at("/meta/name"))
            .unwrap_or("?");
        let kind = if doc.kind().is_empty() {
            "V2Policy"
        } else {
            doc.kind()
        };
        println!(
            "{} {} applied ({})",
            shown(kind),
            shown(name),
            shown(&doc.source)
        );
    }
    for line in &applied.created {
        println!("{line}");
    }
    for (source, why) in &applied.rejected {
        eprintln!(
            "error: {}: the workload is rejected, not created:\n  {}",
            shown(source),
            why.join("\n  ")
        );
    }
    println!(
        "{} object(s) applied, {} workload(s) created to {}",
        applied.objects,
        applied.created.len(),
        input::display(dir)
    );
    Ok(if applied.rejected.is_empty() { 0 } else { 1 })
}

/// A project keeps the namespace it was created with (Run:ai fixes it at creation):
/// moving it would leave its secrets, copies and workloads in a namespace no project
/// owns, past the removal guard.
fn keep_project_namespaces(before: &Cluster, after: &Cluster) -> Result<()> {
    for (name, old) in &before.projects {
        let Some(new) = after.projects.get(name) else {
            continue;
        };
        let (was, is) = (before.project_namespace(old), after.project_namespace(new));
        if was != is {
            anyhow::bail!(
                "{}: Project {}: its namespace is {} and cannot change to {} (a project's \
                 namespace is fixed when it is created): `host project delete {}` first, then \
                 apply it again; nothing was changed",
                shown(&new.source),
                shown(name),
                shown(&was),
                shown(&is),
                shown(name)
            );
        }
    }
    Ok(())
}

/// `Kind namespace/name created (N references, M findings)`.
fn workload_line(key: &crate::workloads::Key, record: &crate::workloads::Record) -> String {
    format!(
        "{} {}/{} created ({} secret reference(s), {} finding(s))",
        key.kind,
        shown(&key.namespace),
        shown(&key.name),
        record.references.len(),
        record.findings.len()
    )
}

/// What the removal guard said of a change.
struct Guarded {
    answer: Option<guard::Answer>,
    force: bool,
}

impl Guarded {
    /// The change was made: nothing breaks, the policies allow it, or `--force`.
    fn went_ahead(&self) -> bool {
        self.answer.as_ref().is_none_or(|a| a.allowed) || self.force
    }

    /// What breaks, on stderr: a warning, or why nothing was changed.
    fn print(&self) {
        let Some(answer) = &self.answer else { return };
        for message in &answer.messages {
            if answer.allowed {
                eprintln!("Warning: {message}");
            } else if self.force {
                eprintln!("Warning: done anyway (--force): {message}");
            } else {
                eprintln!("error: {message}; nothing was changed (--force does it anyway)");
            }
        }
    }
}

/// Asks the removal guard about `touched`, changed from `before` to `state`.
fn guard(
    plugin: &Plugin,
    before: &Cluster,
    state: &State,
    touched: &[guard::Touched],
    force: bool,
) -> Result<Guarded> {
    let answer = guard::check(plugin, before, &state.cluster, &state.workloads, touched)?;
    Ok(Guarded { answer, force })
}

/// A change guarded against removing what recorded workloads use: the plugin is
/// loaded only when some do.
fn guarded_change<T>(
    plugin: &super::PluginArgs,
    dir: &Path,
    force: bool,
    change: impl FnOnce(&mut Cluster) -> Result<(T, Vec<(String, String, &'static str)>)>,
) -> Result<(T, Guarded)> {
    StateDir::new(dir).change_state(false, |state| {
        let before = state.cluster.clone();
        let (result, touched) = change(&mut state.cluster)?;
        let guarded = if guard::anyone_uses(&state.workloads, &touched) {
            let (plugin, _, _) = load_plugin(plugin)?;
            guard(&plugin, &before, state, &touched, force)?
        } else {
            Guarded {
                answer: None,
                force,
            }
        };
        Ok(if guarded.went_ahead() {
            Outcome::Write((result, guarded))
        } else {
            Outcome::Discard((result, guarded))
        })
    })
}

pub fn project_create(
    dir: &Path,
    name: &str,
    namespace: Option<String>,
    department: Option<String>,
    id: Option<String>,
) -> Result<u8> {
    let ns = StateDir::new(dir)
        .create_or_update(|c| c.create_project(name, namespace, department, id))?;
    println!("project {name} created (namespace {})", shown(&ns));
    Ok(0)
}

/// The project's workloads go with it (Run:ai deletes a project's workloads); its
/// namespace's own secrets stay.
pub fn project_delete(dir: &Path, name: &str) -> Result<u8> {
    let gone = StateDir::new(dir).change_state(false, |state| {
        let namespace = state
            .cluster
            .projects
            .get(name)
            .map(|p| state.cluster.project_namespace(p));
        state.cluster.delete_project(name)?;
        let gone = namespace.map_or(0, |ns| state.workloads.remove_namespace(&ns).len());
        Ok(Outcome::Write(gone))
    })?;
    println!("project {} deleted", shown(name));
    if gone > 0 {
        println!("{gone} workload(s) of the project deleted");
    }
    Ok(0)
}

pub fn project_list(dir: &Path) -> Result<u8> {
    let cluster = StateDir::new(dir).read()?;
    println!("{:<24} {:<28} {:<16} ID", "NAME", "NAMESPACE", "DEPARTMENT");
    for (namespace, p) in cluster.project_namespaces() {
        println!(
            "{:<24} {:<28} {:<16} {}",
            shown(&p.name),
            shown(&namespace),
            shown(p.department.as_deref().unwrap_or("-")),
            shown(p.id.as_deref().unwrap_or("-"))
        );
    }
    Ok(0)
}

/// Names, key names, type and origin of every secret visible per namespace.
pub fn secret_list(dir: &Path, only: Option<&str>) -> Result<u8> {
    let cluster = StateDir::new(dir).read()?;
    let mut namespaces: Vec<String> = cluster.secrets.keys().map(|(ns, _)| ns.clone()).collect();
    namespaces.extend(cluster.project_namespaces().into_keys());
    namespaces.sort();
    namespaces.dedup();
    let conflicts = cluster.conflicts();
    println!(
        "{:<24} {:<28} {:<12} {:<32} ORIGIN",
        "NAMESPACE", "NAME", "TYPE", "KEYS"
    );
    for ns in namespaces
        .iter()
        .filter(|ns| only.is_none_or(|o| o == ns.as_str()))
    {
        for s in cluster.catalog(ns) {
            let origin = if s.cluster_wide_copy {
                format!("copy of {SYSTEM_NAMESPACE}/{} (cluster-wide)", s.name)
            } else if conflicts
                .iter()
                .any(|c| c.namespace == *ns && c.secret == s.name)
            {
                format!("own; shadows cluster-wide {SYSTEM_NAMESPACE}/{}", s.name)
            } else if ns == SYSTEM_NAMESPACE
                && cluster.cluster_wide_sources().any(|src| src.name == s.name)
            {
                "own, cluster-wide source".to_string()
            } else {
                "own".to_string()
            };
            println!(
                "{:<24} {:<28} {:<12} {:<32} {origin}",
                shown(ns),
                shown(&s.name),
                shown(&s.secret_type),
                shown_max(&s.keys.join(","), 400)
            );
        }
    }
    Ok(0)
}

pub fn secret_delete(
    plugin: &super::PluginArgs,
    dir: &Path,
    namespace: &str,
    name: &str,
    force: bool,
) -> Result<u8> {
    let (d, guarded) = guarded_change(plugin, dir, force, |c| {
        let d = c.delete_secret(namespace, name)?;
        Ok((
            d,
            vec![(namespace.to_string(), name.to_string(), "deleting")],
        ))
    })?;
    guarded.print();
    if !guarded.went_ahead() {
        return Ok(1);
    }
    println!("secret {}/{} deleted", shown(namespace), shown(name));
    if !d.copies.is_empty() {
        println!(
            "its cluster-wide copies were removed from {} project namespace(s): {}",
            d.copies.len(),
            some(&d.copies)
        );
    }
    Ok(0)
}

fn report(p: &Propagation, verb: &str) {
    let source = format!("{SYSTEM_NAMESPACE}/{}", shown(&p.secret));
    if p.unchanged {
        println!("secret {source} was already {verb}; nothing changed");
        return;
    }
    // `some` cuts a long list: 10,000 namespaces are not one line (`secret list` has all).
    let list = |v: &[String]| some(v);
    match verb {
        "cluster-wide" => println!(
            "secret {source} is cluster-wide: copied to {} project namespace(s): {}",
            p.namespaces.len(),
            list(&p.namespaces)
        ),
        _ => println!(
            "secret {source} is no longer cluster-wide: copies removed from {} project namespace(s): {}",
            p.namespaces.len(),
            list(&p.namespaces)
        ),
    }
    if p.conflicts.len() > crate::text::LIST_SHOWN {
        println!(
            "conflict: {} project namespaces have their own secret `{}`, left as they are: {}",
            p.conflicts.len(),
            shown(&p.secret),
            some(&p.conflicts)
        );
        return;
    }
    for ns in &p.conflicts {
        println!(
            "conflict: {} has its own secret `{}`; it is left as it is",
            shown(ns),
            shown(&p.secret)
        );
    }
}

pub fn set_cluster_wide(dir: &Path, name: &str) -> Result<u8> {
    let p = StateDir::new(dir).update(|c| c.set_cluster_wide(name))?;
    report(&p, "cluster-wide");
    Ok(0)
}

pub fn remove_cluster_wide(
    plugin: &super::PluginArgs,
    dir: &Path,
    name: &str,
    force: bool,
) -> Result<u8> {
    let (p, guarded) = guarded_change(plugin, dir, force, |c| {
        let p = c.remove_cluster_wide(name)?;
        let touched = vec![(
            SYSTEM_NAMESPACE.to_string(),
            name.to_string(),
            "removing the cluster-wide label of",
        )];
        Ok((p, touched))
    })?;
    guarded.print();
    if !guarded.went_ahead() {
        return Ok(1);
    }
    report(&p, "not cluster-wide");
    Ok(0)
}

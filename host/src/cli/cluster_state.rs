//! apply, project, secret list|delete, adm: the commands that change or show the state.

use super::evaluate::load_plugin;
use crate::cluster::ops::Propagation;
use crate::cluster::{SYSTEM_NAMESPACE, load_documents};
use crate::input;
use crate::manifest;
use crate::simulate::check_policies;
use crate::state::StateDir;
use crate::text::{shown, shown_max, some};
use anyhow::Result;
use std::path::{Path, PathBuf};

pub fn apply(plugin: &super::PluginArgs, dir: &Path, files: &[PathBuf]) -> Result<u8> {
    // Read everything first: a bad file changes nothing.
    let mut docs = Vec::new();
    for file in files {
        docs.extend(manifest::read_file(file)?);
    }
    let (plugin, _, _) = load_plugin(plugin)?;
    let count = StateDir::new(dir).create_or_update(|cluster| {
        load_documents(cluster, &docs)?;
        check_policies(&plugin, cluster)?;
        Ok(docs.len())
    })?;
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
    println!("{count} object(s) applied to {}", input::display(dir));
    Ok(0)
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

pub fn project_delete(dir: &Path, name: &str) -> Result<u8> {
    StateDir::new(dir).update(|c| c.delete_project(name))?;
    println!("project {name} deleted");
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

pub fn secret_delete(dir: &Path, namespace: &str, name: &str) -> Result<u8> {
    let d = StateDir::new(dir).update(|c| c.delete_secret(namespace, name))?;
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

pub fn remove_cluster_wide(dir: &Path, name: &str) -> Result<u8> {
    let p = StateDir::new(dir).update(|c| c.remove_cluster_wide(name))?;
    report(&p, "not cluster-wide");
    Ok(0)
}

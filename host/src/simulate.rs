//! `host simulate`: find each workload's namespace and project, hand the plugin
//! that namespace's secrets and policies, and add the hints only the cluster knows.

use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::manifest::Document;
use crate::plugin::{
    Decision, Failure, InputError, Plugin, Startup, Submission, Violation, WorkloadForm, WorkloadId,
};
use crate::text::shown;
use anyhow::{Result, anyhow, bail};
use std::collections::BTreeMap;

/// One evaluated workload document.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub source: String,
    pub namespace: String,
    pub project: Option<String>,
    pub decision: Decision,
    /// What the cluster knows about secrets missing from the namespace, by secret name.
    pub hints: BTreeMap<String, String>,
}

/// The violation code whose secrets get hints.
pub const SECRET_NOT_FOUND: &str = "secret-not-found";

/// Evaluates every document; any input error stops the run before output.
pub fn simulate(
    plugin: &Plugin,
    cluster: &Cluster,
    workloads: &[Document],
    workload_type: Option<&str>,
) -> Result<Vec<Outcome>> {
    check_policies(plugin, cluster)?;
    workloads
        .iter()
        .map(|doc| simulate_one(plugin, cluster, doc, workload_type))
        .collect()
}

/// Policies are checked once, when loaded: a bad one is an input error (exit 2).
pub fn check_policies(plugin: &Plugin, cluster: &Cluster) -> Result<()> {
    let diagnostics = plugin.check_policies(&cluster.all_policies(), &cluster.project_infos())?;
    if diagnostics.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let field = if d.field.is_empty() {
                String::new()
            } else {
                format!(" `{}`", d.field)
            };
            format!("{}:{field}: {} ({})", d.source, d.message, d.code)
        })
        .collect();
    bail!("invalid policies:\n  {}", lines.join("\n  "))
}

/// The plugin's messages already show names bounded; the field path may hold any
/// map key of the document.
pub fn input_error(source: &str, e: InputError) -> anyhow::Error {
    let message = crate::text::shown_max(&e.message, 2000);
    if e.field.is_empty() {
        anyhow!("{source}: {message}")
    } else {
        anyhow!("{source}: `{}`: {message}", shown(&e.field))
    }
}

pub fn simulate_one(
    plugin: &Plugin,
    cluster: &Cluster,
    doc: &Document,
    workload_type: Option<&str>,
) -> Result<Outcome> {
    let source = &doc.source;
    let json = doc.value.to_string();
    let id = match plugin.identify(&json) {
        Ok(id) => id.map_err(|e| input_error(source, e))?,
        Err(e) => return failed_closed(e, doc, None),
    };
    let (namespace, project) = placement(cluster, &id, source)?;
    let project_info = project
        .as_ref()
        .and_then(|name| cluster.projects.get(name))
        .map(|p| cluster.project_info(p));
    let submission = Submission {
        workload: json,
        namespace: namespace.clone(),
        project: project_info,
        workload_type: workload_type.map(str::to_string),
        policies: cluster.policies_for(&namespace),
        secrets: cluster.catalog(&namespace),
        // The reports show every container's resolved environment.
        with_env: true,
    };
    let decision = match plugin.evaluate(&submission) {
        Ok(decision) => decision.map_err(|e| input_error(source, e))?,
        Err(e) => return failed_closed(e, doc, Some((id, namespace, project))),
    };
    Ok(Outcome {
        source: source.clone(),
        hints: hints_for(cluster, &namespace, &decision),
        namespace,
        project,
        decision,
    })
}

/// The namespace and project a workload lands in, from what its document says.
pub fn placement(
    cluster: &Cluster,
    id: &WorkloadId,
    source: &str,
) -> Result<(String, Option<String>)> {
    let known = || {
        let names: Vec<&str> = cluster.projects.keys().map(String::as_str).collect();
        crate::text::some(&names)
    };
    let project = match &id.project {
        Some(p) => Some(cluster.find_project(p).ok_or_else(|| {
            anyhow!(
                "{source}: project `{}` does not exist in the cluster (projects: {})",
                shown(p),
                known()
            )
        })?),
        None => None,
    };
    match (&id.namespace, project) {
        (Some(ns), Some(p)) => {
            let expected = cluster.project_namespace(p);
            if *ns != expected {
                bail!(
                    "{source}: `metadata.namespace` is {} but project {} runs in namespace {expected}",
                    shown(ns),
                    p.name
                );
            }
            Ok((ns.clone(), Some(p.name.clone())))
        }
        (None, Some(p)) => Ok((cluster.project_namespace(p), Some(p.name.clone()))),
        (Some(ns), None) => {
            if !cluster.namespace_exists(ns) {
                bail!(
                    "{source}: namespace `{}` does not exist in the cluster: expected a project namespace \
                     (projects: {}) or {SYSTEM_NAMESPACE}",
                    shown(ns),
                    known()
                );
            }
            Ok((
                ns.clone(),
                cluster.project_of_namespace(ns).map(|p| p.name.clone()),
            ))
        }
        (None, None) => bail!(
            "{source}: the workload names no namespace or project: set `metadata.namespace` (or the \
             `project` label, or `projectId`)"
        ),
    }
}

/// A plugin that traps, runs out of time, fuel or memory, or answers too much does
/// not decide: the submission is rejected with the reason (SPEC §9: fail closed).
/// Other errors (the host's own) propagate.
fn failed_closed(
    error: anyhow::Error,
    doc: &Document,
    placed: Option<(WorkloadId, String, Option<String>)>,
) -> Result<Outcome> {
    let failure = error.downcast::<Failure>()?;
    let (workload, namespace, project) = placed.unwrap_or_else(|| {
        let kind = doc
            .value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("unknown");
        let id = WorkloadId {
            form: WorkloadForm::Kubernetes,
            kind: kind.to_string(),
            name: doc
                .str_at("/metadata/name")
                .or_else(|| doc.str_at("/name"))
                .unwrap_or("unknown")
                .to_string(),
            namespace: None,
            project: None,
            workload_type: None,
        };
        (id, String::new(), None)
    });
    let decision = Decision {
        workload,
        allowed: false,
        violations: vec![Violation {
            code: failure.code.to_string(),
            field: String::new(),
            message: format!(
                "{}; the submission is rejected (fail closed)",
                failure.message
            ),
            policy: String::new(),
            secret: None,
        }],
        warnings: Vec::new(),
        patch: "[]".to_string(),
        env: Vec::new(),
        startup: Startup {
            starts: false,
            containers: Vec::new(),
        },
    };
    Ok(Outcome {
        source: doc.source.clone(),
        namespace,
        project,
        decision,
        hints: BTreeMap::new(),
    })
}

/// Explains a missing secret with what the cluster knows beyond the namespace.
fn hint(cluster: &Cluster, namespace: &str, secret: &str) -> Option<String> {
    let elsewhere = cluster.namespaces_with_secret(secret, namespace);
    if let Some(source) = elsewhere.iter().find(|s| s.namespace == SYSTEM_NAMESPACE) {
        if !source.is_cluster_wide() {
            return Some(format!(
                "secret `{secret}` exists in namespace {SYSTEM_NAMESPACE} but is not cluster-wide: run \
                 `host adm set secret {secret} --cluster-wide` to copy it into every project namespace"
            ));
        }
        if cluster.project_of_namespace(namespace).is_none() {
            return Some(format!(
                "secret `{secret}` is cluster-wide, but copies go only to project namespaces and {namespace} \
                 belongs to no project"
            ));
        }
    }
    let others: Vec<&str> = elsewhere
        .iter()
        .filter(|s| s.namespace != SYSTEM_NAMESPACE)
        .map(|s| s.namespace.as_str())
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "secret `{secret}` exists in {} but secrets are namespace-scoped: create it in {namespace}, or \
         create it in {SYSTEM_NAMESPACE} and set it cluster-wide",
        others.join(", ")
    ))
}

/// Hints for every secret the decision reports missing, by secret name.
fn hints_for(cluster: &Cluster, namespace: &str, decision: &Decision) -> BTreeMap<String, String> {
    let missing = decision
        .violations
        .iter()
        .map(|v| (&v.code, &v.secret))
        .chain(decision.warnings.iter().map(|w| (&w.code, &w.secret)))
        .filter(|(code, _)| code.as_str() == SECRET_NOT_FOUND)
        .filter_map(|(_, secret)| secret.as_deref())
        .chain(
            decision
                .startup
                .containers
                .iter()
                .filter_map(|c| c.secret.as_deref()),
        );
    let mut hints = BTreeMap::new();
    for secret in missing {
        if !hints.contains_key(secret)
            && let Some(h) = hint(cluster, namespace, secret)
        {
            hints.insert(secret.to_string(), h);
        }
    }
    hints
}

//! `host simulate`: find each workload's namespace and project, hand the plugin
//! that namespace's secrets and policies, and add the hints only the cluster knows.

use crate::cluster::quarantine::Blocked;
use crate::cluster::{Cluster, SYSTEM_NAMESPACE, load_documents};
use crate::documents::{self, Entry, Skipped};
use crate::manifest::Document;
use crate::plugin::{
    Decision, Failure, InputError, Plugin, Startup, Submission, Violation, Warning, WorkloadForm,
    WorkloadId,
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
    scope: &Scope,
) -> Result<Vec<Outcome>> {
    check_policies(plugin, cluster)?;
    workloads
        .iter()
        .map(|doc| simulate_in(plugin, cluster, doc, workload_type, scope))
        .collect()
}

/// One document of the input as reported: evaluated, or skipped (not a workload).
#[derive(Debug, Clone)]
pub enum Reported {
    Evaluated(Box<Outcome>),
    Skipped(Skipped),
}

impl Reported {
    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            Reported::Evaluated(o) => Some(o),
            Reported::Skipped(_) => None,
        }
    }
}

/// The documents of workload files in order (`documents::sort`): each workload
/// evaluated against the cluster with the Secrets and policies before it applied (a
/// copy: `cluster` is not changed), the rest listed. Any input error stops the run,
/// a Secret or policy that does not load too (as `host apply -f` refuses it).
pub fn simulate_documents(
    plugin: &Plugin,
    cluster: &Cluster,
    entries: Vec<Entry>,
    workload_type: Option<&str>,
    scope: &Scope,
) -> Result<Vec<Reported>> {
    check_policies(plugin, cluster)?;
    let namespace = documents::scope_namespace(cluster, scope);
    let mut applied: Option<Cluster> = None;
    let mut pending: Vec<Document> = Vec::new();
    let mut reported = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            Entry::Apply(doc) => pending.push(documents::place(doc, namespace.as_deref())?),
            Entry::Skip(skipped) => reported.push(Reported::Skipped(skipped)),
            Entry::Workload(doc) => {
                apply_pending(plugin, cluster, &mut applied, &mut pending)?;
                let current = applied.as_ref().unwrap_or(cluster);
                let outcome = simulate_in(plugin, current, &doc, workload_type, scope)?;
                reported.push(Reported::Evaluated(Box::new(outcome)));
            }
        }
    }
    // Those after the last workload change nothing evaluated, but one that does not
    // load is still an error in the file.
    apply_pending(plugin, cluster, &mut applied, &mut pending)?;
    Ok(reported)
}

/// Applies the Secrets and policies read since the last workload to a copy of the
/// cluster, as `host apply -f` would (tenancy, where Secrets may live, the plugin's
/// check of the policies).
fn apply_pending(
    plugin: &Plugin,
    cluster: &Cluster,
    applied: &mut Option<Cluster>,
    pending: &mut Vec<Document>,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut next = applied.take().unwrap_or_else(|| cluster.clone());
    load_documents(&mut next, pending)?;
    if pending.iter().any(|d| d.kind() != "Secret") {
        check_policies(plugin, &next)?;
    }
    pending.clear();
    *applied = Some(next);
    Ok(())
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
    simulate_in(plugin, cluster, doc, workload_type, &Scope::default())
}

/// Where documents that name no namespace or project are submitted (`simulate -n NS`,
/// `-p PROJECT`), as `kubectl apply -n` does; a document naming another one is refused.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub namespace: Option<String>,
    pub project: Option<String>,
}

pub fn simulate_in(
    plugin: &Plugin,
    cluster: &Cluster,
    doc: &Document,
    workload_type: Option<&str>,
    scope: &Scope,
) -> Result<Outcome> {
    let source = &doc.source;
    let request = Request {
        workload: doc.value.to_string(),
        namespace: scope.namespace.as_deref(),
        project: scope.project.as_deref(),
        workload_type,
        // The reports show every container's resolved environment.
        with_env: true,
        with_references: false,
    };
    match evaluate(plugin, cluster, request)? {
        Ok(Evaluation::Decided { placed, decision }) => Ok(Outcome {
            source: source.clone(),
            hints: hints_for(cluster, &placed.namespace, &decision),
            namespace: placed.namespace,
            project: placed.project,
            decision: *decision,
        }),
        Ok(Evaluation::Failed { placed, failure }) => Ok(failed_closed(failure, doc, placed)),
        Err(Refusal::Input(e)) => Err(input_error(source, e)),
        Err(Refusal::Placement(e)) => Err(anyhow!("{source}: {}", e.describe(cluster))),
    }
}

/// What evaluates a workload: the plugin, or (for the benchmarks) the same logic
/// compiled natively. `Err` is a host error or a contained `Failure`.
pub trait Evaluator {
    fn identify(&self, workload: &str) -> Result<Result<WorkloadId, InputError>>;
    fn evaluate(&self, submission: &Submission) -> Result<Result<Decision, InputError>>;
}

impl Evaluator for Plugin {
    fn identify(&self, workload: &str) -> Result<Result<WorkloadId, InputError>> {
        Plugin::identify(self, workload)
    }

    fn evaluate(&self, submission: &Submission) -> Result<Result<Decision, InputError>> {
        Plugin::evaluate(self, submission)
    }
}

/// One workload to place and evaluate.
pub struct Request<'a> {
    /// The document as JSON text.
    pub workload: String,
    /// Where the workload is submitted (an admission request's namespace, `simulate
    /// -n`): used when its document names no namespace, refused when it names another.
    pub namespace: Option<&'a str>,
    /// The project it is submitted to (`simulate -p`), by name or id: used when the
    /// document names none, refused when it names another.
    pub project: Option<&'a str>,
    /// The Run:ai workload type of a REST API request (it comes from the endpoint).
    pub workload_type: Option<&'a str>,
    /// Ask for every container's resolved environment.
    pub with_env: bool,
    /// Ask for every reference to a secret (the workload index of the audit).
    pub with_references: bool,
}

/// Who a workload is and where it lands.
#[derive(Debug, Clone)]
pub struct Placed {
    pub id: WorkloadId,
    pub namespace: String,
    pub project: Option<String>,
}

/// The plugin's answer, or its failure to give one.
#[derive(Debug, Clone)]
pub enum Evaluation {
    Decided {
        placed: Placed,
        decision: Box<Decision>,
    },
    /// The plugin trapped, ran out of time, fuel or memory, or answered too much: it
    /// did not decide, and the caller applies its failure policy (`simulate` fails closed).
    Failed {
        placed: Option<Placed>,
        failure: Failure,
    },
}

/// Why a workload was not evaluated at all.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The plugin cannot read the document.
    Input(InputError),
    /// The document does not land in a namespace of this cluster.
    Placement(PlacementError),
}

/// The one evaluation path of `simulate`, `host test` and the gateway: identify the
/// workload, place it, hand the plugin its namespace's secrets and policies.
pub fn evaluate(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    request: Request<'_>,
) -> Result<Result<Evaluation, Refusal>> {
    let mut id = match evaluator.identify(&request.workload) {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return Ok(Err(Refusal::Input(e))),
        Err(e) => return failed(e, None),
    };
    if let Err(e) = scope(cluster, &mut id, request.namespace, request.project) {
        return Ok(Err(Refusal::Placement(e)));
    }
    let (namespace, project) = match place(cluster, &id) {
        Ok(placed) => placed,
        Err(e) => return Ok(Err(Refusal::Placement(e))),
    };
    let project_info = project
        .as_ref()
        .and_then(|name| cluster.projects.get(name))
        .map(|p| cluster.project_info(p));
    let submission = Submission {
        workload: request.workload,
        namespace: namespace.clone(),
        project: project_info,
        workload_type: request.workload_type.map(str::to_string),
        policies: cluster.policies_for(&namespace),
        secrets: cluster.catalog(&namespace),
        with_env: request.with_env,
        with_references: request.with_references,
    };
    let blocked = cluster.quarantine.blocking(&namespace);
    let placed = Placed {
        id,
        namespace,
        project,
    };
    if !blocked.is_empty() {
        let decision = quarantined(placed.id.clone(), &blocked);
        return Ok(Ok(Evaluation::Decided {
            placed,
            decision: Box::new(decision),
        }));
    }
    match evaluator.evaluate(&submission) {
        Ok(Ok(decision)) => Ok(Ok(Evaluation::Decided {
            placed,
            decision: Box::new(decision),
        })),
        Ok(Err(e)) => Ok(Err(Refusal::Input(e))),
        Err(e) => failed(e, Some(placed)),
    }
}

/// Fills in the namespace and project a workload is submitted to where its document
/// names none, and refuses a document that names other ones.
fn scope(
    cluster: &Cluster,
    id: &mut WorkloadId,
    namespace: Option<&str>,
    project: Option<&str>,
) -> Result<(), PlacementError> {
    match (&id.namespace, namespace) {
        (None, Some(ns)) => id.namespace = Some(ns.to_string()),
        (Some(document), Some(ns)) if document != ns => {
            return Err(PlacementError::NamespaceMismatch {
                document: document.clone(),
                submitted: ns.to_string(),
            });
        }
        _ => {}
    }
    match (&id.project, project) {
        (None, Some(p)) => id.project = Some(p.to_string()),
        (Some(document), Some(p)) => {
            let same = match (cluster.find_project(document), cluster.find_project(p)) {
                (Some(a), Some(b)) => a.name == b.name,
                _ => document == p,
            };
            if !same {
                return Err(PlacementError::ProjectMismatch {
                    document: document.clone(),
                    submitted: p.to_string(),
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// The decision for a workload whose namespace is quarantined (a live view's bad
/// policy or tenancy conflict there, or a bad policy of `runai`): rejected, naming
/// the objects at fault, whatever the failure policy (a tenant must not escape the
/// cluster's rules by breaking its own policy).
fn quarantined(workload: WorkloadId, blocked: &[&Blocked]) -> Decision {
    let mut decision = undecided(workload, "", String::new(), false);
    decision.violations = blocked
        .iter()
        .map(|b| Violation {
            code: b.code.clone(),
            field: String::new(),
            message: b.message.clone(),
            policy: b.object.clone(),
            secret: None,
        })
        .collect();
    decision
}

/// A contained `Failure` is an answer; any other error is the host's own.
fn failed(error: anyhow::Error, placed: Option<Placed>) -> Result<Result<Evaluation, Refusal>> {
    let failure = error.downcast::<Failure>()?;
    Ok(Ok(Evaluation::Failed { placed, failure }))
}

/// Why a workload lands in no namespace of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementError {
    UnknownProject {
        project: String,
    },
    /// The document's namespace is not the one its project runs in.
    ProjectElsewhere {
        namespace: String,
        project: String,
        expected: String,
    },
    UnknownNamespace {
        namespace: String,
    },
    Nowhere,
    /// The document names a namespace other than the one it is submitted to.
    NamespaceMismatch {
        document: String,
        submitted: String,
    },
    /// The document names a project other than the one it is submitted to.
    ProjectMismatch {
        document: String,
        submitted: String,
    },
}

impl PlacementError {
    /// For the admin running `simulate`: what the cluster has instead.
    pub fn describe(&self, cluster: &Cluster) -> String {
        let known = || {
            let names: Vec<&str> = cluster.projects.keys().map(String::as_str).collect();
            crate::text::some(&names)
        };
        match self {
            PlacementError::UnknownProject { project } => format!(
                "project `{}` does not exist in the cluster (projects: {})",
                shown(project),
                known()
            ),
            PlacementError::ProjectElsewhere {
                namespace,
                project,
                expected,
            } => format!(
                "`metadata.namespace` is {} but project {project} runs in namespace {expected}",
                shown(namespace)
            ),
            PlacementError::UnknownNamespace { namespace } => format!(
                "namespace `{}` does not exist in the cluster: expected a project namespace \
                 (projects: {}) or {SYSTEM_NAMESPACE}",
                shown(namespace),
                known()
            ),
            PlacementError::Nowhere => "the workload names no namespace or project: set \
                 `metadata.namespace` (or the `project` label, or `projectId`), or give one with \
                 -n NAMESPACE or -p PROJECT"
                .to_string(),
            PlacementError::NamespaceMismatch {
                document,
                submitted,
            } => format!(
                "the namespace of the document ({}) does not match the namespace it is submitted to ({})",
                shown(document),
                shown(submitted)
            ),
            PlacementError::ProjectMismatch {
                document,
                submitted,
            } => format!(
                "the project of the document ({}) does not match the project it is submitted to ({})",
                shown(document),
                shown(submitted)
            ),
        }
    }

    /// For a tenant (the gateway's answers): never another project or namespace of
    /// the cluster, and, when the request has a namespace, the same words whether the
    /// project it names exists elsewhere or not at all (no way to probe for projects).
    pub fn describe_for_tenant(&self, namespace: Option<&str>) -> String {
        match (self, namespace) {
            (
                PlacementError::UnknownProject { .. } | PlacementError::ProjectElsewhere { .. },
                Some(ns),
            ) => format!(
                "the workload's project (its `project` label or `projectId`) is not the project of namespace {}",
                shown(ns)
            ),
            (PlacementError::UnknownProject { .. }, None) => {
                "the workload's project (its `project` label or `projectId`) is not a project the gateway knows"
                    .to_string()
            }
            (PlacementError::ProjectElsewhere { namespace, .. }, None) => format!(
                "the workload's project (its `project` label or `projectId`) is not the project of namespace {}",
                shown(namespace)
            ),
            (PlacementError::UnknownNamespace { namespace }, _) => {
                format!("namespace `{}` is not a namespace the gateway knows", shown(namespace))
            }
            (
                PlacementError::Nowhere
                | PlacementError::NamespaceMismatch { .. }
                | PlacementError::ProjectMismatch { .. },
                _,
            ) => self.describe(&Cluster::default()),
        }
    }
}

/// The namespace and project a workload lands in, from what its document says.
pub fn placement(
    cluster: &Cluster,
    id: &WorkloadId,
    source: &str,
) -> Result<(String, Option<String>)> {
    place(cluster, id).map_err(|e| anyhow!("{source}: {}", e.describe(cluster)))
}

fn place(cluster: &Cluster, id: &WorkloadId) -> Result<(String, Option<String>), PlacementError> {
    let project = match &id.project {
        Some(p) => Some(
            cluster
                .find_project(p)
                .ok_or_else(|| PlacementError::UnknownProject { project: p.clone() })?,
        ),
        None => None,
    };
    match (&id.namespace, project) {
        (Some(ns), Some(p)) => {
            let expected = cluster.project_namespace(p);
            if *ns != expected {
                return Err(PlacementError::ProjectElsewhere {
                    namespace: ns.clone(),
                    project: p.name.clone(),
                    expected,
                });
            }
            Ok((ns.clone(), Some(p.name.clone())))
        }
        (None, Some(p)) => Ok((cluster.project_namespace(p), Some(p.name.clone()))),
        (Some(ns), None) => {
            if !cluster.namespace_exists(ns) {
                return Err(PlacementError::UnknownNamespace {
                    namespace: ns.clone(),
                });
            }
            Ok((
                ns.clone(),
                cluster.project_of_namespace(ns).map(|p| p.name.clone()),
            ))
        }
        (None, None) => Err(PlacementError::Nowhere),
    }
}

/// A plugin that traps, runs out of time, fuel or memory, or answers too much does
/// not decide: `simulate` rejects the submission with the reason (fail closed).
fn failed_closed(failure: Failure, doc: &Document, placed: Option<Placed>) -> Outcome {
    let (workload, namespace, project) = match placed {
        Some(p) => (p.id, p.namespace, p.project),
        None => {
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
        }
    };
    let message = format!(
        "{}; the submission is rejected (fail closed)",
        failure.message
    );
    let decision = undecided(workload, failure.code, message, false);
    Outcome {
        source: doc.source.clone(),
        namespace,
        project,
        decision,
        hints: BTreeMap::new(),
    }
}

/// The decision that stands for one the plugin did not make: rejected with the
/// reason as its violation, or (a gateway's `--failure-policy ignore`) admitted with
/// it as a warning.
pub fn undecided(workload: WorkloadId, code: &str, message: String, admit: bool) -> Decision {
    let (violations, warnings) = if admit {
        let warning = Warning {
            code: code.to_string(),
            field: String::new(),
            message,
            secret: None,
            policy: String::new(),
            audit: false,
        };
        (Vec::new(), vec![warning])
    } else {
        let violation = Violation {
            code: code.to_string(),
            field: String::new(),
            message,
            policy: String::new(),
            secret: None,
        };
        (vec![violation], Vec::new())
    };
    Decision {
        workload,
        allowed: admit,
        violations,
        warnings,
        patch: "[]".to_string(),
        env: Vec::new(),
        startup: Startup {
            starts: admit,
            containers: Vec::new(),
        },
        references: Vec::new(),
    }
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
        if cluster.copies == crate::cluster::Copies::Stored {
            return Some(format!(
                "secret `{secret}` is cluster-wide in namespace {SYSTEM_NAMESPACE}, but no copy of it exists in \
                 {namespace}: Run:ai copies cluster-wide secrets into every project namespace, and this copy is \
                 missing (propagate it again: `runai-adm set secret {secret} --cluster-wide`)"
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
pub fn hints_for(
    cluster: &Cluster,
    namespace: &str,
    decision: &Decision,
) -> BTreeMap<String, String> {
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

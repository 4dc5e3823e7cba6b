//! The audit without an API server (`host audit`, the simulator's state): workload
//! documents evaluated in full, and the workloads the state recorded re-checked from
//! their references.
//!
//! The state keeps no document (a document holds literal values), so a recorded
//! workload is re-checked by handing the plugin a Pod that holds exactly its
//! references (`skeleton`): every finding about a reference is decided against the
//! current view. Findings that come from elsewhere in the document (a literal
//! password, a Run:ai policy rule) are kept from the last full evaluation, at
//! submission, and marked as such.

use super::skeleton;
use crate::cluster::Cluster;
use crate::manifest::Document;
use crate::plugin::{Decision, EnvSource};
use crate::simulate::{self, Evaluation, Evaluator, Refusal, Request};
use crate::text::shown;
use crate::workloads::record::WILL_NOT_START;
use crate::workloads::{Finding, Index, Key, Record};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A workload the simulator's state records: what `runai submit` or `kubectl apply`
/// created. Never a value, never the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Identity, owner, references, and every finding of the last full evaluation.
    pub record: Record,
    /// In the order of `record.references`: the variable an `env` reference sets, the
    /// volume a volume reference belongs to, so a re-check's messages name the
    /// workload's own.
    #[serde(default)]
    pub names: Vec<Option<String>>,
    /// The findings of the last full evaluation that do not come from a reference:
    /// a re-check cannot decide them again without the document.
    #[serde(default)]
    pub kept: Vec<Finding>,
    /// Where it came from: the file, or `runai submit NAME -p PROJECT`.
    pub source: String,
}

impl Stored {
    /// What a state file edited by hand may get wrong that no command writes: the
    /// field (below the entry) and what was expected of it.
    pub fn problem(&self) -> Option<(String, &'static str)> {
        let key = &self.record.key;
        for (field, value) in [
            ("kind", &key.kind),
            ("namespace", &key.namespace),
            ("name", &key.name),
        ] {
            if value.is_empty() {
                return Some((format!("record.key.{field}"), "a non-empty string"));
            }
        }
        for (i, r) in self.record.references.iter().enumerate() {
            if r.secret.is_empty() {
                return Some((
                    format!("record.references[{i}].secret"),
                    "the name of the secret referenced",
                ));
            }
            if r.field.is_empty() {
                return Some((
                    format!("record.references[{i}].field"),
                    "the field of the reference in the workload's document",
                ));
            }
        }
        if self.names.len() > self.record.references.len() {
            return Some((
                "names".to_string(),
                "at most one name per reference, in their order",
            ));
        }
        None
    }
}

/// The recorded workloads of a state, by identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workloads {
    items: BTreeMap<Key, Stored>,
}

impl FromIterator<Stored> for Workloads {
    fn from_iter<I: IntoIterator<Item = Stored>>(iter: I) -> Self {
        Workloads {
            items: iter
                .into_iter()
                .map(|s| (s.record.key.clone(), s))
                .collect(),
        }
    }
}

impl Workloads {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a workload, or replaces the one of the same kind, namespace and name (as
    /// `kubectl apply` replaces an object); the replaced one is returned.
    pub fn upsert(&mut self, stored: Stored) -> Option<Stored> {
        self.items.insert(stored.record.key.clone(), stored)
    }

    pub fn remove(&mut self, key: &Key) -> Option<Stored> {
        self.items.remove(key)
    }

    pub fn get(&self, key: &Key) -> Option<&Stored> {
        self.items.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Stored> {
        self.items.values()
    }

    /// Removes every workload of `namespace` (its project was deleted), returning them.
    pub fn remove_namespace(&mut self, namespace: &str) -> Vec<Stored> {
        let keys: Vec<Key> = self
            .items
            .keys()
            .filter(|k| k.namespace == namespace)
            .cloned()
            .collect();
        keys.iter().filter_map(|k| self.items.remove(k)).collect()
    }

    /// Who references which secret, as the removal guard asks it.
    pub fn index(&self) -> Index {
        let mut index = Index::default();
        for s in self.items.values() {
            index.upsert(s.record.clone());
        }
        index
    }

    /// Deletes the workload `KIND/NAME` (as kubectl takes it: `job/nightly`, any case
    /// of the kind) of `namespace`; an error names those recorded there.
    pub fn delete(&mut self, namespace: &str, arg: &str) -> Result<Key> {
        let (kind, name) = kind_and_name(arg)?;
        let Some(key) = self.find(namespace, kind, name).cloned() else {
            let here: Vec<String> = self
                .iter()
                .filter(|w| w.record.key.namespace == namespace)
                .map(|w| format!("{}/{}", w.record.key.kind, w.record.key.name))
                .collect();
            anyhow::bail!(
                "no workload {}/{} in namespace {} (recorded there: {})",
                shown(kind),
                shown(name),
                shown(namespace),
                if here.is_empty() {
                    "none".to_string()
                } else {
                    crate::text::some(&here)
                }
            );
        };
        self.items.remove(&key);
        Ok(key)
    }

    /// Workloads whose kind and name are `kind`/`name` (as `kubectl` takes the kind:
    /// `pod/x`, `Pod/x`, `pods/x`, `jobs.batch/x`), in `namespace`.
    pub fn find(&self, namespace: &str, kind: &str, name: &str) -> Option<&Key> {
        self.items
            .keys()
            .find(|k| k.namespace == namespace && k.name == name && names_kind(kind, &k.kind))
    }
}

/// Whether `asked` names `kind` as kubectl takes it: the kind or its plural resource
/// (the kinds recorded all take an `s`), any case, with or without its API group (a
/// group that is not the kind's names another resource: `jobs.apps` is no Job).
fn names_kind(asked: &str, kind: &str) -> bool {
    let (resource, group) = match asked.split_once('.') {
        Some((resource, group)) => (resource, Some(group)),
        None => (asked, None),
    };
    let plural = resource
        .strip_suffix(['s', 'S'])
        .is_some_and(|singular| singular.eq_ignore_ascii_case(kind));
    let own_group = || {
        crate::audit::policy_report::api_version(kind).map(|v| {
            v.rsplit_once('/')
                .map_or(String::new(), |(g, _)| g.to_string())
        })
    };
    (resource.eq_ignore_ascii_case(kind) || plural)
        && group.is_none_or(|g| own_group().is_none_or(|own| own.eq_ignore_ascii_case(g)))
}

/// `KIND/NAME`, as kubectl takes it.
fn kind_and_name(arg: &str) -> Result<(&str, &str)> {
    match arg.split_once('/') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((kind, name))
        }
        _ => anyhow::bail!(
            "`{}`: expected KIND/NAME (for example trainingworkload/train1 or pod/p)",
            shown(arg)
        ),
    }
}

/// One workload as the audit saw it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its findings now; the last `kept` of them are from the last full evaluation.
    pub record: Record,
    pub kept: usize,
    /// Where it came from (a file, `runai submit ...`, `state`).
    pub source: String,
    /// Whether the gateway would admit it now (a recorded workload: if submitted again).
    pub allowed: bool,
}

impl Checked {
    /// Whether the finding at `i` of `record.findings` was kept from the last full
    /// evaluation instead of decided now.
    pub fn is_kept(&self, i: usize) -> bool {
        i + self.kept >= self.record.findings.len()
    }

    pub fn fails(&self) -> bool {
        self.record.fails()
    }

    /// The record as a report shows it: kept findings say they are from submission.
    pub fn reported(&self) -> Record {
        let mut record = self.record.clone();
        let n = record.findings.len();
        for f in &mut record.findings[n - self.kept..] {
            f.message = format!("{} {}", f.message, AT_SUBMISSION);
        }
        record
    }

    pub fn verdict(&self) -> Verdict {
        if !self.allowed {
            Verdict::Rejected
        } else if self.record.findings.is_empty() {
            Verdict::Clean
        } else {
            Verdict::Warned
        }
    }
}

/// Appended to a kept finding's message where only the message can say it.
pub const AT_SUBMISSION: &str =
    "(found when it was submitted; not re-checked: the state keeps no document)";

/// What the gateway would say of a workload: its admission verdict and whether it
/// has anything to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Admitted with nothing to report.
    Clean,
    /// Admitted with warnings, findings of an `audit` policy, or a container that
    /// would not start.
    Warned,
    Rejected,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Warned => "warned",
            Verdict::Rejected => "rejected",
        }
    }
}

/// One subject of the audit.
#[derive(Debug, Clone)]
pub enum Audited {
    Checked(Checked),
    /// Not evaluated: outside the view, not a workload the plugin reads (`input`:
    /// the document's fault, an input error for a file), or the plugin gave up
    /// (`undecided`: trapped, out of time, fuel or memory, a document over its limit;
    /// the audit fails closed on it, as admission does).
    Skipped {
        source: String,
        reason: String,
        input: bool,
        undecided: bool,
    },
}

/// Where a document is evaluated: as `simulate -n/-p` places it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place<'a> {
    pub namespace: Option<&'a str>,
    pub project: Option<&'a str>,
    pub workload_type: Option<&'a str>,
}

/// A full evaluation with references and the resolved environment (for the names).
enum Full {
    Decided(Key, Box<Decision>),
    Audited(Audited),
}

fn full(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    json: String,
    place: Place<'_>,
    owner: Option<&Key>,
    source: &str,
) -> Result<Full> {
    let request = Request {
        workload: json,
        namespace: place.namespace,
        project: place.project,
        workload_type: place.workload_type,
        with_env: true,
        with_references: true,
    };
    let skipped = |reason: String, input: bool, undecided: bool| {
        Full::Audited(Audited::Skipped {
            source: source.to_string(),
            reason,
            input,
            undecided,
        })
    };
    Ok(match simulate::evaluate(evaluator, cluster, request)? {
        Ok(Evaluation::Decided { placed, decision }) => Full::Decided(
            Key::new(&placed.id.kind, &placed.namespace, &placed.id.name),
            decision,
        ),
        Ok(Evaluation::Failed {
            placed: Some(p),
            failure,
        }) => Full::Audited(Audited::Checked(Checked {
            record: Record::undecided(
                Key::new(&p.id.kind, &p.namespace, &p.id.name),
                owner.cloned(),
                failure.code,
                &failure.message,
            ),
            kept: 0,
            source: source.to_string(),
            allowed: false,
        })),
        Ok(Evaluation::Failed {
            placed: None,
            failure,
        }) => skipped(
            format!("the plugin did not decide: {}", failure.message),
            false,
            true,
        ),
        Err(Refusal::Input(e)) => skipped(
            simulate::input_error(source, e)
                .to_string()
                .trim_start_matches(&format!("{source}: "))
                .to_string(),
            true,
            false,
        ),
        Err(Refusal::Placement(e)) => skipped(e.describe(cluster), true, false),
    })
}

/// Evaluates one workload document in full (as if it ran): its findings now.
pub fn check_document(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    json: String,
    place: Place<'_>,
    owner: Option<Key>,
    source: &str,
) -> Result<Audited> {
    Ok(
        match full(evaluator, cluster, json, place, owner.as_ref(), source)? {
            Full::Decided(key, decision) => Audited::Checked(Checked {
                record: Record::from_decision(key, owner, &decision),
                kept: 0,
                source: source.to_string(),
                allowed: decision.allowed,
            }),
            Full::Audited(a) => a,
        },
    )
}

/// The seam of every offline audit (files here; the live cluster's workloads when
/// the integrator lists them): each `(json, namespace, owner)` evaluated in full
/// against `cluster`, named `source` in the output.
pub fn check_documents(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    workloads: impl IntoIterator<Item = (String, Option<String>, Option<Key>)>,
    source: &str,
) -> Result<Vec<Audited>> {
    workloads
        .into_iter()
        .map(|(json, namespace, owner)| {
            let place = Place {
                namespace: namespace.as_deref(),
                ..Place::default()
            };
            check_document(evaluator, cluster, json, place, owner, source)
        })
        .collect()
}

/// The controller that owns a document (`ownerReferences[].controller`), as a key in
/// the document's namespace.
pub fn owner_of(doc: &Document, namespace: &str) -> Option<Key> {
    let refs = doc.value.pointer("/metadata/ownerReferences")?.as_array()?;
    let owner = refs
        .iter()
        .find(|r| r.get("controller").and_then(|c| c.as_bool()) == Some(true))?;
    Some(Key::new(
        owner.get("kind")?.as_str()?,
        namespace,
        owner.get("name")?.as_str()?,
    ))
}

/// Whether a document is a workload (created and recorded) rather than an object of
/// the cluster's configuration: a kind of the plugin's table.
pub fn is_workload(doc: &Document) -> bool {
    let kind = doc.kind();
    guest::workload::runai_workload_type(kind).is_some()
        || guest::workload::templates::pod_kind(kind).is_some()
}

/// What recording an admitted workload gives.
pub enum Recording {
    /// Admitted: created, with its record.
    Created(Box<Stored>),
    /// Rejected (or undecided: fail closed): the API server would not create it. The
    /// reasons, `code at field: message`.
    Refused(Vec<String>),
}

/// Records a workload that was just submitted: evaluated in full, and, when admitted,
/// its references re-checked once so the findings that do not come from them are
/// known (they are kept; the others are decided again at every audit). A document
/// the plugin cannot read or that lands in no namespace of the view is an error.
pub fn record(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    doc: &Document,
    place: Place<'_>,
) -> Result<Recording> {
    let (stored, decision) = match evaluate_for_record(evaluator, cluster, doc, place)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    if !decision.allowed {
        let why = decision
            .violations
            .iter()
            .map(|v| {
                let at = if v.field.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", crate::text::shown_max(&v.field, 400))
                };
                format!(
                    "{}{at}: {}",
                    v.code,
                    crate::text::shown_max(&v.message, 2000)
                )
            })
            .collect();
        return Ok(Recording::Refused(why));
    }
    Ok(Recording::Created(Box::new(stored)))
}

/// The record a document would get, admitted or not, and the decision (`record`
/// keeps only admitted ones; the tests re-check every fixture).
pub fn evaluate_for_record(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    doc: &Document,
    place: Place<'_>,
) -> Result<std::result::Result<(Stored, Box<Decision>), Recording>> {
    let namespace_hint = place
        .namespace
        .or_else(|| doc.str_at("/metadata/namespace"));
    let owner = namespace_hint.and_then(|ns| owner_of(doc, ns));
    let (key, decision) = match full(
        evaluator,
        cluster,
        doc.value.to_string(),
        place,
        owner.as_ref(),
        &doc.source,
    )? {
        Full::Decided(key, decision) => (key, decision),
        Full::Audited(Audited::Checked(c)) => {
            let why = c
                .record
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message));
            return Ok(Err(Recording::Refused(why.collect())));
        }
        Full::Audited(Audited::Skipped { source, reason, .. }) => {
            anyhow::bail!("{source}: {reason}")
        }
    };
    let owner = owner.map(|o| Key::new(&o.kind, &key.namespace, &o.name));
    let record = Record::from_decision(key, owner, &decision);
    let names = names(&record, &decision, &doc.value);
    let mut stored = Stored {
        record,
        names,
        kept: Vec::new(),
        source: doc.source.clone(),
    };
    // What the references alone give against the same view: the rest is kept.
    let from_references = match recheck_references(evaluator, cluster, &stored)? {
        Ok((findings, _)) => findings,
        Err(_) => Vec::new(),
    };
    stored.kept = stored
        .record
        .findings
        .iter()
        .filter(|f| {
            f.code != WILL_NOT_START
                && !from_references
                    .iter()
                    .any(|r| r.code == f.code && r.field == f.field)
        })
        .cloned()
        .collect();
    Ok(Ok((stored, decision)))
}

/// The `name` of the object at `entry` (a field path) in the document.
fn name_at(document: &serde_json::Value, entry: &str) -> Option<String> {
    let mut pointer = String::new();
    for part in entry.split('.') {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        pointer.push('/');
        pointer.push_str(name);
        for index in indexes.split('[') {
            let index = index.trim_end_matches(']');
            if !index.is_empty() {
                pointer.push('/');
                pointer.push_str(index);
            }
        }
    }
    pointer.push_str("/name");
    Some(document.pointer(&pointer)?.as_str()?.to_string())
}

/// The `name` beside a pod env entry's `valueFrom.secretKeyRef` or a REST API entry's
/// `secret`, read from the document at the reference's field.
fn name_beside(document: &serde_json::Value, field: &str) -> Option<String> {
    let entry = field
        .strip_suffix(".valueFrom.secretKeyRef.name")
        .or_else(|| field.strip_suffix(".secret.name"))?;
    name_at(document, entry)
}

/// The name of the volume a volume reference's field is in.
fn volume_name(document: &serde_json::Value, field: &str) -> Option<String> {
    let at = field.find("volumes[")?;
    let end = at + field[at..].find(']')? + 1;
    name_at(document, &field[..end])
}

/// The names a re-check shows (`Stored::names`): an env reference's variable, the
/// name beside it in the document, else (a Run:ai CRD's items, a policy's defaults)
/// from the resolved environment, a container's variables that read the same secret
/// and key, in order; a volume reference's volume.
fn names(
    record: &Record,
    decision: &Decision,
    document: &serde_json::Value,
) -> Vec<Option<String>> {
    let mut taken: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    record
        .references
        .iter()
        .map(|r| {
            if r.kind == crate::workloads::record::Use::Volume {
                return volume_name(document, &r.field);
            }
            let key = r.key.as_deref()?;
            if r.kind != crate::workloads::record::Use::Env {
                return None;
            }
            if let Some(name) = name_beside(document, &r.field) {
                return Some(name);
            }
            let container = decision.env.iter().find(|c| c.container == r.container)?;
            let skip = taken.entry((&r.container, &r.secret, key)).or_default();
            let found = container
                .vars
                .iter()
                .filter(|v| {
                    matches!(&v.source, EnvSource::Secret(s) if s.name == r.secret && s.key == key)
                })
                .nth(*skip)
                .map(|v| v.name.clone());
            *skip += 1;
            found
        })
        .collect()
}

/// The findings of a re-check and whether the plugin would admit it now; or why
/// there are none and whether the plugin gave up.
type Rechecked = std::result::Result<(Vec<Finding>, bool), (String, bool)>;

/// The findings the references alone give now, with the fields of the workload's
/// own document; `Err` is why the plugin gave none, and whether it gave up.
fn recheck_references(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    stored: &Stored,
) -> Result<Rechecked> {
    let mut findings = Vec::new();
    let mut allowed = true;
    for pod in skeleton::pods(stored) {
        let request = Request {
            workload: pod.document.to_string(),
            namespace: Some(&stored.record.key.namespace),
            project: None,
            workload_type: None,
            with_env: false,
            with_references: false,
        };
        match simulate::evaluate(evaluator, cluster, request)? {
            Ok(Evaluation::Decided { decision, .. }) => {
                let record = Record::from_decision(stored.record.key.clone(), None, &decision);
                findings.extend(record.findings.into_iter().map(|mut f| {
                    f.field = pod.original_field(&f.field);
                    f
                }));
                allowed &= decision.allowed;
            }
            Ok(Evaluation::Failed { failure, .. }) => {
                return Ok(Err((
                    format!("the plugin did not decide: {}", failure.message),
                    true,
                )));
            }
            Err(Refusal::Input(e)) => return Ok(Err((e.message, false))),
            Err(Refusal::Placement(e)) => return Ok(Err((e.describe(cluster), false))),
        }
    }
    Ok(Ok((findings, allowed)))
}

/// A recorded workload re-checked against `cluster`: its references decided now,
/// the rest kept from its last full evaluation.
pub fn recheck(evaluator: &dyn Evaluator, cluster: &Cluster, stored: &Stored) -> Result<Audited> {
    let source = stored.source.clone();
    Ok(match recheck_references(evaluator, cluster, stored)? {
        Ok((mut findings, allowed)) => {
            let kept = stored.kept.len();
            findings.extend(stored.kept.iter().cloned());
            // Kept findings never reject: the workload was admitted when they were found.
            Audited::Checked(Checked {
                record: Record {
                    key: stored.record.key.clone(),
                    owner: stored.record.owner.clone(),
                    references: stored.record.references.clone(),
                    findings,
                },
                kept,
                source,
                allowed,
            })
        }
        Err((reason, undecided)) => Audited::Skipped {
            source,
            reason,
            input: false,
            undecided,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{kind_and_name, names_kind};

    #[test]
    fn kinds_as_kubectl_takes_them() {
        for (asked, kind, want) in [
            ("job", "Job", true),
            ("Job", "Job", true),
            ("jobs", "Job", true),
            ("jobs.batch", "Job", true),
            ("job.batch", "Job", true),
            ("trainingworkloads.run.ai", "TrainingWorkload", true),
            // Another group's resource of the same name is not this kind.
            ("jobs.apps", "Job", false),
            ("jobs.batch.volcano.sh", "Job", false),
            ("pods.batch", "Pod", false),
            ("pods", "Pod", true),
            ("cronjobs", "Job", false),
            ("jobss", "Job", false),
            ("jo", "Job", false),
            (".batch", "Job", false),
            ("é", "Job", false),
        ] {
            assert_eq!(names_kind(asked, kind), want, "{asked} for {kind}");
        }
    }

    #[test]
    fn kind_and_name_as_kubectl_takes_them() {
        assert_eq!(kind_and_name("pod/p").unwrap(), ("pod", "p"));
        for bad in ["pod", "/p", "pod/", "a/b/c", ""] {
            assert!(kind_and_name(bad).is_err(), "{bad}");
        }
    }
}

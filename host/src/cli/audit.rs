//! `host audit`: workloads that exist (or would) against the current view, like
//! `kyverno apply` and `gator` offline: workload files evaluated as if they ran; with
//! `--state`, the workloads the state recorded, re-checked from their references; with
//! `--kubeconfig`/`--in-cluster`, the live cluster's, listed once and evaluated in full
//! against the view read from it. `--candidate-policy` and `--without-secret` show what
//! a change would do to each.

use super::evaluate::{WorkloadInputs, check_state_policies, load_cluster, load_plugin};
use super::{ClusterArgs, PluginArgs};
use crate::audit::impact::{Effect, Impact, WithoutSecret};
use crate::audit::offline::{self, Audited, Checked, Place};
use crate::audit::policy_report;
use crate::cluster::{Cluster, POLICY_KINDS, load_documents};
use crate::documents::{self, Entry};
use crate::input;
use crate::manifest;
use crate::plugin::Plugin;
use crate::simulate::{Scope, check_policies};
use crate::state::StateDir;
use crate::text::{shown, shown_max};
use crate::workloads::{Index, Key, Outcome};
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
    Yaml,
    Junit,
    /// The PolicyReports (wgpolicyk8s.io/v1alpha2) the gateway would write.
    Policyreport,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Workload files (YAML or JSON; `-` for standard input) or directories of them,
    /// evaluated as if they ran.
    #[arg(value_name = "WORKLOAD")]
    workloads: Vec<PathBuf>,
    /// Read directories recursively (as `kubectl apply -R`).
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Only this namespace's recorded workloads; the namespace of documents that
    /// name none.
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "project"
    )]
    namespace: Option<String>,
    /// Only this project's recorded workloads; the project of documents that name none.
    #[arg(short = 'p', long, value_name = "PROJECT")]
    project: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Workload type of REST API requests (their type comes from the endpoint).
    #[arg(long = "type", value_name = "TYPE", value_parser = ["training", "workspace", "distributed", "inference"])]
    workload_type: Option<String>,
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    output: AuditFormat,
    /// A policy file to try: each workload's verdict now and with its policies added
    /// (or replacing the ones of the same kind, namespace and name). Nothing changes.
    #[arg(long = "candidate-policy", value_name = "FILE")]
    candidates: Vec<PathBuf>,
    /// A secret, or one key of it, to try without: each workload's verdict now and
    /// without it (a cluster-wide source takes its copies with it). Nothing changes.
    #[arg(long = "without-secret", value_name = "NS/NAME[/KEY]")]
    without: Vec<String>,
}

/// Where an audited workload comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A workload file, evaluated as if it ran.
    File,
    /// A workload the state recorded, re-checked from its references.
    Recorded,
    /// A workload of the live cluster, evaluated in full.
    Cluster,
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Recorded => "state",
            Origin::Cluster => "cluster",
        }
    }
}

/// One audited subject, and where it comes from.
struct Subject {
    audited: Audited,
    origin: Origin,
}

/// The view now and, when a change is tried, with it; each workload is audited
/// against both as it comes (a live cluster's are never all held at once).
struct Audit<'a> {
    plugin: &'a Plugin,
    now: &'a Cluster,
    changed: Option<&'a Cluster>,
    before: Vec<Subject>,
    after: Vec<Subject>,
}

impl Audit<'_> {
    fn add(&mut self, origin: Origin, check: impl Fn(&Cluster) -> Result<Audited>) -> Result<()> {
        self.before.push(Subject {
            audited: check(self.now)?,
            origin,
        });
        if let Some(changed) = self.changed {
            self.after.push(Subject {
                audited: check(changed)?,
                origin,
            });
        }
        Ok(())
    }

    /// A workload document in full. A file's document the plugin cannot read is an
    /// input error (exit 2); a cluster's is listed as skipped.
    fn document(
        &mut self,
        origin: Origin,
        json: &str,
        place: Place<'_>,
        owner: Option<&Key>,
        key: Option<&Key>,
        source: &str,
    ) -> Result<()> {
        let plugin = self.plugin;
        self.add(origin, |cluster| {
            let mut audited = offline::check_document(
                plugin,
                cluster,
                json.to_string(),
                place,
                owner.cloned(),
                source,
            )?;
            match &mut audited {
                Audited::Skipped {
                    source,
                    reason,
                    input: true,
                    ..
                } if origin == Origin::File => bail!("{source}: {reason}"),
                // Filed under the object's own identity, as the gateway files it.
                Audited::Checked(c) => {
                    if let Some(key) = key {
                        c.record.key = key.clone();
                    }
                }
                Audited::Skipped { .. } => {}
            }
            Ok(audited)
        })
    }

    /// A document of a file that is neither evaluated nor applied (a Service).
    fn skipped(&mut self, skipped: &crate::documents::Skipped) {
        let subject = || Subject {
            audited: Audited::Skipped {
                source: format!("{} ({})", crate::documents::describe(skipped), skipped.file),
                reason: skipped.reason.clone(),
                input: false,
                undecided: false,
            },
            origin: Origin::File,
        };
        self.before.push(subject());
        if self.changed.is_some() {
            self.after.push(subject());
        }
    }
}

impl AuditArgs {
    /// No workload file and no live cluster given.
    pub fn names_nothing(&self) -> bool {
        self.workloads.is_empty() && self.cluster.connection().is_none()
    }
}

pub fn audit(plugin: &PluginArgs, state: Option<&PathBuf>, args: AuditArgs) -> Result<u8> {
    let mut without = args
        .without
        .iter()
        .map(|w| WithoutSecret::parse(w))
        .collect::<Result<Vec<_>>>()?;
    // The same removal twice, or a key of a secret that goes whole, is one removal.
    let whole: Vec<(String, String)> = without
        .iter()
        .filter(|w| w.key.is_none())
        .map(|w| (w.namespace.clone(), w.name.clone()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    without.retain(|w| {
        let covered = w.key.is_some() && whole.contains(&(w.namespace.clone(), w.name.clone()));
        !covered && seen.insert((w.namespace.clone(), w.name.clone(), w.key.clone()))
    });
    let connection = args.cluster.connection();
    if args.workloads.is_empty() && state.is_none() && connection.is_none() {
        bail!(
            "nothing to audit: give workload files or directories, --state DIR for the workloads \
             recorded there, or --kubeconfig FILE / --in-cluster for those of a live cluster"
        );
    }
    let mut cluster = load_cluster(state, &args.cluster)?;
    let scope = Scope {
        namespace: args.namespace.clone(),
        project: args.project.clone(),
    };
    // -p names a project: its namespace is the one audited and shown.
    let namespace = match (&args.namespace, &args.project) {
        // Recorded workloads alone: a namespace the state does not know is a mistake,
        // as `-p` with a project it does not know (a live cluster's may be unread).
        (Some(ns), _)
            if args.workloads.is_empty()
                && connection.is_none()
                && !cluster.namespace_exists(ns) =>
        {
            let unknown = crate::simulate::PlacementError::UnknownNamespace {
                namespace: ns.clone(),
            };
            bail!("-n {}: {}", shown(ns), unknown.describe(&cluster))
        }
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(p)) => match cluster.find_project(p) {
            Some(project) => Some(cluster.project_namespace(project)),
            None => bail!("-p {}: no such project", shown(p)),
        },
        (None, None) => None,
    };
    let inputs = WorkloadInputs {
        paths: args.workloads.clone(),
        recursive: args.recursive,
        scope,
    };
    // Files as users keep them: their Secrets and policies exist beside their
    // workloads (applied to the view first), a Service is listed as skipped.
    let mut entries = Vec::new();
    for (path, files) in inputs.files()? {
        let mut docs = Vec::new();
        for file in files {
            docs.extend(manifest::read_file(&file)?);
        }
        entries.extend(documents::sort_path(docs, &input::display(&path))?);
    }
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    let mut applied = Vec::new();
    for entry in entries {
        match entry {
            Entry::Workload(doc) => docs.push(doc),
            Entry::Apply(doc) => applied.push(documents::place(doc, namespace.as_deref())?),
            Entry::Skip(s) => skipped.push(s),
        }
    }
    if !applied.is_empty() {
        load_documents(&mut cluster, &applied)?;
    }
    let mut candidates = Vec::new();
    for path in &args.candidates {
        let docs = manifest::read_file(path)?;
        if docs.is_empty() {
            bail!(
                "{}: --candidate-policy: the file holds no documents: expected policies ({} or a V2 policy)",
                input::display(path),
                POLICY_KINDS.join(", ")
            );
        }
        for doc in docs {
            let is_policy = POLICY_KINDS.contains(&doc.kind())
                || (doc.kind().is_empty() && doc.value.get("meta").is_some());
            if !is_policy {
                bail!(
                    "{}: --candidate-policy takes policies ({} or a V2 policy), not `{}`",
                    shown(&doc.source),
                    POLICY_KINDS.join(", "),
                    shown(doc.kind())
                );
            }
            candidates.push(doc);
        }
    }
    let recorded = match state {
        Some(dir) => StateDir::new(dir).read_state()?.workloads,
        None => Default::default(),
    };
    let in_scope = |ns: &str| namespace.as_ref().is_none_or(|n| n == ns);
    let (plugin, _, _) = load_plugin(plugin)?;
    check_state_policies(&plugin, &cluster, state)?;
    if !applied.is_empty() {
        check_policies(&plugin, &cluster)?;
    }
    let mut changed = None;
    let mut change = Vec::new();
    if !candidates.is_empty() || !without.is_empty() {
        let mut c = cluster.clone();
        if !candidates.is_empty() {
            load_documents(&mut c, &candidates)?;
            check_policies(&plugin, &c)?;
            change.extend(
                args.candidates
                    .iter()
                    .map(|p| format!("with the policies of {}", input::display(p))),
            );
        }
        for w in &without {
            w.apply(&mut c)?;
            change.push(w.describe());
        }
        changed = Some(c);
    }
    let mut audit = Audit {
        plugin: &plugin,
        now: &cluster,
        changed: changed.as_ref(),
        before: Vec::new(),
        after: Vec::new(),
    };
    let place = Place {
        namespace: args.namespace.as_deref(),
        project: args.project.as_deref(),
        workload_type: args.workload_type.as_deref(),
    };
    for doc in &docs {
        let namespace = place
            .namespace
            .or_else(|| doc.str_at("/metadata/namespace"))
            .unwrap_or("");
        let owner = offline::owner_of(doc, namespace);
        audit.document(
            Origin::File,
            &doc.value.to_string(),
            place,
            owner.as_ref(),
            None,
            &doc.source,
        )?;
    }
    for s in &skipped {
        audit.skipped(s);
    }
    for s in recorded
        .iter()
        .filter(|w| in_scope(&w.record.key.namespace))
    {
        audit.add(Origin::Recorded, |cluster| {
            offline::recheck(&plugin, cluster, s)
        })?;
    }
    if let Some(connection) = &connection {
        live_workloads(&mut audit, connection, &in_scope)?;
    }
    let Audit { before, after, .. } = audit;
    let (before, after) = distinct(before, after);
    let (before, after) = on_owners(before, after);
    if changed.is_none() {
        return print(&before, args.output);
    }
    let impact = Impact::compare(
        change,
        &before.iter().map(|s| s.audited.clone()).collect::<Vec<_>>(),
        &after.iter().map(|s| s.audited.clone()).collect::<Vec<_>>(),
    );
    print_impact(&impact, &after, args.output)
}

/// Every workload of the live cluster in scope, listed once and evaluated in full
/// as its page is read (the object dropped once evaluated, as the gateway does).
fn live_workloads(
    audit: &mut Audit<'_>,
    connection: &crate::live::Connection,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let source = connection.describe();
    let mut failed = None;
    let absent = super::import::workloads(connection, |kind, object| {
        if failed.is_some() || !in_scope(&object.namespace) {
            return;
        }
        let owner = object
            .owner
            .as_ref()
            .map(|(k, n)| Key::new(k, &object.namespace, n));
        let key = Key::new(kind, &object.namespace, &object.name);
        let place = Place {
            namespace: Some(&object.namespace),
            ..Place::default()
        };
        if let Err(e) = audit.document(
            Origin::Cluster,
            &object.json,
            place,
            owner.as_ref(),
            Some(&key),
            &source,
        ) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if !absent.is_empty() {
        eprintln!(
            "note: not served by the API server (their CRDs are not installed), none audited: {}",
            crate::text::some(&absent)
        );
    }
    Ok(())
}

/// Each workload once: a file given twice, or a file's workload that the state recorded
/// or the cluster runs, is one workload, as `kubectl apply` would leave one. The later
/// file wins (as the later `-f` of an apply), and a file wins over what runs: it is the
/// change being tried. The same subjects go from both lists.
fn distinct(before: Vec<Subject>, after: Vec<Subject>) -> (Vec<Subject>, Vec<Subject>) {
    let mut kept: BTreeMap<Key, usize> = BTreeMap::new();
    let mut keep = vec![true; before.len()];
    for (i, s) in before.iter().enumerate() {
        let Audited::Checked(c) = &s.audited else {
            continue;
        };
        match kept.get(&c.record.key) {
            Some(&j) if s.origin == Origin::File || before[j].origin != Origin::File => {
                keep[j] = false;
                kept.insert(c.record.key.clone(), i);
            }
            Some(_) => keep[i] = false,
            None => {
                kept.insert(c.record.key.clone(), i);
            }
        }
    }
    retain(before, after, &keep)
}

/// The subjects at the places `keep` says, from both lists (`after` is empty or as long
/// as `before`).
fn retain(
    before: Vec<Subject>,
    after: Vec<Subject>,
    keep: &[bool],
) -> (Vec<Subject>, Vec<Subject>) {
    let filter = |subjects: Vec<Subject>| -> Vec<Subject> {
        subjects
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s)
            .collect()
    };
    (filter(before), filter(after))
}

/// A controller's workload (a Job's Pod) is reported on its controller when that is
/// audited too, once, as the gateway reports it; one whose controller is not among
/// them is reported as itself. The same subjects go from both lists.
fn on_owners(before: Vec<Subject>, after: Vec<Subject>) -> (Vec<Subject>, Vec<Subject>) {
    let keys: BTreeSet<Key> = before
        .iter()
        .filter_map(|s| match &s.audited {
            Audited::Checked(c) => Some(c.record.key.clone()),
            Audited::Skipped { .. } => None,
        })
        .collect();
    let keep: Vec<bool> = before
        .iter()
        .map(|s| match &s.audited {
            Audited::Checked(c) => c.record.owner.as_ref().is_none_or(|o| !keys.contains(o)),
            Audited::Skipped { .. } => true,
        })
        .collect();
    retain(before, after, &keep)
}

fn result_name(c: &Checked) -> &'static str {
    if c.fails() {
        "fail"
    } else if c.record.findings.is_empty() {
        "pass"
    } else {
        "warn"
    }
}

fn exit_code(subjects: &[Subject]) -> u8 {
    // A workload the plugin gave up on fails closed, as admission would.
    let fails = subjects.iter().any(|s| match &s.audited {
        Audited::Checked(c) => c.fails(),
        Audited::Skipped { undecided, .. } => *undecided,
    });
    u8::from(fails)
}

/// Where a subject came from, as titles and JUnit classes say it.
fn from(c: &Checked, origin: Origin) -> String {
    match origin {
        Origin::Recorded => format!("recorded: {}", c.source),
        Origin::File | Origin::Cluster => c.source.clone(),
    }
}

fn title(c: &Checked, origin: Origin) -> String {
    let key = &c.record.key;
    let owner = c
        .record
        .owner
        .as_ref()
        .map(|o| format!(", of {} {}", shown(&o.kind), shown(&o.name)))
        .unwrap_or_default();
    let from = from(c, origin);
    let from = shown(&from);
    format!(
        "{} {}/{} ({from}{owner})",
        shown(&key.kind),
        shown(&key.namespace),
        shown(&key.name)
    )
}

fn text(subjects: &[Subject]) -> String {
    let mut s = String::new();
    let (mut fail, mut warn, mut pass, mut skipped) = (0, 0, 0, 0);
    for subject in subjects {
        let c = match &subject.audited {
            Audited::Checked(c) => c,
            Audited::Skipped {
                source,
                reason,
                undecided,
                ..
            } => {
                skipped += 1;
                let what = if *undecided {
                    "FAIL, fails closed"
                } else {
                    "skipped"
                };
                let _ = writeln!(
                    s,
                    "{} (not audited)\n  {what}: {}",
                    shown(source),
                    shown_max(reason, 2000)
                );
                continue;
            }
        };
        let _ = writeln!(s, "{}", title(c, subject.origin));
        let verdict = match result_name(c) {
            "fail" => {
                fail += 1;
                "FAIL"
            }
            "warn" => {
                warn += 1;
                "WARN"
            }
            _ => {
                pass += 1;
                "PASS"
            }
        };
        let admission = if c.allowed {
            ""
        } else if subject.origin == Origin::Recorded {
            " (it would be rejected if submitted now)"
        } else {
            " (rejected at admission)"
        };
        let _ = writeln!(s, "  {verdict}{admission}");
        for (i, f) in c.record.findings.iter().enumerate() {
            let mark = match f.outcome {
                Outcome::Fail => 'x',
                Outcome::Warn => '!',
            };
            let at = if f.field.is_empty() {
                String::new()
            } else {
                format!(" at {}", shown_max(&f.field, 400))
            };
            let _ = writeln!(s, "    {mark} {}{at}", shown(&f.code));
            let _ = writeln!(s, "      {}", shown_max(&f.message, 2000));
            if !f.policy.is_empty() {
                let _ = writeln!(s, "      ({})", shown(&f.policy));
            }
            if c.is_kept(i) {
                let _ = writeln!(
                    s,
                    "      (found at submission; not re-checked: the state keeps no document)"
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "{} workload(s) audited: {fail} fail, {warn} warn, {pass} pass{}",
        fail + warn + pass,
        if skipped > 0 {
            format!("; {skipped} skipped")
        } else {
            String::new()
        }
    );
    s
}

fn json_of(subjects: &[Subject]) -> Value {
    let mut workloads = Vec::new();
    let mut skipped = Vec::new();
    for subject in subjects {
        match &subject.audited {
            Audited::Checked(c) => {
                let key = &c.record.key;
                let findings: Vec<Value> = c
                    .record
                    .findings
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        json!({"code": f.code, "result": f.outcome.name(), "field": f.field,
                               "message": f.message, "policy": f.policy,
                               "checked": if c.is_kept(i) { "at-submission" } else { "now" }})
                    })
                    .collect();
                let mut w = json!({"kind": key.kind, "name": key.name, "namespace": key.namespace,
                    "source": c.source, "recorded": subject.origin == Origin::Recorded, "origin": subject.origin.name(), "result": result_name(c),
                    "allowed": c.allowed, "findings": findings});
                if let Some(o) = &c.record.owner {
                    w["owner"] = json!({"kind": o.kind, "name": o.name});
                }
                workloads.push(w);
            }
            Audited::Skipped {
                source,
                reason,
                undecided,
                ..
            } => skipped.push(json!({"source": source, "reason": reason, "undecided": undecided})),
        }
    }
    let count = |r: &str| workloads.iter().filter(|w| w["result"] == r).count();
    let summary = json!({"fail": count("fail"), "warn": count("warn"), "pass": count("pass"),
                         "skipped": skipped.len()});
    json!({"workloads": workloads, "skipped": skipped, "summary": summary})
}

fn junit(subjects: &[Subject]) -> String {
    use crate::suite::output::xml_escape;
    let checked: Vec<(&Checked, Origin)> = subjects
        .iter()
        .filter_map(|s| match &s.audited {
            Audited::Checked(c) => Some((c, s.origin)),
            Audited::Skipped { .. } => None,
        })
        .collect();
    let undecided = subjects
        .iter()
        .filter(|s| {
            matches!(
                s.audited,
                Audited::Skipped {
                    undecided: true,
                    ..
                }
            )
        })
        .count();
    let skipped = subjects.len() - checked.len() - undecided;
    let failures = checked.iter().filter(|(c, _)| c.fails()).count() + undecided;
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"host audit\" tests=\"{}\" failures=\"{failures}\">",
        subjects.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"host audit\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        subjects.len()
    );
    for (c, origin) in &checked {
        let key = &c.record.key;
        // Shown: XML 1.0 has no place for a control character, even escaped.
        let name = xml_escape(&format!(
            "{} {}/{}",
            shown(&key.kind),
            shown(&key.namespace),
            shown(&key.name)
        ));
        let class = xml_escape(&shown(&from(c, *origin)));
        if !c.fails() {
            let _ = writeln!(s, "    <testcase name=\"{name}\" classname=\"{class}\"/>");
            continue;
        }
        let lines: Vec<String> = c
            .record
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .map(|f| {
                let message = shown_max(&f.message, 2000);
                if f.field.is_empty() {
                    format!("{}: {message}", f.code)
                } else {
                    format!("{} at {}: {message}", f.code, shown_max(&f.field, 400))
                }
            })
            .collect();
        let _ = writeln!(s, "    <testcase name=\"{name}\" classname=\"{class}\">");
        let _ = writeln!(
            s,
            "      <failure message=\"{} failing finding(s)\">{}</failure>",
            lines.len(),
            xml_escape(&lines.join("\n"))
        );
        let _ = writeln!(s, "    </testcase>");
    }
    for subject in subjects {
        if let Audited::Skipped {
            source,
            reason,
            undecided,
            ..
        } = &subject.audited
        {
            let element = if *undecided { "failure" } else { "skipped" };
            let _ = writeln!(
                s,
                "    <testcase name=\"{}\" classname=\"host audit\"><{element} message=\"{}\"/></testcase>",
                xml_escape(&shown(source)),
                xml_escape(&shown_max(reason, 2000))
            );
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// The reports, one YAML document each, as `kubectl apply -f` takes them.
fn policy_reports(subjects: &[Subject]) -> Result<String> {
    let mut index = Index::default();
    for s in subjects {
        if let Audited::Checked(c) = &s.audited {
            // A controller's pod still here has no controller among them: it is
            // reported as itself (`on_owners`).
            let mut record = c.reported();
            record.owner = None;
            index.upsert(record);
        }
    }
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out = String::new();
    for report in policy_report::all(&index, timestamp) {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(&report)?);
    }
    Ok(out)
}

fn render(subjects: &[Subject], output: AuditFormat) -> Result<String> {
    Ok(match output {
        AuditFormat::Text => text(subjects),
        AuditFormat::Json => format!("{}\n", serde_json::to_string_pretty(&json_of(subjects))?),
        AuditFormat::Yaml => serde_yaml_ng::to_string(&json_of(subjects))?,
        AuditFormat::Junit => junit(subjects),
        AuditFormat::Policyreport => policy_reports(subjects)?,
    })
}

/// To stdout, with a closed pipe (`| head`) an error, not a panic.
pub(super) fn out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    Ok(stdout.flush()?)
}

fn print(subjects: &[Subject], output: AuditFormat) -> Result<u8> {
    out(&render(subjects, output)?)?;
    Ok(exit_code(subjects))
}

/// The impact, then (text) the findings with the change of the workloads it flips;
/// `-o policyreport` prints the reports as they would be with the change.
fn print_impact(impact: &Impact, after: &[Subject], output: AuditFormat) -> Result<u8> {
    let code = u8::from(impact.breaks());
    match output {
        AuditFormat::Text => {
            let mut s = format!("impact {}:\n", impact.change.join(", "));
            for effect in Effect::ALL {
                let rows: Vec<String> = impact.with(effect).map(|r| r.workload.clone()).collect();
                let names = if rows.is_empty() || effect == Effect::Unchanged {
                    String::new()
                } else {
                    format!(": {}", crate::text::some(&rows))
                };
                let _ = writeln!(s, "  {}: {}{names}", effect.name(), rows.len());
            }
            for r in &impact.rows {
                let new = if r.new_findings.is_empty() {
                    String::new()
                } else {
                    format!(" (new: {})", r.new_findings.join(", "))
                };
                let _ = writeln!(
                    s,
                    "{}  {} -> {}  {}{new}",
                    r.workload,
                    r.before.name(),
                    r.after.name(),
                    r.effect.name()
                );
            }
            for (source, reason) in &impact.skipped {
                let _ = writeln!(
                    s,
                    "{} not audited: {}",
                    shown(source),
                    shown_max(reason, 2000)
                );
            }
            out(&s)?;
        }
        AuditFormat::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&impact_json(impact)?)?
        ))?,
        AuditFormat::Yaml => out(&serde_yaml_ng::to_string(&impact_json(impact)?)?)?,
        AuditFormat::Junit | AuditFormat::Policyreport => out(&render(after, output)?)?,
    }
    Ok(code)
}

fn impact_json(impact: &Impact) -> Result<Value> {
    let mut v = serde_json::to_value(impact)?;
    let summary: serde_json::Map<String, Value> = Effect::ALL
        .iter()
        .map(|e| (e.name().replace(' ', "-"), json!(impact.with(*e).count())))
        .collect();
    v["summary"] = Value::Object(summary);
    v["skipped"] = json!(
        impact
            .skipped
            .iter()
            .map(|(source, reason)| json!({"source": source, "reason": reason}))
            .collect::<Vec<_>>()
    );
    Ok(v)
}

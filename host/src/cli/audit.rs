//! `host audit`: workloads that exist (or would) against the current view, like
//! `kyverno apply` and `gator` offline: workload files evaluated as if they ran and,
//! with `--state`, the workloads the state recorded, re-checked from their references.
//! `--candidate-policy` and `--without-secret` show what a change would do to each.

use super::evaluate::{WorkloadInputs, check_state_policies, load_cluster, load_plugin};
use super::{ClusterArgs, PluginArgs};
use crate::audit::impact::{Effect, Impact, WithoutSecret};
use crate::audit::offline::{self, Audited, Checked, Place};
use crate::audit::policy_report;
use crate::cluster::{Cluster, POLICY_KINDS, load_documents};
use crate::input;
use crate::manifest::{self, Document};
use crate::plugin::Plugin;
use crate::simulate::{Scope, check_policies};
use crate::state::StateDir;
use crate::text::{shown, shown_max};
use crate::workloads::{Index, Outcome};
use anyhow::{Result, bail};
use serde_json::{Value, json};
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

/// One audited subject, and whether it is a recorded workload.
struct Subject {
    audited: Audited,
    recorded: bool,
}

pub fn audit(plugin: &PluginArgs, state: Option<&PathBuf>, args: AuditArgs) -> Result<u8> {
    let without = args
        .without
        .iter()
        .map(|w| WithoutSecret::parse(w))
        .collect::<Result<Vec<_>>>()?;
    if args.workloads.is_empty() && state.is_none() {
        bail!(
            "nothing to audit: give workload files or directories, or --state DIR for the workloads \
             recorded there"
        );
    }
    let cluster = load_cluster(state, &args.cluster)?;
    let inputs = WorkloadInputs {
        paths: args.workloads.clone(),
        recursive: args.recursive,
        scope: Scope {
            namespace: args.namespace.clone(),
            project: args.project.clone(),
        },
    };
    let mut docs = Vec::new();
    for path in inputs.files()?.into_iter().flat_map(|(_, files)| files) {
        let read = manifest::read_file(&path)?;
        if read.is_empty() {
            bail!(
                "no workload documents in {}: expected at least one workload (YAML or JSON)",
                input::display(&path)
            );
        }
        docs.extend(read);
    }
    let mut candidates = Vec::new();
    for path in &args.candidates {
        for doc in manifest::read_file(path)? {
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
    // -p names a project: its namespace is the one shown.
    let namespace = match (&args.namespace, &args.project) {
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(p)) => match cluster.find_project(p) {
            Some(project) => Some(cluster.project_namespace(project)),
            None => bail!("-p {}: no such project", shown(p)),
        },
        (None, None) => None,
    };
    let stored: Vec<&offline::Stored> = recorded
        .iter()
        .filter(|w| {
            namespace
                .as_ref()
                .is_none_or(|ns| w.record.key.namespace == *ns)
        })
        .collect();
    let (plugin, _, _) = load_plugin(plugin)?;
    check_state_policies(&plugin, &cluster, state)?;
    let place = Place {
        namespace: args.namespace.as_deref(),
        project: args.project.as_deref(),
        workload_type: args.workload_type.as_deref(),
    };
    let now = audit_all(&plugin, &cluster, &docs, place, &stored)?;
    if candidates.is_empty() && without.is_empty() {
        return print(&now, args.output);
    }
    let mut changed = cluster.clone();
    let mut change = Vec::new();
    if !candidates.is_empty() {
        load_documents(&mut changed, &candidates)?;
        check_policies(&plugin, &changed)?;
        change.extend(
            args.candidates
                .iter()
                .map(|p| format!("with the policies of {}", input::display(p))),
        );
    }
    for w in &without {
        w.apply(&mut changed)?;
        change.push(w.describe());
    }
    let after = audit_all(&plugin, &changed, &docs, place, &stored)?;
    let impact = Impact::compare(
        change,
        &now.iter().map(|s| s.audited.clone()).collect::<Vec<_>>(),
        &after.iter().map(|s| s.audited.clone()).collect::<Vec<_>>(),
    );
    print_impact(&impact, &after, args.output)
}

/// Every file document in full, then every recorded workload from its references.
fn audit_all(
    plugin: &Plugin,
    cluster: &Cluster,
    docs: &[Document],
    place: Place<'_>,
    stored: &[&offline::Stored],
) -> Result<Vec<Subject>> {
    let mut out = Vec::new();
    for doc in docs {
        let namespace = place
            .namespace
            .or_else(|| doc.str_at("/metadata/namespace"))
            .unwrap_or("");
        let owner = offline::owner_of(doc, namespace);
        let audited = offline::check_document(
            plugin,
            cluster,
            doc.value.to_string(),
            place,
            owner,
            &doc.source,
        )?;
        if let Audited::Skipped {
            source,
            reason,
            input: true,
        } = &audited
        {
            bail!("{source}: {reason}");
        }
        out.push(Subject {
            audited,
            recorded: false,
        });
    }
    for s in stored {
        out.push(Subject {
            audited: offline::recheck(plugin, cluster, s)?,
            recorded: true,
        });
    }
    Ok(out)
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
    let fails = subjects
        .iter()
        .any(|s| matches!(&s.audited, Audited::Checked(c) if c.fails()));
    u8::from(fails)
}

fn title(c: &Checked, recorded: bool) -> String {
    let key = &c.record.key;
    let owner = c
        .record
        .owner
        .as_ref()
        .map(|o| format!(", of {} {}", o.kind, shown(&o.name)))
        .unwrap_or_default();
    let from = if recorded {
        format!("recorded: {}", shown(&c.source))
    } else {
        shown(&c.source).to_string()
    };
    format!(
        "{} {}/{} ({from}{owner})",
        key.kind,
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
            Audited::Skipped { source, reason, .. } => {
                skipped += 1;
                let _ = writeln!(
                    s,
                    "{} (not audited)\n  skipped: {}",
                    shown(source),
                    shown_max(reason, 2000)
                );
                continue;
            }
        };
        let _ = writeln!(s, "{}", title(c, subject.recorded));
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
        } else if subject.recorded {
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
            let _ = writeln!(s, "    {mark} {}{at}", f.code);
            let _ = writeln!(s, "      {}", shown_max(&f.message, 2000));
            if !f.policy.is_empty() {
                let _ = writeln!(s, "      ({})", f.policy);
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
                    "source": c.source, "recorded": subject.recorded, "result": result_name(c),
                    "allowed": c.allowed, "findings": findings});
                if let Some(o) = &c.record.owner {
                    w["owner"] = json!({"kind": o.kind, "name": o.name});
                }
                workloads.push(w);
            }
            Audited::Skipped { source, reason, .. } => {
                skipped.push(json!({"source": source, "reason": reason}))
            }
        }
    }
    let count = |r: &str| workloads.iter().filter(|w| w["result"] == r).count();
    let summary = json!({"fail": count("fail"), "warn": count("warn"), "pass": count("pass"),
                         "skipped": skipped.len()});
    json!({"workloads": workloads, "skipped": skipped, "summary": summary})
}

fn junit(subjects: &[Subject]) -> String {
    use crate::suite::output::xml_escape;
    let checked: Vec<(&Checked, bool)> = subjects
        .iter()
        .filter_map(|s| match &s.audited {
            Audited::Checked(c) => Some((c, s.recorded)),
            Audited::Skipped { .. } => None,
        })
        .collect();
    let skipped = subjects.len() - checked.len();
    let failures = checked.iter().filter(|(c, _)| c.fails()).count();
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
    for (c, recorded) in &checked {
        let key = &c.record.key;
        let name = xml_escape(&format!("{} {}/{}", key.kind, key.namespace, key.name));
        let class = xml_escape(&if *recorded {
            format!("recorded: {}", c.source)
        } else {
            c.source.clone()
        });
        if !c.fails() {
            let _ = writeln!(s, "    <testcase name=\"{name}\" classname=\"{class}\"/>");
            continue;
        }
        let lines: Vec<String> = c
            .record
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .map(|f| format!("{} at {}: {}", f.code, f.field, f.message))
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
        if let Audited::Skipped { source, reason, .. } = &subject.audited {
            let _ = writeln!(
                s,
                "    <testcase name=\"{}\" classname=\"host audit\"><skipped message=\"{}\"/></testcase>",
                xml_escape(source),
                xml_escape(reason)
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
            index.upsert(c.reported());
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

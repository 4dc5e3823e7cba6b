//! After admission (SPEC §11): every workload that exists evaluated against the
//! current view, its findings in PolicyReports, metrics and `host audit`.

pub mod guard;
pub mod impact;
pub mod offline;
pub mod policy_report;
pub mod skeleton;

use crate::cluster::Cluster;
use crate::simulate::{self, Evaluation, Evaluator, Refusal, Request};
use crate::workloads::{Key, Record};
use anyhow::Result;

/// What became of one workload put through the audit.
#[derive(Debug)]
pub enum Audited {
    /// Evaluated: its record (references and findings).
    Recorded(Record),
    /// Not evaluated: its namespace is outside the view, or the plugin cannot read it
    /// (the reason, without values).
    Skipped { reason: String },
}

/// Evaluates one workload that exists (or would) against `cluster`: the decision of
/// the one evaluation path, asked for references, as a record. A plugin that does not
/// decide (a trap, a timeout) is a failing finding of its own, never a pass.
pub fn audit_one(
    evaluator: &dyn Evaluator,
    cluster: &Cluster,
    workload: String,
    namespace: Option<&str>,
    owner: Option<Key>,
) -> Result<Audited> {
    let request = Request {
        workload,
        namespace,
        project: None,
        workload_type: None,
        with_env: false,
        with_references: true,
    };
    Ok(match simulate::evaluate(evaluator, cluster, request)? {
        Ok(Evaluation::Decided { placed, decision }) => {
            let key = Key::new(&placed.id.kind, &placed.namespace, &placed.id.name);
            Audited::Recorded(Record::from_decision(key, owner, &decision))
        }
        Ok(Evaluation::Failed { placed, failure }) => match placed {
            Some(p) => Audited::Recorded(Record::undecided(
                Key::new(&p.id.kind, &p.namespace, &p.id.name),
                owner,
                failure.code,
                &failure.message,
            )),
            None => Audited::Skipped {
                reason: failure.code.to_string(),
            },
        },
        Err(Refusal::Input(e)) => Audited::Skipped {
            reason: format!("unreadable at `{}`", crate::text::shown_max(&e.field, 200)),
        },
        Err(Refusal::Placement(e)) => Audited::Skipped {
            reason: e.describe_for_tenant(namespace),
        },
    })
}

//! The impact of a change before it is made (`host audit --candidate-policy F`,
//! `--without-secret NS/NAME[/KEY]`): every workload audited against the view as it
//! is and as it would be, and the verdicts compared. Nothing is changed.

use super::offline::{Audited, Verdict};
use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::text::shown;
use anyhow::{Result, bail};
use serde::Serialize;

/// A secret, or one of its keys, taken away in the changed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithoutSecret {
    pub namespace: String,
    pub name: String,
    pub key: Option<String>,
}

impl WithoutSecret {
    /// `NS/NAME` or `NS/NAME/KEY`.
    pub fn parse(arg: &str) -> Result<Self> {
        let parts: Vec<&str> = arg.split('/').collect();
        match parts.as_slice() {
            [ns, name] if !ns.is_empty() && !name.is_empty() => Ok(WithoutSecret {
                namespace: ns.to_string(),
                name: name.to_string(),
                key: None,
            }),
            [ns, name, key] if !ns.is_empty() && !name.is_empty() && !key.is_empty() => {
                Ok(WithoutSecret {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    key: Some(key.to_string()),
                })
            }
            _ => bail!(
                "--without-secret `{}`: expected NAMESPACE/NAME or NAMESPACE/NAME/KEY",
                shown(arg)
            ),
        }
    }

    pub fn describe(&self) -> String {
        match &self.key {
            Some(k) => format!(
                "without key `{}` of secret {}/{}",
                shown(k),
                shown(&self.namespace),
                shown(&self.name)
            ),
            None => format!(
                "without secret {}/{}",
                shown(&self.namespace),
                shown(&self.name)
            ),
        }
    }

    /// Takes it out of `cluster` (a cluster-wide source's copies go with it, as they
    /// do when it is deleted).
    pub fn apply(&self, cluster: &mut Cluster) -> Result<()> {
        let id = (self.namespace.clone(), self.name.clone());
        let Some(secret) = cluster.secrets.get_mut(&id) else {
            let copy =
                self.namespace != SYSTEM_NAMESPACE && cluster.is_cluster_wide_source(&self.name);
            if copy {
                bail!(
                    "--without-secret {}/{}: that is a copy of the cluster-wide {SYSTEM_NAMESPACE}/{}: name the source \
                     ({SYSTEM_NAMESPACE}/{}) to see every project without it",
                    shown(&self.namespace),
                    shown(&self.name),
                    shown(&self.name),
                    shown(&self.name)
                );
            }
            bail!(
                "--without-secret {}/{}: there is no secret `{}` in namespace {}",
                shown(&self.namespace),
                shown(&self.name),
                shown(&self.name),
                shown(&self.namespace)
            );
        };
        match &self.key {
            None => {
                cluster.secrets.remove(&id);
            }
            Some(key) => {
                if secret.keys.remove(key).is_none() {
                    let keys: Vec<&str> = secret.keys.keys().map(String::as_str).collect();
                    bail!(
                        "--without-secret {}/{}/{}: the secret has no key `{}` (keys: {})",
                        shown(&self.namespace),
                        shown(&self.name),
                        shown(key),
                        shown(key),
                        crate::text::some(&keys)
                    );
                }
            }
        }
        Ok(())
    }
}

/// What the change does to one workload's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    NewlyRejected,
    NewlyAdmitted,
    NewlyWarned,
    NoLongerWarned,
    Unchanged,
}

impl Effect {
    pub const ALL: [Effect; 5] = [
        Effect::NewlyRejected,
        Effect::NewlyAdmitted,
        Effect::NewlyWarned,
        Effect::NoLongerWarned,
        Effect::Unchanged,
    ];

    pub fn of(before: Verdict, after: Verdict) -> Effect {
        use Verdict::*;
        match (before, after) {
            (Clean | Warned, Rejected) => Effect::NewlyRejected,
            (Rejected, Clean | Warned) => Effect::NewlyAdmitted,
            (Clean, Warned) => Effect::NewlyWarned,
            (Warned, Clean) => Effect::NoLongerWarned,
            _ => Effect::Unchanged,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Effect::NewlyRejected => "newly rejected",
            Effect::NewlyAdmitted => "newly admitted",
            Effect::NewlyWarned => "newly warned",
            Effect::NoLongerWarned => "no longer warned",
            Effect::Unchanged => "unchanged",
        }
    }
}

/// One workload, now and with the change.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `Kind namespace/name`.
    pub workload: String,
    pub source: String,
    pub before: Verdict,
    pub after: Verdict,
    pub effect: Effect,
    /// The codes of its findings with the change that it does not have now.
    pub new_findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    /// What changes, in words.
    pub change: Vec<String>,
    pub rows: Vec<Row>,
    /// Workloads that could not be audited on one side or both, with why.
    pub skipped: Vec<(String, String)>,
}

impl Impact {
    /// Pairs the two audits of the same workloads, in the same order.
    pub fn compare(change: Vec<String>, before: &[Audited], after: &[Audited]) -> Impact {
        let mut rows = Vec::new();
        let mut skipped = Vec::new();
        for (b, a) in before.iter().zip(after) {
            match (b, a) {
                (Audited::Checked(b), Audited::Checked(a)) => {
                    let key = &b.record.key;
                    let mut new_findings: Vec<String> = a
                        .record
                        .findings
                        .iter()
                        .filter(|f| {
                            !b.record
                                .findings
                                .iter()
                                .any(|o| o.code == f.code && o.field == f.field)
                        })
                        .map(|f| shown(&f.code).into_owned())
                        .collect();
                    new_findings.dedup();
                    rows.push(Row {
                        workload: format!(
                            "{} {}/{}",
                            shown(&key.kind),
                            shown(&key.namespace),
                            shown(&key.name)
                        ),
                        source: b.source.clone(),
                        before: b.verdict(),
                        after: a.verdict(),
                        effect: Effect::of(b.verdict(), a.verdict()),
                        new_findings,
                    });
                }
                (Audited::Skipped { source, reason, .. }, _)
                | (_, Audited::Skipped { source, reason, .. }) => {
                    skipped.push((source.clone(), reason.clone()))
                }
            }
        }
        Impact {
            change,
            rows,
            skipped,
        }
    }

    pub fn with(&self, effect: Effect) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.effect == effect)
    }

    /// The change breaks something: a workload newly rejected.
    pub fn breaks(&self) -> bool {
        self.with(Effect::NewlyRejected).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_of_every_pair_of_verdicts() {
        use Verdict::*;
        let cases = [
            (Clean, Clean, Effect::Unchanged),
            (Clean, Warned, Effect::NewlyWarned),
            (Clean, Rejected, Effect::NewlyRejected),
            (Warned, Clean, Effect::NoLongerWarned),
            (Warned, Warned, Effect::Unchanged),
            (Warned, Rejected, Effect::NewlyRejected),
            (Rejected, Clean, Effect::NewlyAdmitted),
            (Rejected, Warned, Effect::NewlyAdmitted),
            (Rejected, Rejected, Effect::Unchanged),
        ];
        for (before, after, effect) in cases {
            assert_eq!(Effect::of(before, after), effect, "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn without_secret_reads_namespace_name_and_key() {
        let ok = [
            ("runai/hf", ("runai", "hf", None)),
            ("runai-a/db/password", ("runai-a", "db", Some("password"))),
        ];
        for (arg, (ns, name, key)) in ok {
            let w = WithoutSecret::parse(arg).unwrap();
            assert_eq!(
                (w.namespace.as_str(), w.name.as_str(), w.key.as_deref()),
                (ns, name, key)
            );
        }
        for bad in ["", "hf", "/hf", "runai/", "a/b/c/d", "a//k"] {
            let e = WithoutSecret::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("expected NAMESPACE/NAME or NAMESPACE/NAME/KEY"),
                "{bad}: {e}"
            );
        }
    }
}

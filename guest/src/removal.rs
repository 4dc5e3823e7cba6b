//! Taking a secret, or some of its keys, away from workloads that use it. The API
//! server does not refuse deleting a Secret in use; every running pod that reads it
//! keeps running on what it read at start and fails at its next start. This decides
//! which workloads break (the gateway indexed who references what) and what the
//! policies in scope say (`secretRemoval: deny|warn|allow`, the strictest wins,
//! `warn` when none says), in a message that names what breaks and when.

use crate::decision::{InputError, ReferenceKind, SecretReference};
use crate::policy::PolicySet;
use crate::policy::secret_policy::RemovalMode;
use crate::request::PolicyDocument;
use crate::shown::Shown;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removal {
    pub namespace: String,
    pub secret: String,
    /// The keys that go; empty when the whole secret goes.
    pub keys: Vec<String>,
    /// What takes it away, as the verb before the secret in the message (`deleting`,
    /// `removing`, `removing the cluster-wide label of`).
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUser {
    pub namespace: String,
    /// `Kind name`.
    pub workload: String,
    pub reference: SecretReference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalDecision {
    pub allowed: bool,
    pub mode: RemovalMode,
    /// The policy that set the mode; empty for the default.
    pub policy: String,
    /// (namespace, `Kind name`) of the workloads that break, sorted, each once.
    pub breaks: Vec<(String, String)>,
    pub message: String,
}

/// Names listed per namespace before "and N more".
const NAMES: usize = 5;

/// How a workload that lost this reference fails at its next start.
fn consequence(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Env | ReferenceKind::EnvFrom => {
            "pods will fail with CreateContainerConfigError at the next start"
        }
        ReferenceKind::Volume => {
            "pods will wait in ContainerCreating (FailedMount) at the next start"
        }
        ReferenceKind::ImagePull => {
            "pods may fail with ErrImagePull at the next start (a private registry)"
        }
    }
}

/// Whether losing these keys (all of them when `keys` is empty) stops a workload
/// that holds this reference from starting. An optional reference is skipped by the
/// kubelet; envFrom and a whole volume only lose variables or files when a key goes.
fn breaks(r: &SecretReference, keys: &[String]) -> bool {
    if r.optional {
        return false;
    }
    if keys.is_empty() {
        return true;
    }
    match (&r.key, r.kind) {
        (Some(key), ReferenceKind::Env | ReferenceKind::Volume) => keys.contains(key),
        _ => false,
    }
}

pub fn check(
    removal: &Removal,
    policies: &[PolicyDocument],
    users: &[SecretUser],
) -> Result<RemovalDecision, InputError> {
    let set = PolicySet::load_input(policies, &removal.namespace)?;
    let (mode, policy) = set
        .secret_policies
        .iter()
        .filter_map(|p| p.secret_removal.map(|m| (m, p.id())))
        .max_by_key(|(m, _)| *m)
        .unwrap_or((RemovalMode::Warn, String::new()));
    // By namespace, each workload once, with the first reference that breaks it.
    let mut broken: BTreeMap<&str, BTreeMap<&str, ReferenceKind>> = BTreeMap::new();
    for u in users
        .iter()
        .filter(|u| u.reference.secret == removal.secret)
    {
        if breaks(&u.reference, &removal.keys) {
            broken
                .entry(&u.namespace)
                .or_default()
                .entry(&u.workload)
                .or_insert(u.reference.kind);
        }
    }
    let list: Vec<(String, String)> = broken
        .iter()
        .flat_map(|(ns, ws)| ws.keys().map(|w| (ns.to_string(), w.to_string())))
        .collect();
    let message = if list.is_empty() || mode == RemovalMode::Allow {
        String::new()
    } else {
        describe(removal, &broken, list.len())
    };
    let allowed = list.is_empty() || mode != RemovalMode::Deny;
    let message = if allowed || message.is_empty() {
        message
    } else {
        let by = if policy.is_empty() {
            String::new()
        } else {
            format!(" ({policy} says secretRemoval: deny)")
        };
        format!("refused{by}: {message}")
    };
    Ok(RemovalDecision {
        allowed,
        mode,
        policy,
        breaks: list,
        message,
    })
}

fn describe(
    removal: &Removal,
    broken: &BTreeMap<&str, BTreeMap<&str, ReferenceKind>>,
    count: usize,
) -> String {
    let what = match removal.keys.as_slice() {
        [] => format!("secret `{}`", Shown(&removal.secret)),
        [key] => format!(
            "key `{}` of secret `{}`",
            Shown(key),
            Shown(&removal.secret)
        ),
        keys => format!(
            "keys {} of secret `{}`",
            crate::listed::some(
                &keys
                    .iter()
                    .map(|k| format!("`{}`", Shown(k)))
                    .collect::<Vec<_>>()
            ),
            Shown(&removal.secret)
        ),
    };
    // The strongest consequence among the workloads that break.
    let kind = broken
        .values()
        .flat_map(|ws| ws.values())
        .min()
        .copied()
        .unwrap_or(ReferenceKind::Env);
    let (workloads, reference, their) = if count == 1 {
        ("workload", "references", "its")
    } else {
        ("workloads", "reference", "their")
    };
    if let (1, Some((ns, ws))) = (broken.len(), broken.iter().next()) {
        let names: Vec<String> = ws.keys().map(|w| Shown(w).to_string()).collect();
        return format!(
            "{} {what}: {count} {workloads} in {} {reference} it and {their} {}: {}",
            removal.action,
            Shown(ns),
            consequence(kind),
            some_names(&names)
        );
    }
    let per_namespace: Vec<String> = broken
        .iter()
        .map(|(ns, ws)| {
            let names: Vec<String> = ws.keys().map(|w| Shown(w).to_string()).collect();
            format!("{}: {} ({})", Shown(ns), ws.len(), some_names(&names))
        })
        .collect();
    format!(
        "{} {what}: {count} {workloads} in {} namespaces {reference} it and {their} {}: {}",
        removal.action,
        broken.len(),
        consequence(kind),
        in_some_namespaces(&per_namespace)
    )
}

/// `ns: n (names); ...` for at most `IN_MESSAGE` namespaces, then how many more: a
/// cluster-wide removal may touch every project of the cluster.
fn in_some_namespaces(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(crate::listed::IN_MESSAGE)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > crate::listed::IN_MESSAGE {
        out.push_str(&format!(
            "; ... and {} more namespaces",
            items.len() - crate::listed::IN_MESSAGE
        ));
    }
    out
}

fn some_names(names: &[String]) -> String {
    let mut out = names
        .iter()
        .take(NAMES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES {
        out.push_str(&format!(" and {} more", names.len() - NAMES));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(
        ns: &str,
        workload: &str,
        key: Option<&str>,
        kind: ReferenceKind,
        optional: bool,
    ) -> SecretUser {
        SecretUser {
            namespace: ns.to_string(),
            workload: workload.to_string(),
            reference: SecretReference {
                secret: "db".to_string(),
                key: key.map(str::to_string),
                kind,
                container: "c".to_string(),
                field: "f".to_string(),
                optional,
            },
        }
    }

    fn policy(mode: &str) -> PolicyDocument {
        PolicyDocument {
            source: "p".to_string(),
            json: format!(
                r#"{{"apiVersion":"secrets.policy.run.ai/v1alpha1","kind":"SecretPolicy",
                    "metadata":{{"name":"guard","namespace":"runai"}},"spec":{{"secretRemoval":"{mode}"}}}}"#
            ),
        }
    }

    fn removal(keys: &[&str]) -> Removal {
        Removal {
            namespace: "runai-a".to_string(),
            secret: "db".to_string(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            action: "deleting".to_string(),
        }
    }

    #[test]
    fn what_breaks_by_reference_and_removal() {
        use ReferenceKind::*;
        // (reference key, kind, optional, keys removed, breaks)
        let cases = [
            (Some("password"), Env, false, &[][..], true),
            (Some("password"), Env, true, &[][..], false),
            (Some("password"), Env, false, &["password"][..], true),
            (Some("password"), Env, false, &["user"][..], false),
            (None, EnvFrom, false, &[][..], true),
            (None, EnvFrom, false, &["password"][..], false),
            (None, Volume, false, &[][..], true),
            (None, Volume, false, &["password"][..], false),
            (Some("password"), Volume, false, &["password"][..], true),
            (None, ImagePull, false, &[][..], true),
            (None, ImagePull, true, &[][..], false),
        ];
        for (key, kind, optional, keys, expected) in cases {
            let u = user("runai-a", "Pod p", key, kind, optional);
            assert_eq!(
                breaks(
                    &u.reference,
                    &keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()
                ),
                expected,
                "{key:?} {kind:?} {optional} {keys:?}"
            );
        }
    }

    #[test]
    fn the_strictest_policy_decides_and_warn_is_the_default() {
        let users = [
            user(
                "runai-a",
                "Pod train-7",
                Some("password"),
                ReferenceKind::Env,
                false,
            ),
            user(
                "runai-a",
                "Job train-8",
                None,
                ReferenceKind::EnvFrom,
                false,
            ),
            user(
                "runai-a",
                "Pod opt",
                Some("password"),
                ReferenceKind::Env,
                true,
            ),
        ];
        let none = check(&removal(&[]), &[], &users).unwrap();
        assert!(none.allowed);
        assert_eq!(none.mode, RemovalMode::Warn);
        assert_eq!(none.breaks.len(), 2);
        assert_eq!(
            none.message,
            "deleting secret `db`: 2 workloads in runai-a reference it and their pods will fail with \
             CreateContainerConfigError at the next start: Job train-8, Pod train-7"
        );
        let denied = check(
            &removal(&["password"]),
            &[policy("deny"), policy("warn")],
            &users,
        )
        .unwrap();
        assert!(!denied.allowed);
        assert_eq!(
            denied.breaks,
            [("runai-a".to_string(), "Pod train-7".to_string())]
        );
        assert!(
            denied
                .message
                .starts_with("refused (SecretPolicy runai/guard says secretRemoval: deny): "),
            "{}",
            denied.message
        );
        assert!(
            denied.message.ends_with(
                "deleting key `password` of secret `db`: 1 workload in runai-a references it and its \
                 pods will fail with CreateContainerConfigError at the next start: Pod train-7"
            ),
            "{}",
            denied.message
        );
        let unused = check(&removal(&["other"]), &[policy("deny")], &users).unwrap();
        assert!(unused.allowed && unused.breaks.is_empty() && unused.message.is_empty());
        let allowed = check(&removal(&[]), &[policy("allow")], &users).unwrap();
        assert!(allowed.allowed && allowed.message.is_empty() && allowed.breaks.len() == 2);
    }

    #[test]
    fn a_cluster_wide_removal_counts_per_namespace() {
        let users: Vec<SecretUser> = (0..8)
            .map(|i| {
                user(
                    if i < 7 { "runai-a" } else { "runai-b" },
                    &format!("Pod p{i}"),
                    Some("k"),
                    ReferenceKind::Env,
                    false,
                )
            })
            .collect();
        let d = check(&removal(&[]), &[], &users).unwrap();
        assert_eq!(
            d.message,
            "deleting secret `db`: 8 workloads in 2 namespaces reference it and their pods will fail with \
             CreateContainerConfigError at the next start: runai-a: 7 (Pod p0, Pod p1, Pod p2, Pod p3, Pod p4 and 2 more); runai-b: 1 (Pod p7)"
        );
        // Every project of a large cluster: the namespaces listed are bounded too.
        let users: Vec<SecretUser> = (0..1000)
            .map(|i| {
                user(
                    &format!("runai-p{i:04}"),
                    "Pod w",
                    Some("k"),
                    ReferenceKind::Env,
                    false,
                )
            })
            .collect();
        let d = check(&removal(&[]), &[], &users).unwrap();
        assert!(
            d.message.contains("1000 workloads in 1000 namespaces"),
            "{}",
            d.message
        );
        assert!(
            d.message.ends_with("; ... and 992 more namespaces"),
            "{}",
            d.message
        );
        assert!(d.message.len() < 1000, "{}", d.message.len());
    }
}

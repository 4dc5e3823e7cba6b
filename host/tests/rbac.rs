//! `deploy/live/rbac.yaml`, checked offline against the Kubernetes API's own types (no
//! API server runs here): each document deserializes into its k8s-openapi type and
//! serializes back to the same document, so a misspelled or misplaced field fails.
//! Then the ClusterRole must grant get, list and watch on exactly the resources the
//! host reads (`host::live::READ`), nothing more, and be bound to the ServiceAccount.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value, source: &str) -> T {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{source}: not a valid {}: {e}", doc["kind"]));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back, doc,
        "{source}: the {} changes in a round trip through its API type (a misspelled or misplaced field?)",
        doc["kind"]
    );
    typed
}

#[test]
fn the_role_grants_reading_exactly_what_the_host_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/live/rbac.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = host::manifest::parse(&text, &path.display().to_string()).unwrap();
    let (mut accounts, mut roles, mut bindings) = (Vec::new(), Vec::new(), Vec::new());
    for doc in &docs {
        let (s, v) = (doc.source.as_str(), &doc.value);
        match (v["apiVersion"].as_str().unwrap_or(""), doc.kind()) {
            ("v1", "ServiceAccount") => accounts.push(round_trip::<ServiceAccount>(v, s)),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                roles.push(round_trip::<ClusterRole>(v, s))
            }
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                bindings.push(round_trip::<ClusterRoleBinding>(v, s))
            }
            (api, kind) => panic!("{s}: {api} {kind} has no check here: add one"),
        }
    }
    assert_eq!((accounts.len(), roles.len(), bindings.len()), (1, 1, 1));
    let (account, role, binding) = (&accounts[0], &roles[0], &bindings[0]);

    let mut granted = BTreeSet::new();
    for rule in role.rules.as_deref().unwrap_or_default() {
        let verbs: BTreeSet<&str> = rule.verbs.iter().map(String::as_str).collect();
        assert_eq!(verbs, BTreeSet::from(["get", "list", "watch"]), "{rule:?}");
        assert!(
            rule.resource_names.is_none() && rule.non_resource_urls.is_none(),
            "{rule:?}"
        );
        for group in rule.api_groups.as_deref().unwrap_or_default() {
            for resource in rule.resources.as_deref().unwrap_or_default() {
                assert!(!group.contains('*') && !resource.contains('*'), "{rule:?}");
                assert!(
                    granted.insert((group.clone(), resource.clone())),
                    "granted twice: {group}/{resource}"
                );
            }
        }
    }
    let read: BTreeSet<(String, String)> = host::live::READ
        .iter()
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    assert_eq!(
        granted, read,
        "the ClusterRole must grant exactly what the host reads"
    );
    assert!(role.aggregation_rule.is_none());

    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(
        binding.role_ref.api_group.as_deref(),
        Some("rbac.authorization.k8s.io")
    );
    assert_eq!(Some(&binding.role_ref.name), role.metadata.name.as_ref());
    let subjects = binding.subjects.as_deref().unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(Some(&subjects[0].name), account.metadata.name.as_ref());
    assert_eq!(subjects[0].namespace, account.metadata.namespace);
    assert_eq!(
        account.metadata.namespace.as_deref(),
        Some("runai-secrets-gateway")
    );
}

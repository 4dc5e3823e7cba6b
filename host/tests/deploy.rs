//! The manifests in `deploy/`, checked offline against the Kubernetes API's own types
//! (no API server runs here): each document deserializes into its k8s-openapi type
//! and serializes back to the same document, so a misspelled or misplaced field,
//! which the types drop, fails the test. Then the pieces must fit together.
//! `deploy/live/` (the RBAC of a gateway that reads the cluster itself) is read too: its
//! ClusterRole must grant get, list and watch on exactly what the host reads.

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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

#[derive(Default)]
struct Manifests {
    namespaces: Vec<Namespace>,
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    config_maps: Vec<ConfigMap>,
    budgets: Vec<PodDisruptionBudget>,
    validating: Vec<ValidatingWebhookConfiguration>,
    mutating: Vec<MutatingWebhookConfiguration>,
    service_accounts: Vec<ServiceAccount>,
    cluster_roles: Vec<ClusterRole>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

fn manifests() -> Manifests {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut files: Vec<_> = [dir.clone(), dir.join("live")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut m = Manifests::default();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs = host::manifest::parse(&text, &file.display().to_string()).unwrap();
        for doc in docs {
            let s = doc.source.as_str();
            let v = &doc.value;
            match (v["apiVersion"].as_str().unwrap_or(""), doc.kind()) {
                ("v1", "Namespace") => m.namespaces.push(round_trip(v, s)),
                ("apps/v1", "Deployment") => m.deployments.push(round_trip(v, s)),
                ("v1", "Service") => m.services.push(round_trip(v, s)),
                ("v1", "ConfigMap") => m.config_maps.push(round_trip(v, s)),
                ("policy/v1", "PodDisruptionBudget") => m.budgets.push(round_trip(v, s)),
                ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => {
                    m.validating.push(round_trip(v, s))
                }
                ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
                    m.mutating.push(round_trip(v, s))
                }
                ("v1", "ServiceAccount") => m.service_accounts.push(round_trip(v, s)),
                ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                    m.cluster_roles.push(round_trip(v, s))
                }
                ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                    m.cluster_role_bindings.push(round_trip(v, s))
                }
                (api, kind) => panic!("{s}: {api} {kind} has no check here: add one"),
            }
        }
    }
    m
}

#[test]
fn every_manifest_round_trips_through_its_api_type() {
    let m = manifests();
    assert_eq!(m.namespaces.len(), 1);
    assert_eq!(m.deployments.len(), 1);
    assert_eq!(m.services.len(), 1);
    assert_eq!(m.validating.len(), 1);
    assert_eq!(m.mutating.len(), 1);
}

#[test]
fn the_manifests_fit_together() {
    let m = manifests();
    let namespace = m.namespaces[0].metadata.name.clone().unwrap();
    let deployment = &m.deployments[0];
    let service = &m.services[0];
    assert_eq!(
        deployment.metadata.namespace.as_deref(),
        Some(namespace.as_str())
    );
    assert_eq!(
        service.metadata.namespace.as_deref(),
        Some(namespace.as_str())
    );

    // The Deployment: 2 replicas, probes, resources, read-only root, non-root.
    let spec = &deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(
        pod.security_context.as_ref().unwrap().run_as_non_root,
        Some(true)
    );
    let container = &pod.containers[0];
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert!(container.resources.as_ref().unwrap().limits.is_some());
    let probe_paths: Vec<_> = [&container.liveness_probe, &container.readiness_probe]
        .iter()
        .map(|p| {
            p.as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(probe_paths, ["/healthz", "/readyz"]);

    // The Service reaches the container's port, and selects the pods.
    let labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    let selector = service.spec.as_ref().unwrap().selector.clone().unwrap();
    assert!(selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let port_names: Vec<_> = container
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.name.clone().unwrap())
        .collect();
    let service_port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0];
    let target = serde_json::to_value(&service_port.target_port).unwrap();
    assert!(port_names.iter().any(|n| *n == target), "{target}");

    // Every volume the container mounts exists, and the files the arguments name
    // are under a mount.
    let volumes: Vec<_> = pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| v.name.clone())
        .collect();
    let mounts: BTreeMap<_, _> = container
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| (m.mount_path.clone(), m.name.clone()))
        .collect();
    assert!(mounts.values().all(|name| volumes.contains(name)));
    let args = container.args.clone().unwrap();
    assert_eq!(args[0], "serve");
    for arg in &args {
        if let Some((flag, path)) = arg.split_once('=')
            && ["--tls-cert", "--tls-key", "--cluster"].contains(&flag)
        {
            assert!(
                mounts.keys().any(|m| path.starts_with(m.as_str())),
                "{arg} is not mounted"
            );
        }
    }

    // The webhooks: the service and paths, sideEffects None, a timeout, Fail for
    // validating, Ignore for mutating, the namespaces left out.
    let validating = &m.validating[0].webhooks.as_ref().unwrap()[0];
    let mutating = &m.mutating[0].webhooks.as_ref().unwrap()[0];
    for (webhook_service, path, failure, side_effects, timeout, selector) in [
        (
            validating.client_config.service.as_ref().unwrap(),
            "/validate",
            validating.failure_policy.as_deref(),
            validating.side_effects.as_str(),
            validating.timeout_seconds,
            validating.namespace_selector.as_ref(),
        ),
        (
            mutating.client_config.service.as_ref().unwrap(),
            "/mutate",
            mutating.failure_policy.as_deref(),
            mutating.side_effects.as_str(),
            mutating.timeout_seconds,
            mutating.namespace_selector.as_ref(),
        ),
    ] {
        assert_eq!(webhook_service.name, service.metadata.name.clone().unwrap());
        assert_eq!(webhook_service.namespace, namespace);
        assert_eq!(webhook_service.path.as_deref(), Some(path));
        assert_eq!(webhook_service.port, Some(service_port.port));
        assert_eq!(
            failure,
            Some(if path == "/validate" {
                "Fail"
            } else {
                "Ignore"
            })
        );
        assert_eq!(side_effects, "None");
        assert!(timeout.is_some_and(|t| t <= 10));
        let excluded = selector.unwrap().match_expressions.as_ref().unwrap()[0]
            .values
            .clone()
            .unwrap();
        assert!(excluded.contains(&"kube-system".to_string()) && excluded.contains(&namespace));
    }
    // The rules cover Pods, every pod controller and the Run:ai workload CRDs.
    let resources: Vec<String> = validating
        .rules
        .as_ref()
        .unwrap()
        .iter()
        .flat_map(|r| r.resources.clone().unwrap())
        .collect();
    for resource in [
        "pods",
        "jobs",
        "cronjobs",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "trainingworkloads",
        "interactiveworkloads",
        "distributedworkloads",
        "inferenceworkloads",
    ] {
        assert!(resources.iter().any(|r| r == resource), "{resource}");
    }
    // Exactly what the gateway evaluates: every kind of the plugin's table of pod
    // templates (Pods, pod controllers, Ray, JobSet, LeaderWorkerSet, Kubeflow jobs) at
    // the versions it reads, Pods' ephemeral containers, and the Run:ai workload CRDs;
    // on CREATE and UPDATE.
    let mut covered = BTreeSet::new();
    for rule in validating.rules.as_deref().unwrap() {
        assert_eq!(
            rule.operations.as_deref(),
            Some(&["CREATE".to_string(), "UPDATE".to_string()][..])
        );
        for group in rule.api_groups.as_deref().unwrap() {
            for version in rule.api_versions.as_deref().unwrap() {
                for resource in rule.resources.as_deref().unwrap() {
                    covered.insert((group.clone(), version.clone(), resource.clone()));
                }
            }
        }
    }
    let mut evaluated = BTreeSet::new();
    for kind in guest::workload::templates::POD_KINDS {
        for version in kind.versions {
            evaluated.insert((kind.group.into(), version.to_string(), kind.resource.into()));
        }
    }
    evaluated.insert(("".into(), "v1".into(), "pods/ephemeralcontainers".into()));
    for resource in [
        "trainingworkloads",
        "interactiveworkloads",
        "distributedworkloads",
        "inferenceworkloads",
    ] {
        for version in ["v2alpha1", "v1alpha1"] {
            evaluated.insert(("run.ai".into(), version.into(), resource.into()));
        }
    }
    assert_eq!(covered, evaluated);
    assert_eq!(
        serde_json::to_value(&m.mutating[0].webhooks.as_ref().unwrap()[0].rules).unwrap(),
        serde_json::to_value(&validating.rules).unwrap()
    );
    // The objects the view reads go to /validate through a webhook that fails open:
    // exactly the policy kinds the live view reads, and namespaces.
    let objects = &m.validating[0].webhooks.as_ref().unwrap()[1];
    assert_eq!(objects.failure_policy.as_deref(), Some("Ignore"));
    assert_eq!(
        objects
            .client_config
            .service
            .as_ref()
            .unwrap()
            .path
            .as_deref(),
        Some("/validate")
    );
    let mut checked: Vec<(String, String)> = objects
        .rules
        .as_ref()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let groups = r.api_groups.clone().unwrap_or_default();
            let resources = r.resources.clone().unwrap_or_default();
            groups
                .into_iter()
                .flat_map(move |g| resources.clone().into_iter().map(move |r| (g.clone(), r)))
        })
        .collect();
    checked.sort();
    let mut expected: Vec<(String, String)> = host::live::READ
        .iter()
        .filter(|(_, plural)| plural.ends_with("policies"))
        .map(|(g, p)| (g.to_string(), p.to_string()))
        .chain([(String::new(), "namespaces".to_string())])
        .collect();
    expected.sort();
    assert_eq!(checked, expected);
}

#[test]
fn the_cluster_view_in_the_config_map_loads() {
    let m = manifests();
    let data = m.config_maps[0].data.as_ref().unwrap();
    let text = &data["cluster.yaml"];
    let mut cluster = host::cluster::Cluster::default();
    host::cluster::load_documents(
        &mut cluster,
        &host::manifest::parse(text, "cluster.yaml").unwrap(),
    )
    .unwrap();
    assert!(!cluster.projects.is_empty());
}

#[test]
fn the_live_role_grants_reading_exactly_what_the_host_reads() {
    let m = manifests();
    assert_eq!(
        (
            m.service_accounts.len(),
            m.cluster_roles.len(),
            m.cluster_role_bindings.len()
        ),
        (1, 1, 1)
    );
    let (account, role, binding) = (
        &m.service_accounts[0],
        &m.cluster_roles[0],
        &m.cluster_role_bindings[0],
    );
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
    // The SecretPolicy CRD this repository ships is one of them.
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds/secretpolicy.yaml");
    let crd = host::manifest::read_file(&crd).unwrap().remove(0).value;
    let served = (
        crd["spec"]["group"].as_str().unwrap().to_string(),
        crd["spec"]["names"]["plural"].as_str().unwrap().to_string(),
    );
    assert!(read.contains(&served), "{served:?}");

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
    // In the gateway's namespace, named as the Deployment.
    assert_eq!(account.metadata.namespace, m.namespaces[0].metadata.name);
    assert_eq!(account.metadata.name, m.deployments[0].metadata.name);
}

//! The install (`kubectl apply -k deploy/`) and its overlays, checked offline (no API
//! server runs here) on their renders in `deploy/rendered/` (scripts/render-deploy.sh;
//! where kubectl is installed, the renders must be what `kubectl kustomize` makes now):
//! every object deserializes into its k8s-openapi type (cert-manager's into types of
//! their fields) and serializes back to the same document, so a misspelled or misplaced
//! field fails; the pieces fit; each role grants exactly what the gateway's code reads
//! and writes with the arguments its Deployment gives it; and deleting the install
//! deletes the webhook configurations the gateway registers.

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const RENDERS: [(&str, &str); 3] = [
    ("default", "deploy"),
    ("file-view", "deploy/overlays/file-view"),
    ("cert-manager", "deploy/overlays/cert-manager"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

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

/// cert-manager's Issuer and Certificate, with the fields the overlay uses: anything
/// else is refused, so a misspelled field fails the round trip.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CertManagerObject {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: CertManagerSpec,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CertManagerSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    self_signed: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<CaIssuer>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "isCA")]
    is_ca: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    common_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renew_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<PrivateKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_ref: Option<IssuerRef>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CaIssuer {
    secret_name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKey {
    algorithm: String,
    size: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerRef {
    name: String,
    kind: String,
}

/// One render's objects, typed.
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
    roles: Vec<Role>,
    role_bindings: Vec<RoleBinding>,
    crds: Vec<CustomResourceDefinition>,
    cert_manager: Vec<CertManagerObject>,
}

fn rendered(name: &str) -> String {
    let path = root().join(format!("deploy/rendered/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifests(name: &str) -> Manifests {
    let text = rendered(name);
    let docs = host::manifest::parse(&text, &format!("deploy/rendered/{name}.yaml")).unwrap();
    let mut m = Manifests::default();
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
            ("rbac.authorization.k8s.io/v1", "Role") => m.roles.push(round_trip(v, s)),
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                m.role_bindings.push(round_trip(v, s))
            }
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
                // Its numbers (7 in YAML) come back as 7.0: host/tests/schemas.rs checks
                // it field by field.
                m.crds.push(serde_json::from_value(v.clone()).unwrap())
            }
            ("cert-manager.io/v1", "Issuer" | "Certificate") => {
                m.cert_manager.push(round_trip(v, s))
            }
            (api, kind) => panic!("{s}: {api} {kind} has no check here: add one"),
        }
    }
    m
}

#[test]
fn the_renders_are_what_kubectl_kustomize_makes_now() {
    let kubectl = std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output();
    if !kubectl.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "kubectl is not installed: the renders in deploy/rendered are checked as they are"
        );
        return;
    }
    for (name, dir) in RENDERS {
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(root().join(dir))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{dir}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let fresh = String::from_utf8(output.stdout).unwrap();
        let kept = rendered(name);
        let kept = kept.split_once('\n').map_or("", |(_, rest)| rest);
        assert!(
            kept == fresh,
            "deploy/rendered/{name}.yaml is not what `kubectl kustomize {dir}` makes now: run scripts/render-deploy.sh"
        );
    }
}

#[test]
fn every_rendered_object_round_trips_through_its_api_type() {
    for (name, _) in RENDERS {
        let m = manifests(name);
        assert_eq!(
            (
                m.namespaces.len(),
                m.deployments.len(),
                m.services.len(),
                m.budgets.len()
            ),
            (1, 1, 1, 1),
            "{name}"
        );
        assert_eq!(m.crds.len(), 1, "{name}: the SecretPolicy CRD");
    }
}

/// The gateway's container and its arguments.
fn gateway(
    m: &Manifests,
) -> (
    &k8s_openapi::api::core::v1::PodSpec,
    &k8s_openapi::api::core::v1::Container,
    Vec<String>,
) {
    let pod = m.deployments[0].spec.template.spec.as_ref().unwrap();
    let container = &pod.containers[0];
    (pod, container, container.args.clone().unwrap())
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn the_manifests_fit_together() {
    for (name, _) in RENDERS {
        let m = manifests(name);
        let namespace = m.namespaces[0].metadata.name.clone().unwrap();
        let deployment = &m.deployments[0];
        let service = &m.services[0];
        for ns in [&deployment.metadata.namespace, &service.metadata.namespace] {
            assert_eq!(ns.as_deref(), Some(namespace.as_str()), "{name}");
        }
        // Two replicas, probes, resources, a read-only root, non-root 65532, no
        // capabilities, the service account's token mounted (the gateway reads or
        // writes the API in every variant).
        let spec = &deployment.spec;
        assert_eq!(spec.replicas, Some(2), "{name}");
        let (pod, container, args) = gateway(&m);
        let context = pod.security_context.as_ref().unwrap();
        assert_eq!(
            (context.run_as_non_root, context.run_as_user),
            (Some(true), Some(65532)),
            "{name}"
        );
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true), "{name}");
        assert_eq!(security.allow_privilege_escalation, Some(false), "{name}");
        assert_eq!(
            security.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
        assert!(
            container.resources.as_ref().unwrap().limits.is_some(),
            "{name}"
        );
        assert_eq!(pod.automount_service_account_token, Some(true), "{name}");
        let account = pod.service_account_name.as_deref().unwrap();
        assert!(
            m.service_accounts
                .iter()
                .any(|a| a.metadata.name.as_deref() == Some(account)),
            "{name}"
        );
        let probe_paths: Vec<_> = [
            &container.startup_probe,
            &container.liveness_probe,
            &container.readiness_probe,
        ]
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
        assert_eq!(probe_paths, ["/healthz", "/healthz", "/readyz"], "{name}");
        assert_eq!(
            container.image.as_deref(),
            Some("runai-secrets-gateway:0.1.0"),
            "{name}"
        );
        // The gateway starts with these arguments (the host's own parser reads them).
        assert_eq!(args[0], "serve", "{name}");
        host::cli::serve_grants(&args, &namespace)
            .unwrap_or_else(|e| panic!("{name}: {args:?}: {e:#}"));

        // The Service reaches the container's port and selects the pods; so does the PDB.
        let labels = spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .clone()
            .unwrap();
        let selector = service.spec.as_ref().unwrap().selector.clone().unwrap();
        assert!(
            selector.iter().all(|(k, v)| labels.get(k) == Some(v)),
            "{name}"
        );
        let budget = m.budgets[0].spec.as_ref().unwrap();
        let budget_labels = budget
            .selector
            .as_ref()
            .unwrap()
            .match_labels
            .clone()
            .unwrap();
        assert!(
            budget_labels.iter().all(|(k, v)| labels.get(k) == Some(v)),
            "{name}"
        );
        let port_names: Vec<_> = container
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.name.clone().unwrap())
            .collect();
        let service_port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0];
        let target = serde_json::to_value(&service_port.target_port).unwrap();
        assert!(port_names.iter().any(|n| *n == target), "{name}: {target}");

        // Every mount has its volume, every file an argument names is under a mount,
        // and a mounted Secret or ConfigMap is one the render makes.
        let volumes: BTreeMap<_, _> = pod
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| (v.name.clone(), v))
            .collect();
        let mounts: BTreeMap<_, _> = container
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| (m.mount_path.clone(), m.name.clone()))
            .collect();
        assert!(mounts.values().all(|v| volumes.contains_key(v)), "{name}");
        for flag_name in ["--tls-cert", "--tls-key", "--cluster"] {
            if let Some(path) = flag(&args, flag_name) {
                assert!(
                    mounts.keys().any(|m| path.starts_with(m.as_str())),
                    "{name}: {flag_name}={path} is not mounted"
                );
            }
        }
        for volume in volumes.values() {
            if let Some(map) = &volume.config_map {
                assert!(
                    m.config_maps
                        .iter()
                        .any(|c| c.metadata.name == Some(map.name.clone())),
                    "{name}: {}",
                    map.name
                );
            }
            if let Some(secret) = &volume.secret {
                let made = m
                    .cert_manager
                    .iter()
                    .any(|c| c.spec.secret_name == secret.secret_name && c.kind == "Certificate");
                assert!(
                    made,
                    "{name}: the mounted Secret {:?} is made by nothing in the render",
                    secret.secret_name
                );
            }
        }

        // Where the gateway manages its certificate, it is for the Service's names;
        // where cert-manager does, its Certificate is.
        let service_dns = format!("{}.{namespace}.svc", service.metadata.name.clone().unwrap());
        if let Some(webhook_service) = flag(&args, "--webhook-service") {
            assert_eq!(
                Some(webhook_service.to_string()),
                service.metadata.name,
                "{name}"
            );
            assert!(args.iter().any(|a| a == "--register-webhooks"), "{name}");
            assert!(
                m.validating.is_empty() && m.mutating.is_empty(),
                "{name}: the gateway registers its webhooks itself, once ready"
            );
        } else {
            let served = m
                .cert_manager
                .iter()
                .find(|c| c.metadata.name == service.metadata.name)
                .unwrap();
            assert!(
                served
                    .spec
                    .dns_names
                    .as_ref()
                    .unwrap()
                    .contains(&service_dns),
                "{name}"
            );
            for config in m
                .validating
                .iter()
                .map(|c| &c.metadata)
                .chain(m.mutating.iter().map(|c| &c.metadata))
            {
                let inject =
                    config.annotations.as_ref().unwrap()["cert-manager.io/inject-ca-from"].clone();
                assert_eq!(
                    inject,
                    format!("{namespace}/{}", served.metadata.name.clone().unwrap()),
                    "{name}"
                );
            }
            assert_eq!((m.validating.len(), m.mutating.len()), (1, 1), "{name}");
        }
    }
}

/// The webhook configurations: the template the gateway registers (built in) and what
/// the cert-manager overlay applies. Both point at the Service.
#[test]
fn the_webhooks_point_at_the_service_and_fail_closed_only_for_validation() {
    let m = manifests("cert-manager");
    let namespace = m.namespaces[0].metadata.name.clone().unwrap();
    let service = &m.services[0];
    let service_port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0];
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
        serde_json::to_value(&mutating.rules).unwrap(),
        serde_json::to_value(&validating.rules).unwrap()
    );
    // The objects the view reads go to /validate through a webhook that fails open:
    // exactly the policy kinds the live view reads, and namespaces.
    let objects = &m.validating[0].webhooks.as_ref().unwrap()[1];
    assert_eq!(objects.failure_policy.as_deref(), Some("Ignore"));
    let path = objects
        .client_config
        .service
        .as_ref()
        .unwrap()
        .path
        .as_deref();
    assert_eq!(path, Some("/validate"));
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
        .chain([
            (String::new(), "namespaces".to_string()),
            (String::new(), "secrets".to_string()),
        ])
        .collect();
    expected.sort();
    assert_eq!(checked, expected);
    // The built-in template is this file: the gateway registers the same webhooks.
    let template = host::serve::register::template(None).unwrap();
    let file = host::manifest::read_file(&root().join("deploy/webhooks/webhooks.yaml")).unwrap();
    assert_eq!(
        template,
        file.into_iter().map(|d| d.value).collect::<Vec<_>>()
    );
}

#[test]
fn the_cluster_view_in_the_config_map_loads() {
    let m = manifests("file-view");
    let data = m.config_maps[0].data.as_ref().unwrap();
    let mut cluster = host::cluster::Cluster::default();
    host::cluster::load_documents(
        &mut cluster,
        &host::manifest::parse(&data["cluster.yaml"], "cluster.yaml").unwrap(),
    )
    .unwrap();
    assert!(!cluster.projects.is_empty());
}

/// A rule as grants, one per group, resource, verb and name.
fn grants_of(
    rule: &PolicyRule,
    namespace: Option<&str>,
    source: &str,
) -> Vec<host::kube_write::Grant> {
    assert!(rule.non_resource_urls.is_none(), "{source}: {rule:?}");
    let names: Vec<Option<&str>> = match rule.resource_names.as_deref() {
        Some(names) => names.iter().map(|n| Some(n.as_str())).collect(),
        None => vec![None],
    };
    let mut grants = Vec::new();
    for group in rule.api_groups.as_deref().unwrap_or_default() {
        for resource in rule.resources.as_deref().unwrap_or_default() {
            for verb in &rule.verbs {
                assert!(
                    ![group, resource, verb].iter().any(|s| s.contains('*')),
                    "{source}: {rule:?}"
                );
                for name in &names {
                    grants.push(host::kube_write::Grant::new(
                        namespace, group, resource, verb, *name,
                    ));
                }
            }
        }
    }
    grants
}

#[test]
fn each_role_grants_exactly_what_the_gateway_reads_and_writes() {
    for (name, _) in RENDERS {
        let m = manifests(name);
        let (pod, _, args) = gateway(&m);
        let account = pod.service_account_name.clone().unwrap();
        let namespace = m.deployments[0].metadata.namespace.clone().unwrap();
        let bound = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
            subjects.as_deref().unwrap_or_default().iter().any(|s| {
                s.kind == "ServiceAccount"
                    && s.name == account
                    && s.namespace.as_deref() == Some(namespace.as_str())
            })
        };
        let mut granted = Vec::new();
        for binding in m
            .cluster_role_bindings
            .iter()
            .filter(|b| bound(&b.subjects))
        {
            assert_eq!(binding.role_ref.kind, "ClusterRole", "{name}");
            let role = m
                .cluster_roles
                .iter()
                .find(|r| r.metadata.name.as_ref() == Some(&binding.role_ref.name))
                .unwrap_or_else(|| panic!("{name}: no ClusterRole {}", binding.role_ref.name));
            assert!(role.aggregation_rule.is_none(), "{name}");
            for rule in role.rules.as_deref().unwrap_or_default() {
                granted.extend(grants_of(rule, None, name));
            }
        }
        for binding in m.role_bindings.iter().filter(|b| bound(&b.subjects)) {
            assert_eq!(binding.role_ref.kind, "Role", "{name}");
            let role = m
                .roles
                .iter()
                .find(|r| r.metadata.name.as_ref() == Some(&binding.role_ref.name))
                .unwrap_or_else(|| panic!("{name}: no Role {}", binding.role_ref.name));
            for rule in role.rules.as_deref().unwrap_or_default() {
                granted.extend(grants_of(rule, role.metadata.namespace.as_deref(), name));
            }
        }
        let count = granted.len();
        let granted: BTreeSet<_> = granted.into_iter().collect();
        assert_eq!(count, granted.len(), "{name}: a grant is given twice");
        let used: BTreeSet<_> = host::cli::serve_grants(&args, &namespace)
            .unwrap()
            .into_iter()
            .collect();
        let missing: Vec<_> = used.difference(&granted).collect();
        let unused: Vec<_> = granted.difference(&used).collect();
        assert!(
            missing.is_empty() && unused.is_empty(),
            "{name}: the roles must grant exactly what the gateway uses\nmissing: {missing:#?}\nnot used: {unused:#?}"
        );
        // Every role and binding in the render is the gateway's: nothing unused.
        assert!(
            m.cluster_role_bindings.iter().all(|b| bound(&b.subjects)),
            "{name}"
        );
        assert!(m.role_bindings.iter().all(|b| bound(&b.subjects)), "{name}");
    }
    // The live view's reads cover the CRD this repository ships.
    let m = manifests("default");
    let crd = &m.crds[0].spec;
    assert!(host::live::READ.contains(&(crd.group.as_str(), crd.names.plural.as_str())));
}

/// `kubectl delete -k deploy/` deletes what it rendered. The webhook configurations are
/// not in the render (the gateway registers them); the gateway gives them an owner
/// reference to the ClusterRole named by --webhook-owner, so the garbage collector
/// deletes them with it. A cluster-scoped object may only have cluster-scoped owners:
/// a ClusterRole is one, and it is deleted at once (a Namespace waits for its pods).
#[test]
fn uninstalling_deletes_the_webhooks_the_gateway_registers() {
    for (name, _) in RENDERS {
        let m = manifests(name);
        let (_, _, args) = gateway(&m);
        if !args.iter().any(|a| a == "--register-webhooks") {
            // The webhooks are in the render: `kubectl delete -k` deletes them itself.
            assert_eq!((m.validating.len(), m.mutating.len()), (1, 1), "{name}");
            continue;
        }
        let owner = flag(&args, "--webhook-owner")
            .unwrap_or_else(|| panic!("{name}: --register-webhooks without --webhook-owner"));
        assert!(
            m.cluster_roles
                .iter()
                .any(|r| r.metadata.name.as_deref() == Some(owner)),
            "{name}: the owner ClusterRole {owner} is not part of the install"
        );
        // What the gateway applies carries that owner.
        let template = host::serve::register::template(None).unwrap();
        let owner_ref = host::serve::register::Owner {
            name: owner.to_string(),
            uid: "uid".into(),
        };
        let endpoint = host::serve::register::Endpoint::Service("runai-secrets-gateway".into());
        for (_, object) in
            host::serve::register::desired(&template, &endpoint, "ns", "PEM", Some(&owner_ref))
        {
            let reference = &object["metadata"]["ownerReferences"][0];
            assert_eq!(reference["kind"], "ClusterRole", "{object}");
            assert_eq!(reference["apiVersion"], "rbac.authorization.k8s.io/v1");
            assert_eq!(reference["name"], owner);
        }
    }
}

/// `deploy/reports/`: the PolicyReport CRDs for a cluster that has none round-trip
/// through their API type, and every field of what the audit writes is in their schema
/// (an unknown field would be pruned by the API server).
#[test]
fn the_report_crds_take_what_the_audit_writes() {
    use host::workloads::{Finding, Key, Outcome, Record};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let path = root().join("deploy/reports/policyreports.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = host::manifest::parse(&text, "deploy/reports/policyreports.yaml").unwrap();
    assert_eq!(docs.len(), 2);
    let crd: CustomResourceDefinition = round_trip(&docs[0].value, "policyreports");
    assert_eq!(crd.spec.names.kind, "PolicyReport");
    let _: CustomResourceDefinition = round_trip(&docs[1].value, "clusterpolicyreports");
    let schema = &docs[0].value["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let record = Record {
        key: Key::new("Pod", "runai-a", "p"),
        owner: None,
        references: Vec::new(),
        findings: vec![Finding {
            code: "secret-not-found".into(),
            outcome: Outcome::Fail,
            field: "spec.containers[0].env[0]".into(),
            message: "m".into(),
            policy: "SecretPolicy runai/baseline".into(),
        }],
    };
    let report = host::audit::policy_report::namespace_report("runai-a", &[&record], 1);
    for field in report.as_object().unwrap().keys() {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field} not in the CRD"
        );
    }
    for field in report["results"][0].as_object().unwrap().keys() {
        assert!(
            schema["properties"]["results"]["items"]["properties"]
                .get(field)
                .is_some(),
            "results[].{field} not in the CRD"
        );
    }
    let severity = &schema["properties"]["results"]["items"]["properties"]["severity"]["enum"];
    assert!(
        severity
            .as_array()
            .unwrap()
            .contains(&report["results"][0]["severity"])
    );
}

//! A live cluster as the cluster view (`--kubeconfig FILE`, `--in-cluster`, `host
//! import`): the Kubernetes-facing code, kept apart from the logic. `api` makes the
//! requests (discovery, paged lists, watches; all reads), `object` decodes what the
//! host keeps of an object (a Secret's key names, never its values), `reflect` keeps
//! one store per resource current with list-then-watch, and `build` turns the stores
//! into the simulator's own `Cluster` through the loader that `apply -f` uses.

pub mod api;
pub mod object;
mod reflect;

pub use api::Connection;
pub use reflect::{Live, ResourceStatus, Status};

use crate::cluster::{Cluster, SYSTEM_NAMESPACE};
use crate::manifest::Document;
use anyhow::Result;
use kube::Client;
use kube::core::ApiResource;
use object::Slim;
use std::collections::BTreeMap;

/// Run:ai's API group: Projects, Departments (`run.ai/v2`) and the V1 policies.
pub const RUNAI_GROUP: &str = "run.ai";
/// The kinds read from Run:ai's group.
pub const RUNAI_KINDS: &[&str] = &[
    "Project",
    "Department",
    "TrainingPolicy",
    "InteractivePolicy",
    "DistributedPolicy",
    "InferencePolicy",
];
/// This project's own policy kind (SPEC §4.3).
pub const SECRET_POLICY_GROUP: &str = "secrets.policy.run.ai";
pub const SECRET_POLICY_KIND: &str = "SecretPolicy";

/// Every resource the host reads, as (API group, plural): the live view lists and
/// watches these and nothing else; `deploy/base/rbac.yaml` grants exactly these
/// (a test holds the two together).
pub const READ: &[(&str, &str)] = &[
    ("", "namespaces"),
    ("", "secrets"),
    (RUNAI_GROUP, "projects"),
    (RUNAI_GROUP, "departments"),
    (RUNAI_GROUP, "trainingpolicies"),
    (RUNAI_GROUP, "interactivepolicies"),
    (RUNAI_GROUP, "distributedpolicies"),
    (RUNAI_GROUP, "inferencepolicies"),
    (SECRET_POLICY_GROUP, "secretpolicies"),
];

/// The resources to read: Namespaces and Secrets (core v1), and the Run:ai kinds at
/// the version the API server prefers. A kind the server does not serve (its CRD is
/// not installed) is left out and named in `absent`.
pub struct Resources {
    pub watched: Vec<ApiResource>,
    pub absent: Vec<String>,
}

pub async fn resources(client: &Client) -> Result<Resources> {
    let mut watched = vec![
        api::core("Namespace", "namespaces"),
        api::core("Secret", "secrets"),
    ];
    let mut absent = Vec::new();
    for (group, kinds) in [
        (RUNAI_GROUP, RUNAI_KINDS),
        (SECRET_POLICY_GROUP, &[SECRET_POLICY_KIND][..]),
    ] {
        let found = api::discover(client, group, kinds)
            .await?
            .unwrap_or_default();
        for kind in kinds {
            match found.iter().find(|(k, _, _)| k == kind) {
                Some((_, resource, _)) if READ.contains(&(group, resource.plural.as_str())) => {
                    watched.push(resource.clone())
                }
                Some((_, resource, _)) => absent.push(format!(
                    "{kind} ({group}, served as `{}`, which the host's role does not grant)",
                    guest::shown::shown(&resource.plural)
                )),
                None => absent.push(format!("{kind} ({group})")),
            }
        }
    }
    Ok(Resources { watched, absent })
}

/// One resource's objects, by namespace and name.
pub type Objects = BTreeMap<(String, String), Slim>;

/// A cluster view and the objects left out of it.
pub struct Built {
    pub cluster: Cluster,
    /// Objects that do not load (`kind namespace/name: why`); the rest of the view
    /// stands without them.
    pub skipped: Vec<String>,
}

/// The order objects are applied in: namespaces and projects first, so that tenancy
/// can be checked before secrets are placed.
fn rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "Department" => 1,
        "Project" => 2,
        "Secret" => 4,
        _ => 3,
    }
}

/// The cluster view of a set of stores plus the `--policy` files' documents (V2
/// policies live in Run:ai's control plane, not in Kubernetes). Each object goes
/// through the loader `apply -f` uses; one that does not load is skipped and named.
/// Tenancy (a namespace belongs to one project) is checked as for files and fails the
/// whole view. Secrets outside `runai` and the projects' namespaces are not part of
/// the view: no workload the plugin judges can reference them.
pub fn build(stores: &[(&ApiResource, &Objects)], policies: &[Document]) -> Result<Built> {
    let mut cluster = Cluster::default();
    let mut skipped = Vec::new();
    let mut ordered: Vec<&(&ApiResource, &Objects)> = stores.iter().collect();
    ordered.sort_by_key(|(r, _)| rank(&r.kind));
    let mut policies_loaded = false;
    for (resource, objects) in ordered {
        if rank(&resource.kind) == 4 && !policies_loaded {
            load_policies(&mut cluster, policies)?;
            policies_loaded = true;
            cluster.check_tenancy(None)?;
        }
        let projects: Option<Vec<String>> = (resource.kind == "Secret").then(|| {
            cluster
                .project_namespaces()
                .into_keys()
                .chain([SYSTEM_NAMESPACE.to_string()])
                .collect()
        });
        for ((namespace, name), object) in objects.iter() {
            if let Some(allowed) = &projects
                && !allowed.contains(namespace)
            {
                continue;
            }
            let doc = Document {
                source: source(resource, namespace, name),
                value: object.manifest(resource),
            };
            if let Err(e) = crate::cluster::apply_document(&mut cluster, &doc) {
                skipped.push(format!("{e:#}"));
            }
        }
    }
    if !policies_loaded {
        load_policies(&mut cluster, policies)?;
        cluster.check_tenancy(None)?;
    }
    Ok(Built { cluster, skipped })
}

fn load_policies(cluster: &mut Cluster, policies: &[Document]) -> Result<()> {
    for doc in policies {
        crate::cluster::apply_document(cluster, doc)?;
    }
    Ok(())
}

/// How an object is named in messages and in the state (`Secret runai-a/db`).
fn source(resource: &ApiResource, namespace: &str, name: &str) -> String {
    let name = guest::shown::shown(name);
    if namespace.is_empty() {
        format!("{} {name}", resource.kind)
    } else {
        format!(
            "{} {}/{name}",
            resource.kind,
            guest::shown::shown(namespace)
        )
    }
}

/// A snapshot of the cluster: every watched resource listed once.
pub async fn snapshot(
    client: &Client,
    resources: &Resources,
) -> Result<Vec<(ApiResource, Objects)>> {
    let mut stores = Vec::new();
    for resource in &resources.watched {
        let (items, _) = api::list(client, resource).await?;
        stores.push((resource.clone(), reflect::by_key(items)));
    }
    Ok(stores)
}

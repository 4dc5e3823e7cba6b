//! A live cluster as the cluster view (`--kubeconfig FILE`, `--in-cluster`, `host
//! import`): the Kubernetes-facing code, kept apart from the logic. `api` makes the
//! requests (discovery, paged lists, watches; all reads), `object` decodes what the
//! host keeps of an object (a Secret's key names, never its values), `reflect` keeps
//! one store per resource current with list-then-watch, and `build` turns the stores
//! into the simulator's own `Cluster` through the loader that `apply -f` uses.

pub mod api;
pub mod object;
mod reflect;
pub mod workload;

pub use api::Connection;
pub use reflect::{Listing, Live, ResourceStatus, Status};

use crate::cluster::quarantine::Blocked;
use crate::cluster::{Cluster, Copies, SYSTEM_NAMESPACE};
use crate::manifest::Document;
use anyhow::Result;
use kube::Client;
use kube::core::ApiResource;
use object::{Slim, Unreadable};
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

/// A kind the live view reads: the core kinds at a fixed resource, the Run:ai and
/// SecretPolicy kinds at the version discovery finds (again, when the CRD changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub kind: String,
    /// A core kind's resource, which needs no discovery.
    pub fixed: Option<ApiResource>,
}

/// Every kind the live view reads.
pub fn targets() -> Vec<Target> {
    let mut targets = vec![
        Target {
            group: String::new(),
            kind: "Namespace".to_string(),
            fixed: Some(api::core("Namespace", "namespaces")),
        },
        Target {
            group: String::new(),
            kind: "Secret".to_string(),
            fixed: Some(api::core("Secret", "secrets")),
        },
    ];
    for (group, kinds) in [
        (RUNAI_GROUP, RUNAI_KINDS),
        (SECRET_POLICY_GROUP, &[SECRET_POLICY_KIND][..]),
    ] {
        targets.extend(kinds.iter().map(|kind| Target {
            group: group.to_string(),
            kind: kind.to_string(),
            fixed: None,
        }));
    }
    targets
}

/// Whether the host's role grants reading `plural` of `group`: the view's kinds and
/// the audit's workload kinds.
pub fn granted(group: &str, plural: &str) -> bool {
    READ.iter().any(|(g, p)| *g == group && *p == plural)
        || workload::reads()
            .iter()
            .any(|(g, p)| *g == group && *p == plural)
}

/// The resource a discovered kind is served at now: `None` when the API server does
/// not serve it (its CRD is not installed). A kind served under a plural the host's
/// role does not grant is an error that says so.
pub async fn discover_kind(client: &Client, target: &Target) -> Result<Option<ApiResource>> {
    if let Some(fixed) = &target.fixed {
        return Ok(Some(fixed.clone()));
    }
    let found = api::discover(client, &target.group, &[target.kind.as_str()])
        .await?
        .unwrap_or_default();
    match found.into_iter().find(|(k, _, _)| *k == target.kind) {
        Some((_, resource, _)) if granted(&target.group, &resource.plural) => Ok(Some(resource)),
        Some((_, resource, _)) => anyhow::bail!(
            "{} ({}) is served as `{}`, which the host's role does not grant",
            target.kind,
            target.group,
            guest::shown::shown(&resource.plural)
        ),
        None => Ok(None),
    }
}

/// The resources to read once (`host import`, snapshots): every target as served
/// now; a kind the server does not serve (its CRD is not installed) is left out and
/// named in `absent`.
pub struct Resources {
    pub watched: Vec<ApiResource>,
    pub absent: Vec<String>,
}

pub async fn resources(client: &Client) -> Result<Resources> {
    let mut watched = Vec::new();
    let mut absent = Vec::new();
    for target in targets() {
        match discover_kind(client, &target).await {
            Ok(Some(resource)) => watched.push(resource),
            Ok(None) => absent.push(format!("{} ({})", target.kind, target.group)),
            Err(e) => absent.push(format!("{e:#}")),
        }
    }
    Ok(Resources { watched, absent })
}

/// One resource's objects, by namespace and name.
pub type Objects = BTreeMap<(String, String), Slim>;
/// One resource's objects that could not be read, by namespace and name.
pub type Unreadables = BTreeMap<(String, String), Unreadable>;

/// A cluster view and the objects left out of it.
pub struct Built {
    /// The view; its quarantine holds the scopes its bad objects stop.
    pub cluster: Cluster,
    /// Objects that do not load or cannot be read (`kind namespace/name: why`),
    /// other than policies (which quarantine their namespace): the rest of the view
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

fn is_policy_kind(kind: &str) -> bool {
    crate::cluster::POLICY_KINDS.contains(&kind)
}

/// The cluster view of a set of stores plus the `--policy` files' documents (V2
/// policies live in Run:ai's control plane, not in Kubernetes). Each object goes
/// through the loader `apply -f` uses. One that does not load or cannot be read is
/// left out and named; when it is a policy, its namespace is quarantined (`runai`:
/// every namespace), as is every namespace of a tenancy conflict: a bad object stops
/// what it governs and nothing else. Secrets outside `runai` and the projects'
/// namespaces are not part of the view: no workload the plugin judges can reference
/// them. Cluster-wide copies are the Secrets that exist (`Copies::Stored`).
pub fn build(stores: &[Listing], policies: &[Document]) -> Result<Built> {
    let mut cluster = Cluster {
        copies: Copies::Stored,
        ..Cluster::default()
    };
    let mut skipped = Vec::new();
    let mut ordered: Vec<&Listing> = stores.iter().collect();
    ordered.sort_by_key(|l| rank(l.kind));
    let mut policies_loaded = false;
    for listing in ordered {
        if rank(listing.kind) == 4 && !policies_loaded {
            load_policies(&mut cluster, policies)?;
            policies_loaded = true;
            cluster.quarantine_tenancy_conflicts();
        }
        let projects: Option<Vec<String>> = (listing.kind == "Secret").then(|| {
            cluster
                .project_namespaces()
                .into_keys()
                .chain([SYSTEM_NAMESPACE.to_string()])
                .collect()
        });
        let outside = |namespace: &str| {
            projects
                .as_ref()
                .is_some_and(|p| !p.iter().any(|n| n == namespace))
        };
        for ((namespace, name), bad) in listing.unreadable {
            if outside(namespace) {
                continue;
            }
            let object = source(listing.kind, namespace, name);
            let why = format!("{object}: cannot be read: {}", bad.why);
            left_out(
                &mut cluster,
                &mut skipped,
                listing.kind,
                namespace,
                &object,
                why,
            );
        }
        let Some(resource) = listing.resource else {
            continue;
        };
        for ((namespace, name), object) in listing.objects.iter() {
            if outside(namespace) {
                continue;
            }
            if object.spec_not_read() {
                let object = source(listing.kind, namespace, name);
                let why = format!(
                    "{object}: its `spec` holds more than {} values: not read",
                    object::SPEC_NODES
                );
                left_out(
                    &mut cluster,
                    &mut skipped,
                    listing.kind,
                    namespace,
                    &object,
                    why,
                );
                continue;
            }
            let doc = Document {
                source: source(listing.kind, namespace, name),
                value: object.manifest(resource),
            };
            if let Err(e) = crate::cluster::apply_document(&mut cluster, &doc) {
                let why = format!("{e:#}");
                left_out(
                    &mut cluster,
                    &mut skipped,
                    listing.kind,
                    namespace,
                    &doc.source,
                    why,
                );
            }
        }
    }
    if !policies_loaded {
        load_policies(&mut cluster, policies)?;
        cluster.quarantine_tenancy_conflicts();
    }
    Ok(Built { cluster, skipped })
}

/// An object left out of the view: a policy quarantines its namespace (the rules it
/// holds are unknown, so what it governs cannot be decided); anything else is named.
fn left_out(
    cluster: &mut Cluster,
    skipped: &mut Vec<String>,
    kind: &str,
    namespace: &str,
    object: &str,
    why: String,
) {
    if is_policy_kind(kind) {
        let namespace = if namespace.is_empty() {
            SYSTEM_NAMESPACE
        } else {
            namespace
        };
        cluster.quarantine.block(
            namespace,
            Blocked {
                code: "policy-invalid".to_string(),
                object: object.to_string(),
                message: format!(
                    "{why}; the workloads it governs are rejected until it is fixed or deleted"
                ),
                detail: why,
            },
        );
    } else {
        skipped.push(why);
    }
}

fn load_policies(cluster: &mut Cluster, policies: &[Document]) -> Result<()> {
    for doc in policies {
        crate::cluster::apply_document(cluster, doc)?;
    }
    Ok(())
}

/// How an object is named in messages and in the state (`Secret runai-a/db`).
fn source(kind: &str, namespace: &str, name: &str) -> String {
    let name = guest::shown::shown(name);
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {}/{name}", guest::shown::shown(namespace))
    }
}

/// A snapshot of the cluster: every watched resource listed once.
pub async fn snapshot(client: &Client, resources: &Resources) -> Result<Vec<Snapshot>> {
    let mut stores = Vec::new();
    for resource in &resources.watched {
        let listed = api::list(client, resource).await?;
        stores.push(Snapshot {
            resource: resource.clone(),
            objects: reflect::by_key(listed.objects),
            unreadable: reflect::unreadable_by_key(listed.unreadable),
        });
    }
    Ok(stores)
}

/// One resource listed once.
pub struct Snapshot {
    pub resource: ApiResource,
    pub objects: Objects,
    pub unreadable: Unreadables,
}

impl Snapshot {
    pub fn listing(&self) -> Listing<'_> {
        Listing {
            kind: &self.resource.kind,
            resource: Some(&self.resource),
            objects: &self.objects,
            unreadable: &self.unreadable,
        }
    }
}

//! Workloads as the audit reads them from the API server: the object's JSON text,
//! held only until the plugin has evaluated it (never stored, never logged), and the
//! little the index needs of its metadata: name, namespace, resource version and its
//! controller (`ownerReferences[].controller`), read without touching the rest.

use super::Target;
use super::api::Versioned;
use super::object::Unreadable;
use kube::core::ApiResource;
use serde::Deserialize;

/// The workload kinds the audit lists and watches (and fetches again one by one), as
/// (API group, plural): every kind the plugin's table of pod templates reads, and the
/// Run:ai workload kinds. What its role must grant besides the view's `READ`.
pub fn reads() -> Vec<(&'static str, &'static str)> {
    guest::workload::templates::POD_KINDS
        .iter()
        .map(|k| (k.group, k.resource))
        .chain(
            RUNAI_WORKLOADS
                .iter()
                .map(|(_, plural)| (super::RUNAI_GROUP, *plural)),
        )
        .collect()
}

/// The Run:ai workload kinds and their plurals.
const RUNAI_WORKLOADS: &[(&str, &str)] = &[
    ("TrainingWorkload", "trainingworkloads"),
    ("InteractiveWorkload", "interactiveworkloads"),
    ("DistributedWorkload", "distributedworkloads"),
    ("InferenceWorkload", "inferenceworkloads"),
];

/// What the leader writes of the audit: PolicyReports, by server-side apply.
pub const REPORTS: (&str, &str) = ("wgpolicyk8s.io", "policyreports");

/// One workload object on its way to the plugin.
#[derive(Debug, Clone)]
pub struct RawWorkload {
    pub namespace: String,
    pub name: String,
    pub resource_version: Option<String>,
    /// The controller that owns it, as (kind, name), when it has one.
    pub owner: Option<(String, String)>,
    /// The object as JSON text, with its `apiVersion` and `kind` (a core list's items
    /// carry neither).
    pub json: String,
}

impl Versioned for RawWorkload {
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn resource_version(&self) -> Option<&str> {
        self.resource_version.as_deref()
    }
}

#[derive(Deserialize)]
struct Head {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    kind: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    metadata: Meta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    resource_version: Option<String>,
    #[serde(default)]
    owner_references: Vec<OwnerRef>,
}

#[derive(Deserialize)]
struct OwnerRef {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    controller: Option<bool>,
}

/// The decoder of a workload kind served at `api_version` (a list's items may lack
/// their `apiVersion` and `kind`: they are added in front of the object's text).
pub fn decoder(api_version: &str, kind: &str, text: &str) -> Result<RawWorkload, Unreadable> {
    let head: Head = serde_json::from_str(text).map_err(|e| Unreadable {
        namespace: String::new(),
        name: String::new(),
        resource_version: None,
        why: guest::shown::redact_serde_message(&e.to_string()),
    })?;
    let owner = head
        .metadata
        .owner_references
        .into_iter()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind, o.name));
    let json = match (
        head.api_version,
        head.kind,
        text.trim_start().strip_prefix('{'),
    ) {
        (Some(_), Some(_), _) | (_, _, None) => text.to_string(),
        (_, _, Some(rest)) => {
            let sep = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!(
                r#"{{"apiVersion":{},"kind":{}{sep}{rest}"#,
                serde_json::Value::from(api_version),
                serde_json::Value::from(kind)
            )
        }
    };
    Ok(RawWorkload {
        namespace: head.metadata.namespace,
        name: head.metadata.name,
        resource_version: head.metadata.resource_version,
        owner,
        json,
    })
}

/// The workload kinds the audit reads: those the plugin evaluates, the pod-template
/// wrappers of its table included (found by discovery: a wrapper's CRD may be absent
/// or serve another version), and the Run:ai workloads.
pub fn targets() -> Vec<Target> {
    let mut out: Vec<Target> = guest::workload::templates::POD_KINDS
        .iter()
        .filter_map(|k| {
            // Kubernetes' own kinds need no discovery; a wrapper's CRD may be absent,
            // or serve another version (the plugin reads the one it is served at, or
            // skips it and counts it).
            let fixed = if k.is_builtin() {
                let version = k.versions.first()?;
                Some(ApiResource {
                    group: k.group.to_string(),
                    version: version.to_string(),
                    api_version: k.api_version(version),
                    kind: k.kind.to_string(),
                    plural: k.resource.to_string(),
                })
            } else {
                None
            };
            Some(Target {
                group: k.group.to_string(),
                kind: k.kind.to_string(),
                fixed,
            })
        })
        .collect();
    out.extend(RUNAI_WORKLOADS.iter().map(|(kind, _)| Target {
        group: super::RUNAI_GROUP.to_string(),
        kind: kind.to_string(),
        fixed: None,
    }));
    out
}

/// Every workload of the cluster, listed once (a snapshot for `host audit
/// --kubeconfig`), each handed to `each` as its page is read, with the kinds the API
/// server does not serve (their CRDs are not installed) in the answer.
pub async fn snapshot(
    client: &kube::Client,
    mut each: impl FnMut(&str, RawWorkload),
) -> anyhow::Result<Vec<String>> {
    let mut absent = Vec::new();
    for target in targets() {
        let Some(resource) = super::discover_kind(client, &target).await? else {
            absent.push(format!("{} ({})", target.kind, target.group));
            continue;
        };
        let (api_version, kind) = (resource.api_version.clone(), resource.kind.clone());
        super::api::list_each(
            client,
            &resource,
            |text| decoder(&api_version, &kind, text),
            |item| {
                if let Ok(object) = item {
                    each(&target.kind, object);
                }
            },
        )
        .await?;
    }
    Ok(absent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_list_item_gets_its_kind_and_keeps_its_controller() {
        let item = r#"{"metadata":{"name":"p-1","namespace":"runai-a","resourceVersion":"7",
            "ownerReferences":[{"kind":"Node","name":"n"},{"kind":"Job","name":"train","controller":true}]},
            "spec":{"containers":[]}}"#;
        let w = decoder("v1", "Pod", item).expect("decodes");
        assert_eq!((w.namespace.as_str(), w.name.as_str()), ("runai-a", "p-1"));
        assert_eq!(w.owner, Some(("Job".to_string(), "train".to_string())));
        let v: serde_json::Value = serde_json::from_str(&w.json).expect("still JSON");
        assert_eq!(
            (v["apiVersion"].as_str(), v["kind"].as_str()),
            (Some("v1"), Some("Pod"))
        );
        assert_eq!(v["spec"], serde_json::json!({"containers": []}));
        let whole = r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"}}"#;
        assert_eq!(decoder("batch/v1", "Job", whole).unwrap().json, whole);
        assert_eq!(
            decoder("v1", "Pod", "{}").unwrap().json,
            r#"{"apiVersion":"v1","kind":"Pod"}"#
        );
    }
}

//! The webhook configurations the gateway registers for itself (`--register-webhooks`):
//! the template (`deploy/webhooks/webhooks.yaml`, built in, or `--webhooks FILE`) with
//! each webhook's `clientConfig` pointed at the gateway (its Service, or
//! `--webhook-url`) and carrying the CAs of its certificate (`caBundle`), the gateway's
//! own namespace left out of the `namespaceSelector`, and an owner reference to the
//! install's ClusterRole, so that deleting the install deletes them (the garbage
//! collector follows it; a cluster-scoped object may only have cluster-scoped owners).

use crate::kube_write::Target;
use anyhow::{Result, anyhow, bail};
use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;

/// The template shipped with the gateway.
pub const BUILT_IN: &str = include_str!("../../../deploy/webhooks/webhooks.yaml");
const BUILT_IN_NAME: &str = "deploy/webhooks/webhooks.yaml (built in)";
const GROUP: &str = "admissionregistration.k8s.io";
const KINDS: [(&str, &str); 2] = [
    (
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
    ),
    (
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
    ),
];

/// Where the API server reaches the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The Service `name` in the gateway's namespace, on the template's port.
    Service(String),
    /// `https://host[:port][/prefix]`: the template's paths are appended.
    Url(String),
}

impl Endpoint {
    /// The names the serving certificate is for; the first is what the API server asks
    /// for.
    pub fn names(&self, namespace: &str) -> Vec<String> {
        match self {
            Endpoint::Service(name) => vec![
                format!("{name}.{namespace}.svc"),
                format!("{name}.{namespace}.svc.cluster.local"),
                format!("{name}.{namespace}"),
                name.clone(),
            ],
            Endpoint::Url(url) => vec![url_host(url).unwrap_or_default()],
        }
    }
}

/// The host of an `https://` URL (without brackets for IPv6), or what is wrong.
pub fn url_host(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| anyhow!("--webhook-url: expected https://HOST[:PORT][/PATH], the API server calls webhooks over HTTPS only"))?;
    if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("--webhook-url: expected https://HOST[:PORT][/PATH] without user, query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    let valid =
        host.parse::<std::net::IpAddr>().is_ok() || guest::names::is_dns1123_subdomain(&host);
    if !valid {
        bail!(
            "--webhook-url: `{}` is not a host name or IP address",
            crate::text::shown(&host)
        );
    }
    Ok(host)
}

/// The configurations of a template, checked: each a Validating- or
/// MutatingWebhookConfiguration whose webhooks name a path.
pub fn template(file: Option<&Path>) -> Result<Vec<Value>> {
    let (text, source) = match file {
        Some(path) => {
            crate::input::require_regular_file(path, "webhook template")?;
            (
                crate::input::read_text(
                    path,
                    crate::input::Limit::new("webhook template", 1 << 20),
                )?,
                crate::input::display(path),
            )
        }
        None => (BUILT_IN.to_string(), BUILT_IN_NAME.to_string()),
    };
    let docs = crate::manifest::parse(&text, &source)?;
    let mut configurations = Vec::new();
    for doc in docs {
        let kind = doc.kind().to_string();
        let api = doc.value["apiVersion"].as_str().unwrap_or("");
        if api != format!("{GROUP}/v1") || !KINDS.iter().any(|(k, _)| *k == kind) {
            bail!(
                "{}: expected ValidatingWebhookConfiguration or MutatingWebhookConfiguration ({GROUP}/v1), found {} {}",
                doc.source,
                crate::text::shown(api),
                crate::text::shown(&kind)
            );
        }
        if doc.value["metadata"]["name"]
            .as_str()
            .is_none_or(|n| !guest::names::is_dns1123_subdomain(n))
        {
            bail!(
                "{}: `metadata.name`: expected a DNS-1123 subdomain",
                doc.source
            );
        }
        let webhooks = doc.value["webhooks"]
            .as_array()
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "{}: `webhooks`: expected a list of at least one webhook",
                    doc.source
                )
            })?;
        for (i, webhook) in webhooks.iter().enumerate() {
            if webhook["clientConfig"]["service"]["path"]
                .as_str()
                .is_none_or(|p| !p.starts_with('/'))
            {
                bail!(
                    "{}: `webhooks[{i}].clientConfig.service.path`: expected the gateway's path (/validate or /mutate)",
                    doc.source
                );
            }
        }
        // The API's own type reads it (a field of the wrong type is refused here, not by
        // the API server at the first registration).
        let typed = match kind.as_str() {
            "ValidatingWebhookConfiguration" => serde_json::from_value::<
                k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
            >(doc.value.clone())
            .map(|_| ()),
            _ => serde_json::from_value::<
                k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
            >(doc.value.clone())
            .map(|_| ()),
        };
        typed.map_err(|e| {
            anyhow!(
                "{}: not a {kind}: {}",
                doc.source,
                guest::shown::redact_serde_message(&e.to_string())
            )
        })?;
        configurations.push(doc.value);
    }
    if configurations.is_empty() {
        bail!("{source}: no webhook configurations");
    }
    Ok(configurations)
}

/// The install's ClusterRole, whose deletion takes the configurations with it.
#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub uid: String,
}

pub fn owner_target(name: &str) -> Target {
    Target {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "clusterroles",
        namespace: None,
        name: name.to_string(),
    }
}

/// Each configuration as the gateway applies it, with where it goes.
pub fn desired(
    template: &[Value],
    endpoint: &Endpoint,
    namespace: &str,
    bundle_pem: &str,
    owner: Option<&Owner>,
) -> Vec<(Target, Value)> {
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(bundle_pem);
    template
        .iter()
        .map(|config| {
            let kind = config["kind"].as_str().unwrap_or("");
            let resource = KINDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or("", |(_, r)| *r);
            let name = config["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let mut metadata = json!({"name": name});
            if let Some(labels) = config["metadata"].get("labels") {
                metadata["labels"] = labels.clone();
            }
            metadata["labels"][super::certs::MANAGED_BY] = super::certs::MANAGER.into();
            if let Some(owner) = owner {
                metadata["ownerReferences"] = json!([{
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "name": owner.name,
                    "uid": owner.uid,
                }]);
            }
            let webhooks: Vec<Value> = config["webhooks"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .map(|w| webhook(w, endpoint, namespace, &ca_bundle))
                        .collect()
                })
                .unwrap_or_default();
            let object = json!({
                "apiVersion": format!("{GROUP}/v1"),
                "kind": kind,
                "metadata": metadata,
                "webhooks": webhooks,
            });
            let target = Target {
                group: GROUP,
                version: "v1",
                resource,
                namespace: None,
                name,
            };
            (target, object)
        })
        .collect()
}

fn webhook(template: &Value, endpoint: &Endpoint, namespace: &str, ca_bundle: &str) -> Value {
    let mut webhook = template.clone();
    let service = &template["clientConfig"]["service"];
    let path = service["path"].as_str().unwrap_or("/");
    webhook["clientConfig"] = match endpoint {
        Endpoint::Service(name) => json!({
            "service": {
                "namespace": namespace,
                "name": name,
                "path": path,
                "port": service.get("port").cloned().unwrap_or(json!(443)),
            },
            "caBundle": ca_bundle,
        }),
        Endpoint::Url(url) => json!({
            "url": format!("{}{path}", url.trim_end_matches('/')),
            "caBundle": ca_bundle,
        }),
    };
    // The gateway's own pods must never wait on the gateway.
    if let Some(expressions) = webhook["namespaceSelector"]["matchExpressions"].as_array_mut()
        && let Some(values) = expressions
            .iter_mut()
            .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
            .and_then(|e| e["values"].as_array_mut())
        && !values.iter().any(|v| v == namespace)
    {
        values.push(namespace.into());
    }
    webhook
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_template_points_at_the_service_or_the_url() {
        let template = template(None).unwrap();
        assert_eq!(template.len(), 2);
        let owner = Owner {
            name: "gw".into(),
            uid: "u-1".into(),
        };
        let service = desired(
            &template,
            &Endpoint::Service("gw".into()),
            "other-ns",
            "PEM",
            Some(&owner),
        );
        for (target, object) in &service {
            assert_eq!(target.group, GROUP);
            assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "u-1");
            for webhook in object["webhooks"].as_array().unwrap() {
                let config = &webhook["clientConfig"];
                assert_eq!(config["service"]["namespace"], "other-ns");
                assert_eq!(config["caBundle"], "UEVN");
                let excluded = &webhook["namespaceSelector"]["matchExpressions"][0]["values"];
                assert!(
                    excluded.as_array().unwrap().iter().any(|v| v == "other-ns"),
                    "{excluded}"
                );
                assert!(
                    excluded
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|v| v == "kube-system"),
                    "{excluded}"
                );
            }
        }
        let url = desired(
            &template,
            &Endpoint::Url("https://10.1.2.3:8443/".into()),
            "ns",
            "PEM",
            None,
        );
        let paths: Vec<&str> = url
            .iter()
            .flat_map(|(_, o)| o["webhooks"].as_array().unwrap().iter())
            .map(|w| w["clientConfig"]["url"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                // The workloads' webhook and the objects' (policies, namespaces).
                "https://10.1.2.3:8443/validate",
                "https://10.1.2.3:8443/validate",
                "https://10.1.2.3:8443/mutate"
            ]
        );
        assert!(
            url.iter()
                .all(|(_, o)| o["metadata"].get("ownerReferences").is_none())
        );
    }

    #[test]
    fn urls_are_https_with_a_host() {
        for (url, host) in [
            ("https://10.0.0.5:8443", Some("10.0.0.5")),
            ("https://gw.example.com/hooks", Some("gw.example.com")),
            ("https://[fd00::1]:8443", Some("fd00::1")),
            ("http://10.0.0.5", None),
            ("https://user@host", None),
            ("https://host/x?y", None),
            ("https://", None),
            ("https://a b", None),
        ] {
            assert_eq!(url_host(url).ok().as_deref(), host, "{url}");
        }
    }

    #[test]
    fn templates_that_are_not_webhook_configurations_are_refused() {
        let dir = std::env::temp_dir().join(format!("register-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (text, expected) in [
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                "expected ValidatingWebhookConfiguration",
            ),
            (
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: x}\nwebhooks: []\n",
                "`webhooks`",
            ),
            (
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: x}\nwebhooks: [{name: a.b.c, clientConfig: {url: 'https://x'}}]\n",
                "clientConfig.service.path",
            ),
            (
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: x}\nwebhooks: [{name: a.b.c, clientConfig: {service: {name: s, namespace: n, path: /v}}, sideEffects: 7}]\n",
                "not a ValidatingWebhookConfiguration",
            ),
        ] {
            let file = dir.join("t.yaml");
            std::fs::write(&file, text).unwrap();
            let e = format!("{:#}", template(Some(&file)).unwrap_err());
            assert!(e.contains(expected), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Writing to the Kubernetes API as a careful controller: create (compare-and-swap
//! on absence), update (compare-and-swap on `resourceVersion`), server-side apply with
//! the host's own field manager, and get, each bounded in size and time. An answer
//! that is not 2xx becomes an `ApiError` that names the verb, the resource and what
//! to do; objects are never quoted, so a Secret written here never reaches a log.
//! `lease` elects one writer among replicas (coordination.k8s.io Leases).

pub mod lease;

use anyhow::{Result, anyhow};
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::Duration;

/// The field manager of everything the host applies.
pub const FIELD_MANAGER: &str = "runai-secrets-gateway";
/// Largest answer read (a Secret is at most 1 MiB; webhook configurations are small).
const MAX_ANSWER: usize = 4 << 20;
/// Longest wait for one request.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One permission the host's code uses: what its role must grant, exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    /// `None`: cluster-wide (a ClusterRole).
    pub namespace: Option<String>,
    pub group: String,
    pub resource: String,
    pub verb: String,
    /// `None`: any object of the resource.
    pub name: Option<String>,
}

impl Grant {
    pub fn new(
        namespace: Option<&str>,
        group: &str,
        resource: &str,
        verb: &str,
        name: Option<&str>,
    ) -> Self {
        Grant {
            namespace: namespace.map(str::to_string),
            group: group.to_string(),
            resource: resource.to_string(),
            verb: verb.to_string(),
            name: name.map(str::to_string),
        }
    }
}

/// One object's address: its collection and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// The plural resource name (`secrets`).
    pub resource: &'static str,
    /// `None` for a cluster-scoped resource.
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    fn collection(&self) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match &self.namespace {
            Some(ns) => format!("{root}/namespaces/{ns}/{}", self.resource),
            None => format!("{root}/{}", self.resource),
        }
    }

    fn path(&self) -> String {
        format!("{}/{}", self.collection(), self.name)
    }

    /// `secrets runai-secrets-gateway/gateway-tls`, for messages.
    pub fn describe(&self) -> String {
        let name = crate::text::shown(&self.name);
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        match &self.namespace {
            Some(ns) => format!("{}{group} {}/{name}", self.resource, crate::text::shown(ns)),
            None => format!("{}{group} {name}", self.resource),
        }
    }
}

/// An answer that is not 2xx.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub verb: &'static str,
    pub target: String,
    /// The API server's own message (a Status), bounded; empty when there is none.
    pub message: String,
}

impl ApiError {
    /// A fixed word for metrics: forbidden, conflict, not-found, invalid, unauthorized,
    /// server-error.
    pub fn reason(&self) -> &'static str {
        match self.status {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not-found",
            409 => "conflict",
            422 | 400 => "invalid",
            _ => "server-error",
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let said = if self.message.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.message)
        };
        match self.status {
            403 => write!(
                f,
                "{} {}: forbidden (403){said}: the gateway's identity may not {} it; grant it in its Role or ClusterRole (deploy/base/rbac.yaml)",
                self.verb, self.target, self.verb
            ),
            401 => write!(
                f,
                "{} {}: the API server did not accept the gateway's credentials (401){said}",
                self.verb, self.target
            ),
            409 => write!(
                f,
                "{} {}: conflict (409){said}: someone else changed it first",
                self.verb, self.target
            ),
            code => write!(
                f,
                "{} {}: the API server answered HTTP {code}{said}",
                self.verb, self.target
            ),
        }
    }
}

impl std::error::Error for ApiError {}

/// The `ApiError` behind an error, if it is one.
pub fn api_error(e: &anyhow::Error) -> Option<&ApiError> {
    e.downcast_ref::<ApiError>()
}

/// A fixed word for metrics for any error of this module.
pub fn reason(e: &anyhow::Error) -> &'static str {
    api_error(e).map_or("unreachable", ApiError::reason)
}

/// Sends one request; the status and the body, read up to `MAX_ANSWER` within
/// `TIMEOUT`.
async fn send(
    client: &kube::Client,
    method: &str,
    uri: String,
    content_type: &str,
    body: Vec<u8>,
    what: &str,
) -> Result<(u16, Vec<u8>)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(kube::client::Body::from(body))
        .map_err(|e| anyhow!("{what}: cannot build the request: {e}"))?;
    let exchange = async {
        let response = client.send(request).await.map_err(|e| {
            anyhow!(
                "{what}: cannot reach the API server: {}",
                crate::text::shown_max(&e.to_string(), 400)
            )
        })?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                anyhow!(
                    "{what}: the answer broke off: {}",
                    crate::text::shown_max(&e.to_string(), 400)
                )
            })?;
            if let Some(data) = frame.data_ref() {
                if bytes.len() + data.len() > MAX_ANSWER {
                    return Err(anyhow!(
                        "{what}: the answer is larger than {MAX_ANSWER} bytes"
                    ));
                }
                bytes.extend_from_slice(data);
            }
        }
        Ok((status, bytes))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow!("{what}: no answer within {} s", TIMEOUT.as_secs()))?
}

fn failed(status: u16, verb: &'static str, target: &Target, body: &[u8]) -> anyhow::Error {
    let message = serde_json::from_slice::<kube::core::Status>(body)
        .map(|s| crate::text::shown_max(&s.message, 300).into_owned())
        .unwrap_or_default();
    // A Secret's validation message could name what it holds: never shown.
    let message = if target.resource == "secrets" {
        String::new()
    } else {
        message
    };
    anyhow::Error::new(ApiError {
        status,
        verb,
        target: target.describe(),
        message,
    })
}

fn decode(body: &[u8], verb: &str, target: &Target) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        anyhow!(
            "{verb} {}: the answer is not JSON: {}",
            target.describe(),
            guest::shown::redact_serde_message(&e.to_string())
        )
    })
}

/// One request of `verb` (`get`, `create`, `update`, `patch`, `delete`) for `target`,
/// with `object` as its body: the status, and the answer decoded when it is 2xx
/// (`None` for another status the caller expects: 404 or 409); any other status is an
/// `ApiError`.
async fn request(
    client: &kube::Client,
    verb: &'static str,
    target: &Target,
    object: Option<&Value>,
    expected: &[u16],
) -> Result<(u16, Option<Value>)> {
    let (method, uri, content_type) = match verb {
        "get" => ("GET", target.path(), "application/json"),
        "delete" => ("DELETE", target.path(), "application/json"),
        "create" => (
            "POST",
            format!(
                "{}?fieldManager={FIELD_MANAGER}&fieldValidation=Strict",
                target.collection()
            ),
            "application/json",
        ),
        "update" => (
            "PUT",
            format!(
                "{}?fieldManager={FIELD_MANAGER}&fieldValidation=Strict",
                target.path()
            ),
            "application/json",
        ),
        _ => (
            "PATCH",
            format!(
                "{}?fieldManager={FIELD_MANAGER}&force=true&fieldValidation=Strict",
                target.path()
            ),
            "application/apply-patch+yaml",
        ),
    };
    let body = match object {
        Some(object) => serde_json::to_vec(object)?,
        None => Vec::new(),
    };
    let what = format!("{verb} {}", target.describe());
    let (status, answer) = send(client, method, uri, content_type, body, &what).await?;
    match status {
        code if expected.contains(&code) => Ok((code, None)),
        200..=299 if verb == "delete" => Ok((status, None)),
        200..=299 => decode(&answer, verb, target).map(|v| (status, Some(v))),
        _ => Err(failed(status, verb, target, &answer)),
    }
}

/// The object, or `None` when it does not exist.
pub async fn get(client: &kube::Client, target: &Target) -> Result<Option<Value>> {
    Ok(request(client, "get", target, None, &[404]).await?.1)
}

/// What a create came to.
pub enum Created {
    Created(Value),
    /// Someone created it first (409 AlreadyExists): read theirs.
    Exists,
}

/// Creates `object` (named `target.name`) unless it exists.
pub async fn create(client: &kube::Client, target: &Target, object: &Value) -> Result<Created> {
    Ok(
        match request(client, "create", target, Some(object), &[409])
            .await?
            .1
        {
            Some(created) => Created::Created(created),
            None => Created::Exists,
        },
    )
}

/// What an update came to.
pub enum Updated {
    Updated(Value),
    /// The object changed since `metadata.resourceVersion` (409): read it again.
    Conflict,
}

/// Replaces the object; `object.metadata.resourceVersion` makes it a compare-and-swap.
pub async fn update(client: &kube::Client, target: &Target, object: &Value) -> Result<Updated> {
    // The managed fields as read would replace the server's record of who owns what.
    let mut object = object.clone();
    if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("managedFields");
    }
    Ok(
        match request(client, "update", target, Some(&object), &[409])
            .await?
            .1
        {
            Some(updated) => Updated::Updated(updated),
            None => Updated::Conflict,
        },
    )
}

/// Server-side apply of `object` with the host's field manager, taking over the fields
/// it sets from any other manager (`force`): a controller owns what it applies.
pub async fn apply(client: &kube::Client, target: &Target, object: &Value) -> Result<Value> {
    request(client, "patch", target, Some(object), &[])
        .await?
        .1
        .ok_or_else(|| anyhow!("patch {}: no answer", target.describe()))
}

/// Deletes the object; a missing one is not an error.
pub async fn delete(client: &kube::Client, target: &Target) -> Result<()> {
    request(client, "delete", target, None, &[404])
        .await
        .map(drop)
}

/// Whether every field `want` sets is in `have` with the same value (lists element by
/// element, of the same length): what an apply would leave unchanged. Fields the API
/// server defaults, and fields other managers own, do not count.
pub fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| have.get(k).is_some_and(|h| contains(h, w))),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| contains(h, w))
        }
        (have, want) => have == want,
    }
}

/// The field managers other than the host's that changed the object, for a log line:
/// `kubectl-edit (Update)`.
pub fn other_managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| {
                    let manager = f["manager"].as_str()?;
                    (manager != FIELD_MANAGER).then(|| {
                        format!(
                            "{} ({})",
                            crate::text::shown_max(manager, 60),
                            crate::text::shown_max(f["operation"].as_str().unwrap_or("?"), 20)
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contains_is_what_an_apply_would_leave_unchanged() {
        let have = json!({"a": 1, "b": {"c": [1, {"d": 2, "e": 3}]}, "defaulted": true});
        for (want, held) in [
            (json!({}), true),
            (json!({"a": 1}), true),
            (json!({"b": {"c": [1, {"d": 2}]}}), true),
            (json!({"a": 2}), false),
            (json!({"b": {"c": [1]}}), false),
            (json!({"b": {"c": [1, {"d": 3}]}}), false),
            (json!({"missing": null}), false),
        ] {
            assert_eq!(contains(&have, &want), held, "{want}");
        }
    }

    #[test]
    fn paths_and_descriptions() {
        let secret = Target {
            group: "",
            version: "v1",
            resource: "secrets",
            namespace: Some("gw".into()),
            name: "tls".into(),
        };
        assert_eq!(secret.path(), "/api/v1/namespaces/gw/secrets/tls");
        assert_eq!(secret.describe(), "secrets gw/tls");
        let webhook = Target {
            group: "admissionregistration.k8s.io",
            version: "v1",
            resource: "validatingwebhookconfigurations",
            namespace: None,
            name: "w\n".into(),
        };
        assert_eq!(
            webhook.path(),
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/w\n"
        );
        assert_eq!(
            webhook.describe(),
            "validatingwebhookconfigurations.admissionregistration.k8s.io w\\n"
        );
    }
}

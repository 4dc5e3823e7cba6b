//! What the fake API server does for writes (the gateway's own certificate, Lease and
//! webhooks): single objects by path, with create (POST: 409 when it exists), get,
//! update (PUT: 409 when `metadata.resourceVersion` is not the stored one),
//! server-side apply (PATCH `application/apply-patch+yaml` with a `fieldManager`:
//! creates, or merges the applied fields in and records the manager in
//! `managedFields`) and delete; 403 for the verbs and resources a test denies.
//! Every request is logged with its answer's status.

use super::{Body, FakeApi, State, full, status};
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Objects {
    /// Objects by their path (`/api/v1/namespaces/gw/secrets/tls`).
    stored: BTreeMap<String, Value>,
    /// (verb, plural resource) answered 403.
    denied: BTreeSet<(String, String)>,
    /// `VERB path status` of every request served here.
    log: Vec<String>,
    uids: u64,
}

/// The resources served here, by the path segment before the name.
const RESOURCES: &[&str] = &[
    "secrets",
    "leases",
    "policyreports",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "clusterroles",
];

/// (collection path, name, plural) of a path this module serves; name is empty for a
/// collection. Cluster-wide lists (`/api/v1/secrets`) are not served here.
fn parse(path: &str) -> Option<(String, String, &'static str)> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if let Some(resource) = RESOURCES.iter().find(|r| *r == part) {
            let namespaced = i >= 2 && parts[i - 2] == "namespaces";
            let cluster_scoped = matches!(
                *resource,
                "validatingwebhookconfigurations"
                    | "mutatingwebhookconfigurations"
                    | "clusterroles"
            );
            if !namespaced && !cluster_scoped {
                return None;
            }
            let collection = parts[..=i].join("/");
            let name = match parts.len() - i {
                1 => String::new(),
                2 => parts[i + 1].to_string(),
                _ => return None,
            };
            return Some((collection, name, resource));
        }
    }
    None
}

fn verb(method: &str, name: &str) -> &'static str {
    match (method, name.is_empty()) {
        ("POST", _) => "create",
        ("GET", false) => "get",
        ("GET", true) => "list",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "other",
    }
}

/// Deep-merges the applied fields into `into`; lists are replaced whole.
fn merge(into: &mut Value, applied: &Value) {
    match (into, applied) {
        (Value::Object(into), Value::Object(applied)) => {
            for (k, v) in applied {
                match into.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, applied) => *into = applied.clone(),
    }
}

fn record_manager(object: &mut Value, manager: &str, operation: &str) {
    let fields = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut fields: Vec<Value> = fields
        .into_iter()
        .filter(|f| !(f["manager"] == manager && f["operation"] == operation))
        .collect();
    fields.push(json!({"manager": manager, "operation": operation, "apiVersion": object["apiVersion"].clone()}));
    object["metadata"]["managedFields"] = Value::Array(fields);
}

/// Answers a request for an object this module serves; gives the request back
/// otherwise.
pub async fn route(
    state: &Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, Request<Incoming>> {
    let Some((collection, name, resource)) = parse(req.uri().path()) else {
        return Err(req);
    };
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let verb = verb(&method, &name);
    let mut s = state.lock().unwrap();
    let (code, answer) = if s
        .written
        .denied
        .contains(&(verb.to_string(), resource.to_string()))
    {
        let message = format!(
            "{resource} \"{name}\" is forbidden: User \"system:serviceaccount:gw:gw\" cannot {verb} resource \"{resource}\""
        );
        (403, status(403, "Forbidden", &message))
    } else {
        serve(
            &mut s,
            verb,
            &collection,
            &name,
            &query,
            &content_type,
            &body,
        )
    };
    s.written.log.push(format!("{method} {path} {code}"));
    Ok(full(code, &answer))
}

fn serve(
    s: &mut State,
    verb: &str,
    collection: &str,
    name: &str,
    query: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let key = |name: &str| format!("{collection}/{name}");
    match verb {
        "get" => match s.written.stored.get(&key(name)) {
            Some(object) => (200, object.clone()),
            None => (
                404,
                status(404, "NotFound", &format!("\"{name}\" not found")),
            ),
        },
        "create" => {
            let Some(mut object) = parsed else {
                return (400, status(400, "BadRequest", "not JSON"));
            };
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if s.written.stored.contains_key(&key(&name)) {
                return (
                    409,
                    status(409, "AlreadyExists", &format!("\"{name}\" already exists")),
                );
            }
            stamp(s, &mut object, true);
            record_manager(&mut object, field_manager(query), "Update");
            s.written.stored.insert(key(&name), object.clone());
            (201, object)
        }
        "update" => {
            let Some(mut object) = parsed else {
                return (400, status(400, "BadRequest", "not JSON"));
            };
            let Some(stored) = s.written.stored.get(&key(name)) else {
                return (
                    404,
                    status(404, "NotFound", &format!("\"{name}\" not found")),
                );
            };
            if object["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
                return (
                    409,
                    status(
                        409,
                        "Conflict",
                        "the object has been modified; please apply your changes to the latest version and try again",
                    ),
                );
            }
            object["metadata"]["uid"] = stored["metadata"]["uid"].clone();
            object["metadata"]["managedFields"] = stored["metadata"]["managedFields"].clone();
            stamp(s, &mut object, false);
            record_manager(&mut object, field_manager(query), "Update");
            s.written.stored.insert(key(name), object.clone());
            (200, object)
        }
        "patch" => {
            if content_type != "application/apply-patch+yaml" || !query.contains("fieldManager=") {
                return (
                    415,
                    status(
                        415,
                        "UnsupportedMediaType",
                        "only server-side apply with a fieldManager",
                    ),
                );
            }
            let Some(applied) = parsed else {
                return (400, status(400, "BadRequest", "not JSON"));
            };
            let (mut object, created) = match s.written.stored.get(&key(name)) {
                Some(stored) => (stored.clone(), false),
                None => (json!({}), true),
            };
            merge(&mut object, &applied);
            stamp(s, &mut object, created);
            record_manager(&mut object, field_manager(query), "Apply");
            s.written.stored.insert(key(name), object.clone());
            (if created { 201 } else { 200 }, object)
        }
        "delete" => match s.written.stored.remove(&key(name)) {
            Some(_) => (200, status(200, "Success", "deleted")),
            None => (
                404,
                status(404, "NotFound", &format!("\"{name}\" not found")),
            ),
        },
        _ => (
            405,
            status(405, "MethodNotAllowed", "not served by the fake"),
        ),
    }
}

fn field_manager(query: &str) -> &str {
    query
        .split('&')
        .find_map(|p| p.strip_prefix("fieldManager="))
        .unwrap_or("unknown")
}

/// A new resourceVersion (and uid for a new object).
fn stamp(s: &mut State, object: &mut Value, new: bool) {
    s.resource_version += 1;
    object["metadata"]["resourceVersion"] = json!(s.resource_version.to_string());
    if new {
        s.written.uids += 1;
        object["metadata"]["uid"] = json!(format!("uid-{}", s.written.uids));
    }
}

impl FakeApi {
    /// The object at `path`, if any.
    pub fn object(&self, path: &str) -> Option<Value> {
        self.with(|s| s.written.stored.get(path).cloned())
    }

    /// Stores `object` at `path` as someone else would (a new resourceVersion and uid).
    pub fn store(&self, path: &str, object: Value) -> Value {
        self.with(|s| {
            let mut object = object;
            stamp(s, &mut object, true);
            s.written.stored.insert(path.to_string(), object.clone());
            object
        })
    }

    /// Changes the object at `path` as `kubectl edit` would (an Update by another field
    /// manager).
    pub fn edit(&self, path: &str, change: impl FnOnce(&mut Value)) {
        self.with(|s| {
            let mut object = s
                .written
                .stored
                .get(path)
                .cloned()
                .expect("an object to edit");
            change(&mut object);
            stamp(s, &mut object, false);
            record_manager(&mut object, "kubectl-edit", "Update");
            s.written.stored.insert(path.to_string(), object);
        })
    }

    pub fn delete_object(&self, path: &str) {
        self.with(|s| s.written.stored.remove(path));
    }

    /// Answers `verb` on `resource` (plural) with 403 from now on, or no longer.
    pub fn deny(&self, verb: &str, resource: &str, denied: bool) {
        self.with(|s| {
            let key = (verb.to_string(), resource.to_string());
            if denied {
                s.written.denied.insert(key);
            } else {
                s.written.denied.remove(&key);
            }
        })
    }

    /// Requests served here as `VERB path status`, those containing `part`.
    pub fn writes(&self, part: &str) -> Vec<String> {
        self.with(|s| {
            s.written
                .log
                .iter()
                .filter(|l| l.contains(part))
                .cloned()
                .collect()
        })
    }
}

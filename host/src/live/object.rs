//! What the host keeps of a Kubernetes object, decoded straight from the API server's
//! JSON: `metadata.name`, `namespace`, `labels` and `resourceVersion`; `spec` (Projects,
//! Departments, policies); and of a Secret its `type`, `immutable` and the **names** of
//! the keys under `data` and `stringData`. A Secret's values are skipped by the
//! decoder (`serde::de::IgnoredAny`) as the bytes are read: they are never held in a
//! `String`, stored, logged or counted. Annotations are dropped too: `kubectl apply`
//! keeps a Secret's whole manifest, values included, in
//! `kubectl.kubernetes.io/last-applied-configuration`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, DynamicResourceScope, Resource};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// One watched object, as much of it as the cluster view needs.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Slim {
    #[serde(deserialize_with = "slim_meta", default)]
    pub metadata: ObjectMeta,
    /// Projects, Departments and policies.
    #[serde(default)]
    pub spec: Option<Value>,
    /// A Secret's type.
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    /// A Secret's `immutable`.
    #[serde(default)]
    pub immutable: Option<bool>,
    /// A Secret's key names under `data` (values skipped).
    #[serde(default, deserialize_with = "key_names")]
    pub data: Vec<String>,
    /// A Secret's key names under `stringData` (the API server never returns it, but
    /// a recorded or hand-made object may hold it; values skipped all the same).
    #[serde(default, deserialize_with = "key_names")]
    pub string_data: Vec<String>,
}

/// The metadata fields kept; everything else (annotations, managed fields, owner
/// references) is skipped unread.
#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    resource_version: Option<String>,
}

fn slim_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let meta = Option::<Meta>::deserialize(d)?.unwrap_or_default();
    Ok(ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        labels: meta.labels,
        resource_version: meta.resource_version,
        ..ObjectMeta::default()
    })
}

/// The keys of a map whose values are skipped unread (`null` is no keys).
fn key_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of key names to values")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
            d.deserialize_map(Keys)
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Vec<String>, M::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    d.deserialize_option(Keys)
}

/// `Slim` is read with the `ApiResource` of the resource being watched, as kube's own
/// `DynamicObject` is: list items of the core API carry no `kind` of their own.
impl Resource for Slim {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl Slim {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The object as a manifest the simulator's loader reads (`cluster::load`), so the
    /// live view is validated as `apply -f` validates files. A Secret's keys appear
    /// under `data` with empty values: the key names are all the view has.
    pub fn manifest(&self, resource: &ApiResource) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(self.name()));
        if let Some(ns) = &self.metadata.namespace {
            metadata.insert("namespace".into(), json!(ns));
        }
        if let Some(labels) = &self.metadata.labels {
            metadata.insert("labels".into(), json!(labels));
        }
        let mut doc = Map::new();
        doc.insert("apiVersion".into(), json!(resource.api_version));
        doc.insert("kind".into(), json!(resource.kind));
        doc.insert("metadata".into(), Value::Object(metadata));
        if resource.kind == "Secret" {
            let data: Map<String, Value> = self
                .data
                .iter()
                .chain(&self.string_data)
                .map(|k| (k.clone(), json!("")))
                .collect();
            doc.insert("data".into(), Value::Object(data));
            if let Some(t) = &self.secret_type {
                doc.insert("type".into(), json!(t));
            }
            if let Some(i) = self.immutable {
                doc.insert("immutable".into(), json!(i));
            }
        } else if let Some(spec) = &self.spec {
            doc.insert("spec".into(), spec.clone());
        }
        Value::Object(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_keeps_key_names_and_drops_values_and_annotations() {
        let text = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"runai-a",
            "labels":{"app":"x"},"resourceVersion":"7",
            "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"aHVudGVyMg==\"}}"},
            "managedFields":[{"fieldsV1":{"f:data":{"f:password":{}}}}]},
            "data":{"password":"aHVudGVyMg==","user":"YWRtaW4="},"stringData":{"token":"hunter3"},
            "type":"Opaque","immutable":true}"#;
        let slim: Slim = serde_json::from_str(text).expect("decodes");
        assert_eq!(slim.data, ["password", "user"]);
        assert_eq!(slim.string_data, ["token"]);
        assert_eq!(slim.immutable, Some(true));
        assert_eq!(slim.metadata.resource_version.as_deref(), Some("7"));
        assert!(slim.metadata.annotations.is_none());
        let shown = format!("{slim:?}");
        for value in ["aHVudGVyMg", "YWRtaW4", "hunter", "admin", "last-applied"] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
    }

    #[test]
    fn null_and_missing_maps_are_no_keys() {
        let slim: Slim =
            serde_json::from_str(r#"{"metadata":{"name":"a"},"data":null}"#).expect("decodes");
        assert!(slim.data.is_empty() && slim.string_data.is_empty());
        let slim: Slim = serde_json::from_str(r#"{"metadata":null}"#).expect("decodes");
        assert_eq!(slim.name(), "");
    }

    #[test]
    fn a_map_that_is_not_a_map_is_an_error_that_quotes_nothing() {
        let e = serde_json::from_str::<Slim>(r#"{"metadata":{"name":"a"},"data":"c2VjcmV0"}"#)
            .expect_err("a string is not a map");
        let message = guest::shown::redact_serde_message(&e.to_string());
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }
}

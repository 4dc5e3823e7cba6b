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
    /// Projects, Departments and policies; a spec of more than `SPEC_NODES` values
    /// is kept as `SPEC_TOO_BIG` (the object is then left out of the view).
    #[serde(default, deserialize_with = "bounded_spec")]
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

/// An object the host could not read (a field of an unexpected type): left out of
/// the view, counted, and named where that is allowed. `why` names the field and the
/// types, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub namespace: String,
    pub name: String,
    pub resource_version: Option<String>,
    pub why: String,
}

/// The fields of an object other than a Secret: a Secret's `type`, `data` and
/// `immutable` mean nothing there, and Run:ai's V1 kinds have no strict schema, so a
/// stray `data: "x"` on a TrainingPolicy must not make it unreadable.
#[derive(Deserialize)]
struct Other {
    #[serde(deserialize_with = "slim_meta", default)]
    metadata: ObjectMeta,
    #[serde(default, deserialize_with = "bounded_spec")]
    spec: Option<Value>,
}

/// Who an object is, read as leniently as can be, to name one that does not decode.
#[derive(Deserialize, Default)]
struct Ident {
    #[serde(default)]
    metadata: Option<IdentMeta>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentMeta {
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    resource_version: Option<String>,
}

/// A string, or nothing when the value is of another type.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// One object of `kind` from its JSON text: what the view keeps of it, or why it
/// cannot be read (one bad object never stops the decoding of its list or watch).
pub fn decode(kind: &str, text: &str) -> Result<Slim, Unreadable> {
    let decoded = if kind == "Secret" {
        serde_json::from_str::<Slim>(text)
    } else {
        serde_json::from_str::<Other>(text).map(|o| Slim {
            metadata: o.metadata,
            spec: o.spec,
            ..Slim::default()
        })
    };
    decoded.map_err(|e| {
        let meta = serde_json::from_str::<Ident>(text)
            .ok()
            .and_then(|i| i.metadata)
            .unwrap_or_default();
        Unreadable {
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            resource_version: meta.resource_version,
            why: guest::shown::redact_serde_message(&e.to_string()),
        }
    })
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

/// Values (objects, lists, strings, numbers) a `spec` may hold. A `serde_json::Value`
/// takes ~16 times the text of a list of small numbers: a 100 MB `spec` of zeros took
/// 3.8 GB. Run:ai Projects and policies hold a few hundred.
pub const SPEC_NODES: usize = 20_000;
pub const SPEC_TOO_BIG: &str = "<spec of more than 20,000 values: not read>";

fn bounded_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let budget = std::cell::Cell::new(SPEC_NODES);
    let read = d.deserialize_option(OptionalBounded(&budget))?;
    Ok(match read {
        Some(_) if budget.get() == 0 => Some(Value::String(SPEC_TOO_BIG.to_string())),
        other => other,
    })
}

struct OptionalBounded<'a>(&'a std::cell::Cell<usize>);

impl<'de> Visitor<'de> for OptionalBounded<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a spec")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        serde::de::DeserializeSeed::deserialize(Bounded(self.0), d).map(Some)
    }
}

/// A `Value` built while the budget lasts; past it every value is read and dropped.
#[derive(Clone, Copy)]
struct Bounded<'a>(&'a std::cell::Cell<usize>);

impl Bounded<'_> {
    /// Takes one value from the budget; false once it is spent.
    fn take(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left > 0
    }
    fn keep(&self, v: Value) -> Value {
        if self.take() { v } else { Value::Null }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(self.keep(Value::Bool(v)))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(self.keep(Value::from(v)))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(self.keep(Value::from(v)))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(self.keep(Value::from(v)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(if self.take() {
            Value::String(v.to_string())
        } else {
            Value::Null
        })
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let keep = self.take();
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            if keep && self.0.get() > 0 {
                items.push(item);
            }
        }
        Ok(if keep {
            Value::Array(items)
        } else {
            Value::Null
        })
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Value, M::Error> {
        let keep = self.take();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if keep && self.0.get() > 0 {
                out.insert(key, value);
            }
        }
        Ok(if keep {
            Value::Object(out)
        } else {
            Value::Null
        })
    }
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

    /// The `spec` was past its budget and not read into memory.
    pub fn spec_not_read(&self) -> bool {
        self.spec.as_ref().and_then(Value::as_str) == Some(SPEC_TOO_BIG)
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
    fn a_spec_past_its_budget_is_not_read_into_memory() {
        let small: Slim = serde_json::from_str(
            r#"{"metadata":{"name":"a"},"spec":{"namespace":"runai-a","n":[1,2.5,true,null]}}"#,
        )
        .expect("decodes");
        assert_eq!(
            small.spec,
            Some(json!({"namespace": "runai-a", "n": [1, 2.5, true, null]}))
        );
        let zeros = vec!["0"; SPEC_NODES + 10].join(",");
        let big: Slim = serde_json::from_str(&format!(
            r#"{{"metadata":{{"name":"a"}},"spec":{{"x":[{zeros}]}},"type":"Opaque"}}"#
        ))
        .expect("decodes");
        assert_eq!(big.spec, Some(json!(SPEC_TOO_BIG)));
        assert_eq!(big.secret_type.as_deref(), Some("Opaque"));
        let none: Slim = serde_json::from_str(r#"{"spec":null}"#).expect("decodes");
        assert_eq!(none.spec, None);
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
    fn secret_fields_of_other_kinds_are_not_read() {
        // Run:ai's V1 kinds have no strict schema: stray fields are ignored.
        for stray in [
            r#""data":"x""#,
            r#""type":7"#,
            r#""stringData":[1]"#,
            r#""immutable":"no""#,
        ] {
            let text = format!(
                r#"{{"metadata":{{"name":"p","namespace":"runai-a"}},{stray},"spec":{{"a":1}}}}"#
            );
            let slim = decode("TrainingPolicy", &text).expect("decodes");
            assert_eq!(slim.spec, Some(json!({"a": 1})), "{stray}");
            assert!(decode("Secret", &text).is_err(), "{stray}");
        }
    }

    #[test]
    fn an_unreadable_object_is_named_without_its_values() {
        let text = r#"{"metadata":{"name":"db","namespace":"runai-a","resourceVersion":"9"},
            "data":"c2VjcmV0","type":"Opaque"}"#;
        let bad = decode("Secret", text).expect_err("data is not a map");
        assert_eq!(
            (bad.namespace.as_str(), bad.name.as_str()),
            ("runai-a", "db")
        );
        assert_eq!(bad.resource_version.as_deref(), Some("9"));
        assert!(!bad.why.contains("c2VjcmV0"), "{}", bad.why);
        let nameless = decode("Secret", r#"{"metadata":{"name":7},"data":5}"#).expect_err("bad");
        assert_eq!(nameless.name, "");
        let labels = decode("Project", r#"{"metadata":{"name":"p","labels":{"a":1}}}"#)
            .expect_err("a label value is a string");
        assert_eq!(labels.name, "p");
    }

    #[test]
    fn a_map_that_is_not_a_map_is_an_error_that_quotes_nothing() {
        let e = serde_json::from_str::<Slim>(r#"{"metadata":{"name":"a"},"data":"c2VjcmV0"}"#)
            .expect_err("a string is not a map");
        let message = guest::shown::redact_serde_message(&e.to_string());
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }
}

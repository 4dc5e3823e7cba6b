//! A JSON value decoded from YAML or JSON the way the Kubernetes API server's strict
//! decoding takes it: a duplicate mapping key is an error naming the key (not last
//! wins), `.nan` and `.inf` are errors (JSON has neither; they used to become `null`
//! and silently drop an env var), map keys that YAML reads as numbers or booleans
//! become strings (as sigs.k8s.io/yaml converts them), and YAML tags are refused.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A decoded document.
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(Strict)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            E::custom(
                "`.nan` and `.inf` are not valid values (JSON has neither): expected a number or a quoted string",
            )
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary values are not supported: expected text"))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{}`: each key may appear once in a mapping",
                    guest::shown::shown(&key)
                )));
            }
            let Strict(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(de::Error::custom(
            "YAML tags (`!name`) are not supported: expected plain YAML or JSON",
        ))
    }
}

/// A mapping key: strings as they are; numbers and booleans as their text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_string<E>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
            fn visit_bool<E>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
                if v.is_finite() {
                    Ok(v.to_string())
                } else {
                    Err(E::custom("`.nan` and `.inf` are not valid keys"))
                }
            }
            fn visit_unit<E>(self) -> Result<String, E> {
                Ok("null".to_string())
            }
        }
        deserializer.deserialize_any(KeyVisitor).map(Key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Value, String> {
        serde_yaml_ng::from_str::<Strict>(text)
            .map(|s| s.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn decodes_like_the_api_server() {
        // (YAML, the value or the error it gives)
        let ok = [
            (
                "a: 1\nb: [x, 2.5, true, null]",
                r#"{"a":1,"b":["x",2.5,true,null]}"#,
            ),
            ("1: a\ntrue: b", r#"{"1":"a","true":"b"}"#),
            ("{a: {b: c}}", r#"{"a":{"b":"c"}}"#),
            // YAML's own tags, as go-yaml reads them for the API server.
            ("a: !!str 123\nb: !!int \"7\"", r#"{"a":"123","b":7}"#),
        ];
        for (text, want) in ok {
            assert_eq!(yaml(text).unwrap().to_string(), want, "{text}");
        }
        let bad = [
            ("a: 1\nb: 2\na: 3", "duplicate key `a`"),
            ("env: {value: .nan}", "`.nan` and `.inf` are not valid"),
            ("env: {value: -.inf}", "`.nan` and `.inf` are not valid"),
            ("a: !secret x", "YAML tags"),
        ];
        for (text, want) in bad {
            let err = yaml(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = serde_json::from_str::<Strict>(r#"{"a": 1, "a": 2}"#)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key `a`"), "{err}");
    }
}

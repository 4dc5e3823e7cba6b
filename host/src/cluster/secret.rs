//! Secret manifests validated as the Kubernetes API server would (SPEC §5). Values
//! are decoded only to check and measure them, then dropped: the simulator keeps
//! names, key names, type and size, never a value.

use crate::manifest::{Document, type_name};
use anyhow::{Result, anyhow, bail};
use guest::names::{is_dns1123_subdomain, is_secret_key};
use guest::shown::shown;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The API server's limit on a Secret's data.
pub const MAX_DATA_BYTES: usize = 1 << 20;

/// Label that marks a secret in `runai` for propagation to every project.
pub const CLUSTER_WIDE_LABEL: &str = "runai/cluster-wide";

const TOP_LEVEL: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secret {
    pub name: String,
    pub namespace: String,
    pub secret_type: String,
    pub immutable: bool,
    pub labels: BTreeMap<String, String>,
    /// Key name and the size of its value in bytes.
    pub keys: BTreeMap<String, usize>,
    pub source: String,
}

impl Secret {
    pub fn is_cluster_wide(&self) -> bool {
        self.labels.get(CLUSTER_WIDE_LABEL).map(String::as_str) == Some("true")
    }
}

pub fn from_document(doc: &Document) -> Result<Secret> {
    let src = &doc.source;
    let map = doc
        .value
        .as_object()
        .ok_or_else(|| anyhow!("{src}: expected an object"))?;
    let misplaced: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !TOP_LEVEL.contains(k))
        .collect();
    let metadata = map.get("metadata");
    if metadata.is_none()
        || (!map.contains_key("data") && !map.contains_key("stringData") && !misplaced.is_empty())
    {
        let mut problems = Vec::new();
        if metadata.is_none() {
            problems.push(if map.contains_key("name") {
                "`metadata` is missing: `name` is at the top level but belongs under `metadata.name`".to_string()
            } else {
                "`metadata` is missing: expected `metadata.name` and `metadata.namespace`".to_string()
            });
        }
        let keys: Vec<&str> = misplaced
            .iter()
            .copied()
            .filter(|k| *k != "name" && *k != "namespace")
            .collect();
        if !map.contains_key("data") && !map.contains_key("stringData") {
            problems.push(if keys.is_empty() {
                "`data` is missing: expected `data` (base64 values) or `stringData` (plain values)".to_string()
            } else {
                format!(
                    "`data` is missing: {} at the top level {} under `data` (base64) or `stringData`",
                    keys.iter().map(|k| format!("`{}`", shown(k))).collect::<Vec<_>>().join(", "),
                    if keys.len() == 1 {
                        "looks like a secret key that belongs"
                    } else {
                        "look like secret keys that belong"
                    }
                )
            });
        }
        if map.contains_key("namespace") && metadata.is_none() {
            problems.push(
                "`namespace` is at the top level but belongs under `metadata.namespace`"
                    .to_string(),
            );
        }
        if !problems.is_empty() {
            bail!("{src}: Secret: {}", problems.join("; "));
        }
    }
    if let Some(field) = misplaced.first() {
        bail!(
            "{src}: Secret: unknown field `{}` at the top level: expected one of {}",
            shown(field),
            TOP_LEVEL.join(", ")
        );
    }
    let metadata = metadata
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("{src}: Secret: `metadata` must be an object"))?;
    let name = str_field(metadata, "name", src, "metadata.name")?
        .ok_or_else(|| anyhow!("{src}: Secret: `metadata.name` is missing"))?;
    if !is_dns1123_subdomain(name) {
        let name = shown(name);
        bail!(
            "{src}: Secret: `metadata.name` `{name}` is not a DNS-1123 subdomain (lower-case letters, digits, '-', '.')"
        );
    }
    let namespace = str_field(metadata, "namespace", src, "metadata.namespace")?.ok_or_else(|| {
        anyhow!("{src}: Secret {name}: `metadata.namespace` is missing: expected `runai` or a project namespace")
    })?;
    let labels = string_map(metadata.get("labels"), src, "metadata.labels")?;

    let mut keys = BTreeMap::new();
    if let Some(data) = object_field(map, "data", src)? {
        for (key, value) in data {
            let field = format!("data.{key}");
            check_key(key, src, &field)?;
            let encoded = value.as_str().ok_or_else(|| {
                anyhow!(
                    "{src}: Secret {name}: `{field}` must be a base64 string, found {}",
                    type_name(value)
                )
            })?;
            let size = decoded_len(encoded).ok_or_else(|| {
                anyhow!(
                    "{src}: Secret {name}: `{}` is not valid base64: expected standard base64 with `=` padding, \
                     as the API server decodes it (use `stringData` for plain values)",
                    shown(&field)
                )
            })?;
            keys.insert(key.clone(), size);
        }
    }
    if let Some(string_data) = object_field(map, "stringData", src)? {
        for (key, value) in string_data {
            let field = format!("stringData.{key}");
            check_key(key, src, &field)?;
            let text = value.as_str().ok_or_else(|| {
                anyhow!(
                    "{src}: Secret {name}: `{field}` must be a string, found {}",
                    type_name(value)
                )
            })?;
            // stringData wins over data on a clash, as in the API server.
            keys.insert(key.clone(), text.len());
        }
    }
    let total: usize = keys.iter().map(|(k, v)| k.len() + v).sum();
    if total > MAX_DATA_BYTES {
        bail!(
            "{src}: Secret {name}: data is {total} bytes; Kubernetes allows at most {MAX_DATA_BYTES} (1 MiB)"
        );
    }
    let secret_type = str_field(map, "type", src, "type")?
        .unwrap_or("Opaque")
        .to_string();
    let immutable = match map.get("immutable") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => bail!(
            "{src}: Secret {name}: `immutable` must be a boolean, found {}",
            type_name(other)
        ),
    };
    Ok(Secret {
        name: name.to_string(),
        namespace: namespace.to_string(),
        secret_type,
        immutable,
        labels,
        keys,
        source: src.clone(),
    })
}

fn check_key(key: &str, src: &str, field: &str) -> Result<()> {
    if !is_secret_key(key) {
        let (key, field) = (shown(key), shown(field));
        bail!(
            "{src}: Secret: `{field}`: `{key}` is not a valid key: expected letters, digits, '-', '_' and '.', not `.`, `..` or starting with `..`"
        );
    }
    Ok(())
}

pub fn str_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    src: &str,
    field: &str,
) -> Result<Option<&'a str>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => bail!(
            "{src}: `{field}` must be a string, found {}",
            type_name(other)
        ),
    }
}

fn object_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    src: &str,
) -> Result<Option<&'a Map<String, Value>>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => bail!(
            "{src}: `{key}` must be a map of key names to values, found {}",
            type_name(other)
        ),
    }
}

pub fn string_map(
    value: Option<&Value>,
    src: &str,
    field: &str,
) -> Result<BTreeMap<String, String>> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => bail!(
                    "{src}: `{field}.{}` must be a string, found {}",
                    shown(k),
                    type_name(other)
                ),
            })
            .collect(),
        Some(other) => bail!(
            "{src}: `{field}` must be a map of strings, found {}",
            type_name(other)
        ),
    }
}

/// The decoded length of `data` base64, or `None` where the API server would refuse it.
/// Go's `encoding/json` decodes `[]byte` with `base64.StdEncoding`: padding is required
/// (the length a multiple of 4, at most two `=` and only at the end), `\r` and `\n`
/// anywhere are skipped, and unused trailing bits are not checked. Only the length is
/// needed: the value itself is never kept.
fn decoded_len(encoded: &str) -> Option<usize> {
    let body: Vec<u8> = encoded
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !body.len().is_multiple_of(4) {
        return None;
    }
    let padding = body.iter().rev().take_while(|b| **b == b'=').count();
    if padding > 2 {
        return None;
    }
    let valid = body[..body.len() - padding]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/');
    valid.then(|| body.len() / 4 * 3 - padding)
}

#[cfg(test)]
mod tests {
    use super::decoded_len;

    #[test]
    fn base64_lengths() {
        // What Go's base64.StdEncoding.DecodeString gives (the API server's decoder).
        let cases = [
            ("", Some(0)),
            ("YWRtaW4=", Some(5)),
            ("cGFzcw==", Some(4)),
            ("YWJj", Some(3)),
            ("YWRt\naW4=", Some(5)),
            ("YWRt\r\naW4=\n", Some(5)),
            ("YR==", Some(1)),
            ("YWRtaW4", None),
            ("cGFzcw=", None),
            ("not base64!", None),
            ("YWRtaW4===", None),
            ("Y===", None),
            ("Y", None),
            ("YQ==YQ==", None),
            ("YW Jj", None),
            ("YW-j", None),
        ];
        for (encoded, want) in cases {
            assert_eq!(decoded_len(encoded), want, "{encoded:?}");
        }
    }
}

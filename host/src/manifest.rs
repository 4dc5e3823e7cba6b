//! Reading manifests: YAML (multi-document) or JSON files, single objects or a `List`.

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// One document of a file, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// `file` for a single document, `file#N` (0-based) when the file holds several.
    pub source: String,
    pub value: Value,
}

impl Document {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Value::as_str)
    }
}

/// Reads every document of a file (`-` for standard input).
pub fn read_file(path: &Path) -> Result<Vec<Document>> {
    let name = path.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read the file"))?
    };
    parse(&text, &name)
}

/// Parses YAML or JSON text (JSON is read as JSON, for its exact error positions).
pub fn parse(text: &str, name: &str) -> Result<Vec<Document>> {
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| anyhow!("{name}: not valid JSON: {e}"))?;
        vec![value]
    } else {
        let mut values = Vec::new();
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let value = Value::deserialize(doc)
                .map_err(|e| anyhow!("{name}: document {i}: not valid YAML: {e}"))?;
            values.push(value);
        }
        values
    };
    let mut flat = Vec::new();
    for value in values {
        match value {
            Value::Null => {}
            Value::Array(items) => flat.extend(items),
            Value::Object(ref map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
                match map.get("items") {
                    Some(Value::Array(items)) => flat.extend(items.iter().cloned()),
                    _ => {
                        return Err(anyhow!(
                            "{name}: a `List` needs `items`: expected an array of objects"
                        ));
                    }
                }
            }
            other => flat.push(other),
        }
    }
    let several = flat.len() > 1;
    flat.into_iter()
        .enumerate()
        .map(|(i, value)| {
            let source = if several {
                format!("{name}#{i}")
            } else {
                name.to_string()
            };
            if !value.is_object() {
                return Err(anyhow!(
                    "{source}: expected an object (a manifest with `kind`), found {}",
                    type_name(&value)
                ));
            }
            Ok(Document { source, value })
        })
        .collect()
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_and_lists() {
        let docs = parse(
            "a: 1\n---\n---\nkind: List\nitems: [{b: 2}, {c: 3}]\n",
            "f.yaml",
        )
        .unwrap();
        let sources: Vec<_> = docs.iter().map(|d| d.source.as_str()).collect();
        assert_eq!(sources, ["f.yaml#0", "f.yaml#1", "f.yaml#2"]);
        assert_eq!(docs[2].value["c"], 3);
    }

    #[test]
    fn errors_name_the_file() {
        let err = parse("{\"a\": ", "w.json").unwrap_err().to_string();
        assert!(err.starts_with("w.json: not valid JSON"), "{err}");
        let err = parse("a: [1\n", "w.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with("w.yaml: document 0: not valid YAML"),
            "{err}"
        );
        let err = parse("- 1\n", "w.yaml").unwrap_err().to_string();
        assert!(err.contains("expected an object"), "{err}");
    }
}

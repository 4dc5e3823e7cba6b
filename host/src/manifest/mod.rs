//! Reading manifests: YAML (multi-document) or JSON files, single objects or a `List`,
//! bounded in size (`input`) and depth (`depth`), decoded strictly (`strict`).

mod depth;
mod secret_hint;
mod strict;

use crate::input::{self, Limit};
use anyhow::{Result, anyhow, bail};
use guest::shown::redact_serde_message;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use strict::Strict;

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

/// Reads every document of a file (`-` for standard input), bounded by
/// `input::MANIFEST_CAP`.
pub fn read_file(path: &Path) -> Result<Vec<Document>> {
    let limit = Limit::new("manifest", input::MANIFEST_CAP);
    let text = input::read_text(path, limit)?;
    parse(&text, &input::display(path))
}

/// Parses YAML or JSON text, strictly (see `strict`): text that is valid JSON is read
/// as JSON, for its exact error positions; anything else, flow-style YAML starting
/// with `{` included, as YAML (multi-document).
pub fn parse(text: &str, name: &str) -> Result<Vec<Document>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let mut values = Vec::new();
    let looks_json = trimmed.starts_with('{') || trimmed.starts_with('[');
    let json = if looks_json {
        Some(parse_json(text))
    } else {
        None
    };
    match json {
        Some(Ok(value)) => values.push(value),
        // Valid JSON syntax with a bad value (a duplicate key): YAML would say the same.
        Some(Err(JsonError::Value(message))) => bail!("{name}: not valid JSON: {message}"),
        Some(Err(JsonError::Syntax(json_message))) => match parse_yaml(text, name) {
            Ok(docs) => values = docs,
            // A `.json` file is meant as JSON: its error is the one to show.
            Err(_) if name.ends_with(".json") => bail!("{name}: not valid JSON: {json_message}"),
            Err(e) => return Err(e),
        },
        None => values = parse_yaml(text, name)?,
    }
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

enum JsonError {
    /// Not JSON at all (maybe YAML).
    Syntax(String),
    /// JSON, but a value the strict decoding refuses.
    Value(String),
}

fn parse_json(text: &str) -> Result<Value, JsonError> {
    let classify = |e: serde_json::Error, at: String| {
        let message = format!("{}{at}", redact_serde_message(&e.to_string()));
        match e.classify() {
            serde_json::error::Category::Data => JsonError::Value(message),
            _ => JsonError::Syntax(message),
        }
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let Strict(value) = serde_path_to_error::deserialize::<_, Strict>(&mut de).map_err(|e| {
        let at = at_field(e.path());
        classify(e.into_inner(), at)
    })?;
    de.end().map_err(|e| classify(e, String::new()))?;
    Ok(value)
}

fn parse_yaml(text: &str, name: &str) -> Result<Vec<Value>> {
    if let Some(line) = depth::too_deep(text, depth::MAX_DEPTH) {
        bail!(
            "{name}: line {line}: nested deeper than {} levels: expected a manifest (the API server's \
             decoder refuses such documents too)",
            depth::MAX_DEPTH
        );
    }
    let mut values = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        // The YAML decoder puts the path before its own messages and the line after
        // syntax errors: nothing to add.
        match Strict::deserialize(doc) {
            Ok(Strict(value)) => values.push(value),
            Err(e) => {
                let message = redact_serde_message(&e.to_string());
                if message.contains("mapping values are not allowed")
                    && let Some(hint) = secret_hint::misindented_secret(text)
                {
                    bail!("{name}: document {i}: not valid YAML: {hint}");
                }
                bail!("{name}: document {i}: not valid YAML: {message}");
            }
        }
    }
    Ok(values)
}

/// " (at `spec.x`)" for a path inside the document, nothing at its root.
fn at_field(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." || path.is_empty() {
        String::new()
    } else {
        format!(" (at `{}`)", guest::shown::shown(&path))
    }
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

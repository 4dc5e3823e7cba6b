//! A finding's field path (`spec.containers[0].args[2]`,
//! `spec.environment.items.X.value`) resolved in the submitted document.

use serde_json::Value;

/// The string at `field` in `doc`, if the path resolves to one.
pub fn string_at<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
    let mut v = doc;
    for part in field.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            v = v.get(key)?;
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            v = v.get(r[..end].parse::<usize>().ok()?)?;
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    v.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_resolve_to_strings_only() {
        let doc = json!({"spec": {"containers": [{"args": ["a", "b"]}],
            "environment": {"items": {"X": {"value": "v"}}}}});
        for (field, want) in [
            ("spec.containers[0].args[1]", Some("b")),
            ("spec.environment.items.X.value", Some("v")),
            ("spec.containers[0]", None),
            ("spec.containers[2].args[0]", None),
            ("spec.containers[x]", None),
            ("spec.containers[0]x", None),
        ] {
            assert_eq!(string_at(&doc, field), want, "{field}");
        }
    }
}

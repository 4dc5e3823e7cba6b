//! The Secret example users paste from the Run:ai documentation, with `name`,
//! `namespace` and the keys indented under `kind: Secret`:
//!
//! ```yaml
//! kind: Secret
//!   name: my-secret
//!   namespace: runai-team-a
//!   username: ...
//! ```
//!
//! The YAML parser only says "mapping values are not allowed in this context"; this
//! recognises the shape and says where each line belongs. Only key names are shown,
//! never what follows them.

use guest::shown::shown;

/// The explanation, when `text` has a `kind: Secret` line followed by indented
/// `key: value` lines.
pub fn misindented_secret(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| {
        let l = l.trim_end();
        l.trim_start() == "kind: Secret" && !l.starts_with(' ')
    })?;
    let mut metadata = Vec::new();
    let mut keys = Vec::new();
    for line in &lines[at + 1..] {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            break;
        }
        let Some((key, _)) = line.trim().split_once(':') else {
            continue;
        };
        match key.trim() {
            "name" | "namespace" | "labels" => metadata.push(key.trim()),
            "" => {}
            other => keys.push(format!("`{}`", shown(other))),
        }
    }
    if metadata.is_empty() && keys.is_empty() {
        return None;
    }
    let mut parts = vec![format!(
        "line {}: the lines after `kind: Secret` are indented under it, which YAML cannot read",
        at + 2
    )];
    if !metadata.is_empty() {
        parts.push(format!(
            "{} belong under `metadata:`",
            metadata
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    if !keys.is_empty() {
        parts.push(format!(
            "{} {} under `data:` (base64 values) or `stringData:` (plain values)",
            keys.join(", "),
            if keys.len() == 1 {
                "is a secret key and belongs"
            } else {
                "are secret keys and belong"
            }
        ));
    }
    parts.push(
        "e.g. `metadata: {name: my-secret, namespace: runai-team-a}` and `stringData: {username: ..., password: ...}`"
            .to_string(),
    );
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_the_pasted_example_without_its_values() {
        let text = "apiVersion: v1\nkind: Secret\n  name: my-secret\n  namespace: runai-team-a\n  username: aHVudGVyMg==\n  password: c2VjcmV0\n";
        let hint = misindented_secret(text).unwrap();
        assert!(hint.contains("line 3"), "{hint}");
        assert!(
            hint.contains("`name` and `namespace` belong under `metadata:`"),
            "{hint}"
        );
        assert!(
            hint.contains("`username`, `password` are secret keys and belong under `data:`"),
            "{hint}"
        );
        assert!(
            !hint.contains("aHVudGVyMg") && !hint.contains("c2VjcmV0"),
            "{hint}"
        );
        assert_eq!(misindented_secret("kind: Pod\n  name: x\n"), None);
    }
}

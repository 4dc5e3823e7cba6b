//! Kubernetes label selectors (`matchLabels`, `matchExpressions`), as a SecretPolicy's
//! `allowedSecretSelector` uses them on the labels of the secrets a workload references.
//! The semantics are the API's: every `matchLabels` pair and every expression must
//! hold; `In`/`NotIn` need values, `Exists`/`DoesNotExist` take none.

use crate::decision::InputError;
use crate::shown::Shown;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "crate::workload::map_only::vec")]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

const LABEL_VALUE: &str = "expected at most 63 characters of letters, digits, '-', '_' \
     and '.', starting and ending with a letter or digit (or empty)";

/// A label name: at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_label_name(s)
}

/// What is wrong with a label key (`[prefix/]name`, the prefix a DNS subdomain), as
/// the API server says it.
fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(crate::names::is_dns1123_subdomain);
    (!prefix_ok || !is_label_name(name)).then(|| {
        format!(
            "`{}` is not a label key: expected an optional DNS subdomain prefix and `/`, then a \
             name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a \
             letter or digit",
            Shown(key)
        )
    })
}

impl LabelSelector {
    /// Checks the selector as the API server validates one; `field` is its path.
    pub fn validate(&self, field: &str) -> Result<(), InputError> {
        for (key, value) in &self.match_labels {
            let at = || format!("{field}.matchLabels");
            if let Some(problem) = label_key_problem(key) {
                return Err(InputError::new(at(), problem));
            }
            if !is_label_value(value) {
                return Err(InputError::new(
                    at(),
                    format!(
                        "the value of `{}` is not a label value: {LABEL_VALUE}",
                        Shown(key)
                    ),
                ));
            }
        }
        for (i, r) in self.match_expressions.iter().enumerate() {
            if let Some(problem) = label_key_problem(&r.key) {
                return Err(InputError::new(
                    format!("{field}.matchExpressions[{i}].key"),
                    problem,
                ));
            }
            if let Some(v) = r.values.iter().find(|v| !is_label_value(v)) {
                return Err(InputError::new(
                    format!("{field}.matchExpressions[{i}].values"),
                    format!("`{}` is not a label value: {LABEL_VALUE}", Shown(v)),
                ));
            }
            let at = || format!("{field}.matchExpressions[{i}].values");
            match r.operator {
                Operator::In | Operator::NotIn if r.values.is_empty() => {
                    return Err(InputError::new(
                        at(),
                        format!(
                            "`{:?}` needs at least one value (key `{}`)",
                            r.operator,
                            Shown(&r.key)
                        ),
                    ));
                }
                Operator::Exists | Operator::DoesNotExist if !r.values.is_empty() => {
                    return Err(InputError::new(
                        at(),
                        format!(
                            "`{:?}` takes no values (key `{}`)",
                            r.operator,
                            Shown(&r.key)
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether `labels` (a secret's `metadata.labels`) satisfy the selector.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        self.match_labels
            .iter()
            .all(|(k, v)| get(k).is_some_and(|have| have == v))
            && self.match_expressions.iter().all(|r| {
                let have = get(&r.key);
                match r.operator {
                    Operator::In => have.is_some_and(|v| r.values.contains(v)),
                    Operator::NotIn => have.is_none_or(|v| !r.values.contains(v)),
                    Operator::Exists => have.is_some(),
                    Operator::DoesNotExist => have.is_none(),
                }
            })
    }
}

/// `team=a, tier in (prod, staging), !legacy`, as kubectl prints selectors.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{}={}", Shown(k), Shown(v)))
            .collect();
        for r in &self.match_expressions {
            let values = || {
                r.values
                    .iter()
                    .map(|v| Shown(v).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            parts.push(match r.operator {
                Operator::In => format!("{} in ({})", Shown(&r.key), values()),
                Operator::NotIn => format!("{} notin ({})", Shown(&r.key), values()),
                Operator::Exists => Shown(&r.key).to_string(),
                Operator::DoesNotExist => format!("!{}", Shown(&r.key)),
            });
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(json: &str) -> LabelSelector {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn selects_as_the_api_does() {
        let labels = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // (selector, labels, matches)
        let cases = [
            (r#"{}"#, labels(&[]), true),
            (
                r#"{"matchLabels": {"team": "a"}}"#,
                labels(&[("team", "a")]),
                true,
            ),
            (
                r#"{"matchLabels": {"team": "a"}}"#,
                labels(&[("team", "b")]),
                false,
            ),
            (r#"{"matchLabels": {"team": "a"}}"#, labels(&[]), false),
            (
                r#"{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["prod", "dev"]}]}"#,
                labels(&[("tier", "dev")]),
                true,
            ),
            (
                r#"{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["prod"]}]}"#,
                labels(&[]),
                true,
            ),
            (
                r#"{"matchExpressions": [{"key": "shared", "operator": "Exists"}]}"#,
                labels(&[("shared", "")]),
                true,
            ),
            (
                r#"{"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}"#,
                labels(&[("legacy", "true")]),
                false,
            ),
            (
                r#"{"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["prod"]}]}"#,
                labels(&[("team", "a"), ("tier", "dev")]),
                false,
            ),
        ];
        for (json, labels, want) in cases {
            assert_eq!(
                selector(json).matches(&labels),
                want,
                "{json} on {labels:?}"
            );
        }
    }

    #[test]
    fn validates_and_prints_like_kubectl() {
        let s = selector(
            r#"{"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["prod"]}, {"key": "legacy", "operator": "DoesNotExist"}]}"#,
        );
        assert_eq!(s.to_string(), "team=a, tier in (prod), !legacy");
        assert!(s.validate("spec.allowedSecretSelector").is_ok());
        let bad = selector(r#"{"matchExpressions": [{"key": "tier", "operator": "In"}]}"#);
        let err = bad.validate("spec.allowedSecretSelector").unwrap_err();
        assert_eq!(
            err.field,
            "spec.allowedSecretSelector.matchExpressions[0].values"
        );
        let bad = selector(
            r#"{"matchExpressions": [{"key": "x", "operator": "Exists", "values": ["a"]}]}"#,
        );
        assert!(bad.validate("s").is_err());
        // Keys and values as the API server takes them (found by hostile testing: `''`
        // and `a b!` were accepted and matched nothing).
        for (json, field) in [
            (r#"{"matchLabels": {"": "a"}}"#, "s.matchLabels"),
            (r#"{"matchLabels": {"a b!": "a"}}"#, "s.matchLabels"),
            (r#"{"matchLabels": {"team": "a b"}}"#, "s.matchLabels"),
            (
                r#"{"matchExpressions": [{"key": "-x", "operator": "Exists"}]}"#,
                "s.matchExpressions[0].key",
            ),
            (
                r#"{"matchExpressions": [{"key": "Bad_Prefix/x", "operator": "Exists"}]}"#,
                "s.matchExpressions[0].key",
            ),
            (
                r#"{"matchExpressions": [{"key": "x", "operator": "In", "values": ["ok", "-no"]}]}"#,
                "s.matchExpressions[0].values",
            ),
        ] {
            let err = selector(json).validate("s").unwrap_err();
            assert_eq!(err.field, field, "{json}");
        }
        for json in [
            r#"{"matchLabels": {"run.ai/team": "", "a_b.c-d": "X.y_z-1"}}"#,
            r#"{"matchExpressions": [{"key": "example.com/tier", "operator": "NotIn", "values": ["a"]}]}"#,
        ] {
            assert!(selector(json).validate("s").is_ok(), "{json}");
        }
    }
}

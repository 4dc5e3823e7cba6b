//! A decision lists a bounded number of findings. A workload with tens of thousands of
//! offending env entries (the API server takes ~3 MiB of them) would otherwise make a
//! decision larger than the host accepts, which a gateway whose failure policy is
//! `ignore` admits unevaluated. The verdict is decided before the list is cut, and the
//! last entry says how many more there were of each code.

use crate::decision::{Violation, Warning};
use std::collections::BTreeMap;

/// Findings listed per decision, violations and warnings each.
pub const LISTED: usize = 200;
/// The code of the entry that stands for the findings left out.
pub const MORE: &str = "more-findings";

/// Items a message lists before it says how many more there are.
pub const IN_MESSAGE: usize = 8;

/// `a, b, c` with at most `IN_MESSAGE` items, then `... and N more`: a policy may hold a
/// thousand globs, and a message quoting them all would crowd out every other finding
/// of the answer.
pub fn some(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(IN_MESSAGE)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > IN_MESSAGE {
        out.push_str(&format!(", ... and {} more", items.len() - IN_MESSAGE));
    }
    out
}

pub fn bound_violations(violations: &mut Vec<Violation>) {
    if let Some((field, message)) = cut(violations, |v| &v.code, |v| &v.field) {
        violations.push(Violation {
            code: MORE.to_string(),
            field,
            message,
            policy: String::new(),
            secret: None,
        });
    }
}

pub fn bound_warnings(warnings: &mut Vec<Warning>) {
    if let Some((field, message)) = cut(warnings, |w| &w.code, |w| &w.field) {
        warnings.push(Warning {
            code: MORE.to_string(),
            field,
            message,
            ..Warning::default()
        });
    }
}

/// Keeps the first `LISTED - 1` and describes the rest: the first left-out field and
/// the count per code.
fn cut<T>(
    list: &mut Vec<T>,
    code: impl Fn(&T) -> &String,
    field: impl Fn(&T) -> &String,
) -> Option<(String, String)> {
    if list.len() <= LISTED {
        return None;
    }
    let rest = list.split_off(LISTED - 1);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &rest {
        *counts.entry(code(item).as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(code, n)| format!("{n} {code}"))
        .collect();
    let message = format!(
        "{} more not listed ({}; a decision lists {LISTED}): fix these and submit again",
        rest.len(),
        counts.join(", ")
    );
    Some((field(&rest[0]).clone(), message))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_list_in_a_message_says_how_many_more() {
        let items: Vec<String> = (0..1024).map(|i| format!("g{i}")).collect();
        assert_eq!(
            super::some(&items),
            "g0, g1, g2, g3, g4, g5, g6, g7, ... and 1016 more"
        );
        assert_eq!(super::some(&items[..2]), "g0, g1");
    }

    use super::*;

    fn violation(code: &str, i: usize) -> Violation {
        Violation {
            code: code.to_string(),
            field: format!("f{i}"),
            message: String::new(),
            policy: "p".to_string(),
            secret: None,
        }
    }

    #[test]
    fn a_long_list_is_cut_with_a_count_per_code() {
        let mut list: Vec<Violation> = (0..LISTED + 10)
            .map(|i| violation(if i % 2 == 0 { "a" } else { "b" }, i))
            .collect();
        bound_violations(&mut list);
        assert_eq!(list.len(), LISTED);
        let last = &list[LISTED - 1];
        assert_eq!(last.code, MORE);
        assert_eq!(last.field, format!("f{}", LISTED - 1));
        assert!(
            last.message.starts_with("11 more not listed (5 a, 6 b;"),
            "{}",
            last.message
        );
    }

    #[test]
    fn a_list_at_the_bound_is_kept_whole() {
        let mut list: Vec<Violation> = (0..LISTED).map(|i| violation("a", i)).collect();
        bound_violations(&mut list);
        assert_eq!(list.len(), LISTED);
        assert!(list.iter().all(|v| v.code == "a"));
    }
}

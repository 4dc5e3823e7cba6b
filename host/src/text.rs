//! Text the host prints around what came from inputs: every name shown through
//! `guest::shown` (control characters escaped, length bounded), and long lists cut.

pub use guest::shown::{Shown, escape_controls, shown, shown_max};

/// Items of a list a message shows before it says how many more there are.
pub const LIST_SHOWN: usize = 10;

/// `a, b, c` for a short list; the first `LIST_SHOWN` and "and N more" for a long
/// one (10,000 namespaces are not one line of output); "none" for an empty one.
pub fn some<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    let shown_items: Vec<String> = items
        .iter()
        .take(LIST_SHOWN)
        .map(|s| shown(s.as_ref()).into_owned())
        .collect();
    let mut out = shown_items.join(", ");
    if items.len() > LIST_SHOWN {
        out.push_str(&format!(" and {} more", items.len() - LIST_SHOWN));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut() {
        assert_eq!(some::<&str>(&[]), "none");
        assert_eq!(some(&["a", "b\n"]), "a, b\\n");
        let many: Vec<String> = (0..10_000).map(|i| format!("runai-p{i}")).collect();
        let s = some(&many);
        assert!(s.ends_with("runai-p9 and 9990 more"), "{s}");
    }
}

//! Shell-style globs (`*` any run, `?` one character) for secret and env names.

/// Matches `text` against `pattern`; `fold_case` compares ASCII letters case-insensitively.
pub fn matches(pattern: &str, text: &str, fold_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let eq = |a: u8, b: u8| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || eq(c, t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((after, covered)) => {
                    pi = after;
                    ti = covered + 1;
                    star = Some((after, covered + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        let cases = [
            ("*PASSWORD*", "DB_PASSWORD", false, true),
            ("*PASSWORD*", "db_password", true, true),
            ("*PASSWORD*", "db_password", false, false),
            ("*_KEY", "WANDB_API_KEY", false, true),
            ("*_KEY", "KEY", false, false),
            ("runai-admin-*", "runai-admin-token", false, true),
            ("runai-admin-*", "runai-admins", false, false),
            ("*", "", false, true),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("a*b*c", "axxbyyc", false, true),
            ("a*b*c", "axxbyy", false, false),
            ("", "", false, true),
            ("", "a", false, false),
        ];
        for (pattern, text, fold, want) in cases {
            assert_eq!(matches(pattern, text, fold), want, "{pattern} ~ {text}");
        }
    }
}

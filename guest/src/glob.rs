//! Shell-style globs (`*` any run, `?` one character) for secret and env names.

/// Matches `t` against the glob `p`; `fold_case` compares ASCII letters
/// case-insensitively. [`Pattern`] calls it for the shapes it has no plain test for.
fn glob_matches(p: &[u8], t: &[u8], fold_case: bool) -> bool {
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

/// A glob compiled once: the common shapes (`X`, `X*`, `*X`, `*X*`) become plain
/// string tests, which matter when every env name of every workload is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Glob(String),
}

impl Pattern {
    pub fn new(glob: &str) -> Self {
        let plain = |s: &str| !s.contains(['*', '?']);
        let inner = glob.trim_matches('*');
        match (glob.strip_prefix('*'), glob.strip_suffix('*')) {
            _ if plain(glob) => Pattern::Exact(glob.to_string()),
            // `*X*`, and `*` or `**` (contains the empty string: matches everything).
            (Some(_), Some(_)) if plain(inner) => Pattern::Contains(inner.to_string()),
            (None, Some(head)) if plain(head) => Pattern::Prefix(head.to_string()),
            (Some(tail), None) if plain(tail) => Pattern::Suffix(tail.to_string()),
            _ => Pattern::Glob(glob.to_string()),
        }
    }

    pub fn matches(&self, text: &str, fold_case: bool) -> bool {
        self.matches_bytes(text.as_bytes(), fold_case)
    }

    /// The letter pairs (case folded, as [`pairs`] counts them) that every text this
    /// pattern matches contains: a text missing one of them cannot match.
    pub fn required_pairs(&self) -> Pairs {
        match self {
            Pattern::Exact(p) | Pattern::Prefix(p) | Pattern::Suffix(p) | Pattern::Contains(p) => {
                pairs(p.as_bytes())
            }
            Pattern::Glob(_) => Pairs(0),
        }
    }

    pub fn matches_bytes(&self, t: &[u8], fold_case: bool) -> bool {
        let eq = |a: &[u8], b: &[u8]| {
            if fold_case {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        match self {
            Pattern::Exact(p) => eq(t, p.as_bytes()),
            Pattern::Prefix(p) => t.len() >= p.len() && eq(&t[..p.len()], p.as_bytes()),
            Pattern::Suffix(p) => t.len() >= p.len() && eq(&t[t.len() - p.len()..], p.as_bytes()),
            Pattern::Contains(p) => contains(t, p.as_bytes(), fold_case),
            Pattern::Glob(p) => glob_matches(p.as_bytes(), t, fold_case),
        }
    }
}

/// A set of adjacent byte pairs, ASCII case folded, in 64 bits (a Bloom filter: pairs
/// can share a bit, so it says "maybe" or "no"). One pass over a name rules out most
/// patterns without scanning the name once per pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pairs(u64);

impl Pairs {
    /// False when `self` lacks a pair of `required`: no match is possible.
    pub fn may_contain(self, required: Pairs) -> bool {
        required.0 & !self.0 == 0
    }
}

pub fn pairs(text: &[u8]) -> Pairs {
    let mut bits = 0u64;
    for w in text.windows(2) {
        let (a, b) = (w[0].to_ascii_uppercase(), w[1].to_ascii_uppercase());
        bits |= 1 << ((u32::from(a) * 7 + u32::from(b)) & 63);
    }
    Pairs(bits)
}

/// Whether `needle` occurs in `text`; a window is compared only where its first byte
/// matches, so most positions cost one comparison.
fn contains(text: &[u8], needle: &[u8], fold_case: bool) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if text.len() < needle.len() {
        return false;
    }
    let last_start = text.len() - needle.len();
    if fold_case {
        let first = first.to_ascii_lowercase();
        (0..=last_start).any(|i| {
            text[i].to_ascii_lowercase() == first
                && text[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
        })
    } else {
        (0..=last_start).any(|i| text[i] == first && &text[i + 1..i + needle.len()] == rest)
    }
}

#[cfg(test)]
mod tests {
    use super::{Pattern, glob_matches, pairs};

    fn matches(pattern: &str, text: &str, fold_case: bool) -> bool {
        glob_matches(pattern.as_bytes(), text.as_bytes(), fold_case)
    }

    /// The pair filter never rules out a text that matches.
    #[test]
    fn required_pairs_never_rule_out_a_match() {
        let globs = [
            "*PASSWORD*",
            "*_KEY",
            "TOKEN*",
            "API_KEY",
            "*S?CRET*",
            "*A*",
            "X",
            "*",
        ];
        let names = [
            "db_password",
            "DB_PASSWORD_FILE",
            "aws_key",
            "token_url",
            "api_key",
            "Api_Key",
            "secret",
            "MY_SECRET_2",
            "a",
            "x",
            "passwor",
            "_KE",
            "",
            "Ä_KEY",
        ];
        for glob in globs {
            let p = Pattern::new(glob);
            for name in names {
                if p.matches(name, true) {
                    assert!(
                        pairs(name.as_bytes()).may_contain(p.required_pairs()),
                        "{glob} matches {name} but its pairs rule it out"
                    );
                }
            }
        }
        assert!(!pairs(b"learning_rate").may_contain(Pattern::new("*PASSWORD*").required_pairs()));
    }

    #[test]
    fn compiled_patterns_agree_with_globs() {
        let globs = [
            "*PASSWORD*",
            "*_KEY",
            "runai-admin-*",
            "exact",
            "*",
            "a?c",
            "a*b*c",
            "**",
            "*x*y*",
        ];
        let texts = [
            "DB_PASSWORD",
            "db_password",
            "API_KEY",
            "runai-admin-x",
            "exact",
            "EXACT",
            "",
            "abc",
            "axbyc",
            "xy",
        ];
        for glob in globs {
            for text in texts {
                for fold in [false, true] {
                    assert_eq!(
                        Pattern::new(glob).matches(text, fold),
                        matches(glob, text, fold),
                        "{glob} ~ {text} {fold}"
                    );
                }
            }
        }
    }

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

//! The kubelet's `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/
//! expansion): in an env value, `$(NAME)` becomes the value of NAME when NAME was
//! defined earlier in the container's environment; `$$` is an escaped `$`; anything
//! else (an unknown name, an unclosed `$(`, a lone `$`) is left as written. `command`
//! and `args` are expanded the same way with the container's whole environment.
//!
//! The plugin never has values of secrets, so a variable stands for what is known of
//! it: a literal's text, `<secret NAME/KEY>` for a secret's key, `<redacted>` for a
//! sensitive literal. What an expansion carries from secrets is tracked, so that a
//! secret reaching `command`/`args` can be reported.

/// What a defined variable expands to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    /// The secrets whose values the text stands for.
    pub secrets: Vec<String>,
}

/// How much of an expanded value is kept. References can multiply a value (`$(A)`
/// twenty thousand times, each a megabyte): the text is for reading, what matters is
/// which secrets it carries, and that is tracked to the end.
pub const MAX_TEXT: usize = 4096;

/// Secrets named per expansion, at most.
pub const MAX_SECRETS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expansion {
    pub text: String,
    pub secrets: Vec<String>,
    /// Whether any `$(NAME)` was replaced.
    pub substituted: bool,
}

/// Whether `input` has anything the kubelet would expand or unescape.
pub fn has_references(input: &str) -> bool {
    input.contains('$')
}

pub fn expand<'a>(input: &str, lookup: impl Fn(&str) -> Option<&'a Shown>) -> Expansion {
    let b = input.as_bytes();
    let mut out = Expansion {
        text: String::with_capacity(input.len().min(MAX_TEXT)),
        ..Expansion::default()
    };
    let mut text = Bounded::default();
    let mut checkpoint = 0;
    let mut cursor = 0;
    // Once a search for `)` finds none, no later `$(` can close either: it is not
    // searched for again (a value of `$(` repeated stays linear).
    let mut unclosed = false;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            text.push(&mut out.text, &input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    text.push(&mut out.text, "$");
                    1
                }
                b'(' => match (!unclosed).then(|| rest[1..].find(')')).flatten() {
                    Some(end) => {
                        let name = &rest[1..1 + end];
                        match lookup(name) {
                            Some(shown) => {
                                text.push(&mut out.text, &shown.text);
                                out.substituted = true;
                                // A few names are enough to say which secrets: the
                                // list stays short however many references there are.
                                for s in &shown.secrets {
                                    if out.secrets.len() < MAX_SECRETS && !out.secrets.contains(s) {
                                        out.secrets.push(s.clone());
                                    }
                                }
                            }
                            None => {
                                text.push(&mut out.text, "$(");
                                text.push(&mut out.text, name);
                                text.push(&mut out.text, ")");
                            }
                        }
                        end + 2
                    }
                    // Incomplete: `$(` stays, the rest is read on.
                    None => {
                        unclosed = true;
                        text.push(&mut out.text, "$(");
                        1
                    }
                },
                _ => {
                    text.push(&mut out.text, "$");
                    // The next character is written on by the next checkpoint.
                    0
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint <= input.len() {
        text.push(&mut out.text, &input[checkpoint.min(input.len())..]);
    }
    if text.cut > 0 {
        out.text.push_str(&format!("...({} more bytes)", text.cut));
    }
    out
}

/// How an expansion shows what is not a literal: `<secret NAME/KEY>`, `<redacted>`, ...
const PLACEHOLDERS: [&str; 5] = [
    "<secret ",
    "<user credential ",
    "<configMap ",
    "<field ",
    "<redacted>",
];

/// The parts of an expanded text that came from literals, between the placeholders of
/// secrets and other sources: what the credential detectors look at, so that a token
/// assembled from literals by `$(VAR)` is found, and a URL whose password is a secret
/// (`postgres://app:<secret db/pw>@db`) is not taken for one with a literal password.
pub fn literal_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find('<') {
        let open = at + found;
        let rest = &text[open..];
        let close = PLACEHOLDERS
            .iter()
            .any(|p| rest.starts_with(p))
            .then(|| rest.find('>'))
            .flatten();
        match close {
            Some(close) => {
                parts.push(&text[start..open]);
                start = open + close + 1;
                at = start;
            }
            None => at = open + 1,
        }
    }
    parts.push(&text[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

/// Appends up to `MAX_TEXT` bytes (on a character boundary) and counts the rest.
#[derive(Default)]
struct Bounded {
    cut: usize,
}

impl Bounded {
    fn push(&mut self, text: &mut String, part: &str) {
        let room = MAX_TEXT.saturating_sub(text.len());
        if part.len() <= room {
            text.push_str(part);
            return;
        }
        let mut end = room;
        while !part.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&part[..end]);
        self.cut += part.len() - end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn expands_as_the_kubelet_does() {
        let defined: HashMap<&str, Shown> = [
            (
                "PW",
                Shown {
                    text: "<secret db-creds/password>".into(),
                    secrets: vec!["db-creds".into()],
                },
            ),
            (
                "HOST",
                Shown {
                    text: "db".into(),
                    secrets: vec![],
                },
            ),
        ]
        .into();
        let lookup = |n: &str| defined.get(n);
        // (input, text, substituted, secrets) — the cases of the kubelet's own tests.
        let cases: &[(&str, &str, bool, &[&str])] = &[
            (
                "postgres://app:$(PW)@$(HOST)",
                "postgres://app:<secret db-creds/password>@db",
                true,
                &["db-creds"],
            ),
            ("$(HOST)", "db", true, &[]),
            ("$$(HOST)", "$(HOST)", false, &[]),
            ("$$$(HOST)", "$db", true, &[]),
            ("$(UNKNOWN)", "$(UNKNOWN)", false, &[]),
            ("$(HOST", "$(HOST", false, &[]),
            ("a$b", "a$b", false, &[]),
            ("$", "$", false, &[]),
            ("$$", "$", false, &[]),
            ("x$(HOST)y$(HOST)", "xdbydb", true, &[]),
            ("$()", "$()", false, &[]),
            ("", "", false, &[]),
            // `$(` that nothing closes, again and again (searched for once).
            ("$($($(HOST", "$($($(HOST", false, &[]),
            ("$($(HOST)", "$($(HOST)", false, &[]),
            ("$(HOST$(HOST)", "$(HOST$(HOST)", false, &[]),
        ];
        let long = Shown {
            text: "x".repeat(MAX_TEXT),
            secrets: vec!["s".into()],
        };
        let e = expand("$(L)$(L)", |_| Some(&long));
        assert_eq!(e.text.len(), MAX_TEXT + "...(4096 more bytes)".len());
        assert!(e.text.ends_with("x...(4096 more bytes)"));
        assert_eq!(e.secrets, ["s"]);
        let parts: &[(&str, &[&str])] = &[
            (
                "postgres://app:<secret db/pw>@db",
                &["postgres://app:", "@db"],
            ),
            ("ghp_<redacted>x", &["ghp_", "x"]),
            ("a<b>c<secret", &["a<b>c<secret"]),
            ("<field metadata.name>", &[]),
            ("", &[]),
        ];
        for (text, want) in parts {
            assert_eq!(literal_parts(text), *want, "{text}");
        }
        for (input, text, substituted, secrets) in cases {
            let e = expand(input, lookup);
            assert_eq!(e.text, *text, "{input}");
            assert_eq!(e.substituted, *substituted, "{input}");
            assert_eq!(e.secrets, *secrets, "{input}");
        }
    }
}

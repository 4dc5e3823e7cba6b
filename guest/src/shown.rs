//! How text that came from an input is put into a message: control characters escaped
//! (a name holding `\e[2K\r` or a newline must not forge a terminal line such as
//! `ADMITTED`) and the length bounded (a 100k-character name is not echoed in full).
//! Also the redaction of serde's error messages, which quote the offending value: an
//! env literal or a pasted credential must never reach a message.

use std::borrow::Cow;
use std::fmt;

/// Characters of an input string shown in a message before it is cut.
pub const SHOWN_CHARS: usize = 120;

/// `s` as a message may show it: control characters (C0, DEL, C1) and the Unicode
/// bidirectional overrides written as escapes, at most `SHOWN_CHARS` characters, and
/// when cut, how many more there were.
pub fn shown(s: &str) -> Cow<'_, str> {
    shown_max(s, SHOWN_CHARS)
}

/// `shown` with another bound.
pub fn shown_max(s: &str, max_chars: usize) -> Cow<'_, str> {
    let plain = s.len() <= max_chars && !s.chars().any(needs_escape);
    if plain {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(max_chars * 4) + 32);
    let mut chars = s.chars();
    for (count, c) in chars.by_ref().enumerate() {
        if count == max_chars {
            let rest = 1 + chars.count();
            out.push_str(&format!("...({rest} more characters)"));
            return Cow::Owned(out);
        }
        escape_into(&mut out, c);
    }
    Cow::Owned(out)
}

/// Escapes control characters only, with no length bound: for whole multi-line
/// messages where the newline itself is meant (`keep_newlines`).
pub fn escape_controls(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| needs_escape(c) && !(keep_newlines && c == '\n'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if keep_newlines && c == '\n' {
            out.push(c);
        } else {
            escape_into(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// A `Display` of `shown(s)`, for `format!` arguments.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(self.0))
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) && (c as u32) < 0x100 => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        c => out.push(c),
    }
}

/// serde's error messages with the offending value taken out. serde quotes what it
/// found (`invalid type: string "hunter2", expected a map`, `unknown variant
/// `hunter2``): in a workload that is an env literal or a pasted credential. What
/// remains names the type found and what was expected; names of fields (map keys of
/// the document, not values) stay, shown bounded.
pub fn redact_serde_message(message: &str) -> String {
    // Some decoders put the field's path before serde's text (`a.b: invalid type: ...`).
    for pattern in ["invalid type: ", "invalid value: "] {
        if let Some(at) = message.find(pattern) {
            let (head, rest) = (&message[..at], &message[at + pattern.len()..]);
            let (found, expected) = match rest.rfind(", expected ") {
                Some(e) => (&rest[..e], Some(&rest[e + ", expected ".len()..])),
                None => (rest, None),
            };
            let found = unexpected_kind(found);
            let head = shown(head);
            return match expected {
                Some(expected) => {
                    // A decoder's position goes last: `..., found a string at line 3 column 9`.
                    let (expected, position) = match expected.rfind(" at line ") {
                        Some(p) => (&expected[..p], &expected[p..]),
                        None => (expected, ""),
                    };
                    format!(
                        "{head}{pattern}expected {}, found {found}{}",
                        shown(&readable_expectation(expected)),
                        shown(position)
                    )
                }
                None => format!("{head}{pattern}found {found}"),
            };
        }
    }
    if let Some(at) = message.find("unknown variant ") {
        // The variant is a value the document gave; what is expected is ours.
        let (head, rest) = (&message[..at], &message[at..]);
        return match rest.find(", expected ") {
            Some(e) => format!("{}unknown value, {}", shown(head), shown(&rest[e + 2..])),
            None => format!("{}unknown value", shown(head)),
        };
    }
    // Field names (keys of the document, not values), serde_json's and the YAML
    // parser's syntax errors (positions, not values), and this project's own messages
    // are kept, escaped and bounded; anything else is kept short, as it may quote the
    // input.
    let kept = [
        "unknown field ",
        "missing field ",
        "duplicate field ",
        "invalid length ",
        "duplicate key ",
        "are not valid values",
        "are not valid keys",
        "YAML tags",
        "binary values are not supported",
        "repetition limit exceeded",
    ];
    if kept.iter().any(|k| message.contains(k)) || is_syntax_message(message) {
        return shown_max(message, 400).into_owned();
    }
    shown(message).into_owned()
}

/// serde names a struct it expected by its Rust type (`struct EnvVarSource`): say
/// "a map" and keep the name, which is the Kubernetes type's.
fn readable_expectation(expected: &str) -> String {
    match expected.strip_prefix("struct ") {
        Some(name) => format!("a map ({name})"),
        None => expected.to_string(),
    }
}

/// What serde's `Unexpected` names, without the value it quotes.
fn unexpected_kind(found: &str) -> &'static str {
    let kinds: &[(&str, &str)] = &[
        ("boolean", "a boolean"),
        ("integer", "an integer"),
        ("floating point", "a number"),
        ("character", "a character"),
        ("string", "a string"),
        ("byte array", "a byte array"),
        ("unit value", "null"),
        ("unit", "null"),
        ("null", "null"),
        ("Option value", "an optional value"),
        ("newtype struct", "a value"),
        ("sequence", "a list"),
        ("map", "a map"),
        ("enum", "an enum"),
        ("unit variant", "a variant"),
        ("newtype variant", "a variant"),
        ("tuple variant", "a variant"),
        ("struct variant", "a variant"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| found.starts_with(prefix))
        .map_or("another value", |(_, kind)| kind)
}

fn is_syntax_message(message: &str) -> bool {
    [
        "EOF while parsing",
        "expected ",
        "trailing ",
        "key must be a string",
        "invalid escape",
        "invalid number",
        "number out of range",
        "control character",
        "invalid unicode code point",
        "lone leading surrogate",
        "unexpected end of hex escape",
        "recursion limit exceeded",
        "did not find expected",
        "mapping values are not allowed",
        "found character that cannot start any token",
        "while parsing",
        "while scanning",
    ]
    .iter()
    .any(|p| message.starts_with(p) || message.contains(p))
        && !message.contains('"')
        && !message.contains('`')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_controls_escaped_and_long_names_cut() {
        assert_eq!(shown("team-a"), "team-a");
        assert_eq!(shown("p\u{1b}[2K\rADMITTED\n"), "p\\x1b[2K\\rADMITTED\\n");
        assert_eq!(shown("a\u{202e}b\u{9b}"), "a\\u{202e}b\\x9b");
        let long = "a".repeat(100_000);
        let s = shown(&long);
        assert!(s.len() < 200, "{}", s.len());
        assert!(s.ends_with("...(99880 more characters)"), "{s}");
        assert_eq!(escape_controls("a\nb\u{1b}", true), "a\nb\\x1b");
        assert_eq!(escape_controls("a\nb", false), "a\\nb");
    }

    #[test]
    fn serde_messages_lose_the_value() {
        // (serde's message, what is shown)
        let cases = [
            (
                r#"invalid type: string "hunter2", expected a map"#,
                "invalid type: expected a map, found a string",
            ),
            (
                "invalid type: integer `12345`, expected a string",
                "invalid type: expected a string, found an integer",
            ),
            (
                r#"invalid value: string "hunter2, with, commas", expected a DNS name"#,
                "invalid value: expected a DNS name, found a string",
            ),
            (
                "invalid type: map, expected a string",
                "invalid type: expected a string, found a map",
            ),
            (
                "unknown variant `hunter2`, expected one of `enforce`, `warn`, `audit`",
                "unknown value, expected one of `enforce`, `warn`, `audit`",
            ),
            (
                "unknown field `valu`, expected `value` or `exclude`",
                "unknown field `valu`, expected `value` or `exclude`",
            ),
            ("missing field `name`", "missing field `name`"),
            (
                r#"spec.env[0].value: invalid type: string "hunter2", expected struct EnvVarSource at line 3 column 9"#,
                "spec.env[0].value: invalid type: expected a map (EnvVarSource), found a string at line 3 column 9",
            ),
            (
                "spec.mode: unknown variant `hunter2`, expected `a` or `b`",
                "spec.mode: unknown value, expected `a` or `b`",
            ),
            ("EOF while parsing a value", "EOF while parsing a value"),
        ];
        for (message, want) in cases {
            assert_eq!(redact_serde_message(message), want, "{message}");
        }
        let custom = format!("custom: {}", "x".repeat(500));
        assert!(redact_serde_message(&custom).len() < 200);
    }
}

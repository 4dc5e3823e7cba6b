//! What one pass over a value tells the detectors, so that most of them skip an
//! ordinary value without looking at it again. Every pass costs, the more so in the
//! sandbox, whose loops pay for fuel and deadline checks and have no vector
//! instructions: the pass reads each byte's classes from one table, and the shape
//! answers what a substring search would otherwise be run for (`://`, a colon).

/// A base64 or base64url character, with padding (`encoded::is_token_char`).
const TOKEN: u8 = 1;
/// A lower-case hex digit.
const HEX: u8 = 2;
const UPPER: u8 = 4;
/// A character of a standard base64 token (`encoded::basic_auth_token`'s runs).
const BASIC: u8 = 8;
/// A byte looked at by itself: `=`, `:`, `.`, and where words split (white space,
/// quotes, brackets, ...).
const MARK: u8 = 16;
/// A letter, a digit or `_`: inside a word, where no token format starts.
const WORD: u8 = 32;

use super::context::splits_words;
use super::encoded::is_token_char;

static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if is_token_char(b) {
            k |= TOKEN;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') {
            k |= BASIC;
        }
        if b.is_ascii_alphanumeric() || b == b'_' {
            k |= WORD;
        }
        if b.is_ascii_digit() || (b >= b'a' && b <= b'f') {
            k |= HEX;
        }
        if b.is_ascii_uppercase() {
            k |= UPPER;
        }
        // Where a command line's words split (`wandb.login('KEY')`, `x['KEY'] =`), and
        // `=`, `:` and `.`.
        if splits_words(b) || matches!(b, b'=' | b':' | b'.') {
            k |= MARK;
        }
        t[c] = k;
        c += 1;
    }
    t
}

/// Whether `c` is a letter, a digit or `_` (a token format starts a word).
pub fn in_word(c: u8) -> bool {
    CLASSES[c as usize] & WORD != 0
}

#[derive(Debug, Default)]
pub struct Shape {
    /// The longest run of base64 and base64url characters.
    pub longest_token: usize,
    /// The longest run of standard base64 characters (letters, digits, `+/=`).
    pub longest_basic: usize,
    /// The longest run of lower-case hex digits.
    pub longest_hex: usize,
    /// The longest run of capitals (`BEGIN`, the `TTY` of `PuTTY`).
    pub longest_upper: usize,
    /// A space, `=`, a key's `:`, tab or new line: something may stand in a context
    /// inside.
    pub separators: bool,
    /// A space, tab, new line, `=`, any colon, a quote, a bracket or another byte a
    /// command line's words split at: words or a key may be inside (what
    /// `context::in_text` reads).
    pub words: bool,
    /// `=`: a parameter may be set.
    pub assigns: bool,
    pub colon: bool,
    pub dot: bool,
    /// `://`: an address.
    pub scheme: bool,
}

impl Shape {
    pub fn of(b: &[u8]) -> Shape {
        let mut shape = Shape::default();
        let (mut token, mut basic, mut hex, mut upper) = (0, 0, 0, 0);
        for (i, c) in b.iter().enumerate() {
            let k = CLASSES[*c as usize];
            // Without branches: a run's end is no misprediction.
            let runs = [
                (TOKEN, &mut token, &mut shape.longest_token),
                (BASIC, &mut basic, &mut shape.longest_basic),
                (HEX, &mut hex, &mut shape.longest_hex),
                (UPPER, &mut upper, &mut shape.longest_upper),
            ];
            for (class, run, longest) in runs {
                *run = (*run + 1) * usize::from(k & class != 0);
                *longest = (*longest).max(*run);
            }
            if k & MARK == 0 {
                continue;
            }
            match c {
                b'=' => {
                    shape.assigns = true;
                    shape.separators = true;
                    shape.words = true;
                }
                b':' => {
                    shape.colon = true;
                    shape.words = true;
                    let next = b.get(i + 1);
                    // A JSON or YAML key's colon, not a URL's or a port's.
                    if next.is_none_or(|n| matches!(n, b' ' | b'"' | b'\'')) {
                        shape.separators = true;
                    }
                    if next == Some(&b'/') && b.get(i + 2) == Some(&b'/') {
                        shape.scheme = true;
                    }
                }
                b' ' | b'\t' | b'\n' => {
                    shape.separators = true;
                    shape.words = true;
                }
                b'.' => shape.dot = true,
                _ => shape.words = true,
            }
        }
        shape
    }
}

/// `://` in `b`: the one thing looked for in a value too short for any other format.
pub fn has_scheme(b: &[u8]) -> bool {
    b.windows(3).any(|w| w == b"://")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table says what the predicates it stands for say, for every byte.
    #[test]
    fn classes_agree_with_the_predicates() {
        for c in 0..=255u8 {
            let k = CLASSES[c as usize];
            assert_eq!(k & TOKEN != 0, is_token_char(c), "{c}");
            assert_eq!(
                k & BASIC != 0,
                c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='),
                "{c}"
            );
            assert_eq!(
                k & HEX != 0,
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
                "{c}"
            );
            assert_eq!(k & UPPER != 0, c.is_ascii_uppercase(), "{c}");
            assert_eq!(in_word(c), c.is_ascii_alphanumeric() || c == b'_', "{c}");
            // Every byte a command line's words split at is looked at.
            if splits_words(c) {
                assert!(k & MARK != 0, "{c}");
            }
        }
    }

    #[test]
    fn one_pass_tells_runs_and_marks() {
        let s = Shape::of(b"postgres://app:pw@db:5432/x?sslmode=require AKIA");
        assert!(s.scheme && s.colon && s.assigns && s.separators && s.words);
        assert_eq!(s.longest_upper, 4);
        assert_eq!(s.longest_token, 15); // `sslmode=require`: `=` is padding's
        let s = Shape::of(b"llama-3-8b-instruct");
        assert!(!s.scheme && !s.colon && !s.words && !s.separators && !s.dot);
        assert_eq!(
            (s.longest_token, s.longest_basic, s.longest_hex),
            (19, 8, 2)
        );
        let s = Shape::of(b"host:9000");
        assert!(s.colon && s.words && !s.separators && !s.scheme);
        let s = Shape::of(b"key:");
        assert!(s.separators);
        // A carriage return splits words as the command line's reader splits them.
        let s = Shape::of(b"--api-key\rKEY");
        assert!(s.words && !s.separators);
        assert!(has_scheme(b"s3://b") && !has_scheme(b"s3:/b") && !has_scheme(b""));
    }
}

//! Base64: the text a token decodes to, and HTTP basic credentials (`user:password`,
//! base64-encoded in an `Authorization: Basic` header and in the `auth` field of a
//! registry's `.dockerconfigjson`), which are short and found by what they decode to.

/// The characters of base64 and base64url tokens (with padding).
pub const fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-')
}

/// `token` (at `at`) from after its last `=` that another character follows: padding
/// only ends a token, so what comes before is a name (`id=`, `auth=`).
pub fn split_after_assignment(at: usize, token: &[u8]) -> (usize, &[u8]) {
    match token.windows(2).rposition(|w| w[0] == b'=' && w[1] != b'=') {
        Some(j) => (at + j + 1, &token[j + 1..]),
        None => (at, token),
    }
}

/// The decoded bytes of a base64 (or base64url) token when they are printable text.
pub fn base64_text(token: &[u8]) -> Option<Vec<u8>> {
    let out = decode(token)?;
    let printable = out
        .iter()
        .filter(|b| (0x20..0x7f).contains(*b) || matches!(b, b'\n' | b'\t'))
        .count();
    (!out.is_empty() && printable * 100 >= out.len() * 95).then_some(out)
}

/// Longest encoded `user:password` looked for.
const MAX_ENCODED: usize = 256;

/// `decode` into `buf` (long enough for the token).
fn decode_into<'b>(token: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let body = token
        .strip_suffix(b"==")
        .or_else(|| token.strip_suffix(b"="))
        .unwrap_or(token);
    let (mut bits, mut n, mut len) = (0u32, 0, 0);
    for c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            *buf.get_mut(len)? = (bits >> n) as u8;
            len += 1;
        }
    }
    Some(&buf[..len])
}

/// The decoded bytes of a base64 or base64url token (padding optional; one alphabet).
pub fn decode(token: &[u8]) -> Option<Vec<u8>> {
    let body = token
        .strip_suffix(b"==")
        .or_else(|| token.strip_suffix(b"="))
        .unwrap_or(token);
    let std = body.iter().any(|c| matches!(c, b'+' | b'/'));
    let url = body.iter().any(|c| matches!(c, b'-' | b'_'));
    if std && url {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut bits, mut n) = (0u32, 0);
    for c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

/// `user:password` with nothing else: what HTTP basic authentication encodes.
pub fn basic_auth(text: &[u8]) -> bool {
    let mut parts = text.split(|c| *c == b':');
    let (Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !user.is_empty()
        && !password.is_empty()
        && !text
            .iter()
            .any(|c| c.is_ascii_whitespace() || matches!(c, b'{' | b'"'))
}

/// Shortest encoded `user:password` looked for without a context (`admin:admin`;
/// shorter ones are as likely `lr:0.001`).
const MIN_BARE: usize = 16;
/// Shortest in a context (`Basic YTpiY2Q=`, `"auth": "..."`).
const MIN_NAMED: usize = 8;

/// Base64 of `user:password` in `value`: a whole base64 token, standard alphabet and
/// padded as encoders pad it, that decodes to a user name (letters, digits,
/// `.`, `_`, `-`, `@`, `+`, and `$` as in a Harbor robot account), one colon and a password of printable characters; or,
/// after `Basic ` or an `auth` key, any `user:password`.
pub fn basic_auth_token(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        let n = value[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            .count();
        if n == 0 {
            i += 1;
            continue;
        }
        // Padding ends a token: after an `=` that something follows, a token starts
        // (`auth=YTpiY2Q=`).
        let (start, token) = split_after_assignment(i, &value[i..i + n]);
        let n = token.len();
        i = start + n;
        // A token inside a longer word (`a-b`, `x_y`) is not one.
        let joined = |c: Option<&u8>| c.is_some_and(|c| matches!(c, b'-' | b'_' | b'.'));
        if n < MIN_NAMED
            || n % 4 != 0
            || joined(start.checked_sub(1).and_then(|p| value.get(p)))
            || joined(value.get(i))
        {
            continue;
        }
        let named = after_auth_key(&value[..start]);
        if (n < MIN_BARE && !named) || n > MAX_ENCODED {
            continue;
        }
        // The decoded text of a short token, without allocating: most words of 8, 12
        // or 16 letters are tried here.
        let mut buf = [0u8; MAX_ENCODED / 4 * 3];
        let Some(text) = decode_into(token, &mut buf) else {
            continue;
        };
        if named {
            if text.iter().all(|c| (0x21..0x7f).contains(c)) && basic_auth_loose(text) {
                return true;
            }
        } else if user_and_password(text) {
            return true;
        }
    }
    false
}

/// `user:password` where the password may hold colons (basic authentication splits
/// at the first).
fn basic_auth_loose(text: &[u8]) -> bool {
    text.iter()
        .position(|c| *c == b':')
        .is_some_and(|at| at > 0 && at + 1 < text.len())
}

fn user_and_password(text: &[u8]) -> bool {
    let Some(at) = text.iter().position(|c| *c == b':') else {
        return false;
    };
    let (user, password) = (&text[..at], &text[at + 1..]);
    // A number after the colon is a setting (`epochs:100`, `lr:0.0003`).
    let number = password.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    !user.is_empty()
        && password.len() >= 3
        && !number
        && user.iter().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@' | b'+' | b'$')
        })
        && password
            .iter()
            .all(|c| (0x21..0x7f).contains(c) && *c != b':')
}

/// Whether what comes before a token is `Basic ` or an `auth` key (`"auth": "`,
/// `auth=`), case-insensitively.
fn after_auth_key(before: &[u8]) -> bool {
    let end = before.len()
        - before
            .iter()
            .rev()
            .take(8)
            .take_while(|c| matches!(c, b' ' | b'"' | b'\'' | b':' | b'='))
            .count();
    let word = &before[..end];
    let ends = |w: &[u8]| {
        word.len() >= w.len()
            && word[word.len() - w.len()..].eq_ignore_ascii_case(w)
            && (word.len() == w.len() || !word[word.len() - w.len() - 1].is_ascii_alphanumeric())
    };
    ends(b"basic") || ends(b"auth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_found_short() {
        let cases = [
            // admin:admin, admin:s3cr3t, a registry's auth field, a header
            ("YWRtaW46YWRtaW4=", true),
            ("YWRtaW46czNjcjN0", true),
            (r#"{"auths":{"r.io":{"auth":"YTpiY2Q="}}}"#, true),
            ("Authorization: Basic YTpiY2Q=", true),
            ("auth=YTpiY2Q=", true),
            ("AUTH=YWI6Y2Rl", true),
            // not base64 of user:password
            ("dGhpcyBpcyB0ZXh0", false),
            ("aGVsbG8=", false),
            ("YWRtaW46", false),
            ("train-v2-001", false),
            // epochs:100, lr:0.0003: settings
            ("ZXBvY2hzOjEwMA==", false),
            ("bHI6MC4wMDAz", false),
            ("abcdefghijkl", false),
            ("eyJsciI6IDAuMDAwMywgIndhcm11cCI6IDI3OX0=", false),
        ];
        for (value, want) in cases {
            assert_eq!(basic_auth_token(value.as_bytes()), want, "{value}");
        }
    }
}

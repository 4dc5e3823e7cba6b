//! Credential-shaped literals (`credential-literal`): a literal env value or a
//! `command`/`args` item that looks like a credential whatever the variable is called.
//! Each detector is a hand-written linear scan (no regex engine in the plugin): the
//! token formats the issuers document, and an entropy rule for long random strings.
//! A finding names the detector, never the value.

use serde::Deserialize;

/// The detectors, by the name a SecretPolicy lists them under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    AwsAccessKeyId,
    GithubToken,
    GitlabToken,
    SlackToken,
    HuggingfaceToken,
    OpenaiApiKey,
    PrivateKey,
    Jwt,
    UrlPassword,
    HighEntropy,
}

impl Detector {
    pub const ALL: [Detector; 10] = [
        Detector::AwsAccessKeyId,
        Detector::GithubToken,
        Detector::GitlabToken,
        Detector::SlackToken,
        Detector::HuggingfaceToken,
        Detector::OpenaiApiKey,
        Detector::PrivateKey,
        Detector::Jwt,
        Detector::UrlPassword,
        Detector::HighEntropy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Detector::AwsAccessKeyId => "aws-access-key-id",
            Detector::GithubToken => "github-token",
            Detector::GitlabToken => "gitlab-token",
            Detector::SlackToken => "slack-token",
            Detector::HuggingfaceToken => "huggingface-token",
            Detector::OpenaiApiKey => "openai-api-key",
            Detector::PrivateKey => "private-key",
            Detector::Jwt => "jwt",
            Detector::UrlPassword => "url-password",
            Detector::HighEntropy => "high-entropy",
        }
    }

    /// What the value looks like, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Detector::AwsAccessKeyId => "an AWS access key ID",
            Detector::GithubToken => "a GitHub token",
            Detector::GitlabToken => "a GitLab token",
            Detector::SlackToken => "a Slack token or webhook",
            Detector::HuggingfaceToken => "a Hugging Face token",
            Detector::OpenaiApiKey => "an OpenAI-style API key",
            Detector::PrivateKey => "a PEM private key",
            Detector::Jwt => "a JSON Web Token",
            Detector::UrlPassword => "a URL with a password",
            Detector::HighEntropy => "a long random string",
        }
    }
}

/// The entropy rule: a token of at least `min_length` characters of the base64
/// alphabets with at least `min_bits_per_char` bits of Shannon entropy per character,
/// mixing letters and digits. Hex digests (4 bits at most) and words stay below.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entropy {
    #[serde(default = "default_min_length")]
    pub min_length: usize,
    #[serde(default = "default_min_bits")]
    pub min_bits_per_char: f64,
}

fn default_min_length() -> usize {
    32
}

fn default_min_bits() -> f64 {
    4.5
}

impl Default for Entropy {
    fn default() -> Self {
        Entropy {
            min_length: default_min_length(),
            min_bits_per_char: default_min_bits(),
        }
    }
}

/// The first detector (in `detectors` order) that fires on `value`, or on the text a
/// base64 token in it decodes to: a PEM key, a service account's JSON or a token
/// passed base64-encoded is found too (one level deep).
pub fn detect(value: &str, detectors: &[Detector], entropy: &Entropy) -> Option<Detector> {
    detect_plain(value, detectors, entropy).or_else(|| {
        base64_texts(value.as_bytes()).find_map(|text| detect_plain(&text, detectors, entropy))
    })
}

/// Shortest base64 token whose decoded text is scanned (`ghp_` and 36 characters,
/// encoded, are 56; an AWS key ID 28).
const MIN_ENCODED: usize = 24;

/// The decoded text of each base64 token of at least `MIN_ENCODED` characters.
fn base64_texts(b: &[u8]) -> impl Iterator<Item = String> + '_ {
    let token = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-');
    b.split(move |c| !token(*c))
        .filter(|t| t.len() >= MIN_ENCODED)
        .filter_map(base64_text)
        .filter_map(|text| String::from_utf8(text).ok())
}

fn detect_plain(value: &str, detectors: &[Detector], entropy: &Entropy) -> Option<Detector> {
    // Most literals are short: no token format fits in 15 bytes, only a URL's password.
    if value.len() < 15 && !value.contains("://") {
        return None;
    }
    let b = value.as_bytes();
    let tokens = if detectors.iter().any(|d| d.is_token_format()) {
        token_formats(b)
    } else {
        [false; Detector::ALL.len()]
    };
    detectors.iter().copied().find(|d| match d {
        d if d.is_token_format() => tokens[*d as usize],
        Detector::PrivateKey => value.find("-----BEGIN ").is_some_and(|at| {
            let head = &value[at..value.len().min(at + 64)];
            head.contains("PRIVATE KEY")
        }),
        Detector::Jwt => jwt(b),
        Detector::UrlPassword => url_password(value),
        Detector::HighEntropy => high_entropy(b, entropy),
        _ => false,
    })
}

impl Detector {
    /// Issuer token formats: a fixed prefix at the start of a word, then a body.
    fn is_token_format(self) -> bool {
        matches!(
            self,
            Detector::AwsAccessKeyId
                | Detector::GithubToken
                | Detector::GitlabToken
                | Detector::SlackToken
                | Detector::HuggingfaceToken
                | Detector::OpenaiApiKey
        )
    }
}

/// Which token formats occur in `b`, in one pass: a prefix counts only at the start
/// of a word (not right after a letter, digit or `_`), and each body is counted only
/// as far as its format needs, so every byte is looked at a bounded number of times
/// (a value of one prefix repeated, `AKIAAKIA...`, has one word start).
fn token_formats(b: &[u8]) -> [bool; Detector::ALL.len()] {
    let mut found = [false; Detector::ALL.len()];
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    for i in 0..b.len() {
        if i > 0 && (alnum(b[i - 1]) || b[i - 1] == b'_') {
            continue;
        }
        let w = &b[i..];
        let after = |prefix: &str| w.strip_prefix(prefix.as_bytes());
        let hit = |d: Detector| (d, true);
        let (d, yes) = match w.first() {
            Some(b'A') => {
                let aws = ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"].iter().any(|p| {
                    let body = 20 - p.len();
                    after(p).is_some_and(|rest| {
                        run(
                            rest,
                            |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
                            body + 1,
                        ) == body
                            && !placeholder(&rest[..body])
                    })
                });
                (Detector::AwsAccessKeyId, aws)
            }
            Some(b'g') => {
                let github = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
                    .iter()
                    .any(|p| after(p).is_some_and(|rest| run(rest, alnum, 36) == 36))
                    || after("github_pat_")
                        .is_some_and(|rest| run(rest, |c| alnum(c) || c == b'_', 50) == 50);
                if github {
                    hit(Detector::GithubToken)
                } else {
                    let gitlab = ["glpat-", "gldt-", "glrt-", "glptt-"].iter().any(|p| {
                        after(p).is_some_and(|rest| {
                            run(rest, |c| alnum(c) || c == b'_' || c == b'-', 20) == 20
                        })
                    });
                    (Detector::GitlabToken, gitlab)
                }
            }
            Some(b'x') => {
                let slack = ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"]
                    .iter()
                    .any(|p| {
                        after(p).is_some_and(|rest| run(rest, |c| alnum(c) || c == b'-', 10) == 10)
                    });
                (Detector::SlackToken, slack)
            }
            Some(b'h') => {
                let hf = after("hf_").is_some_and(|rest| run(rest, alnum, 30) == 30);
                // A Slack incoming webhook: https://hooks.slack.com/services/T...
                let webhook = after("hooks.slack.com/services/T").is_some();
                if webhook {
                    hit(Detector::SlackToken)
                } else {
                    (Detector::HuggingfaceToken, hf)
                }
            }
            Some(b's') => {
                let key = after("sk-").is_some_and(|rest| {
                    let n = run(rest, |c| alnum(c) || c == b'_' || c == b'-', 64);
                    let body = &rest[..n];
                    n >= 32
                        && body.iter().any(u8::is_ascii_digit)
                        && body.iter().any(u8::is_ascii_alphabetic)
                });
                (Detector::OpenaiApiKey, key)
            }
            _ => continue,
        };
        if yes {
            found[d as usize] = true;
        }
    }
    found
}

/// A key ID's body that documentation uses, not a key: AWS's own example
/// (`...EXAMPLE`) or a run of few characters (`XXXXXXXXXXXXXXXX`). A real one is
/// random over 32 characters.
fn placeholder(body: &[u8]) -> bool {
    let mut seen = [false; 256];
    for c in body {
        seen[*c as usize] = true;
    }
    body.ends_with(b"EXAMPLE") || seen.iter().filter(|s| **s).count() < 6
}

/// Length of the leading run of bytes satisfying `ok`, counted up to `max`.
fn run(b: &[u8], ok: impl Fn(u8) -> bool, max: usize) -> usize {
    b.iter().take(max).take_while(|c| ok(**c)).count()
}

/// `eyJ<header>.eyJ<payload>.<signature>` (base64url of `{"` starts both), as one
/// token of base64url characters and dots: each token is looked at once.
fn jwt(b: &[u8]) -> bool {
    let url = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    b.split(|c| !(url(*c) || *c == b'.')).any(|token| {
        let mut parts = token.split(|c| *c == b'.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        header.starts_with(b"eyJ")
            && payload.starts_with(b"eyJ")
            && header.len() >= 13
            && payload.len() >= 13
            && signature.len() >= 10
    })
}

/// `scheme://user:password@host` with a password that is not a `$(VAR)` reference
/// (expanded from a secret by the kubelet: the right way) or a placeholder.
fn url_password(s: &str) -> bool {
    let mut from = 0;
    while let Some(at) = s[from..].find("://") {
        let start = from + at + 3;
        let authority_end = s[start..]
            .find(['/', '?', '#', ' '])
            .map_or(s.len(), |e| start + e);
        let authority = &s[start..authority_end];
        if let Some(userinfo_end) = authority.rfind('@') {
            let userinfo = &authority[..userinfo_end];
            if let Some((_, password)) = userinfo.split_once(':') {
                let placeholder = password.is_empty()
                    || password.starts_with("$(")
                    || password.starts_with("${")
                    || password.starts_with('<')
                    || password.chars().all(|c| c == '*' || c == 'x' || c == 'X');
                if !placeholder {
                    return true;
                }
            }
        }
        from = start;
    }
    false
}

/// The decoded bytes of a base64 (or base64url) token when they are printable text.
fn base64_text(token: &[u8]) -> Option<Vec<u8>> {
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
    let printable = out
        .iter()
        .filter(|b| (0x20..0x7f).contains(*b) || matches!(b, b'\n' | b'\t'))
        .count();
    (!out.is_empty() && printable * 100 >= out.len() * 95).then_some(out)
}

/// `user:password` with nothing else: what HTTP basic authentication encodes.
fn basic_auth(text: &[u8]) -> bool {
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

/// At least two `/`-separated segments that are lower-case words (`locations`,
/// `us-central1`): a random base64 string has mixed case between its rare slashes.
fn path_like(token: &[u8]) -> bool {
    token
        .split(|c| *c == b'/')
        .filter(|seg| {
            seg.iter().filter(|c| c.is_ascii_lowercase()).count() >= 3
                && seg.iter().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_')
                })
        })
        .nth(1)
        .is_some()
}

/// Shannon entropy per character of each maximal base64/base64url token.
fn high_entropy(b: &[u8], rule: &Entropy) -> bool {
    if b.len() < rule.min_length {
        return false;
    }
    let token = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-');
    let mut i = 0;
    while i < b.len() {
        let n = run(&b[i..], token, usize::MAX);
        if n == 0 {
            i += 1;
            continue;
        }
        let t = &b[i..i + n];
        i += n;
        if n < rule.min_length {
            continue;
        }
        // Paths (`/usr/lib/...`, what follows `s3:`, `projects/x/locations/y/...`)
        // are not random strings: absolute, or two lower-case words between slashes.
        if t[0] == b'/' || path_like(t) {
            continue;
        }
        let letters = t.iter().any(u8::is_ascii_alphabetic);
        let digits = t.iter().any(u8::is_ascii_digit);
        if !(letters && digits) {
            continue;
        }
        // Base64 of text (a JSON config passed through env) is encoded data, not a
        // secret, unless the text is `user:password` (HTTP basic credentials).
        if let Some(text) = base64_text(t)
            && !basic_auth(&text)
        {
            continue;
        }
        let mut counts = [0u32; 128];
        for c in t {
            counts[*c as usize] += 1;
        }
        let len = n as f64;
        let bits: f64 = counts
            .iter()
            .filter(|c| **c > 0)
            .map(|c| {
                let p = *c as f64 / len;
                -p * p.log2()
            })
            .sum();
        if bits >= rule.min_bits_per_char {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// A PEM private key's first line, assembled so that no scanner flags this file.
    fn pem_head() -> String {
        format!("-----BEGIN {} KEY-----", "PRIVATE")
    }

    /// Test values assembled at run time, so that no scanner flags this file.
    fn token(prefix: &str, body: &str, n: usize) -> String {
        format!("{prefix}{}", &body.repeat(n / body.len() + 1)[..n])
    }

    #[test]
    fn each_detector_fires_on_its_shape_and_only_there() {
        let random = "aZ3kQ9pL2mX7vB1nC8dF4gH6jK0sT5wY";
        // (value, the detector that fires first, or none)
        let cases: Vec<(String, Option<Detector>)> = vec![
            (
                token("AKIA", "QWERTYUIOP234567", 16),
                Some(Detector::AwsAccessKeyId),
            ),
            (
                format!("key={}", token("ASIA", "Z2Y3X4W5V6U7T8S9", 16)),
                Some(Detector::AwsAccessKeyId),
            ),
            (token("ghp_", random, 36), Some(Detector::GithubToken)),
            (
                token("github_pat_", "11ABCDEFG0_aZ3kQ9pL2mX7", 82),
                Some(Detector::GithubToken),
            ),
            (
                token("glpat-", "aZ3kQ9pL2m-X7vB1nC8d", 20),
                Some(Detector::GitlabToken),
            ),
            (
                token("xoxb-", "1234567890-abcdefABCDEF", 40),
                Some(Detector::SlackToken),
            ),
            (
                format!(
                    "https://hooks.slack.com/services/T{}",
                    token("", "A1B2C3", 20)
                ),
                Some(Detector::SlackToken),
            ),
            (
                token("hf_", "aZkQpLmXvBnCdFgHjKsTwYqRe", 34),
                Some(Detector::HuggingfaceToken),
            ),
            (token("sk-proj-", random, 48), Some(Detector::OpenaiApiKey)),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE...".to_string(),
                Some(Detector::PrivateKey),
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----".to_string(),
                Some(Detector::PrivateKey),
            ),
            (
                format!(
                    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{}",
                    token("", random, 43)
                ),
                Some(Detector::Jwt),
            ),
            (
                "postgres://app:pa55-word@db:5432/x".to_string(),
                Some(Detector::UrlPassword),
            ),
            (token("", random, 40), Some(Detector::HighEntropy)),
            // Basic credentials, base64-encoded: `admin:s3cr3t-Passw0rd-2024`.
            (
                "YWRtaW46czNjcjN0LVBhc3N3MHJkLTIwMjQtbG9uZw==".to_string(),
                Some(Detector::HighEntropy),
            ),
            // Credentials passed base64-encoded are found in the decoded text (found
            // by hostile testing: none of these was).
            (
                b64(&format!("{}\nMIIEvQIBADANBg\n", pem_head())),
                Some(Detector::PrivateKey),
            ),
            (
                b64(&format!("{{\"token\": \"{}\"}}", token("ghp_", random, 36))),
                Some(Detector::GithubToken),
            ),
            // Placeholders documentation uses are not keys (found by hostile testing).
            (token("AKIA", "X", 16), None),
            (format!("AKIAIOSFODNN7{}", "EXAMPLE"), None),
            // A JSON config, base64-encoded, is data.
            (
                "eyJsciI6IDAuMDAwMywgIndhcm11cCI6IDI3OSwgInNjaGVkIjogImNvc2luZSJ9".to_string(),
                None,
            ),
            // Not credentials.
            ("postgres://app:$(DB_PASSWORD)@db:5432/x".to_string(), None),
            ("postgres://app@db:5432/x".to_string(), None),
            ("https://user:***@host/".to_string(), None),
            (
                "/usr/local/lib/python3.11/site-packages/torch/lib".to_string(),
                None,
            ),
            (
                "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .to_string(),
                None,
            ),
            ("3f2504e0-4f89-11d3-9a0c-0305e82c3301".to_string(), None),
            ("meta-llama/Llama-3.1-8B-Instruct".to_string(), None),
            ("nvcr.io/nvidia/pytorch:24.05-py3".to_string(), None),
            (
                "ThisIsAVeryLongCamelCaseIdentifierWithoutDigits".to_string(),
                None,
            ),
            ("NOTAKIAKEY".to_string(), None),
            ("task-2024-runner".to_string(), None),
            ("0.0001".to_string(), None),
        ];
        for (value, want) in cases {
            assert_eq!(
                detect(&value, &Detector::ALL, &Entropy::default()),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn detectors_and_the_entropy_rule_are_tunable() {
        let value = token("", "aZ3kQ9pL2mX7vB1nC8dF4gH6jK0sT5wY", 40);
        assert_eq!(detect(&value, &[Detector::Jwt], &Entropy::default()), None);
        let strict = Entropy {
            min_length: 64,
            ..Entropy::default()
        };
        assert_eq!(detect(&value, &[Detector::HighEntropy], &strict), None);
    }
}

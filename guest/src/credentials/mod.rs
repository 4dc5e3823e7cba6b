//! Credential-shaped literals (`credential-literal`): a literal env value or a
//! `command`/`args` item that looks like a credential whatever the variable is called.
//! Each detector is a hand-written linear scan (no regex engine in the plugin): the
//! token formats the issuers document, the shapes of keys and addresses, an entropy
//! rule for long random strings, and, for what has no shape of its own (a W&B key is
//! 40 hex digits, like a commit), the context the value stands in (`context`).
//! A finding names the detector, never the value.

mod connection;
pub mod context;
mod encoded;
mod entropy;
mod formats;
mod shape;

use context::Named;
pub use context::{CommandLine, Context};
use serde::Deserialize;
use shape::Shape;

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
    ServiceToken,
    PrivateKey,
    Jwt,
    UrlPassword,
    ConnectionStringPassword,
    BasicAuth,
    WandbApiKey,
    HighEntropy,
}

impl Detector {
    pub const ALL: [Detector; 14] = [
        Detector::AwsAccessKeyId,
        Detector::GithubToken,
        Detector::GitlabToken,
        Detector::SlackToken,
        Detector::HuggingfaceToken,
        Detector::OpenaiApiKey,
        Detector::ServiceToken,
        Detector::PrivateKey,
        Detector::Jwt,
        Detector::UrlPassword,
        Detector::ConnectionStringPassword,
        Detector::BasicAuth,
        Detector::WandbApiKey,
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
            Detector::ServiceToken => "service-token",
            Detector::PrivateKey => "private-key",
            Detector::Jwt => "jwt",
            Detector::UrlPassword => "url-password",
            Detector::ConnectionStringPassword => "connection-string-password",
            Detector::BasicAuth => "basic-auth",
            Detector::WandbApiKey => "wandb-api-key",
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
            Detector::ServiceToken => "another service's token (Google, Stripe, npm, PyPI, ...)",
            Detector::PrivateKey => "a private key (PEM or PuTTY)",
            Detector::Jwt => "a JSON Web Token",
            Detector::UrlPassword => "a URL with a password",
            Detector::ConnectionStringPassword => "a JDBC URL or connection string with a password",
            Detector::BasicAuth => "base64 of user:password (HTTP basic or registry auth)",
            Detector::WandbApiKey => "a W&B API key (40 hex digits where a key is expected)",
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
    detect_in(value, Context::default(), detectors, entropy)
}

/// `detect`, for a value standing in `context` (an env var's name, a command line).
pub fn detect_in(
    value: &str,
    context: Context,
    detectors: &[Detector],
    entropy: &Entropy,
) -> Option<Detector> {
    // Most literals are short: no format fits in 12 bytes, only a URL's password. (A
    // decoded text is never this short: its token had `MIN_ENCODED` characters.)
    if value.len() < SHORTEST && !shape::has_scheme(value.as_bytes()) {
        return None;
    }
    let shape = Shape::of(value.as_bytes());
    detect_plain(value, &shape, context, detectors, entropy).or_else(|| {
        if shape.longest_token < MIN_ENCODED {
            return None;
        }
        base64_texts(value.as_bytes()).find_map(|text| {
            detect_plain(
                &text,
                &Shape::of(text.as_bytes()),
                Context::default(),
                detectors,
                entropy,
            )
        })
    })
}

/// The shortest value a detector looks at, but for a URL's password.
const SHORTEST: usize = 12;

/// Shortest base64 token whose decoded text is scanned (`ghp_` and 36 characters,
/// encoded, are 56; an AWS key ID 28).
const MIN_ENCODED: usize = 24;

/// Longest base64 token whose decoded text is scanned: a PEM key or a kubeconfig
/// encoded is a few KiB; past this, the entropy rule alone judges a token (decoding and
/// scanning a 4 MiB value again cost more than the 1 G of fuel a call may take).
const MAX_DECODED: usize = 64 << 10;

/// The decoded text of each base64 token of at least `MIN_ENCODED` characters (and at
/// most `MAX_DECODED`), a name before it (`id=`) left out.
fn base64_texts(b: &[u8]) -> impl Iterator<Item = String> + '_ {
    b.split(|c| !encoded::is_token_char(*c))
        .map(|t| encoded::split_after_assignment(0, t).1)
        .filter(|t| (MIN_ENCODED..=MAX_DECODED).contains(&t.len()))
        .filter_map(encoded::base64_text)
        .filter_map(|text| String::from_utf8(text).ok())
}

fn detect_plain(
    value: &str,
    shape: &Shape,
    context: Context,
    detectors: &[Detector],
    entropy: &Entropy,
) -> Option<Detector> {
    let b = value.as_bytes();
    let tokens = if detectors.iter().any(|d| d.is_token_format()) {
        formats::token_formats(b)
    } else {
        [false; Detector::ALL.len()]
    };
    detectors.iter().copied().find(|d| match d {
        d if d.is_token_format() => tokens[*d as usize],
        // The shortest header is PuTTY's (22 bytes).
        Detector::PrivateKey => {
            value.len() >= 22 && shape.longest_upper >= 3 && formats::private_key(value)
        }
        Detector::Jwt => shape.dot && shape.longest_token >= 13 && formats::jwt(b),
        Detector::UrlPassword => shape.scheme && connection::url_password(value),
        Detector::ConnectionStringPassword => {
            (shape.assigns || (shape.colon && value.contains("oracle:thin:")))
                && connection::connection_password(value)
        }
        // Bare, 16 characters; after `Basic ` or an `auth` key, 8.
        Detector::BasicAuth => {
            (shape.longest_basic >= 16 || (shape.longest_basic >= 8 && shape.separators))
                && encoded::basic_auth_token(b)
        }
        Detector::WandbApiKey => {
            shape.longest_hex >= 40
                && in_context(value, shape, context, |v, c| {
                    wandb_key(v)
                        && (c.wandb_login
                            || c.name
                                .is_some_and(|n| context::classify(n) == Named::Credential))
                })
        }
        Detector::HighEntropy => {
            // The cheaper test first: the value's when it is short, the name's when the
            // value is long (a name is a few words; a value may be megabytes).
            let named = |v: &str, c: Context| {
                let credential = || {
                    c.name
                        .is_some_and(|n| context::classify(n) == Named::Credential)
                };
                let random = || entropy::named_random(v.as_bytes());
                let (first, then): (&dyn Fn() -> bool, &dyn Fn() -> bool) = if v.len() <= 64 {
                    (&random, &credential)
                } else {
                    (&credential, &random)
                };
                first() && then()
            };
            // A random-looking value named as an identifier (`S3_VERSION_ID`) is one.
            let identifier = || {
                context
                    .name
                    .is_some_and(|n| context::classify(n) == Named::Identifier)
            };
            let named_context = context.name.is_some() || shape.separators;
            // A certificate's or a public key's body is random and public.
            let public_pem = || shape.longest_upper >= 5 && entropy::public_pem(value);
            ((shape.longest_token >= entropy.min_length
                && entropy::high_entropy(b, entropy)
                && !identifier())
                || (named_context
                    && shape.longest_token >= entropy::MIN_NAMED
                    && in_context(value, shape, context, named)))
                && !public_pem()
        }
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
                | Detector::ServiceToken
        )
    }
}

/// Whether `found` says yes to the whole value in its context, or to a value that
/// stands in a context inside it (`WANDB_API_KEY=... python train.py`,
/// `--api-key ...`, `wandb login ...`).
fn in_context(
    value: &str,
    shape: &Shape,
    context: Context,
    found: impl Fn(&str, Context) -> bool,
) -> bool {
    ((context.name.is_some() || context.wandb_login) && found(unquoted(value), context))
        || (shape.words && context::in_text(value, found))
}

/// `value` without the white space and quotes around it.
fn unquoted(value: &str) -> &str {
    let plain = |c: &u8| c.is_ascii_alphanumeric();
    let b = value.as_bytes();
    // Most values start and end with a letter or digit: nothing to trim.
    if b.first().is_some_and(plain) && b.last().is_some_and(plain) {
        return value;
    }
    value.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'')
}

/// A W&B API key: 40 lower-case hex digits (a W&B server's keys start `local-`).
fn wandb_key(word: &str) -> bool {
    let hex = word.strip_prefix("local-").unwrap_or(word);
    hex.len() == 40
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
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
            // The shortest format, at its length and one short of it.
            (token("xoxb-", "1234567890", 10), Some(Detector::SlackToken)),
            (
                format!("-{}", token("xoxb-", "1234567890", 10)),
                Some(Detector::SlackToken),
            ),
            (token("xoxb-", "1234567890", 9), None),
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
                Some(Detector::BasicAuth),
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
            // A token after a name and `=` is decoded (found by hostile testing).
            (
                format!("id={}", b64(&token("AKIA", "QWERTYUIOP234567", 16))),
                Some(Detector::AwsAccessKeyId),
            ),
            // Issue 24's shapes.
            (
                token("GR1348941", "aZ3kQ9pL2m-X7vB1nC8d", 20),
                Some(Detector::GitlabToken),
            ),
            (
                token("glcbt-64_", "aZ3kQ9pL2m-X7vB1nC8d", 20),
                Some(Detector::GitlabToken),
            ),
            (
                format!(
                    "https://hooks.slack.com/workflows/T{}/A{}/12345/{}",
                    token("", "A1B2C3", 10),
                    token("", "D4E5F6", 10),
                    token("", "a1b2c3", 32)
                ),
                Some(Detector::SlackToken),
            ),
            // `{"alg":"none"}` and a payload, with an empty signature or none.
            (
                "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.".to_string(),
                Some(Detector::Jwt),
            ),
            (
                "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9".to_string(),
                Some(Detector::Jwt),
            ),
            (
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none".to_string(),
                Some(Detector::PrivateKey),
            ),
            (
                format!("---- BEGIN SSH2 ENCRYPTED {} KEY ----", "PRIVATE"),
                Some(Detector::PrivateKey),
            ),
            (
                token("sk-", "0123456789abcdef", 32),
                Some(Detector::OpenaiApiKey),
            ),
            (
                "jdbc:sqlserver://db:1433;databaseName=x;user=sa;password=Xq7pL2vN9k;".to_string(),
                Some(Detector::ConnectionStringPassword),
            ),
            ("YWRtaW46YWRtaW4=".to_string(), Some(Detector::BasicAuth)),
            // Other issuers' formats.
            (
                token("AIza", "Sy0aZ3kQ9pL2mX7vB1nC8dF4gH6", 35),
                Some(Detector::ServiceToken),
            ),
            (
                format!("key={}", token("sk_live_", "aZ3kQ9pL2mX7vB1n", 24)),
                Some(Detector::ServiceToken),
            ),
            (
                format!(
                    "SG.{}.{}",
                    token("", "aZ3kQ9pL2m", 22),
                    token("", "X7vB1nC8dF", 43)
                ),
                Some(Detector::ServiceToken),
            ),
            (
                format!("123456789:AA{}", token("", "aZ3kQ9pL2m-X7", 33)),
                Some(Detector::ServiceToken),
            ),
            // Found by an independent corpus (issue 24's reviewers'): formats the
            // peers know, in documented shapes.
            (
                format!(
                    "{}.{}.{}",
                    b64("1040704207473605745").trim_end_matches('='),
                    "7U4s8T",
                    token("", "9de_SgeaKLOwQz2Mk2Nh9", 27)
                ),
                Some(Detector::ServiceToken),
            ),
            (
                format!(
                    "{}-{}-{}",
                    token("", "b0276f3d", 32),
                    "5a8ae283",
                    "d4768b86"
                ),
                Some(Detector::ServiceToken),
            ),
            (
                token("NRAA-", "2a1b1df619", 27),
                Some(Detector::ServiceToken),
            ),
            (
                format!("NRSP-us01{}", token("", "82d7578b6", 31)),
                Some(Detector::ServiceToken),
            ),
            (
                format!("{}NRAL", token("", "e016a7190", 36)),
                Some(Detector::ServiceToken),
            ),
            (
                format!("eu01xx{}NRAL", token("", "90b193afa", 30)),
                Some(Detector::ServiceToken),
            ),
            (
                "px-api-dac58924-a76a-4288-a078-a644b8eb1633".to_string(),
                Some(Detector::ServiceToken),
            ),
            (
                format!(
                    "access_token$production${}${}",
                    token("", "9ry2lldom3", 16),
                    token("", "234cedf80b", 32)
                ),
                Some(Detector::ServiceToken),
            ),
            (
                format!(
                    "https://api.softlayer.com/soap/v3/{}",
                    token("", "avjr54k0d68p11y0yu9", 64)
                ),
                Some(Detector::ServiceToken),
            ),
            (
                token("pypi-AgENdGVzdC5weXBpLm9yZw", "aZ3kQ9pL2m-X7", 70),
                Some(Detector::ServiceToken),
            ),
            (
                token("api_org_", "IBzKYMqqlfxuOPHYeXVge", 34),
                Some(Detector::HuggingfaceToken),
            ),
            // ... and look-alikes it had flagged: a greeting, placeholders, public
            // keys and certificates with their bodies, a publishable key.
            ("xoxo-baseline-sft-sweep".to_string(), None),
            (token("ghp_", "X", 36), None),
            (token("hf_", "x", 34), None),
            (
                format!("-----BEGIN CERTIFICATE-----\n{}", token("", random, 64)),
                None,
            ),
            (
                format!("-----BEGIN PUBLIC KEY-----\n{}", token("", random, 64)),
                None,
            ),
            (
                b64(&format!(
                    "-----BEGIN CERTIFICATE-----\n{}\n",
                    token("", random, 64)
                )),
                None,
            ),
            (token("pk_live_", random, 24), None),
            // A Discord-like dotted word whose first part is no bot ID.
            (
                format!(
                    "{}.7U4s8T.{}",
                    token("", "aZ3kQ9pL2mX7", 24),
                    token("", random, 27)
                ),
                None,
            ),
            (
                format!("7318683945:{}", token("", "iCkics_fZZoQJ2tclBVZf0", 35)),
                Some(Detector::ServiceToken),
            ),
            // A timestamp and a label: no Telegram token.
            (
                "1716239022:checkpoint_epoch_10_step_12000_loss".to_string(),
                None,
            ),
            (
                format!(
                    "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={}%2B{}%3D",
                    token("", "2qc5p7hPG9", 20),
                    token("", "wuFA3w8", 22)
                ),
                Some(Detector::ServiceToken),
            ),
            ("key-value-store-2024".to_string(), None),
            ("SKU-12345-blue".to_string(), None),
            // Model names, certificates and public keys are not keys.
            (
                "sk-llama-2-13b-chat-hf-finetuned-v2-20240515".to_string(),
                None,
            ),
            (
                "sk-llama-3-70b-instruct-gptq-int4-128g-actorder-689b56c3".to_string(),
                None,
            ),
            ("-----BEGIN CERTIFICATE-----\nMIIB".to_string(), None),
            ("-----BEGIN PUBLIC KEY-----\nMIIB".to_string(), None),
            ("eyJhbGciOiJub25lIn0.notatoken.".to_string(), None),
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
    fn values_without_a_shape_are_found_by_their_context() {
        let key = "3f8a9c0d1e2b4a5f6c7d8e9f0a1b2c3d4e5f6a7b";
        let named = |name| Context::named(name);
        let login = Context {
            name: None,
            wandb_login: true,
        };
        // (value, context, the detector that fires first, or none)
        let cases: Vec<(String, Context, Option<Detector>)> = vec![
            (
                key.into(),
                named("WANDB_API_KEY"),
                Some(Detector::WandbApiKey),
            ),
            (
                format!("local-{key}"),
                named("WANDB_API_KEY"),
                Some(Detector::WandbApiKey),
            ),
            (key.into(), login, Some(Detector::WandbApiKey)),
            (key.into(), named("api-key"), Some(Detector::WandbApiKey)),
            (
                format!("wandb login --host https://wandb.internal {key}"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            (
                format!("export WANDB_API_KEY={key}; python train.py"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            (
                format!(r#"{{"wandb": {{"api_key": "{key}"}}}}"#),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            (
                format!("import wandb; wandb.login(key='{key}')"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            // Words split at brackets and quotes alone (found by hostile testing).
            (
                format!("wandb.login('{key}')"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            (
                format!("os.environ['WANDB_API_KEY'] = '{key}'"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            (
                "aZ3kQ9pL2mX7vB1nC8dF".into(),
                named("API_SECRET"),
                Some(Detector::HighEntropy),
            ),
            (
                "Authorization: Bearer aZ3kQ9pL2mX7vB1nC8dF".into(),
                Context::default(),
                Some(Detector::HighEntropy),
            ),
            // A `.netrc` line (where `wandb login` writes the key).
            (
                format!("machine api.wandb.ai login user password {key}"),
                Context::default(),
                Some(Detector::WandbApiKey),
            ),
            // The same digits as a commit, a revision, a cache key: not keys.
            (key.into(), named("GIT_SHA"), None),
            (key.into(), named("revision"), None),
            (key.into(), named("CACHE_KEY"), None),
            (key.into(), Context::default(), None),
            (
                format!("git checkout {key} && wandb login"),
                Context::default(),
                None,
            ),
            (
                format!("wandb login; git checkout {key}"),
                Context::default(),
                None,
            ),
            (
                format!("python train.py --commit {key} --api-key-file /run/key"),
                Context::default(),
                None,
            ),
            // Named as a credential, but a placeholder, a path, a name or a setting.
            ("REPLACE_ME_WITH_YOUR_KEY".into(), named("API_KEY"), None),
            (
                "your-wandb-api-key-here".into(),
                named("WANDB_API_KEY"),
                None,
            ),
            (
                "/var/run/secrets/wandb/api-key".into(),
                named("WANDB_API_KEY"),
                None,
            ),
            ("hf-token-team-a".into(), named("TOKEN_SECRET_NAME"), None),
            (
                "<|reserved_special_token_0|>".into(),
                named("PAD_TOKEN"),
                None,
            ),
            // A random string named as an identifier is one.
            (
                token("", "aZ3kQ9pL2mX7vB1nC8dF4gH6jK0sT5wY", 40),
                named("S3_VERSION_ID"),
                None,
            ),
        ];
        for (value, context, want) in cases {
            assert_eq!(
                detect_in(&value, context, &Detector::ALL, &Entropy::default()),
                want,
                "{value} in {context:?}"
            );
        }
    }

    /// Any text, as a value, a name or a command line, is scanned without a panic:
    /// characters of several bytes next to every byte the scanners split or look at.
    #[test]
    fn any_text_is_scanned() {
        const PIECES: &[&str] = &[
            "é",
            "ключ",
            "😀",
            "=",
            ":",
            "-",
            "_",
            "/",
            "+",
            "\"",
            "'",
            " ",
            ";",
            "&&",
            "(",
            "{",
            "}",
            "@",
            "?",
            ".",
            "$",
            "AKIA",
            "sk-",
            "glcbt-",
            "GR1348941",
            "eyJ",
            "BEGIN ",
            "PRIVATE KEY",
            "PuTTY-User-Key-File-",
            "password=",
            "pwd={",
            "oracle:thin:",
            "://",
            "hooks.slack.com/",
            "wandb",
            "login",
            "KEY",
            "api",
            "Basic",
            "auth",
            "sha256-",
            "AAAA",
            "3f8a9c0d1e2b4a5f6c7d",
            "aZ3kQ9pL2mX7",
            "local-",
            // The independent corpus's shapes.
            "NRAL",
            "01xx",
            "access_token$production$",
            "sig=",
            "%2B",
            "api_org_",
            "MTA0MDcwNDIwNzQ3MzYwNTc0NQ",
            "versionId=",
            "Qm",
            "bafy",
            "-----BEGIN CERTIFICATE-----",
            "pk_live_",
            "password",
            "Pwd={",
            "12345678:",
            "api.softlayer.com/soap/v3/",
        ];
        let mut seed: u64 = 0x2024_1207;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..3000 {
            let text: String = (0..next(24)).map(|_| PIECES[next(PIECES.len())]).collect();
            let name: String = (0..next(4)).map(|_| PIECES[next(PIECES.len())]).collect();
            let mut line = CommandLine::default();
            for item in [name.as_str(), text.as_str()] {
                let context = line.next(item);
                detect_in(item, context, &Detector::ALL, &Entropy::default());
            }
            detect_in(
                &text,
                Context::named(&name),
                &Detector::ALL,
                &Entropy::default(),
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

//! Token formats the issuers document: a fixed prefix at the start of a word, then a
//! body (the issuers with a detector of their own, and `service-token` for the rest);
//! and the shapes of PEM and PuTTY private keys and of JSON Web Tokens.

use super::Detector;
use super::encoded::decode;
use super::shape::in_word;

/// Which token formats occur in `b`, in one pass: a prefix counts only at the start
/// of a word (not right after a letter, digit or `_`), and each body is counted only
/// as far as its format needs, so every byte is looked at a bounded number of times
/// (a value of one prefix repeated, `AKIAAKIA...`, has one word start).
pub fn token_formats(b: &[u8]) -> [bool; Detector::ALL.len()] {
    let mut found = [false; Detector::ALL.len()];
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    let dashed = |c: u8| alnum(c) || c == b'_' || c == b'-';
    // `i` is always a word's start: after a word, the byte that ends it is skipped too
    // (a start follows a byte that is not in a word).
    let mut next = 0;
    while next + SHORTEST_FORMAT <= b.len() {
        let i = next;
        let w = &b[i..];
        next = if in_word(w[0]) {
            i + w
                .iter()
                .position(|c| !in_word(*c))
                .map_or(w.len(), |end| end + 1)
        } else {
            i + 1
        };
        if !found[Detector::ServiceToken as usize] && service_token(w) {
            found[Detector::ServiceToken as usize] = true;
        }
        let after = |prefix: &str| w.strip_prefix(prefix.as_bytes());
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
            // A GitLab runner registration token (before GitLab 16's runner tokens).
            Some(b'G') => (
                Detector::GitlabToken,
                after("GR1348941").is_some_and(|rest| run(rest, dashed, 20) == 20),
            ),
            Some(b'g') => {
                let github = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"].iter().any(|p| {
                    after(p)
                        .is_some_and(|rest| run(rest, alnum, 36) == 36 && !placeholder(&rest[..36]))
                }) || after("github_pat_")
                    .is_some_and(|rest| run(rest, |c| alnum(c) || c == b'_', 50) == 50);
                if github {
                    (Detector::GithubToken, true)
                } else {
                    // GitLab's prefixed tokens: personal, project and group access,
                    // deploy, runner, pipeline trigger, feed, incoming mail, CI/CD
                    // job (`glcbt-` and its partition, `glcbt-64_`), SCIM, OAuth
                    // application secret, agent, feature flags client.
                    let gitlab = GITLAB_PREFIXES
                        .iter()
                        .any(|p| after(p).is_some_and(|rest| run(rest, dashed, 20) == 20));
                    (Detector::GitlabToken, gitlab)
                }
            }
            Some(b'x') => {
                // Slack's tokens go on with a number (a team ID, `2-`, `1-`): a word
                // after `xoxo-` is a greeting. Its `d` cookie is URL-encoded random.
                let slack = SLACK_PREFIXES.iter().any(|p| {
                    after(p).is_some_and(|rest| {
                        run(rest, |c| alnum(c) || c == b'-', 10) == 10
                            && (rest[0].is_ascii_digit() || *p == "xoxd-")
                    })
                });
                (Detector::SlackToken, slack)
            }
            Some(b'h') => {
                // Slack's incoming webhooks (`services/T...`) and workflow webhooks
                // (`workflows/T...`, `triggers/T...`): the URL is the credential.
                let webhook = ["services/T", "workflows/T", "triggers/T"].iter().any(|p| {
                    after("hooks.slack.com/")
                        .and_then(|rest| rest.strip_prefix(p.as_bytes()))
                        .is_some_and(|rest| run(rest, alnum, 8) == 8)
                });
                if webhook {
                    (Detector::SlackToken, true)
                } else {
                    let hf = after("hf_").is_some_and(|rest| {
                        run(rest, alnum, 30) == 30 && !placeholder(&rest[..30])
                    });
                    (Detector::HuggingfaceToken, hf)
                }
            }
            // A Hugging Face organization's API token (before user access tokens).
            Some(b'a') => (
                Detector::HuggingfaceToken,
                after("api_org_")
                    .is_some_and(|rest| run(rest, |c| c.is_ascii_alphabetic(), 34) == 34),
            ),
            // Not right after `-` either: a key starts its word, and `sk-sk-sk-...`
            // is then looked at once.
            Some(b's') => (
                Detector::OpenaiApiKey,
                (i == 0 || b[i - 1] != b'-') && after("sk-").is_some_and(openai_style_body),
            ),
            _ => continue,
        };
        if yes {
            found[d as usize] = true;
        }
    }
    found
}

/// The shortest token of any format here: Slack's (`xoxb-` and 10).
const SHORTEST_FORMAT: usize = 15;

/// Which bytes a token's body is made of.
type ByteClass = fn(u8) -> bool;

fn hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Doppler's body: an environment's name and a dot may come first (`dp.st.prd.`).
fn doppler(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'_'
}

fn b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Other issuers' documented formats by their first byte (looked up once per word):
/// a prefix, the body's alphabet and the length of body it needs at least (from their
/// documentation and the rules other scanners ship for them).
fn service_formats(first: u8) -> &'static [(&'static str, ByteClass, usize)] {
    match first {
        b'A' => &[
            ("AIza", b64url, 35),    // Google API key
            ("AKCp", alnum, 69),     // JFrog Artifactory API key
            ("ATATT3", b64url, 100), // Atlassian API token
        ],
        b'E' => &[("EAACEdEose0cBA", alnum, 20)], // Facebook access token
        b'N' => &[
            ("NRAK-", alnum, 27),  // New Relic user key
            ("NRAA-", hex, 27),    // New Relic admin key
            ("NRSP-", alnum, 35),  // New Relic synthetics private location key
            ("NRII-", b64url, 32), // New Relic insert key
            ("NRIQ-", b64url, 32), // New Relic query key
            ("NRRA-", hex, 42),    // New Relic REST key
        ],
        b'a' => &[("amzn.mws.", uuid, 36)], // Amazon MWS
        b'd' => &[
            ("dapi", hex, 32),       // Databricks personal access token
            ("dp.pt.", doppler, 43), // Doppler personal token
            ("dp.st.", doppler, 43), // Doppler service token
            ("dp.ct.", doppler, 43), // Doppler CLI token
            ("dp.sa.", doppler, 43), // Doppler service account
            ("dop_v1_", hex, 64),    // DigitalOcean
        ],
        b'e' => &[("eyJrIjoi", alnum, 70)], // Grafana API key
        b'g' => &[
            ("gsk_", alnum, 52),  // Groq
            ("glc_", b64, 32),    // Grafana Cloud
            ("glsa_", alnum, 32), // Grafana service account
        ],
        b'h' => &[
            ("hvs.", b64url, 24), // HashiCorp Vault service token
            ("hvb.", b64url, 24), // HashiCorp Vault batch token
        ],
        b'k' => &[("key-", alnum, 32)],     // Mailgun
        b'l' => &[("lin_api_", alnum, 40)], // Linear
        b'n' => &[("npm_", alnum, 36)],     // npm access token
        b'p' => &[
            ("pypi-AgEIcHlwaS5vcmc", b64url, 50),        // PyPI API token
            ("pypi-AgENdGVzdC5weXBpLm9yZw", b64url, 50), // TestPyPI API token
            ("px-api-", uuid, 36),                       // New Relic Pixie API key
            ("px-dep-", uuid, 36),                       // New Relic Pixie deploy key
            ("pul-", hex, 40),                           // Pulumi
        ],
        b'r' => &[
            ("rk_live_", alnum, 24), // Stripe restricted key
            ("r8_", alnum, 37),      // Replicate
        ],
        b's' => &[
            ("sk_live_", alnum, 24), // Stripe secret key
            ("shpat_", hex, 32),     // Shopify access token
            ("shpss_", hex, 32),     // Shopify shared secret
            ("shpca_", hex, 32),     // Shopify custom app token
            ("shppa_", hex, 32),     // Shopify private app token
            ("sq0atp-", b64url, 22), // Square access token
            ("sq0csp-", b64url, 43), // Square OAuth secret
            ("sig=", sas, 40),       // Azure SAS signature (URL-encoded base64)
        ],
        b'y' => &[("ya29.", b64url, 30)], // Google OAuth access token
        _ => &[],
    }
}

/// URL-encoded base64 (`%2B`, `%2F`, `%3D`).
fn sas(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'%' | b'+' | b'/' | b'=')
}

fn uuid(c: u8) -> bool {
    hex(c) || c == b'-'
}

/// The shortest token `service_token` finds (`hvs.` and 24).
const SHORTEST_SERVICE_TOKEN: usize = 28;

/// Another issuer's token at the start of `w`: a prefix of `service_formats`, Twilio's
/// API key SID (`SK` and 32 hex digits), SendGrid's `SG.<22>.<43>`, Postman's
/// `PMAK-<24 hex>-<34 hex>`, a Telegram bot token (`<bot id>:AA<33>`), Mailchimp's
/// `<32 hex>-us<n>`, a Discord or Teams webhook.
fn service_token(w: &[u8]) -> bool {
    let Some(first) = w.first() else {
        return false;
    };
    if w.len() < SHORTEST_SERVICE_TOKEN {
        return false;
    }
    let exact = |rest: &[u8], ok: ByteClass, n: usize| {
        run(rest, ok, n + 1) == n && rest.get(n).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    service_formats(*first).iter().any(|(prefix, ok, n)| {
        w.strip_prefix(prefix.as_bytes())
            .is_some_and(|rest| run(rest, ok, *n) == *n)
    }) || match first {
        b'S' => {
            w.strip_prefix(b"SK").is_some_and(|r| exact(r, hex, 32))
                || w.strip_prefix(b"SG.").is_some_and(|r| {
                    run(r, b64url, 22) == 22
                        && r.get(22) == Some(&b'.')
                        && run(&r[23..], b64url, 43) == 43
                })
        }
        b'P' => w.strip_prefix(b"PMAK-").is_some_and(|r| {
            run(r, hex, 24) == 24 && r.get(24) == Some(&b'-') && run(&r[25..], hex, 34) == 34
        }),
        b'0'..=b'9' => {
            let id = run(w, |c| c.is_ascii_digit(), 11);
            telegram(w, id) || hex_keys(w)
        }
        // A Discord bot token: the bot's ID (digits) in base64, a time, an HMAC.
        b'M' | b'N' | b'O' => discord_bot(w),
        b'a' => {
            hex_keys(w)
                || w.strip_prefix(b"access_token$").is_some_and(braintree)
                || [
                    &b"api.softlayer.com/soap/v3/"[..],
                    b"api.softlayer.com/soap/v3.1/",
                ]
                .iter()
                .any(|p| {
                    w.strip_prefix(*p).is_some_and(|r| {
                        run(r, |c| c.is_ascii_lowercase() || c.is_ascii_digit(), 64) == 64
                    })
                })
                || newrelic_region_license(w)
        }
        b'b'..=b'f' => {
            let mailchimp = hex_keys(w);
            let discord = ["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"]
                .iter()
                .any(|p| {
                    w.strip_prefix(p.as_bytes()).is_some_and(|r| {
                        let id = run(r, |c| c.is_ascii_digit(), 20);
                        id >= 17 && r.get(id) == Some(&b'/') && run(&r[id + 1..], b64url, 60) == 60
                    })
                });
            mailchimp || discord || newrelic_region_license(w)
        }
        b'w' => {
            w.strip_prefix(b"webhook.office.com/webhookb2/")
                .is_some_and(|r| run(r, |c| hex(c) || c == b'-', 36) == 36)
                || newrelic_region_license(w)
        }
        b'g'..=b'z' => newrelic_region_license(w),
        _ => false,
    }
}

/// A Telegram bot token: the bot's ID (8 to 10 digits), `:`, 35 base64url
/// characters (`AA` first in those issued today; without it, mixing cases and digits
/// as a random body does, unlike a timestamp's label).
fn telegram(w: &[u8], id: usize) -> bool {
    if !(8..=10).contains(&id) || w.get(id) != Some(&b':') {
        return false;
    }
    let body = &w[id + 1..];
    if body.starts_with(b"AA") {
        return run(&body[2..], b64url, 33) == 33;
    }
    let has = |f: fn(&u8) -> bool| body[..body.len().min(35)].iter().any(f);
    run(body, b64url, 36) == 35
        && has(u8::is_ascii_uppercase)
        && has(u8::is_ascii_lowercase)
        && has(u8::is_ascii_digit)
}

/// Keys made of hex digits with a mark: Mailchimp's `<32>-us<n>`, Mailgun's
/// `<32>-<8>-<8>`, New Relic's license key `<36>NRAL`.
fn hex_keys(w: &[u8]) -> bool {
    match run(w, hex, 37) {
        32 => {
            let r = &w[32..];
            r.starts_with(b"-us")
                || (r.first() == Some(&b'-')
                    && run(&r[1..], hex, 9) == 8
                    && r.get(9) == Some(&b'-')
                    && run(&r[10..], hex, 9) == 8)
        }
        36 => w[36..].starts_with(b"NRAL"),
        _ => false,
    }
}

/// New Relic's region-aware license key: `eu01xx`, 30 hex digits, `NRAL`.
fn newrelic_region_license(w: &[u8]) -> bool {
    w.len() >= 40
        && w[4..6] == *b"xx"
        && w[36..40] == *b"NRAL"
        && w[..2].iter().all(u8::is_ascii_lowercase)
        && w[2..4].iter().all(u8::is_ascii_digit)
        && run(&w[6..], hex, 30) == 30
}

/// Braintree's `access_token$production$<16>$<32 hex>` (and `$sandbox$`), after
/// `access_token$`.
fn braintree(r: &[u8]) -> bool {
    let Some(r) = r
        .strip_prefix(b"production$")
        .or_else(|| r.strip_prefix(b"sandbox$"))
    else {
        return false;
    };
    run(r, alnum, 16) == 16 && r.get(16) == Some(&b'$') && run(&r[17..], hex, 32) == 32
}

/// A Discord bot token: `<bot ID in base64>.<6>.<27 or 38>`, where the ID decodes to
/// 17 to 20 digits (a snowflake): a dotted word of base64 does not.
fn discord_bot(w: &[u8]) -> bool {
    let id = run(w, b64url, 27);
    if !(23..=27).contains(&id) || w.get(id) != Some(&b'.') {
        return false;
    }
    let r = &w[id + 1..];
    run(r, b64url, 7) == 6
        && r.get(6) == Some(&b'.')
        && run(&r[7..], b64url, 27) == 27
        && decode(&w[..id])
            .is_some_and(|d| (17..=20).contains(&d.len()) && d.iter().all(u8::is_ascii_digit))
}

const GITLAB_PREFIXES: &[&str] = &[
    "glpat-", "gldt-", "glrt-", "glrtr-", "glptt-", "glft-", "glimt-", "glcbt-", "glsoat-",
    "gloas-", "glagent-", "glffct-",
];

const SLACK_PREFIXES: &[&str] = &[
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xoxo-",
    "xoxe-",
    "xoxc-",
    "xoxd-",
    "xoxe.xoxp-",
    "xapp-",
];

/// What follows `sk-` in an OpenAI-style key (OpenAI's legacy and project keys,
/// Anthropic's, DeepSeek's, OpenRouter's): OpenAI's `T3BlbkFJ` marker, or random
/// parts (mixed case and digits, at least 24 characters of them between `-` and
/// `_`), or a run of 32 hex digits ending the token. A model or run name
/// (`sk-llama-2-13b-chat-hf-v2`) is made of short words and numbers.
fn openai_style_body(rest: &[u8]) -> bool {
    // Keys are at most ~170 characters; the bound keeps `sk-sk-sk-...` linear.
    let n = run(
        rest,
        |c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-',
        200,
    );
    let body = &rest[..n];
    if n < 32 {
        return false;
    }
    if body.windows(8).any(|w| w == b"T3BlbkFJ") {
        return true;
    }
    let parts = || body.split(|c| matches!(c, b'-' | b'_'));
    let random: usize = parts()
        .filter(|p| {
            p.len() >= 10
                && p.iter().any(u8::is_ascii_digit)
                && p.iter().any(u8::is_ascii_uppercase)
                && p.iter().any(u8::is_ascii_lowercase)
        })
        .map(<[u8]>::len)
        .sum();
    let hex_tail = parts().next_back().is_some_and(|p| {
        p.len() >= 32
            && p.iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    });
    random >= 24 || hex_tail
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
pub fn run(b: &[u8], ok: impl Fn(u8) -> bool, max: usize) -> usize {
    b.iter().take(max).take_while(|c| ok(**c)).count()
}

/// A PEM private key (`-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED |PGP ]PRIVATE
/// KEY[ BLOCK]-----`, also the SSH2 format's `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY
/// ----`) or a PuTTY key file (`PuTTY-User-Key-File-2:`, `-3:`).
pub fn private_key(value: &str) -> bool {
    let pem = value.match_indices("BEGIN ").any(|(at, _)| {
        (value[..at].ends_with('-') || value[..at].ends_with("- ")) && {
            let head = &value.as_bytes()[at..value.len().min(at + 64)];
            head.windows(11).any(|w| w == b"PRIVATE KEY")
        }
    });
    pem || value.match_indices("PuTTY-User-Key-File-").any(|(at, m)| {
        let rest = &value.as_bytes()[at + m.len()..];
        rest.first().is_some_and(u8::is_ascii_digit) && rest.get(1) == Some(&b':')
    })
}

/// `eyJ<header>.eyJ<payload>.<signature>` (base64url of `{"` starts both), as one
/// token of base64url characters and dots: each token is looked at once. An
/// unsigned token (`alg: none`) has an empty signature, or none: its header is
/// decoded to tell it from other dotted words.
pub fn jwt(b: &[u8]) -> bool {
    let url = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    b.split(|c| !(url(*c) || *c == b'.')).any(|token| {
        let mut parts = token.split(|c| *c == b'.');
        let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
            return false;
        };
        let (signature, more) = (parts.next(), parts.next());
        if more.is_some()
            || !header.starts_with(b"eyJ")
            || !payload.starts_with(b"eyJ")
            || header.len() < 13
            || payload.len() < 13
        {
            return false;
        }
        match signature {
            Some(s) if s.len() >= 10 => true,
            Some([]) | None => decode(header).is_some_and(|h| {
                h.windows(5).any(|w| w == b"\"alg\"") || h.windows(5).any(|w| w == b"\"typ\"")
            }),
            Some(_) => false,
        }
    })
}

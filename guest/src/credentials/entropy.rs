//! The entropy rule: long random strings, whatever issued them. Random-looking
//! things that are no secret are left alone: paths, base64 of text, digests labelled
//! as such (`sha256-<base64>`, an `integrity` value), SSH public keys; and a shorter
//! random string is a credential where its name says so (`API_SECRET=...`).

use super::Entropy;
use super::context::{Named, classify};
use super::encoded::{base64_text, basic_auth, decode, is_token_char};

/// Shannon entropy per character of each maximal base64/base64url token.
pub fn high_entropy(b: &[u8], rule: &Entropy) -> bool {
    if b.len() < rule.min_length {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let n = b[i..].iter().take_while(|c| is_token_char(**c)).count();
        if n == 0 {
            i += 1;
            continue;
        }
        let t = &b[i..i + n];
        let before = &b[..i];
        i += n;
        if n < rule.min_length {
            continue;
        }
        // Paths (`/usr/lib/...`, what follows `s3:`, `projects/x/locations/y/...`)
        // are not random strings: absolute, or two lower-case words between slashes;
        // nor are names. The cheap tests first (an absolute path shows in its first
        // segment; letters and digits together rule out most long tokens), and a path
        // is at most 4 KiB, a name 256 bytes: past that, a token is not one.
        if absolute_path(t) {
            continue;
        }
        let letters = t.iter().any(u8::is_ascii_alphabetic);
        let digits = t.iter().any(u8::is_ascii_digit);
        if !(letters && digits) {
            continue;
        }
        let named = t.len() <= MAX_NAME && (slug(t) || model_name(t));
        if (t.len() <= MAX_PATH && path_like(t)) || named {
            continue;
        }
        // Base64 of text (a JSON config passed through env) is encoded data, not a
        // secret, unless the text is `user:password` (HTTP basic credentials).
        if let Some(text) = base64_text(t)
            && !basic_auth(&text)
        {
            continue;
        }
        if labelled_digest(before, t)
            || ssh_public_key(t)
            || public_by_design(t, &b[i..])
            || content_id(t)
            || named_identifier(t)
        {
            continue;
        }
        if bits_per_char(t) >= rule.min_bits_per_char {
            return true;
        }
    }
    false
}

/// Shannon entropy per character of a token of base64 characters (ASCII).
pub fn bits_per_char(t: &[u8]) -> f64 {
    let mut counts = [0u32; 128];
    for c in t {
        counts[*c as usize & 127] += 1;
    }
    let len = t.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// `/` and a lower-case first segment (`/usr/...`, `/mnt/...`, `/tmp/x_7k2`); a
/// random base64 string may start with `/` too, but mixes case.
fn absolute_path(token: &[u8]) -> bool {
    token.first() == Some(&b'/')
        && token[1..]
            .iter()
            .take_while(|c| **c != b'/')
            .all(|c| !c.is_ascii_uppercase() && *c != b'+' && *c != b'=')
}

/// At least two `/`-separated segments that are lower-case words (`locations`,
/// `us-central1`), making at least half of the token: a random base64 string has mixed
/// case between its rare slashes, and the longer it is, the more likely two short
/// segments of it are lower-case by chance (a 16 KiB keystore's were, 38 times in 100),
/// but never half of it.
fn path_like(token: &[u8]) -> bool {
    let (mut words, mut covered) = (0, 0);
    for seg in token.split(|c| *c == b'/') {
        let word = seg.iter().filter(|c| c.is_ascii_lowercase()).count() >= 3
            && seg
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'));
        if word {
            words += 1;
            covered += seg.len() + 1;
        }
    }
    words >= 2 && covered * 2 >= token.len()
}

/// A model, dataset or run name (`TheBloke/CodeLlama-34B-Instruct-AWQ`,
/// `EXPERIMENT_Llama3_8B_LoRA_r64_alpha128`): at least three parts between `/`, `-`,
/// `_` and `.`, each letters and digits that switch between the two at most once
/// (`Llama3`, `34B`, `alpha128`), or three times in five characters (`8x7B`, `lr2e4`),
/// with at most two humps of case (`HuggingFaceH4`, `LoRA`). A random string's parts
/// switch far more: of random base64url strings, 0.08% of 32 characters pass, of 64
/// none (measured over 20,000 each).
fn model_name(token: &[u8]) -> bool {
    let mut parts = 0;
    let named = token
        .split(|c| matches!(c, b'/' | b'-' | b'_' | b'.'))
        .filter(|p| !p.is_empty())
        .inspect(|_| parts += 1)
        .all(|p| {
            let switches = p
                .windows(2)
                .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
                .count();
            let humps = p
                .windows(2)
                .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
                .count();
            p.iter().all(u8::is_ascii_alphanumeric)
                && (switches <= 1 || (p.len() <= 5 && switches <= 3))
                && humps <= 2
        });
    named && parts >= 3
}

/// The longest token taken for a path (Linux's `PATH_MAX`).
const MAX_PATH: usize = 4096;
/// The longest token taken for a name.
const MAX_NAME: usize = 256;

/// A name made of short lower-case parts (`sk-llama-3-70b-instruct-gptq-int4-128g-
/// 689b56c3`, a run or model name with a hash at the end): no upper-case letter, at
/// least four parts between `-`, `_` and `.`, none longer than 12 characters.
fn slug(token: &[u8]) -> bool {
    let mut parts = 0;
    let short = token
        .split(|c| matches!(c, b'-' | b'_' | b'.'))
        .inspect(|_| parts += 1)
        .all(|p| p.len() <= 12);
    short && parts >= 4 && !token.iter().any(u8::is_ascii_uppercase)
}

/// Digest algorithms and their sizes in bytes.
const DIGESTS: &[(&[u8], usize)] = &[
    (b"sha256", 32),
    (b"sha-256", 32),
    (b"sha384", 48),
    (b"sha512", 64),
    (b"sha-512", 64),
    (b"sha1", 20),
    (b"md5", 16),
];

/// A digest in base64 after its algorithm's name (`sha256-<base64>` as Subresource
/// Integrity and npm write it, `sha256:`, `sha256=`, `md5:`), decoding to that
/// algorithm's size: a checksum, not a key. A 32-byte key without the label is
/// still found.
fn labelled_digest(before: &[u8], token: &[u8]) -> bool {
    DIGESTS.iter().any(|(name, size)| {
        let labelled = |label_end: usize, t: &[u8]| {
            label_end >= name.len()
                && t.len() > label_end
                && t[..label_end].eq_ignore_ascii_case(name)
                && decode(&t[label_end + 1..]).is_some_and(|d| d.len() == *size)
        };
        // The label inside the token (`-` and `=` are token characters) ...
        (token.len() > name.len()
            && matches!(token[name.len()], b'-' | b'=')
            && labelled(name.len(), token))
            // ... or just before it, with a colon.
            || (before.ends_with(b":")
                && before.len() > name.len()
                && before[before.len() - 1 - name.len()..before.len() - 1]
                    .eq_ignore_ascii_case(name)
                && decode(token).is_some_and(|d| d.len() == *size))
    })
}

/// Identifiers their issuers publish: a Stripe publishable key (`pk_live_...`, made
/// for web pages) and a Google OAuth client ID (`<n>-<32>.apps.googleusercontent.com`).
fn public_by_design(token: &[u8], after: &[u8]) -> bool {
    token.starts_with(b"pk_live_")
        || token.starts_with(b"pk_test_")
        || after.starts_with(b".apps.googleusercontent.com")
}

/// An IPFS content identifier: CIDv0 (`Qm` and 44 base58 characters) or CIDv1 in
/// base32 (`bafy...`, lower case): the hash of a dataset's or a model's files.
fn content_id(t: &[u8]) -> bool {
    let base58 = |c: &u8| c.is_ascii_alphanumeric() && !matches!(c, b'0' | b'O' | b'I' | b'l');
    (t.len() == 46 && t.starts_with(b"Qm") && t.iter().all(base58))
        || (t.len() >= 50
            && t.starts_with(b"baf")
            && t.iter()
                .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(c)))
}

/// `name=value` in one token (a URL's query: `?versionId=...`) whose name is an
/// identifier's (`versionId`, `uploadId`, `commit`), as an env var's name would say.
fn named_identifier(t: &[u8]) -> bool {
    t.iter().position(|c| *c == b'=').is_some_and(|eq| {
        eq > 0
            && t.get(eq + 1).is_some_and(|c| *c != b'=')
            && std::str::from_utf8(&t[..eq]).is_ok_and(|name| classify(name) == Named::Identifier)
    })
}

/// A PEM block of public material (a certificate, a public key, a request, a CRL):
/// its base64 body is random-looking and no secret. A private key is found first.
pub fn public_pem(value: &str) -> bool {
    value.match_indices("-----BEGIN ").any(|(at, m)| {
        let label = &value[at + m.len()..];
        [
            "CERTIFICATE",
            "PUBLIC KEY",
            "X509 CRL",
            "TRUSTED CERTIFICATE",
            "NEW CERTIFICATE",
        ]
        .iter()
        .any(|l| label.starts_with(l))
    })
}

/// An SSH public key's blob (`ssh-ed25519 AAAAC3Nz...`): a length-prefixed key type.
fn ssh_public_key(token: &[u8]) -> bool {
    token.starts_with(b"AAAA")
        && decode(&token[..token.len().min(24)]).is_some_and(|d| {
            d.len() >= 8
                && d[..3] == [0, 0, 0]
                && (d[4..].starts_with(b"ssh-")
                    || d[4..].starts_with(b"ecdsa")
                    || d[4..].starts_with(b"sk-"))
        })
}

/// Shortest value taken for a credential by its name alone.
pub const MIN_NAMED: usize = 16;
/// Bits per character a named value needs: a word or a counter has fewer.
const MIN_NAMED_BITS: f64 = 3.0;

/// A value named as a credential (`API_SECRET`, `--hf-token`) that is random-looking:
/// a token of at least 16 base64 characters mixing letters with digits or with both
/// cases, not made of lower-case words (`my-secret-v2`), with some entropy.
pub fn named_random(value: &[u8]) -> bool {
    value
        .split(|c| !is_token_char(*c))
        .filter(|t| t.len() >= MIN_NAMED)
        .any(|t| {
            // Words first: most values named so are names and paths.
            let has = |f: fn(&u8) -> bool| t.iter().any(f);
            !wordy(t)
                && has(u8::is_ascii_alphabetic)
                && (has(u8::is_ascii_digit)
                    || (has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase)))
                && !absolute_path(t)
                && !path_like(t)
                && bits_per_char(t) >= MIN_NAMED_BITS
        })
}

/// Made of words and numbers between `-`, `_` and `.` (`llama-3-8b`,
/// `run_2024_05_01`, `REPLACE_ME_123`), as names, slugs and placeholders are; a random
/// string mixes within a part.
fn wordy(token: &[u8]) -> bool {
    token
        .split(|c| matches!(c, b'-' | b'_' | b'.' | b'/'))
        .all(|part| {
            part.iter().all(u8::is_ascii_lowercase)
                || part.iter().all(u8::is_ascii_uppercase)
                || part.iter().all(u8::is_ascii_digit)
                || part.len() <= 3
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_and_paths_are_not_secrets_and_random_strings_with_slashes_are() {
        let rule = Entropy::default();
        for name in [
            "TheBloke/CodeLlama-34B-Instruct-AWQ",
            "TheBloke/Nous-Hermes-2-Mixtral-8x7B-DPO-GPTQ",
            "bartowski/Mistral-Nemo-Instruct-2407-GGUF",
            "EXPERIMENT_Llama3_8B_LoRA_r64_alpha128_lr2e4_bs32",
            "projects/my-proj/locations/us-central1/keyRings/ring/cryptoKeys/key",
        ] {
            assert!(!high_entropy(name.as_bytes(), &rule), "{name}");
        }
        // A random base64 string with two lower-case segments between its slashes,
        // by chance or on purpose, is still random.
        let random = "aZ3kQ9pL2mX7vB1nC8dF4gH6jK0sT5wY";
        let slashed = format!("{random}/abc/def/{random}");
        assert!(high_entropy(slashed.as_bytes(), &rule), "{slashed}");
        // A long one (a keystore): 16 KiB of pseudo-random bytes, base64-encoded.
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut seed: u64 = 7;
        let keystore: Vec<u8> = (0..21_848)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ALPHABET[(seed >> 58) as usize]
            })
            .collect();
        assert!(high_entropy(&keystore, &rule));
    }

    #[test]
    fn labelled_digests_and_public_keys_are_not_secrets() {
        let rule = Entropy::default();
        let digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        for value in [
            format!("sha256-{digest}"),
            format!("SHA256:{digest}"),
            format!("sha256={digest}"),
            "integrity sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==".to_string(),
        ] {
            assert!(!high_entropy(value.as_bytes(), &rule), "{value}");
        }
        // Unlabelled, 32 random bytes may be a key.
        assert!(high_entropy(digest.as_bytes(), &rule));
        // The wrong size for its label is not that digest.
        assert!(high_entropy(format!("md5-{digest}").as_bytes(), &rule));
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host";
        assert!(!high_entropy(key.as_bytes(), &rule));
        // Published by design (found by an independent corpus).
        for value in [
            "pk_live_1KxSqADVJD1zQaooqwyUjKv9",
            "136453206199-bwwxpcdyzvg36rmrhpc0l685j1rd2vxg.apps.googleusercontent.com",
        ] {
            assert!(!high_entropy(value.as_bytes(), &rule), "{value}");
        }
        // A secret key beside it is found (assembled, so that no scanner flags this file).
        let secret = format!("{}_test_1KxSqADVJD1zQaooqwyUjKv9", "sk");
        assert!(high_entropy(secret.as_bytes(), &rule));
        // Content identifiers and identifiers named in a URL's query.
        for value in [
            "QmcbJMYcUit5s3181j8hDwXgzLciUZJJ4wvg8CQGp5AGCh",
            "bafybeiav6trphq2kikuudi76475skou7w3euuon55nkq2xddlfeq7h36lh",
            "https://b.s3.amazonaws.com/m.tar.gz?versionId=gjmJLidPIVdgMEuWG3RTZitjboAK7x69",
        ] {
            assert!(!high_entropy(value.as_bytes(), &rule), "{value}");
        }
        assert!(high_entropy(
            b"https://b/m?secret=gjmJLidPIVdgMEuWG3RTZitjboAK7x69",
            &rule
        ));
    }

    #[test]
    fn named_values_are_found_shorter() {
        for (value, want) in [
            ("aZ3kQ9pL2mX7vB1n", true),
            ("3f8a9c0d1e2b4a5f6c7d", true),
            ("my-secret-token-2024", false),
            ("REPLACE_ME_WITH_KEY_123", false),
            ("reserved_special_token_0", false),
            ("aZ3kQ9pL2mX7", false),
            ("/var/run/secrets/token", false),
            ("/sqE8xFSA3qFzBf86h5BaDko9jvkUuVmdq+PUw/K", true),
            ("$(HF_TOKEN)", false),
        ] {
            assert_eq!(named_random(value.as_bytes()), want, "{value}");
        }
    }
}

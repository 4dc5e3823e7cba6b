//! The gateway's own serving certificate (`--tls-secret`): a CA and a certificate for
//! the Service's DNS names (or the `--webhook-url` host) made with rcgen, kept in one
//! `kubernetes.io/tls` Secret all replicas share, and rotated before expiry without a
//! failed request. What the Secret holds:
//!
//! | key | what |
//! |---|---|
//! | `tls.crt`, `tls.key` | the certificate every replica serves |
//! | `ca.crt` | the CAs the webhooks trust (`caBundle`): one, or two during a rotation |
//! | `next.crt`, `next.key` | during a rotation: the certificate served next |
//!
//! A rotation (by the leader, `manage`) goes: **begin** (a new CA and certificate as
//! `next`, the new CA added to `ca.crt`; the webhooks get both CAs), **switch** (once
//! the webhooks carry both and `overlap` has passed: `next` becomes what is served),
//! **finish** (after `overlap` more, when every replica serves the new certificate:
//! the old CA leaves `ca.crt` and the webhooks). At every moment the API server trusts
//! whatever any replica serves. No CA key is kept: each rotation makes a new CA.
//! This module decides; `manage` reads and writes. Keys are never logged or shown.

use anyhow::{Result, anyhow};
use base64::Engine;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub const CERT: &str = "tls.crt";
pub const KEY: &str = "tls.key";
pub const BUNDLE: &str = "ca.crt";
pub const NEXT_CERT: &str = "next.crt";
pub const NEXT_KEY: &str = "next.key";
/// When the Secret's current phase began (Unix seconds): the overlap counts from it.
pub const SINCE: &str = "secrets.policy.run.ai/phase-since";
/// The label that says the gateway made the Secret: one without it is never changed.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = crate::kube_write::FIELD_MANAGER;
/// After an urgent begin, the switch waits this long (at most the overlap).
const URGENT_SWITCH: u64 = 10;
/// Clocks of replicas and the API server may disagree this much.
const SKEW: u64 = 60;

/// How long certificates live and how long each rotation phase lasts.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// A new CA and certificate are valid this long.
    pub validity: Duration,
    /// Each phase of a rotation lasts at least this long: longer than replicas take to
    /// read the Secret again and the API server to see new webhook configurations.
    pub overlap: Duration,
}

impl Lifetimes {
    /// A rotation begins when this much of the certificate's life has passed.
    fn rotate_at(&self, pair: &Pair) -> u64 {
        pair.not_before + (pair.not_after.saturating_sub(pair.not_before)) * 2 / 3
    }

    /// Two phases of rotation must fit in the last third of a certificate's life.
    pub fn check(&self) -> Result<()> {
        if self.overlap.is_zero() || self.overlap * 6 > self.validity {
            return Err(anyhow!(
                "certificate validity {} s and rotation overlap {} s: the overlap must be more than 0 and at most a sixth of the validity",
                self.validity.as_secs(),
                self.overlap.as_secs()
            ));
        }
        Ok(())
    }
}

/// A certificate (chain) and its key, as served.
#[derive(Clone)]
pub struct Pair {
    pub cert_pem: String,
    key_pem: String,
    pub key: Arc<CertifiedKey>,
    pub not_before: u64,
    pub not_after: u64,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Pair {
    /// Parses a PEM chain and key; the key must fit the certificate.
    pub fn parse(cert_pem: &str, key_pem: &str) -> Result<Pair, Problem> {
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Problem::NotACertificate("not PEM certificates".into()))?;
        let leaf = chain
            .first()
            .ok_or_else(|| Problem::NotACertificate("no PEM `CERTIFICATE` block".into()))?;
        let (not_before, not_after) = validity(leaf)
            .map_err(|e| Problem::NotACertificate(format!("not an X.509 certificate: {e}")))?;
        // The key's own parse error could quote key material: say only what was expected.
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| Problem::NotACertificate("no PEM private key".into()))?;
        let certified =
            CertifiedKey::from_der(chain, key, &provider()).map_err(|_| Problem::KeyMismatch)?;
        Ok(Pair {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            key: Arc::new(certified),
            not_before,
            not_after,
        })
    }
}

/// What is wrong with a Secret in the TLS Secret's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not made by the gateway (no `app.kubernetes.io/managed-by` label of its own).
    Foreign,
    NotACertificate(String),
    KeyMismatch,
    Expired(String),
    WrongNames(String),
    Untrusted(String),
}

impl Problem {
    /// A fixed word for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Problem::Foreign => "foreign-secret",
            Problem::NotACertificate(_) => "not-a-certificate",
            Problem::KeyMismatch => "key-mismatch",
            Problem::Expired(_) => "expired",
            Problem::WrongNames(_) => "wrong-names",
            Problem::Untrusted(_) => "untrusted",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Problem::Foreign => write!(
                f,
                "the Secret was not made by the gateway (no `{MANAGED_BY}: {MANAGER}` label): it is never changed; delete it or give --tls-secret another name"
            ),
            Problem::NotACertificate(why) => write!(f, "not a certificate and key: {why}"),
            Problem::KeyMismatch => write!(f, "the key is not the certificate's private key"),
            Problem::Expired(why) | Problem::WrongNames(why) | Problem::Untrusted(why) => {
                f.write_str(why)
            }
        }
    }
}

/// What the Secret holds, parsed.
#[derive(Debug, Clone)]
pub struct Stored {
    /// What replicas serve; `Err` when it does not parse.
    pub serving: Result<Pair, Problem>,
    /// During a rotation: served next.
    pub next: Option<Result<Pair, Problem>>,
    /// The CAs the webhooks trust, parsed; those that do not parse are left out.
    pub bundle: Vec<CertificateDer<'static>>,
    pub since: u64,
    /// The Secret as read, for a compare-and-swap update.
    pub object: Value,
}

impl Stored {
    /// `ca.crt` as PEM: what the webhooks' `caBundle` carries.
    pub fn bundle_pem(&self) -> String {
        self.bundle.iter().map(pem_certificate).collect()
    }
}

fn pem_certificate(der: &CertificateDer<'_>) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A data key of the Secret as text; `None` when absent.
fn data(secret: &Value, key: &str) -> Result<Option<String>, Problem> {
    let Some(encoded) = secret["data"].get(key) else {
        return Ok(None);
    };
    let encoded = encoded
        .as_str()
        .ok_or_else(|| Problem::NotACertificate(format!("`data.{key}` is not a string")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Problem::NotACertificate(format!("`data.{key}` is not base64")))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Problem::NotACertificate(format!("`data.{key}` is not PEM text")))
}

/// Reads a Secret from the API server. A Secret the gateway did not make is `Foreign`;
/// one of its own whose keys do not parse still reads (the leader replaces it).
pub fn read(secret: &Value) -> Result<Stored, Problem> {
    if secret["metadata"]["labels"][MANAGED_BY].as_str() != Some(MANAGER) {
        return Err(Problem::Foreign);
    }
    let pair = |cert: &str, key: &str| -> Option<Result<Pair, Problem>> {
        match (data(secret, cert), data(secret, key)) {
            (Ok(None), Ok(None)) => None,
            (Ok(Some(c)), Ok(Some(k))) => Some(Pair::parse(&c, &k)),
            (Err(e), _) | (_, Err(e)) => Some(Err(e)),
            _ => Some(Err(Problem::NotACertificate(format!(
                "`{cert}` and `{key}` go together"
            )))),
        }
    };
    let serving = pair(CERT, KEY)
        .unwrap_or_else(|| Err(Problem::NotACertificate(format!("no `{CERT}` and `{KEY}`"))));
    let next = pair(NEXT_CERT, NEXT_KEY);
    let bundle = match data(secret, BUNDLE) {
        Ok(Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .filter_map(Result::ok)
            .filter(|der| validity(der).is_ok())
            .collect(),
        _ => Vec::new(),
    };
    let since = secret["metadata"]["annotations"][SINCE]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Stored {
        serving,
        next,
        bundle,
        since,
        object: secret.clone(),
    })
}

/// Whether `pair` may be served now: valid now, for `names`, chaining to a CA of
/// `bundle` that is itself valid now (the API server checks the CA's dates too).
pub fn check(
    pair: &Pair,
    bundle: &[CertificateDer<'static>],
    names: &[String],
    now: u64,
) -> Result<(), Problem> {
    if now < pair.not_before {
        return Err(Problem::Expired(format!(
            "the certificate is not valid before {} (now {now}, Unix seconds)",
            pair.not_before
        )));
    }
    if now >= pair.not_after {
        return Err(Problem::Expired(format!(
            "the certificate expired at {} (now {now}, Unix seconds)",
            pair.not_after
        )));
    }
    let issuers = issuers(pair, bundle, names, now)?;
    if issuers.is_empty() {
        return Err(Problem::Untrusted(format!(
            "the certificate is not signed by any of the {} CA(s) in `{BUNDLE}`",
            bundle.len()
        )));
    }
    let valid = issuers
        .iter()
        .filter_map(|ca| validity(ca).ok())
        .any(|(from, until)| now >= from && now < until);
    if !valid {
        let until = issuers
            .iter()
            .filter_map(|ca| validity(ca).ok())
            .map(|(_, u)| u)
            .max();
        return Err(Problem::Expired(format!(
            "the CA that signed the certificate is not valid now (it expires at {}, now {now}, Unix seconds)",
            until.unwrap_or(0)
        )));
    }
    Ok(())
}

/// The CAs of `bundle` that `pair` chains to for the first of `names` (and is valid
/// for every name).
fn issuers(
    pair: &Pair,
    bundle: &[CertificateDer<'static>],
    names: &[String],
    now: u64,
) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let mut found = Vec::new();
    let leaf = &pair.key.cert[0];
    let intermediates = &pair.key.cert[1..];
    for ca in bundle {
        let mut roots = rustls::RootCertStore::empty();
        if roots.add(ca.clone()).is_err() {
            continue;
        }
        let Ok(verifier) = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build() else {
            continue;
        };
        let mut all = true;
        for name in names {
            let server = ServerName::try_from(name.as_str())
                .map_err(|_| {
                    Problem::WrongNames(format!(
                        "`{}` is not a host name",
                        crate::text::shown(name)
                    ))
                })?
                .to_owned();
            let at = UnixTime::since_unix_epoch(Duration::from_secs(now));
            match verifier.verify_server_cert(leaf, intermediates, &server, &[], at) {
                Ok(_) => {}
                Err(rustls::Error::InvalidCertificate(e)) if not_for_name(&e) => {
                    return Err(Problem::WrongNames(format!(
                        "the certificate is not for `{}`",
                        crate::text::shown(name)
                    )));
                }
                Err(_) => all = false,
            }
        }
        if all {
            found.push(ca.clone());
        }
    }
    Ok(found)
}

fn not_for_name(e: &rustls::CertificateError) -> bool {
    matches!(
        e,
        rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. }
    )
}

/// What the leader does next with the Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Keep,
    /// A new CA and certificate as `next`, the new CA added to the bundle. `urgent`
    /// when what is served cannot be (expired, corrupt, for other names): the switch
    /// then waits for the webhooks only, not for the overlap.
    Begin {
        urgent: bool,
        why: String,
    },
    /// `next` becomes what is served.
    Switch,
    /// The CAs that did not sign what is served leave the bundle.
    Finish,
}

/// The leader's next step for a Secret of its own. `bundle_registered`: the webhooks
/// carry the Secret's bundle (always true when the gateway does not register them).
pub fn plan(
    stored: &Stored,
    names: &[String],
    now: u64,
    lifetimes: &Lifetimes,
    bundle_registered: bool,
) -> Step {
    let overlap = lifetimes.overlap.as_secs();
    let phase_over = now >= stored.since.saturating_add(overlap);
    if let Some(next) = &stored.next {
        return match next {
            Ok(pair) => match check(pair, &stored.bundle, names, now) {
                Ok(()) if bundle_registered && phase_over => Step::Switch,
                Ok(()) => Step::Keep,
                Err(p) => Step::Begin {
                    urgent: true,
                    why: format!("the next certificate: {p}"),
                },
            },
            Err(p) => Step::Begin {
                urgent: true,
                why: format!("the next certificate: {p}"),
            },
        };
    }
    let serving = match &stored.serving {
        Ok(pair) => pair,
        Err(p) => {
            return Step::Begin {
                urgent: true,
                why: p.to_string(),
            };
        }
    };
    if let Err(p) = check(serving, &stored.bundle, names, now) {
        return Step::Begin {
            urgent: true,
            why: p.to_string(),
        };
    }
    if stored.bundle.len() > 1 {
        return if phase_over { Step::Finish } else { Step::Keep };
    }
    if now >= lifetimes.rotate_at(serving) {
        return Step::Begin {
            urgent: false,
            why: format!(
                "two thirds of the certificate's life have passed (it expires at {}, Unix seconds)",
                serving.not_after
            ),
        };
    }
    Step::Keep
}

/// A new CA and a certificate it signed for `names`, valid from `now` for `validity`
/// (and a minute before, for clocks behind ours): (CA PEM, certificate and key).
pub fn issue(names: &[String], now: u64, validity: Duration) -> Result<(String, Pair)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    // Lifetimes of seconds (tests) get a smaller allowance.
    let skew = SKEW.min(validity.as_secs() / 10);
    let from = time::OffsetDateTime::from_unix_timestamp(now.saturating_sub(skew) as i64)?;
    let until =
        time::OffsetDateTime::from_unix_timestamp(now.saturating_add(validity.as_secs()) as i64)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("runai-secrets-gateway-ca-{now}"),
    );
    ca.not_before = from;
    ca.not_after = until;
    let ca_key = KeyPair::generate()?;
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = from;
    leaf.not_after = until;
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    let pair = Pair::parse(&cert.pem(), &key.serialize_pem())
        .map_err(|p| anyhow!("a certificate just made does not read back: {p}"))?;
    Ok((ca_pem, pair))
}

fn encode(text: &str) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(text))
}

/// The Secret holding `serving`, `next` and `bundle`, based on `base` (the Secret as
/// read, so the update is a compare-and-swap on its `resourceVersion`) or new.
pub fn secret(
    namespace: &str,
    name: &str,
    base: Option<&Value>,
    serving: Option<&Pair>,
    next: Option<&Pair>,
    bundle_pem: &str,
    since: u64,
) -> Value {
    let mut object = base.cloned().unwrap_or_else(|| {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
        })
    });
    object["type"] = "kubernetes.io/tls".into();
    let metadata = &mut object["metadata"];
    if let Some(map) = metadata.as_object_mut() {
        map.remove("managedFields");
    }
    metadata["labels"][MANAGED_BY] = MANAGER.into();
    metadata["annotations"][SINCE] = since.to_string().into();
    let mut data = json!({ BUNDLE: encode(bundle_pem) });
    match serving {
        Some(serving) => {
            data[CERT] = encode(&serving.cert_pem);
            data[KEY] = encode(&serving.key_pem);
        }
        // What is served stays as it is, even broken: a replica keeps its last good
        // certificate until the switch.
        None => {
            for key in [CERT, KEY] {
                data[key] = object["data"][key].clone();
            }
        }
    }
    if let Some(next) = next {
        data[NEXT_CERT] = encode(&next.cert_pem);
        data[NEXT_KEY] = encode(&next.key_pem);
    }
    object["data"] = data;
    object
}

/// The Secret after `step`, or `None` when there is nothing to write. `Begin` makes a
/// new CA and certificate; `registered` are the CAs the webhooks trust now (replicas
/// may still serve what they sign, whatever the Secret holds now).
pub fn after(
    step: &Step,
    stored: &Stored,
    registered: &[CertificateDer<'static>],
    names: &[String],
    now: u64,
    lifetimes: &Lifetimes,
    (namespace, name): (&str, &str),
) -> Result<Option<Value>> {
    let base = Some(&stored.object);
    Ok(match step {
        Step::Keep => None,
        Step::Begin { urgent, .. } => {
            let (ca_pem, next) = issue(names, now, lifetimes.validity)?;
            // The CAs that may still sign something served (those of the bundle and
            // those the webhooks trust, while valid), and the new one.
            let mut kept: Vec<&CertificateDer<'static>> = Vec::new();
            for ca in stored.bundle.iter().chain(registered) {
                if validity(ca).is_ok_and(|(from, until)| from <= now && until > now)
                    && !kept.contains(&ca)
                {
                    kept.push(ca);
                }
            }
            let mut bundle: String = kept.into_iter().map(pem_certificate).collect();
            bundle.push_str(&ca_pem);
            // What is served stays, even broken, until the webhooks trust the new CA
            // (replicas keep their last good certificate meanwhile); with nothing
            // there at all, the new one goes there too (the Secret's type needs both).
            let present = [CERT, KEY]
                .iter()
                .all(|k| stored.object["data"][*k].is_string());
            let serving = match stored.serving.as_ref() {
                Ok(pair) => Some(pair),
                Err(_) if present => None,
                Err(_) => Some(&next),
            };
            // What is served cannot be served much longer: switch as soon as the API
            // server has had time to see the new CA (its webhook informer takes about
            // a second), not after a whole overlap.
            let overlap = lifetimes.overlap.as_secs();
            let since = if *urgent {
                now.saturating_sub(overlap) + overlap.min(URGENT_SWITCH)
            } else {
                now
            };
            Some(secret(
                namespace,
                name,
                base,
                serving,
                Some(&next),
                &bundle,
                since,
            ))
        }
        Step::Switch => {
            let Some(Ok(next)) = &stored.next else {
                return Ok(None);
            };
            Some(secret(
                namespace,
                name,
                base,
                Some(next),
                None,
                &stored.bundle_pem(),
                now,
            ))
        }
        Step::Finish => {
            let Ok(serving) = &stored.serving else {
                return Ok(None);
            };
            let kept: String = issuers(serving, &stored.bundle, names, now)
                .unwrap_or_default()
                .iter()
                .map(pem_certificate)
                .collect();
            if kept.is_empty() {
                return Ok(None);
            }
            Some(secret(
                namespace,
                name,
                base,
                Some(serving),
                None,
                &kept,
                now,
            ))
        }
    })
}

/// A certificate's validity (notBefore, notAfter) in Unix seconds, read from its DER
/// (Certificate → TBSCertificate → [version], serial, signature, issuer, validity).
pub fn validity(der: &[u8]) -> Result<(u64, u64), &'static str> {
    let (certificate, _) = element(der, 0x30)?;
    let (mut tbs, _) = element(certificate, 0x30)?;
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs, 0xa0)?.1;
    }
    let (_, rest) = element(tbs, 0x02)?; // serialNumber
    let (_, rest) = element(rest, 0x30)?; // signature
    let (_, rest) = element(rest, 0x30)?; // issuer
    let (validity, _) = element(rest, 0x30)?;
    let (from, rest) = time_element(validity)?;
    let (until, _) = time_element(rest)?;
    Ok((from, until))
}

/// One DER element of `tag`: its content and what follows it.
fn element(der: &[u8], tag: u8) -> Result<(&[u8], &[u8]), &'static str> {
    let (&found, rest) = der.split_first().ok_or("truncated")?;
    if found != tag {
        return Err("unexpected DER tag");
    }
    let (&first, rest) = rest.split_first().ok_or("truncated")?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let bytes = (first & 0x7f) as usize;
        if bytes == 0 || bytes > 4 || rest.len() < bytes {
            return Err("bad DER length");
        }
        let length = rest[..bytes]
            .iter()
            .fold(0usize, |n, b| n << 8 | *b as usize);
        (length, &rest[bytes..])
    };
    if rest.len() < length {
        return Err("truncated");
    }
    Ok(rest.split_at(length))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) in Unix seconds.
fn time_element(der: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    let (tag, years) = match der.first() {
        Some(0x17) => (0x17, 2),
        Some(0x18) => (0x18, 4),
        _ => return Err("expected a time"),
    };
    let (text, rest) = element(der, tag)?;
    if text.len() != years + 11
        || text[years + 10] != b'Z'
        || !text[..years + 10].iter().all(u8::is_ascii_digit)
    {
        return Err("bad time");
    }
    let number = |at: usize, len: usize| -> i64 {
        text[at..at + len]
            .iter()
            .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'))
    };
    let mut year = number(0, years);
    if years == 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    let (month, day) = (number(years, 2), number(years + 2, 2));
    let (hour, minute, second) = (
        number(years + 4, 2),
        number(years + 6, 2),
        number(years + 8, 2),
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("bad time");
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok((seconds.max(0) as u64, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn names() -> Vec<String> {
        vec![
            "gw.ns.svc".to_string(),
            "gw.ns.svc.cluster.local".to_string(),
        ]
    }

    fn lifetimes() -> Lifetimes {
        Lifetimes {
            validity: Duration::from_secs(90 * DAY),
            overlap: Duration::from_secs(600),
        }
    }

    fn stored(serving: &Pair, next: Option<&Pair>, bundle: &str, since: u64) -> Stored {
        let object = secret("ns", "gw-tls", None, Some(serving), next, bundle, since);
        read(&object).unwrap()
    }

    #[test]
    fn validity_is_read_from_the_certificate() {
        let now = 1_800_000_000;
        let (ca, pair) = issue(&names(), now, Duration::from_secs(3 * DAY)).unwrap();
        assert_eq!(
            (pair.not_before, pair.not_after),
            (now - SKEW, now + 3 * DAY)
        );
        let ca = CertificateDer::from_pem_slice(ca.as_bytes()).unwrap();
        assert_eq!(validity(&ca).unwrap(), (now - SKEW, now + 3 * DAY));
        // A GeneralizedTime past 2049, and garbage.
        assert_eq!(
            time_element(b"\x18\x0f20500101000000Z").unwrap().0,
            2_524_608_000
        );
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\x01",
            b"\x17\x0d99133100000Z",
            b"\x02\x01\x00",
        ] {
            assert!(validity(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_rotation_goes_begin_switch_finish_and_the_bundle_trusts_what_is_served() {
        let l = lifetimes();
        let t0 = 1_800_000_000;
        let (ca, first) = issue(&names(), t0, l.validity).unwrap();
        let s = stored(&first, None, &ca, t0);
        assert!(check(s.serving.as_ref().unwrap(), &s.bundle, &names(), t0).is_ok());
        assert_eq!(plan(&s, &names(), t0 + DAY, &l, true), Step::Keep);
        // Two thirds of 90 days: a rotation begins.
        let t1 = t0 + 60 * DAY;
        let step = plan(&s, &names(), t1, &l, true);
        assert!(
            matches!(step, Step::Begin { urgent: false, .. }),
            "{step:?}"
        );
        let begun = read(
            &after(&step, &s, &[], &names(), t1, &l, ("ns", "gw-tls"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(begun.bundle.len(), 2);
        let next = begun.next.clone().unwrap().unwrap();
        for pair in [begun.serving.as_ref().unwrap(), &next] {
            assert!(check(pair, &begun.bundle, &names(), t1).is_ok());
        }
        // Not before the webhooks carry both CAs, and not before the overlap.
        assert_eq!(plan(&begun, &names(), t1 + 1, &l, true), Step::Keep);
        assert_eq!(plan(&begun, &names(), t1 + 600, &l, false), Step::Keep);
        assert_eq!(plan(&begun, &names(), t1 + 600, &l, true), Step::Switch);
        let t2 = t1 + 600;
        let switched = read(
            &after(
                &Step::Switch,
                &begun,
                &[],
                &names(),
                t2,
                &l,
                ("ns", "gw-tls"),
            )
            .unwrap()
            .unwrap(),
        )
        .unwrap();
        assert!(switched.next.is_none());
        assert_eq!(switched.bundle.len(), 2);
        assert_eq!(switched.serving.as_ref().unwrap().cert_pem, next.cert_pem);
        assert_eq!(plan(&switched, &names(), t2 + 1, &l, true), Step::Keep);
        assert_eq!(plan(&switched, &names(), t2 + 600, &l, true), Step::Finish);
        let finished = read(
            &after(
                &Step::Finish,
                &switched,
                &[],
                &names(),
                t2 + 600,
                &l,
                ("ns", "gw-tls"),
            )
            .unwrap()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(finished.bundle.len(), 1);
        assert!(
            check(
                finished.serving.as_ref().unwrap(),
                &finished.bundle,
                &names(),
                t2 + 600
            )
            .is_ok()
        );
        // The old certificate is not trusted any more.
        assert!(check(&first, &finished.bundle, &names(), t2 + 600).is_err());
        assert_eq!(plan(&finished, &names(), t2 + 601, &l, true), Step::Keep);
    }

    #[test]
    fn what_cannot_be_served_is_replaced_at_once() {
        let l = lifetimes();
        let t0 = 1_800_000_000;
        let (ca, pair) = issue(&names(), t0, l.validity).unwrap();
        let s = stored(&pair, None, &ca, t0);
        // Expired (the CA with it).
        let late = t0 + 91 * DAY;
        let err = check(&pair, &s.bundle, &names(), late).unwrap_err();
        assert_eq!(err.reason(), "expired", "{err}");
        assert!(matches!(
            plan(&s, &names(), late, &l, true),
            Step::Begin { urgent: true, .. }
        ));
        // For other names (the Service or the URL changed).
        let other = vec!["other.ns.svc".to_string()];
        let err = check(&pair, &s.bundle, &other, t0).unwrap_err();
        assert_eq!(err.reason(), "wrong-names", "{err}");
        // Signed by a CA that is not in the bundle.
        let (other_ca, _) = issue(&names(), t0, l.validity).unwrap();
        let untrusted = stored(&pair, None, &other_ca, t0);
        let err = check(
            untrusted.serving.as_ref().unwrap(),
            &untrusted.bundle,
            &names(),
            t0,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "untrusted", "{err}");
        // An urgent begin switches once the webhooks carry the new CA and the API
        // server has had 10 s to see it, not after the 600 s overlap.
        let step = plan(&untrusted, &names(), t0, &l, true);
        let begun = read(
            &after(&step, &untrusted, &[], &names(), t0, &l, ("ns", "gw-tls"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(plan(&begun, &names(), t0 + 9, &l, true), Step::Keep);
        assert_eq!(plan(&begun, &names(), t0 + 10, &l, true), Step::Switch);
    }

    #[test]
    fn secrets_that_are_not_certificates_are_named_without_their_content() {
        let t0 = 1_800_000_000;
        let (ca, pair) = issue(&names(), t0, lifetimes().validity).unwrap();
        let good = secret("ns", "gw-tls", None, Some(&pair), None, &ca, t0);
        let mut foreign = good.clone();
        foreign["metadata"]["labels"] = json!({});
        assert_eq!(read(&foreign).unwrap_err(), Problem::Foreign);
        for (key, value, reason) in [
            (CERT, json!("hunter2"), "not-a-certificate"),
            (CERT, encode("hunter2"), "not-a-certificate"),
            (
                KEY,
                encode("-----BEGIN PRIVATE KEY-----\naHVudGVyMg==\n-----END PRIVATE KEY-----\n"),
                "key-mismatch",
            ),
            (CERT, json!(7), "not-a-certificate"),
        ] {
            let mut bad = good.clone();
            bad["data"][key] = value;
            let problem = read(&bad).unwrap().serving.unwrap_err();
            assert_eq!(problem.reason(), reason, "{key}: {problem}");
            assert!(!problem.to_string().contains("hunter2"), "{problem}");
        }
        let other = issue(&names(), t0, lifetimes().validity).unwrap().1;
        let mut mismatched = good.clone();
        mismatched["data"][KEY] = encode(&other.key_pem);
        assert_eq!(
            read(&mismatched).unwrap().serving.unwrap_err(),
            Problem::KeyMismatch
        );
        let mut no_data = good;
        no_data["data"] = json!(null);
        assert_eq!(
            read(&no_data).unwrap().serving.unwrap_err().reason(),
            "not-a-certificate"
        );
    }

    #[test]
    fn lifetimes_must_leave_room_for_a_rotation() {
        let ok = Lifetimes {
            validity: Duration::from_secs(60),
            overlap: Duration::from_secs(10),
        };
        assert!(ok.check().is_ok());
        for overlap in [0, 11] {
            let bad = Lifetimes {
                validity: Duration::from_secs(60),
                overlap: Duration::from_secs(overlap),
            };
            assert!(bad.check().is_err(), "{overlap}");
        }
    }
}

//! TLS with rustls (ring), TLS 1.2 and 1.3 only. The certificate, key and client CA
//! are read from PEM files and read again when they change (certificate rotation
//! without a restart): each new connection takes the configuration current at its
//! handshake; a rotation that does not load keeps the last good one, logged, counted
//! and shown on `/readyz`. With `--tls-secret` there are no files: `manage` installs
//! the certificate it keeps in the cluster.

use super::metrics::Metrics;
use super::reload;
use super::view::{ReloadError, now};
use anyhow::{Context, Result, anyhow};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, Clone)]
pub struct Files {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Clients must present a certificate signed by one of these (mTLS).
    pub client_ca: Option<PathBuf>,
}

impl Files {
    fn all(&self) -> Vec<PathBuf> {
        let mut files = vec![self.cert.clone(), self.key.clone()];
        files.extend(self.client_ca.clone());
        files
    }
}

pub struct Tls {
    /// `None` when the certificate is installed by `manage`.
    files: Option<Files>,
    current: RwLock<Arc<ServerConfig>>,
    last_error: Mutex<Option<ReloadError>>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A PEM file's bytes: a regular file of at most 1 MiB.
fn pem(path: &Path) -> Result<Vec<u8>> {
    crate::input::require_regular_file(path, "PEM")?;
    crate::input::read_bytes(path, crate::input::Limit::new("PEM file", 1 << 20))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{}: cannot read PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "{}: no certificate: expected PEM `CERTIFICATE` blocks",
            path.display()
        ));
    }
    Ok(certs)
}

/// Builds the server configuration from the files as they are now.
fn config(files: &Files) -> Result<ServerConfig> {
    let provider = provider();
    let certified = certified(files, &provider)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS 1.2 and 1.3 with the ring provider")?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| anyhow!("{}: not a usable CA certificate: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| anyhow!("{}: cannot verify clients with it: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    Ok(finish(
        builder.with_cert_resolver(Arc::new(Fixed(Arc::new(certified)))),
    ))
}

/// A configuration serving `key` (no client certificates).
fn installed(key: Arc<CertifiedKey>) -> Result<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS 1.2 and 1.3 with the ring provider")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(key)));
    Ok(finish(config))
}

fn finish(mut config: ServerConfig) -> ServerConfig {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

fn certified(files: &Files, provider: &Arc<CryptoProvider>) -> Result<CertifiedKey> {
    let chain = certificates(&files.cert)?;
    // The key's own parse error could quote key material: say only what was expected.
    let key = PrivateKeyDer::from_pem_slice(&pem(&files.key)?).map_err(|_| {
        anyhow!(
            "{}: cannot read a private key: expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block",
            files.key.display()
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        anyhow!(
            "{} and {}: the key does not fit the certificate: {e}",
            files.cert.display(),
            files.key.display()
        )
    })
}

#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl Tls {
    /// Reads the files; a failure here stops the gateway before it listens.
    pub fn load(files: Files) -> Result<Self> {
        let config = config(&files)?;
        Ok(Tls {
            files: Some(files),
            current: RwLock::new(Arc::new(config)),
            last_error: Mutex::new(None),
        })
    }

    /// Serves `key` until another is installed (`manage`).
    pub fn with_key(key: Arc<CertifiedKey>) -> Result<Self> {
        Ok(Tls {
            files: None,
            current: RwLock::new(Arc::new(installed(key)?)),
            last_error: Mutex::new(None),
        })
    }

    /// Serves `key` from the next handshake on.
    pub fn install(&self, key: Arc<CertifiedKey>) -> Result<()> {
        let config = Arc::new(installed(key)?);
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        tokio_rustls::TlsAcceptor::from(config)
    }

    pub fn last_error(&self) -> Option<ReloadError> {
        self.last_error.lock().map_or(None, |e| e.clone())
    }

    fn reload(&self, metrics: &Metrics) {
        let Some(files) = &self.files else { return };
        match config(files) {
            Ok(config) => {
                match self.current.write() {
                    Ok(mut current) => *current = Arc::new(config),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(config),
                }
                if let Ok(mut last) = self.last_error.lock() {
                    *last = None;
                }
                metrics.reloaded("tls", true);
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                let error = format!("{e:#}");
                metrics.reloaded("tls", false);
                tracing::error!(error = %error, "TLS certificate not reloaded: keeping the last good one");
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(ReloadError { at: now(), error });
                }
            }
        }
    }

    /// Reloads whenever the certificate, key or client CA file changes.
    pub fn watch(self: &Arc<Self>, metrics: Arc<Metrics>) {
        let tls = self.clone();
        let files = self.files.as_ref().map(Files::all).unwrap_or_default();
        reload::watch("tls", files, move || tls.reload(&metrics));
    }
}

//! HTTPS for the listener: rustls with the aws-lc-rs provider, TLS 1.2 and 1.3, HTTP/1.1 only
//! (ALPN `http/1.1`).
//!
//! [`TlsSettings`] loads the certificate chain and private key (PEM) and holds the rustls
//! configuration; [`TlsSession`] names what a finished handshake negotiated, as CloudTrail's
//! `tlsDetails` names it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerConnection;
use rustls::{CipherSuite, ProtocolVersion, ServerConfig};
use zeroize::Zeroizing;

/// How long a client has to finish the TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The one application protocol offered: hyper serves HTTP/1.1 here.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Why the TLS certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate, or a malformed PEM section.
    #[error("{what}: no usable PEM certificate ({reason})")]
    Certificate {
        /// The file (or what was given instead of one).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no private key, or a malformed PEM section.
    #[error("{what}: no usable PEM private key, PKCS#8, PKCS#1 RSA or SEC1 EC ({reason})")]
    Key {
        /// The file (or what was given instead of one).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the pair: an unsupported key type, or a key that does not belong to
    /// the first certificate.
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Rejected(rustls::Error),
}

/// Logs a warning when the private key file is readable or writable by its group or others.
fn warn_if_others_can_read(key_file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(key_file) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %key_file.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the TLS private key file is accessible to its group or others; chmod 600 it"
                );
            }
        }
    }
}

/// The listener's TLS configuration.
#[derive(Clone)]
pub struct TlsSettings {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
    max_handshakes: usize,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_handshakes", &self.max_handshakes)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Loads the certificate chain (leaf first) and its private key from PEM files.
    ///
    /// # Errors
    /// [`TlsError`] if a file cannot be read or parsed, or the key does not fit the
    /// certificate.
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map(Zeroizing::new)
                .map_err(|source| TlsError::Read { path: path.display().to_string(), source })
        };
        let (cert_pem, key_pem) = (read(cert_file)?, read(key_file)?);
        warn_if_others_can_read(key_file);
        Self::build(
            &cert_pem,
            &key_pem,
            &cert_file.display().to_string(),
            &key_file.display().to_string(),
        )
    }

    /// [`TlsSettings::from_pem_files`] from PEM text in memory.
    ///
    /// # Errors
    /// As [`TlsSettings::from_pem_files`].
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        Self::build(cert_pem, key_pem, "the certificate", "the private key")
    }

    /// The same settings with another handshake time limit (default [`HANDSHAKE_TIMEOUT`]).
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long a client has to finish the handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The same settings with another cap on handshakes in progress at once (default
    /// [`crate::listener::MAX_HANDSHAKES_IN_PROGRESS`]; at least 1).
    #[must_use]
    pub fn with_max_handshakes(mut self, max: usize) -> Self {
        self.max_handshakes = max.max(1);
        self
    }

    /// How many handshakes may be in progress at once.
    pub fn max_handshakes(&self) -> usize {
        self.max_handshakes
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    fn build(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_name: &str,
        key_name: &str,
    ) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate { what: cert_name.into(), reason: e.to_string() })?;
        if chain.is_empty() {
            return Err(TlsError::Certificate {
                what: cert_name.into(),
                reason: "no CERTIFICATE section".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| TlsError::Key { what: key_name.into(), reason: e.to_string() })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Rejected)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Rejected)?;
        config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        Ok(Self {
            config: Arc::new(config),
            handshake_timeout: HANDSHAKE_TIMEOUT,
            max_handshakes: crate::listener::MAX_HANDSHAKES_IN_PROGRESS,
        })
    }
}

/// What a TLS handshake negotiated, named as CloudTrail's `tlsDetails` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsSession {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: &'static str,
    /// The cipher suite: OpenSSL's name, as CloudTrail writes it (`ECDHE-RSA-AES256-GCM-SHA384`
    /// for TLS 1.2, `TLS_AES_256_GCM_SHA384` for TLS 1.3).
    pub cipher_suite: &'static str,
    /// The key exchange group (IANA name, e.g. `X25519MLKEM768`), when known.
    pub key_exchange: Option<&'static str>,
}

impl TlsSession {
    /// The session of a connection whose handshake is complete.
    pub fn of(connection: &ServerConnection) -> Self {
        let version = match connection.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            // Only 1.2 and 1.3 are enabled, and the handshake is done.
            _ => "unknown",
        };
        let cipher_suite = connection
            .negotiated_cipher_suite()
            .map_or("unknown", |s| cipher_suite_name(s.suite()));
        let key_exchange =
            connection.negotiated_key_exchange_group().and_then(|group| group.name().as_str());
        Self { version, cipher_suite, key_exchange }
    }
}

/// OpenSSL's name of each suite the aws-lc-rs provider offers (TLS 1.3 suites keep their
/// RFC names there); rustls's own name for anything else.
fn cipher_suite_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "ECDHE-ECDSA-CHACHA20-POLY1305"
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        other => other.as_str().unwrap_or("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> (String, String) {
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        (cert.pem(), signing_key.serialize_pem())
    }

    #[test]
    fn loads_a_pem_chain_and_key_offering_http_1_1_only() {
        let (cert, key) = self_signed(&["localhost"]);
        let settings = TlsSettings::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(settings.config().alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert_eq!(settings.handshake_timeout(), HANDSHAKE_TIMEOUT);
        assert!(!format!("{settings:?}").contains("PRIVATE"));
    }

    #[test]
    fn refuses_missing_malformed_and_mismatched_pem() {
        let (cert, key) = self_signed(&["localhost"]);
        let (_, other_key) = self_signed(&["other"]);
        let no_cert = TlsSettings::from_pem(key.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(no_cert, TlsError::Certificate { .. }), "{no_cert}");
        let no_key = TlsSettings::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(matches!(no_key, TlsError::Key { .. }), "{no_key}");
        let truncated = &cert[..cert.len() / 2];
        let bad = TlsSettings::from_pem(truncated.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(bad, TlsError::Certificate { .. }), "{bad}");
        let mismatch = TlsSettings::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(matches!(mismatch, TlsError::Rejected(_)), "{mismatch}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.pem");
        let unread = TlsSettings::from_pem_files(&missing, &missing).unwrap_err();
        assert!(unread.to_string().contains("absent.pem"), "{unread}");
    }

    #[test]
    fn suites_take_openssl_names() {
        assert_eq!(
            cipher_suite_name(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            "ECDHE-RSA-AES256-GCM-SHA384"
        );
        assert_eq!(
            cipher_suite_name(CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        for suite in rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES {
            let name = cipher_suite_name(suite.suite());
            assert!(!name.starts_with("TLS13_") && !name.contains("_WITH_"), "{name}");
        }
    }
}

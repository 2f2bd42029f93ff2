//! Server configuration: accounts and their root credentials, from a TOML file.
//!
//! ```toml
//! [[accounts]]
//! id = "111122223333"
//! root_access_key_id = "AKIAEXAMPLE"
//! root_secret_access_key = "..."
//! ```
//!
//! With no file there is one account, `000000000000`, whose root key is `test` / `test`.
//!
//! A server serves every Region a request's credential scope names, unless the file lists
//! the Regions it serves (then requests and multi-Region replicas are limited to them):
//!
//! ```toml
//! regions = ["us-east-1", "eu-west-1"]
//! ```
//!
//! Another deployment serving other Regions can hold replicas of this one's multi-Region
//! keys (and the other way round); each peer is declared with the credentials this server
//! signs with there and the peer's replication public key (`kms-server replication-key`):
//!
//! ```toml
//! [[peers]]
//! region = "eu-central-1"
//! endpoint = "http://kms.eu.internal:7080"
//! access_key_id = "AKIA..."
//! secret_access_key = "..."
//! public_key = "base64 of the peer's 32-byte X25519 replication public key"
//! ```
//!
//! The listener serves HTTPS only when both TLS files are given (PEM: the certificate chain,
//! leaf first, and its PKCS#8, PKCS#1 RSA or SEC1 EC private key); a relative path is taken
//! from the config file's directory:
//!
//! ```toml
//! tls_cert_file = "tls/cert.pem"
//! tls_key_file = "tls/key.pem"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

/// The account used when no configuration is given.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
/// The access key id (and secret) used when no configuration is given.
pub const DEFAULT_ACCESS_KEY: &str = "test";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Regions served; empty means every valid Region name.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Declared accounts.
    pub accounts: Vec<AccountConfig>,
    /// Other deployments that hold replicas of multi-Region keys (one per Region).
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// PEM file with the listener's TLS certificate chain; with `tls_key_file`, the server
    /// serves HTTPS only.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM file with the private key of `tls_cert_file`'s first certificate.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
}

/// Another kms-server deployment, serving one Region, that replicas are sent to.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The Region the peer serves.
    pub region: String,
    /// Its KMS endpoint, `http://host:port` (no TLS: run it behind a TLS proxy across networks).
    pub endpoint: String,
    /// The access key this server signs replication requests with at the peer: the root
    /// credentials of the keys' account there (the peer accepts internal operations from
    /// account roots only, and only with this deployment's replication authenticator).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: Secret,
    /// The peer's X25519 replication public key, base64 (32 bytes).
    pub public_key: String,
}

impl fmt::Debug for PeerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerConfig")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish_non_exhaustive()
    }
}

/// One account and its root credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// 12-digit account id.
    pub id: String,
    /// The root user's access key id.
    pub root_access_key_id: String,
    /// The root user's secret access key.
    pub root_secret_access_key: Secret,
}

/// A secret string: zeroized on drop, redacted in `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret text. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("id", &self.id)
            .field("root_access_key_id", &self.root_access_key_id)
            .field("root_secret_access_key", &self.root_secret_access_key)
            .finish()
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid config file: {0}")]
    Parse(String),
    /// The content is well-formed but not acceptable.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// The configuration used when no file is given: one account with key `test` / `test`.
    pub fn default_local() -> Self {
        Self {
            regions: Vec::new(),
            peers: Vec::new(),
            tls_cert_file: None,
            tls_key_file: None,
            accounts: vec![AccountConfig {
                id: DEFAULT_ACCOUNT_ID.to_owned(),
                root_access_key_id: DEFAULT_ACCESS_KEY.to_owned(),
                root_secret_access_key: Secret::new(DEFAULT_ACCESS_KEY),
            }],
        }
    }

    /// Reads and checks a TOML file. Relative TLS file paths are taken from the file's
    /// directory.
    ///
    /// # Errors
    /// [`ConfigError`] if the file cannot be read, parsed, or declares bad accounts.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let mut config = Self::parse(&text)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for file in [&mut config.tls_cert_file, &mut config.tls_key_file].into_iter().flatten() {
            if file.is_relative() {
                *file = dir.join(&*file);
            }
        }
        Ok(config)
    }

    /// The TLS certificate chain and key files, when the listener serves HTTPS.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if only one of the two is set.
    pub fn tls_files(&self) -> Result<Option<(&Path, &Path)>, ConfigError> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid(
                "tls_cert_file is set but tls_key_file is not: HTTPS needs both".into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "tls_key_file is set but tls_cert_file is not: HTTPS needs both".into(),
            )),
        }
    }

    /// Parses and checks TOML text.
    ///
    /// # Errors
    /// [`ConfigError`] if the text is not valid or declares bad accounts.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.accounts.is_empty() {
            return Err(ConfigError::Invalid("at least one [[accounts]] table is required".into()));
        }
        self.tls_files()?;
        for region in &self.regions {
            if !is_region_name(region) {
                return Err(ConfigError::Invalid(format!(
                    "'{region}' is not a Region name (like us-east-1)"
                )));
            }
        }
        let mut peer_regions = std::collections::HashSet::new();
        for peer in &self.peers {
            if !is_region_name(&peer.region) || self.regions.contains(&peer.region) {
                return Err(ConfigError::Invalid(format!(
                    "peer Region '{}' must be a Region name this server does not serve itself",
                    peer.region
                )));
            }
            if !peer_regions.insert(peer.region.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "peer Region {} declared twice",
                    peer.region
                )));
            }
            if !peer.endpoint.starts_with("http://") {
                return Err(ConfigError::Invalid(format!(
                    "peer endpoint '{}' must be an http:// URL",
                    peer.endpoint
                )));
            }
            let key = kms_api::base64::decode(peer.public_key.trim());
            if key.map_or(true, |k| k.len() != 32) {
                return Err(ConfigError::Invalid(format!(
                    "peer {} public_key must be 32 bytes, base64",
                    peer.region
                )));
            }
        }
        let mut ids = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for account in &self.accounts {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid(format!(
                    "account id '{}' must be 12 digits",
                    account.id
                )));
            }
            if account.root_access_key_id.is_empty()
                || account.root_secret_access_key.expose_secret().is_empty()
            {
                return Err(ConfigError::Invalid(format!(
                    "account {} needs a non-empty root access key id and secret",
                    account.id
                )));
            }
            if !ids.insert(account.id.as_str()) {
                return Err(ConfigError::Invalid(format!("account {} declared twice", account.id)));
            }
            if !keys.insert(account.root_access_key_id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "access key id {} declared twice",
                    account.root_access_key_id
                )));
            }
        }
        Ok(())
    }
}

/// Whether `name` has the shape of an AWS Region name, `^([a-z]+-){2,3}\d+$`
/// (the `Region` member pattern of the KMS API).
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((last, words)) = parts.split_last() else {
        return false;
    };
    (2..=3).contains(&words.len())
        && name.len() <= 32
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accounts() {
        let config = Config::parse(
            r#"
            [[accounts]]
            id = "111122223333"
            root_access_key_id = "AKIA1"
            root_secret_access_key = "s1"

            [[accounts]]
            id = "444455556666"
            root_access_key_id = "AKIA2"
            root_secret_access_key = "s2"
            "#,
        )
        .unwrap();
        assert_eq!(config.accounts.len(), 2);
        assert_eq!(config.accounts[1].root_secret_access_key.expose_secret(), "s2");
    }

    #[test]
    fn regions_list_is_optional_and_checked() {
        let accounts = "[[accounts]]\nid = \"111122223333\"\nroot_access_key_id = \"a\"\nroot_secret_access_key = \"b\"\n";
        assert!(Config::parse(accounts).unwrap().regions.is_empty());
        let two = format!("regions = [\"us-east-1\", \"eu-west-1\"]\n{accounts}");
        assert_eq!(Config::parse(&two).unwrap().regions, ["us-east-1", "eu-west-1"]);
        let bad = format!("regions = [\"moon\"]\n{accounts}");
        assert!(matches!(Config::parse(&bad), Err(ConfigError::Invalid(_))));
        assert!(is_region_name("us-gov-west-1"));
        assert!(!is_region_name("us-east-"));
        assert!(!is_region_name("US-east-1"));
    }

    #[test]
    fn peers_are_checked() {
        let accounts = "[[accounts]]\nid = \"111122223333\"\nroot_access_key_id = \"a\"\nroot_secret_access_key = \"b\"\n";
        let peer = |region: &str, endpoint: &str, key: &str| {
            format!("{accounts}[[peers]]\nregion = \"{region}\"\nendpoint = \"{endpoint}\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\npublic_key = \"{key}\"\n")
        };
        let key = "A".repeat(43) + "=";
        let ok = Config::parse(&peer("eu-west-1", "http://127.0.0.1:1", &key)).unwrap();
        assert_eq!(ok.peers[0].region, "eu-west-1");
        assert!(!format!("{:?}", ok.peers[0]).contains("\"s\""));
        for bad in [
            peer("moon", "http://x", &key),
            peer("eu-west-1", "ftp://x", &key),
            peer("eu-west-1", "http://x", "AAAA"),
        ] {
            assert!(matches!(Config::parse(&bad), Err(ConfigError::Invalid(_))), "{bad}");
        }
        let served = format!("regions = [\"eu-west-1\"]\n{}", peer("eu-west-1", "http://x", &key));
        assert!(matches!(Config::parse(&served), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let config = Config::default_local();
        let shown = format!("{config:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains("Secret(\"test\")"));
    }

    #[test]
    fn rejects_bad_accounts() {
        let bad_id = "[[accounts]]\nid = \"12\"\nroot_access_key_id = \"a\"\nroot_secret_access_key = \"b\"\n";
        assert!(matches!(Config::parse(bad_id), Err(ConfigError::Invalid(_))));
        let dup = format!("{0}{0}", "[[accounts]]\nid = \"111122223333\"\nroot_access_key_id = \"a\"\nroot_secret_access_key = \"b\"\n");
        assert!(matches!(Config::parse(&dup), Err(ConfigError::Invalid(_))));
        assert!(matches!(Config::parse("accounts = 3"), Err(ConfigError::Parse(_))));
        assert!(matches!(Config::parse("accounts = []"), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn tls_files_come_in_pairs_and_resolve_from_the_config_directory() {
        let accounts = "[[accounts]]\nid = \"111122223333\"\nroot_access_key_id = \"a\"\nroot_secret_access_key = \"b\"\n";
        assert_eq!(Config::parse(accounts).unwrap().tls_files().unwrap(), None);
        for half in ["tls_cert_file = \"c.pem\"\n", "tls_key_file = \"k.pem\"\n"] {
            let error = Config::parse(&format!("{half}{accounts}")).unwrap_err();
            assert!(error.to_string().contains("HTTPS needs both"), "{error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        let both =
            format!("tls_cert_file = \"tls/c.pem\"\ntls_key_file = \"/etc/k.pem\"\n{accounts}");
        std::fs::write(&path, both).unwrap();
        let config = Config::load(&path).unwrap();
        let (cert, key) = config.tls_files().unwrap().unwrap();
        assert_eq!(cert, dir.path().join("tls/c.pem"));
        assert_eq!(key, Path::new("/etc/k.pem"));
    }
}

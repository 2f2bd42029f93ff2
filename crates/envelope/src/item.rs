//! DynamoDB item encryption, after the AWS Database Encryption SDK's structured encryption
//! (spec `structured-encryption/` and `dynamodb-encryption-client/`); the format and every
//! deviation from it are in `docs/item-format.md`.
//!
//! An [`ItemEncryptor`] takes items in DynamoDB JSON (`{"pk": {"S": "a"}, ...}`), asks its
//! materials manager for one data key per item, encrypts each `ENCRYPT_AND_SIGN` attribute
//! on a key of its own (the value's type kept inside the ciphertext, the attribute becoming
//! `B`), and adds two attributes: `aws_dbe_head` (format, legend of signed attributes,
//! stored encryption context, encrypted data keys, key commitment) and `aws_dbe_foot`
//! (an HMAC-SHA384 and, with the default suite, an ECDSA P-384 signature over the
//! canonical form of every signed attribute, names included). Decryption verifies the
//! commitment, the HMAC and the signature before it decrypts or returns anything.
//!
//! - [`value`]: the DynamoDB attribute model and its canonical serialisation.
//! - [`config`]: [`ItemEncryptorConfig`] and its validation.
//! - [`header`]: the header and footer attributes, written and parsed.
//! - [`context`]: the item's encryption context; `crypto`: key derivation, canonical hash,
//!   HMAC and signature.
//! - [`batch`]: many items at once, and a keyring that counts its calls.

pub mod batch;
pub mod config;
pub mod context;
mod crypto;
mod decrypt;
mod encrypt;
pub mod header;
pub mod value;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::cache::{Clock, CryptographicMaterialsCache};
use crate::cmm::caching::{CacheStats, CachingCmm};
use crate::cmm::default::DefaultCmm;
use crate::cmm::CryptographicMaterialsManager;
use crate::error::Error;
use crate::keyring::Keyring;
use crate::suite::{AlgorithmSuite, Kdf, MessageFormatVersion, SignatureAlgorithm};

pub use batch::{BatchError, BatchOutput, BatchStats, CountingKeyring, KeyringCalls};
pub use config::{CryptoAction, ItemEncryptorConfig, ItemSuite, KeyringContext, ResolvedConfig};
pub use value::{AttributeValue, Item};

/// The header attribute's name.
pub const HEADER_ATTRIBUTE: &str = "aws_dbe_head";
/// The footer attribute's name.
pub const FOOTER_ATTRIBUTE: &str = "aws_dbe_foot";
/// Attribute names with this prefix are reserved for the encryptor.
pub const RESERVED_ATTRIBUTE_PREFIX: &str = "aws_dbe_";

/// DBE suite `0x6700`: AES-256-GCM, HKDF-SHA512, key commitment, HMAC-SHA384, no ECDSA.
/// Not one of [`crate::suite::ALL_SUITES`]: it never frames an ESDK message.
pub const DBE_SYMSIG_HMAC_SHA384: AlgorithmSuite = AlgorithmSuite {
    id: 0x6700,
    name: "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384",
    message_format: MessageFormatVersion::V2,
    encryption_key_len: 32,
    kdf: Kdf::HkdfSha512,
    signature: None,
    committing: true,
};

/// DBE suite `0x6701`: as `0x6700` plus an ECDSA P-384 signature (the default).
pub const DBE_ECDSA_P384_SYMSIG_HMAC_SHA384: AlgorithmSuite = AlgorithmSuite {
    id: 0x6701,
    name: "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384",
    message_format: MessageFormatVersion::V2,
    encryption_key_len: 32,
    kdf: Kdf::HkdfSha512,
    signature: Some(SignatureAlgorithm::EcdsaP384Sha384),
    committing: true,
};

/// Why an item operation failed. No variant carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The configuration breaks a rule (which one is said).
    #[error("invalid item encryptor configuration: {0}")]
    InvalidConfig(String),
    /// The item is not valid DynamoDB JSON or does not fit the configuration.
    #[error("invalid item: {0}")]
    InvalidItem(String),
    /// The header or footer attribute, or an encrypted value, is not well formed.
    #[error("malformed encrypted item: {0}")]
    Malformed(&'static str),
    /// Verification failed: a signed attribute was changed, swapped, renamed, added or
    /// removed, the header or footer was altered, or the item was written under another
    /// configuration or key. Deliberately does not say which check failed.
    #[error(
        "item decryption failed: the item does not verify (a signed attribute was changed, \
         added, removed or renamed, or the header or footer was altered)"
    )]
    DecryptionFailed,
    /// The materials manager, keyring or KMS failed.
    #[error(transparent)]
    Envelope(#[from] Error),
}

impl ItemError {
    /// A stable code for bindings: the AWS exception name where one fits. A KMS failure
    /// keeps the code KMS (or the transport) gave, e.g. `DisabledException`.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidConfig(_) | Self::InvalidItem(_) => "ValidationException",
            Self::Malformed(_) | Self::DecryptionFailed => "InvalidCiphertextException",
            Self::Envelope(Error::DecryptionFailed | Error::Malformed(_)) => {
                "InvalidCiphertextException"
            }
            Self::Envelope(Error::NoDecryptableDataKey) => "NoDecryptableDataKeyException",
            Self::Envelope(Error::Kms(e)) => &e.code,
            Self::Envelope(_) => "MaterialsException",
        }
    }
}

/// Encrypts and decrypts DynamoDB items of one table.
pub struct ItemEncryptor {
    config: ResolvedConfig,
    cmm: Arc<dyn CryptographicMaterialsManager>,
    keyring_calls: Option<KeyringCalls>,
    caching: Option<Arc<CachingCmm>>,
}

impl fmt::Debug for ItemEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemEncryptor")
            .field("config", self.config.config())
            .field("counts_keyring_calls", &self.keyring_calls.is_some())
            .field("caching", &self.caching.is_some())
            .finish_non_exhaustive()
    }
}

impl ItemEncryptor {
    /// An encryptor that gets data keys from `cmm`. It cannot count keyring calls unless
    /// told how with [`ItemEncryptor::with_keyring_calls`].
    ///
    /// # Errors
    /// [`ItemError::InvalidConfig`] if the configuration breaks a rule.
    pub fn new(
        config: ItemEncryptorConfig,
        cmm: Arc<dyn CryptographicMaterialsManager>,
    ) -> Result<Self, ItemError> {
        Ok(Self { config: config.validate()?, cmm, keyring_calls: None, caching: None })
    }

    /// An encryptor over a default materials manager with `keyring`, counting its calls.
    ///
    /// # Errors
    /// [`ItemError::InvalidConfig`] if the configuration breaks a rule.
    // On wasm32 `dyn Keyring` is not `Send + Sync` by design (see `MaybeSendSync`).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn with_keyring(
        config: ItemEncryptorConfig,
        keyring: Arc<dyn Keyring>,
    ) -> Result<Self, ItemError> {
        let counting = CountingKeyring::new(keyring);
        let calls = counting.calls();
        let cmm = Arc::new(DefaultCmm::new(Arc::new(counting)));
        Ok(Self::new(config, cmm)?.with_keyring_calls(calls))
    }

    /// An encryptor over a caching materials manager (entries live at most `max_age` by
    /// `clock`) over a default one with `keyring`, counting the keyring's calls. With
    /// [`KeyringContext::Table`] a whole table shares data keys; with the default
    /// [`KeyringContext::Item`] only items with the same keys and context values do.
    ///
    /// # Errors
    /// [`ItemError::InvalidConfig`] if the configuration breaks a rule;
    /// [`ItemError::Envelope`] if the cache settings are out of range.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn with_caching(
        config: ItemEncryptorConfig,
        keyring: Arc<dyn Keyring>,
        cache: Arc<dyn CryptographicMaterialsCache>,
        clock: Arc<dyn Clock>,
        max_age: std::time::Duration,
    ) -> Result<Self, ItemError> {
        let counting = CountingKeyring::new(keyring);
        let calls = counting.calls();
        let caching = Arc::new(
            CachingCmm::builder_with_keyring(Arc::new(counting), cache, clock, max_age).build()?,
        );
        let mut encryptor = Self::new(config, caching.clone())?.with_keyring_calls(calls);
        encryptor.caching = Some(caching);
        Ok(encryptor)
    }

    /// Reports keyring calls from `calls` (e.g. of a [`CountingKeyring`] under `cmm`).
    #[must_use]
    pub fn with_keyring_calls(mut self, calls: KeyringCalls) -> Self {
        self.keyring_calls = Some(calls);
        self
    }

    /// The validated configuration.
    pub fn config(&self) -> &ItemEncryptorConfig {
        self.config.config()
    }

    /// Keyring calls (`OnEncrypt` plus `OnDecrypt`) so far, if they are counted. With a
    /// KMS keyring over one KMS key each call is one KMS request.
    pub fn keyring_calls(&self) -> Option<u64> {
        self.keyring_calls.as_ref().map(KeyringCalls::get)
    }

    /// The caching materials manager's counters, if this encryptor made one.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.caching.as_ref().map(|c| c.stats())
    }

    /// Encrypts one item given as DynamoDB JSON; returns the item to store.
    ///
    /// # Errors
    /// [`ItemError::InvalidItem`] if the item is not valid DynamoDB JSON, misses a key or a
    /// context attribute, uses a reserved name, or holds an attribute with no action;
    /// [`ItemError::Envelope`] if the materials manager fails.
    pub async fn encrypt_item(&self, item: &Value) -> Result<Value, ItemError> {
        let parsed = value::item_from_json(item)?;
        let encrypted = self.encrypt_parsed(parsed).await?;
        Ok(value::item_to_json(&encrypted))
    }

    /// Decrypts one stored item given as DynamoDB JSON; returns the plaintext item.
    /// Nothing is returned unless every check passes.
    ///
    /// # Errors
    /// [`ItemError::DecryptionFailed`] if the item does not verify, [`ItemError::Malformed`]
    /// if its header or footer is not well formed, [`ItemError::InvalidItem`] if it is not
    /// an encrypted item of this table, [`ItemError::Envelope`] if no data key could be
    /// decrypted.
    pub async fn decrypt_item(&self, item: &Value) -> Result<Value, ItemError> {
        let parsed = value::item_from_json(item)?;
        let decrypted = self.decrypt_parsed(parsed).await?;
        Ok(value::item_to_json(&decrypted))
    }

    /// [`ItemEncryptor::encrypt_item`] on JSON text.
    ///
    /// # Errors
    /// As [`ItemEncryptor::encrypt_item`], and [`ItemError::InvalidItem`] for bad JSON.
    pub async fn encrypt_item_json(&self, item: &str) -> Result<String, ItemError> {
        let parsed = value::item_from_json_text(item)?;
        let encrypted = self.encrypt_parsed(parsed).await?;
        Ok(value::item_to_json_text(&encrypted))
    }

    /// [`ItemEncryptor::decrypt_item`] on JSON text.
    ///
    /// # Errors
    /// As [`ItemEncryptor::decrypt_item`], and [`ItemError::InvalidItem`] for bad JSON.
    pub async fn decrypt_item_json(&self, item: &str) -> Result<String, ItemError> {
        let parsed = value::item_from_json_text(item)?;
        let decrypted = self.decrypt_parsed(parsed).await?;
        Ok(value::item_to_json_text(&decrypted))
    }
}

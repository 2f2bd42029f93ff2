//! Materials: the encryption context, encrypted data keys, and the encryption and
//! decryption materials that keyrings and materials managers fill in.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::suite::AlgorithmSuite;

mod context;

pub use context::{EncryptionContext, Iter as EncryptionContextIter};

/// The reserved encryption-context key holding the signature verification key.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";

/// A data key encrypted by one keyring.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedDataKey {
    /// The key provider id, e.g. `aws-kms` or a raw keyring's namespace.
    pub provider_id: String,
    /// Provider-specific information, e.g. the KMS key ARN.
    pub provider_info: Vec<u8>,
    /// The encrypted data key.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for EncryptedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedDataKey")
            .field("provider_id", &self.provider_id)
            .field("provider_info", &String::from_utf8_lossy(&self.provider_info))
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// A plaintext data key. Zeroized on drop; `Debug` is redacted; no `Clone`.
pub struct PlaintextDataKey(Zeroizing<Vec<u8>>);

impl PlaintextDataKey {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key bytes. Never log or store them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// An explicit copy (for caches that must hand out the same key more than once).
    pub fn duplicate(&self) -> Self {
        Self(Zeroizing::new(self.0.to_vec()))
    }
}

impl fmt::Debug for PlaintextDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlaintextDataKey(<redacted {} bytes>)", self.0.len())
    }
}

pub use crate::signature::{SigningKey, VerifyingKey};

/// What a message is encrypted with, as assembled by a materials manager and keyrings.
#[derive(Debug)]
pub struct EncryptionMaterials {
    /// The suite.
    pub suite: &'static AlgorithmSuite,
    /// The full encryption context (including `aws-crypto-public-key` for signed suites).
    pub encryption_context: EncryptionContext,
    /// Context keys that are required but not stored in the message.
    pub required_encryption_context_keys: Vec<String>,
    /// Every encrypted copy of the data key.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// The plaintext data key, once a generator has made it.
    pub plaintext_data_key: Option<PlaintextDataKey>,
    /// The footer signing key (signed suites).
    pub signing_key: Option<SigningKey>,
}

impl EncryptionMaterials {
    /// Fresh materials with no data key yet.
    pub fn new(suite: &'static AlgorithmSuite, encryption_context: EncryptionContext) -> Self {
        Self {
            suite,
            encryption_context,
            required_encryption_context_keys: Vec::new(),
            encrypted_data_keys: Vec::new(),
            plaintext_data_key: None,
            signing_key: None,
        }
    }

    /// Sets the plaintext data key, which may be set only once and must fit the suite.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if a key is already set or its length is wrong.
    pub fn set_plaintext_data_key(&mut self, key: PlaintextDataKey) -> Result<(), Error> {
        set_once(&mut self.plaintext_data_key, self.suite, key)
    }
}

/// What a message is decrypted with.
#[derive(Debug)]
pub struct DecryptionMaterials {
    /// The suite from the message header.
    pub suite: &'static AlgorithmSuite,
    /// The encryption context (stored plus reproduced required keys).
    pub encryption_context: EncryptionContext,
    /// Context keys that are required but not stored in the message.
    pub required_encryption_context_keys: Vec<String>,
    /// The plaintext data key, once a keyring has decrypted one.
    pub plaintext_data_key: Option<PlaintextDataKey>,
    /// The footer verification key (signed suites).
    pub verifying_key: Option<VerifyingKey>,
}

impl DecryptionMaterials {
    /// Fresh materials with no data key yet.
    pub fn new(suite: &'static AlgorithmSuite, encryption_context: EncryptionContext) -> Self {
        Self {
            suite,
            encryption_context,
            required_encryption_context_keys: Vec::new(),
            plaintext_data_key: None,
            verifying_key: None,
        }
    }

    /// Sets the plaintext data key, which may be set only once and must fit the suite.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if a key is already set or its length is wrong.
    pub fn set_plaintext_data_key(&mut self, key: PlaintextDataKey) -> Result<(), Error> {
        set_once(&mut self.plaintext_data_key, self.suite, key)
    }

    /// The precondition of every keyring's `on_decrypt`: no data key has been decrypted yet.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the materials already hold a plaintext data key.
    pub fn require_no_data_key(&self) -> Result<(), Error> {
        //= framework/multi-keyring.md#ondecrypt
        //# If the decryption materials already contain a plaintext data key,
        //# the keyring MUST fail and MUST NOT modify the decryption materials.
        if self.plaintext_data_key.is_some() {
            return Err(Error::ApiMisuse(
                "the decryption materials already contain a plaintext data key".into(),
            ));
        }
        Ok(())
    }
}

/// Sets a data key slot that may be filled only once, with a key of the suite's length.
fn set_once(
    slot: &mut Option<PlaintextDataKey>,
    suite: &AlgorithmSuite,
    key: PlaintextDataKey,
) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::ApiMisuse("the plaintext data key is already set".into()));
    }
    if key.expose_secret().len() != suite.data_key_len() {
        return Err(Error::ApiMisuse("plaintext data key length does not match the suite".into()));
    }
    *slot = Some(key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{AES_128_GCM_IV12_TAG16_HKDF_SHA256, DEFAULT_SUITE};

    #[test]
    fn data_key_is_write_once_and_sized() {
        let mut m = EncryptionMaterials::new(DEFAULT_SUITE, EncryptionContext::new());
        assert!(m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 16])).is_err());
        m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
        assert!(m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).is_err());
        let mut d =
            DecryptionMaterials::new(&AES_128_GCM_IV12_TAG16_HKDF_SHA256, EncryptionContext::new());
        d.set_plaintext_data_key(PlaintextDataKey::new(vec![1; 16])).unwrap();
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let key = PlaintextDataKey::new(vec![0x41; 32]);
        assert!(!format!("{key:?}").contains("65"));
        assert!(format!("{key:?}").contains("redacted"));
    }
}

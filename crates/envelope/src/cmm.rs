//! Cryptographic materials managers (spec `framework/cmm-interface.md`): they turn an
//! encrypt or decrypt request into materials, usually by calling a keyring.

pub mod caching;
pub mod default;
pub mod required_ec;

use crate::error::Error;
use crate::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
};
use crate::suite::{AlgorithmSuite, CommitmentPolicy};
use crate::MaybeSendSync;

/// Input of [`CryptographicMaterialsManager::get_encryption_materials`].
#[derive(Debug, Clone)]
pub struct EncryptionMaterialsRequest {
    /// The caller's encryption context.
    pub encryption_context: EncryptionContext,
    /// The commitment policy in force.
    pub commitment_policy: CommitmentPolicy,
    /// The suite the caller asked for, if any.
    pub suite: Option<&'static AlgorithmSuite>,
    /// An upper bound on the plaintext length, if known.
    pub max_plaintext_length: Option<u64>,
    /// Context keys that must be present but are not stored in the message.
    pub required_encryption_context_keys: Vec<String>,
}

/// Input of [`CryptographicMaterialsManager::decrypt_materials`].
#[derive(Debug, Clone)]
pub struct DecryptMaterialsRequest<'a> {
    /// The suite from the header.
    pub suite: &'static AlgorithmSuite,
    /// The commitment policy in force.
    pub commitment_policy: CommitmentPolicy,
    /// The encrypted data keys from the header.
    pub encrypted_data_keys: &'a [EncryptedDataKey],
    /// The encryption context stored in the header.
    pub encryption_context: EncryptionContext,
    /// Context the caller supplies at decryption (for keys not stored in the message).
    pub reproduced_encryption_context: Option<EncryptionContext>,
}

/// A cryptographic materials manager.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait CryptographicMaterialsManager: MaybeSendSync {
    /// Materials to encrypt one message.
    ///
    /// # Errors
    /// [`Error`] from the keyring, the commitment policy or the encryption context.
    async fn get_encryption_materials(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error>;

    /// Materials to decrypt one message.
    ///
    /// # Errors
    /// [`Error`] from the keyring, the commitment policy or the encryption context.
    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error>;
}

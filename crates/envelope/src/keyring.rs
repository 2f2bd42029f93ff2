//! Keyrings (spec `framework/keyring-interface.md`): they generate, encrypt and decrypt
//! data keys.
//!
//! `on_encrypt` receives materials and returns them with a plaintext data key (generated
//! if there was none) and one more encrypted data key. `on_decrypt` returns the materials
//! with the plaintext data key set, if it could decrypt one of the encrypted data keys,
//! and fails if the materials already hold one (spec: "the keyring MUST fail").

pub mod kms;
pub mod kms_rsa;
pub mod multi;
pub mod raw_aes;
pub mod raw_rsa;

use crate::error::Error;
use crate::materials::{DecryptionMaterials, EncryptedDataKey, EncryptionMaterials};
use crate::MaybeSendSync;

/// A keyring.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait Keyring: MaybeSendSync {
    /// Adds an encrypted data key (generating the data key first if the materials have none).
    ///
    /// # Errors
    /// [`Error`] if the keyring cannot generate or encrypt the data key.
    async fn on_encrypt(
        &self,
        materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error>;

    /// Decrypts one of `encrypted_data_keys` into the materials.
    ///
    /// # Errors
    /// [`Error::NoDecryptableDataKey`] (or a more specific error) if none could be decrypted.
    async fn on_decrypt(
        &self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error>;
}

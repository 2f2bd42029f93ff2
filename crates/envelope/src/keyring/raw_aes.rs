//! The raw AES keyring (spec `framework/raw-aes-keyring.md`): wraps data keys locally with
//! AES-GCM under a caller-held wrapping key, binding the encryption context as AAD.
//!
//! Also home to the helpers the keyrings share: data key generation and the check that a
//! raw keyring's namespace does not pose as AWS KMS.

use std::fmt;

use zeroize::Zeroizing;

use crate::crypto::{fill_random, ContentKey};
use crate::error::Error;
use crate::format::header::serialize_encryption_context;
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, PlaintextDataKey,
};
use crate::suite::{AlgorithmSuite, IV_LEN_BYTES, TAG_LEN_BYTES};

/// The AES-GCM tag length written into the provider info, in bits.
const TAG_LEN_BITS: u32 = 128;
/// Provider ids that only the AWS KMS keyrings may write (spec `keyring-interface.md`).
pub(crate) const RESERVED_PROVIDER_ID_PREFIX: &str = "aws-kms";

/// A fresh random data key of the suite's length.
///
/// # Errors
/// [`Error::Random`] if the operating system's generator fails.
pub(crate) fn generate_data_key(suite: &AlgorithmSuite) -> Result<PlaintextDataKey, Error> {
    let mut key = Zeroizing::new(vec![0u8; suite.data_key_len()]);
    fill_random(&mut key)?;
    Ok(PlaintextDataKey::new(std::mem::take(&mut *key)))
}

/// The materials' plaintext data key, generated at random first if they hold none (what the
/// local keyrings do on encrypt: "If the encryption materials do not contain a plaintext data
/// key, OnEncrypt MUST generate a random plaintext data key").
///
/// # Errors
/// [`Error::Random`] if the generator fails.
pub(crate) fn data_key_or_generate(
    materials: &mut EncryptionMaterials,
) -> Result<&PlaintextDataKey, Error> {
    if materials.plaintext_data_key.is_none() {
        let key = generate_data_key(materials.suite)?;
        materials.set_plaintext_data_key(key)?;
    }
    materials
        .plaintext_data_key
        .as_ref()
        .ok_or_else(|| Error::Keyring("the materials hold no plaintext data key".into()))
}

/// Rejects a raw keyring namespace that would pose as an AWS KMS keyring.
pub(crate) fn check_raw_namespace(key_namespace: &str) -> Result<(), Error> {
    if key_namespace.starts_with(RESERVED_PROVIDER_ID_PREFIX) {
        return Err(Error::ApiMisuse(
            "a raw keyring's key namespace must not start with \"aws-kms\"".into(),
        ));
    }
    Ok(())
}

/// A keyring that wraps data keys with a local AES key (128, 192 or 256 bits) in AES-GCM.
///
/// Encrypted data keys it writes: provider id = key namespace; provider info = key name,
/// tag length in bits (`u32` BE, 128), IV length (`u32` BE, 12), IV; ciphertext =
/// encrypted key followed by the 16-byte tag. The encryption context is the AAD.
pub struct RawAesKeyring {
    key_namespace: String,
    key_name: String,
    wrapping_key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for RawAesKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAesKeyring")
            .field("key_namespace", &self.key_namespace)
            .field("key_name", &self.key_name)
            .field("wrapping_key_bits", &(self.wrapping_key.len() * 8))
            .finish()
    }
}

impl RawAesKeyring {
    /// A keyring for `wrapping_key`, named `key_name` within `key_namespace`.
    ///
    /// The key bytes are copied; zeroize the caller's copy if it is no longer needed.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the key is not 16, 24 or 32 bytes long;
    /// [`Error::ApiMisuse`] if the namespace starts with `aws-kms`.
    pub fn new(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        wrapping_key: &[u8],
    ) -> Result<Self, Error> {
        let key_namespace = key_namespace.into();
        check_raw_namespace(&key_namespace)?;
        if !matches!(wrapping_key.len(), 16 | 24 | 32) {
            return Err(Error::InvalidKey(
                "a raw AES wrapping key must be 128, 192 or 256 bits".into(),
            ));
        }
        Ok(Self {
            key_namespace,
            key_name: key_name.into(),
            wrapping_key: Zeroizing::new(wrapping_key.to_vec()),
        })
    }

    /// The key namespace (written as the provider id).
    pub fn key_namespace(&self) -> &str {
        &self.key_namespace
    }

    /// The key name (written at the start of the provider info).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    fn provider_info(&self, iv: &[u8; IV_LEN_BYTES]) -> Vec<u8> {
        let mut info = Vec::with_capacity(self.key_name.len() + 8 + IV_LEN_BYTES);
        info.extend_from_slice(self.key_name.as_bytes());
        info.extend_from_slice(&TAG_LEN_BITS.to_be_bytes());
        // IV_LEN_BYTES is 12, which fits a u32.
        info.extend_from_slice(&(IV_LEN_BYTES as u32).to_be_bytes());
        info.extend_from_slice(iv);
        info
    }

    /// The IV from an encrypted data key's provider info, if the info names this keyring's
    /// key and declares the tag and IV lengths this keyring uses.
    fn parse_provider_info<'a>(&self, info: &'a [u8]) -> Option<&'a [u8]> {
        let rest = info.strip_prefix(self.key_name.as_bytes())?;
        if rest.len() != 8 + IV_LEN_BYTES {
            return None;
        }
        let (tag_bits, rest) = rest.split_at(4);
        let (iv_len, iv) = rest.split_at(4);
        let iv_len_ok = u32::from_be_bytes(iv_len.try_into().ok()?) as usize == IV_LEN_BYTES;
        let tag_ok = u32::from_be_bytes(tag_bits.try_into().ok()?) == TAG_LEN_BITS;
        (iv_len_ok && tag_ok).then_some(iv)
    }

    fn seal(
        &self,
        iv: &[u8; IV_LEN_BYTES],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::Keyring("raw AES keyring: wrapping the data key failed".into());
        let key = ContentKey::new(&self.wrapping_key).map_err(failed)?;
        let mut sealed = Vec::with_capacity(plaintext.len() + TAG_LEN_BYTES);
        sealed.extend_from_slice(plaintext);
        let tag = key.encrypt_in_place(iv, aad, &mut sealed).map_err(failed)?;
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// Unwraps `ciphertext` (encrypted key || tag); `None` if authentication fails.
    fn open(&self, iv: &[u8], aad: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let iv: &[u8; IV_LEN_BYTES] = iv.try_into().ok()?;
        let (encrypted, tag) = ciphertext.split_at(ciphertext.len().checked_sub(TAG_LEN_BYTES)?);
        let tag: &[u8; TAG_LEN_BYTES] = tag.try_into().ok()?;
        let key = ContentKey::new(&self.wrapping_key).ok()?;
        let mut opened = Zeroizing::new(encrypted.to_vec());
        // On failure the buffer still holds ciphertext, and is dropped.
        key.decrypt_in_place(iv, aad, &mut opened, tag).ok()?;
        Some(opened)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Keyring for RawAesKeyring {
    async fn on_encrypt(
        &self,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        //= framework/raw-aes-keyring.md#onencrypt
        //# If the keyring cannot serialize the encryption context, OnEncrypt MUST fail.
        let aad = serialize_encryption_context(&materials.encryption_context)?;
        let data_key = data_key_or_generate(&mut materials)?;
        let mut iv = [0u8; IV_LEN_BYTES];
        fill_random(&mut iv)?;
        let ciphertext = self.seal(&iv, &aad, data_key.expose_secret())?;
        materials.encrypted_data_keys.push(EncryptedDataKey {
            provider_id: self.key_namespace.clone(),
            provider_info: self.provider_info(&iv),
            ciphertext,
        });
        Ok(materials)
    }

    async fn on_decrypt(
        &self,
        mut materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        materials.require_no_data_key()?;
        //= framework/raw-aes-keyring.md#ondecrypt
        //# If the keyring cannot serialize the encryption context, OnDecrypt MUST fail.
        let aad = serialize_encryption_context(&materials.encryption_context)?;
        for edk in encrypted_data_keys {
            //= framework/raw-aes-keyring.md#ondecrypt
            //# The keyring attempts to decrypt the encrypted data key if and only if the
            //# following is true: [deserialized; key name; provider id; IV length; tag length]
            if edk.provider_id != self.key_namespace || edk.ciphertext.len() < TAG_LEN_BYTES {
                continue;
            }
            let Some(iv) = self.parse_provider_info(&edk.provider_info) else {
                continue;
            };
            // A failure to unwrap one encrypted data key moves on to the next.
            let Some(mut key) = self.open(iv, &aad, &edk.ciphertext) else {
                continue;
            };
            if key.len() != materials.suite.data_key_len() {
                return Err(Error::Keyring(
                    "raw AES keyring: the decrypted data key has the wrong length".into(),
                ));
            }
            materials.set_plaintext_data_key(PlaintextDataKey::new(std::mem::take(&mut *key)))?;
            return Ok(materials);
        }
        Err(Error::NoDecryptableDataKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_info_round_trips_and_rejects_other_lengths() {
        let keyring = RawAesKeyring::new("ns", "name", &[7; 32]).unwrap();
        let iv = [9u8; IV_LEN_BYTES];
        let info = keyring.provider_info(&iv);
        assert_eq!(info.len(), 4 + 8 + 12);
        assert_eq!(&info[4..12], &[0, 0, 0, 128, 0, 0, 0, 12]);
        assert_eq!(keyring.parse_provider_info(&info), Some(&iv[..]));
        let mut bad_tag = info.clone();
        bad_tag[7] = 96;
        assert_eq!(keyring.parse_provider_info(&bad_tag), None);
        assert_eq!(keyring.parse_provider_info(&info[..info.len() - 1]), None);
    }

    #[test]
    fn debug_does_not_show_the_wrapping_key() {
        let keyring = RawAesKeyring::new("ns", "name", &[0xAB; 16]).unwrap();
        let shown = format!("{keyring:?}");
        assert!(shown.contains("128"));
        assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"));
    }
}

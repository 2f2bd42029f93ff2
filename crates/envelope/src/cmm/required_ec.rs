//! The required encryption context materials manager (spec
//! `framework/required-encryption-context-cmm.md`): named context keys must be present when
//! encrypting, are authenticated but not stored in the message, and must be reproduced by the
//! caller when decrypting.

use std::fmt;
use std::sync::Arc;

use crate::cmm::default::DefaultCmm;
use crate::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use crate::error::Error;
use crate::keyring::Keyring;
use crate::materials::{DecryptionMaterials, EncryptionMaterials};

/// Wraps a materials manager and requires a set of encryption context keys.
pub struct RequiredEncryptionContextCmm {
    underlying: Arc<dyn CryptographicMaterialsManager>,
    required_keys: Vec<String>,
}

impl RequiredEncryptionContextCmm {
    /// Requires `required_keys` on top of `underlying`. Duplicate keys count once.
    pub fn new<I, S>(underlying: Arc<dyn CryptographicMaterialsManager>, required_keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut keys: Vec<String> = Vec::new();
        for key in required_keys {
            let key = key.into();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Self { underlying, required_keys: keys }
    }

    //= framework/required-encryption-context-cmm.md#initialization
    //# If the caller provides a keyring,
    //# then the Required Encryption Context CMM MUST set its underlying CMM
    //# to a default CMM initialized with the keyring.
    /// Requires `required_keys` on top of a [`DefaultCmm`] over `keyring`.
    // On wasm32 `dyn Keyring` is not `Send + Sync` by design (see `MaybeSendSync`).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn with_keyring<I, S>(keyring: Arc<dyn Keyring>, required_keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Arc::new(DefaultCmm::new(keyring)), required_keys)
    }

    /// The configured required keys.
    pub fn required_encryption_context_keys(&self) -> &[String] {
        &self.required_keys
    }
}

impl fmt::Debug for RequiredEncryptionContextCmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequiredEncryptionContextCmm")
            .field("required_keys", &self.required_keys)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl CryptographicMaterialsManager for RequiredEncryptionContextCmm {
    async fn get_encryption_materials(
        &self,
        mut request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        //= framework/required-encryption-context-cmm.md#get-encryption-materials
        //# The encryption context on the encryption materials request
        //# MUST contain a value for every key in the configured required encryption context keys
        //# or this request MUST fail.
        if let Some(missing) =
            self.required_keys.iter().find(|k| !request.encryption_context.contains_key(k))
        {
            return Err(Error::EncryptionContext(format!(
                "required key \"{missing}\" is not in the encryption context"
            )));
        }

        //# All configured required encryption context keys
        //# MUST exist in the required encryption context keys
        //# of the encryption materials request to the underlying CMM's.
        for key in &self.required_keys {
            if !request.required_encryption_context_keys.contains(key) {
                request.required_encryption_context_keys.push(key.clone());
            }
        }

        let materials = self.underlying.get_encryption_materials(request).await?;

        //# The obtained encryption materials MUST
        //# have all configured required encryption context keys
        //# in it's required encryption context keys.
        if let Some(missing) = self
            .required_keys
            .iter()
            .find(|k| !materials.required_encryption_context_keys.contains(*k))
        {
            return Err(Error::EncryptionContext(format!(
                "the underlying materials manager dropped required key \"{missing}\""
            )));
        }
        Ok(materials)
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        //= framework/required-encryption-context-cmm.md#decrypt-materials
        //# The reproduced encryption context on the decrypt materials request
        //# MUST contain a value for every key in the configured required encryption context keys
        //# or this request MUST fail.
        let reproduced = request.reproduced_encryption_context.as_ref();
        if let Some(missing) =
            self.required_keys.iter().find(|k| !reproduced.is_some_and(|ec| ec.contains_key(k)))
        {
            return Err(Error::EncryptionContext(format!(
                "required key \"{missing}\" is not in the reproduced encryption context"
            )));
        }

        //# The Required Encryption Context
        //# CMM MUST attempt to obtain decryption materials
        //# by making a call to the underlying CMM's decrypt materials interface
        //# with the unchanged decrypt materials request.
        let materials = self.underlying.decrypt_materials(request).await?;

        //# The obtained decryption materials MUST
        //# have all configured required encryption context keys
        //# in it's encryption context.
        if let Some(missing) =
            self.required_keys.iter().find(|k| !materials.encryption_context.contains_key(k))
        {
            return Err(Error::EncryptionContext(format!(
                "the underlying materials manager dropped required key \"{missing}\""
            )));
        }
        Ok(materials)
    }
}

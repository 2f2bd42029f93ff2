//! The default cryptographic materials manager (spec `framework/default-cmm.md`): chooses the
//! suite, makes the signing key, and asks its keyring for the data key.

use std::fmt;
use std::sync::Arc;

use kms_api::base64;

use crate::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use crate::error::Error;
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, EncryptionContext, EncryptionMaterials, SigningKey, VerifyingKey,
    PUBLIC_KEY_CONTEXT_KEY,
};
use crate::suite::{AlgorithmSuite, SignatureAlgorithm};

/// The default materials manager, over one keyring.
pub struct DefaultCmm {
    keyring: Arc<dyn Keyring>,
}

impl DefaultCmm {
    /// A default materials manager that gets and decrypts data keys with `keyring`.
    pub fn new(keyring: Arc<dyn Keyring>) -> Self {
        Self { keyring }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Arc<dyn Keyring> {
        &self.keyring
    }
}

impl fmt::Debug for DefaultCmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultCmm").finish_non_exhaustive()
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl CryptographicMaterialsManager for DefaultCmm {
    async fn get_encryption_materials(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        let materials = encryption_materials(request)?;
        let suite = materials.suite;
        //= framework/default-cmm.md#get-encryption-materials
        //# On each call to Get Encryption Materials,
        //# the default CMM MUST make a call to its keyring's On Encrypt operation.
        let materials = self.keyring.on_encrypt(materials).await?;
        check_encryption_materials(&materials, suite)?;
        Ok(materials)
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        let encrypted_data_keys = request.encrypted_data_keys;
        let materials = decryption_materials(request)?;
        let suite = materials.suite;
        //= framework/default-cmm.md#decrypt-materials
        //# On each call to Decrypt Materials,
        //# the default CMM MUST make a call to its keyring's On Decrypt operation.
        let materials = self.keyring.on_decrypt(materials, encrypted_data_keys).await?;
        check_decryption_materials(&materials, suite)?;
        Ok(materials)
    }
}

/// The materials the keyring starts from for an encryption request: suite, context (with
/// the public key of a new signing key), required keys. Plain code, kept out of the async
/// body: none of it lives across the keyring's await (the wasm client measured smaller).
#[inline(never)]
fn encryption_materials(request: EncryptionMaterialsRequest) -> Result<EncryptionMaterials, Error> {
    //= framework/default-cmm.md#get-encryption-materials
    //# If the encryption context included in the encryption materials request
    //# already contains the `aws-crypto-public-key` key,
    //# this operation MUST fail rather than overwrite the associated value.
    if request.encryption_context.contains_key(PUBLIC_KEY_CONTEXT_KEY) {
        return Err(Error::EncryptionContext(format!(
            "the key {PUBLIC_KEY_CONTEXT_KEY} is reserved"
        )));
    }

    //# the request MUST fail if the algorithm suite is not supported by the commitment
    //# policy on the request.
    let suite = match request.suite {
        Some(suite) => suite,
        None => request.commitment_policy.default_suite(),
    };
    if !request.commitment_policy.allows_encrypt(suite) {
        return Err(Error::CommitmentPolicy(suite.id));
    }

    //= framework/cmm-interface.md#get-encryption-materials
    //# For every key in Required Encryption Context Keys
    //# there MUST be a matching key in the Encryption Context.
    let required_keys = dedup(&request.required_encryption_context_keys);
    if let Some(missing) =
        required_keys.iter().find(|k| !request.encryption_context.contains_key(k.as_str()))
    {
        return Err(Error::EncryptionContext(format!(
            "required key \"{missing}\" is not in the encryption context"
        )));
    }

    // The request is ours by value, so the caller's context is not mutated.
    let mut encryption_context = request.encryption_context;
    let signing_key = match suite.signature {
        Some(algorithm) => {
            //# the default CMM MUST Generate a signing key.
            let key = generate_signing_key(algorithm)?;
            //# the default CMM MUST Add the key-value pair of key `aws-crypto-public-key`,
            //# value `base64-encoded public verification key`
            encryption_context.insert(PUBLIC_KEY_CONTEXT_KEY.to_owned(), encode_public_key(&key));
            Some(key)
        }
        None => None,
    };

    let mut materials = EncryptionMaterials::new(suite, encryption_context);
    materials.required_encryption_context_keys = required_keys;
    materials.signing_key = signing_key;

    Ok(materials)
}

/// The materials the keyring starts from for a decryption request: suite, merged context,
/// required keys and the verification key. Kept out of the async body, as above.
#[inline(never)]
fn decryption_materials(
    request: DecryptMaterialsRequest<'_>,
) -> Result<DecryptionMaterials, Error> {
    let suite = request.suite;
    //= framework/default-cmm.md#decrypt-materials
    //# The request MUST fail if the algorithm suite on the request is not supported by the
    //# commitment policy on the request.
    if !request.commitment_policy.allows_decrypt(suite) {
        return Err(Error::CommitmentPolicy(suite.id));
    }

    let stored_public_key = request.encryption_context.get(PUBLIC_KEY_CONTEXT_KEY);
    let verifying_key = match (suite.signature, stored_public_key) {
        //# If the algorithm suite contains a signing algorithm, the default CMM MUST
        //# extract the verification key from the encryption context under the reserved
        //# `aws-crypto-public-key` key.
        (Some(algorithm), Some(encoded)) => Some(decode_public_key(algorithm, encoded)?),
        //# If this key is not present in the encryption context, the operation MUST fail
        //# without returning any decryption materials.
        (Some(_), None) => {
            return Err(Error::EncryptionContext(format!(
                "a signed suite needs {PUBLIC_KEY_CONTEXT_KEY} in the encryption context"
            )))
        }
        //# If the algorithm suite does not contain a signing algorithm, but the encryption
        //# context includes the reserved `aws-crypto-public-key` key, the operation MUST
        //# fail without returning any decryption materials.
        (None, Some(_)) => {
            return Err(Error::EncryptionContext(format!(
                "an unsigned suite must not have {PUBLIC_KEY_CONTEXT_KEY} in the encryption context"
            )))
        }
        (None, None) => None,
    };

    let (encryption_context, required_keys) = merge_reproduced_context(
        request.encryption_context,
        request.reproduced_encryption_context.as_ref(),
    )?;

    let mut materials = DecryptionMaterials::new(suite, encryption_context);
    materials.required_encryption_context_keys = required_keys;
    materials.verifying_key = verifying_key;

    Ok(materials)
}

/// Keeps the first occurrence of each key.
fn dedup(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for k in keys {
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

//= framework/cmm-interface.md#decrypt-materials
//# For every key that exists in both Reproduced Encryption Context and Encryption Context,
//# the values MUST be equal or the operation MUST fail.
//
//# All key-value pairs that exist in Reproduced Encryption Context but do not exist in
//# encryption context on the decrypt materials request SHOULD be appended to the decryption
//# materials.
//
//# Required Encryption Context Keys: This set MUST include all keys added to the decryption
//# materials encryption context that existed in the decrypt materials request's reproduced
//# encryption context but did not exist in the decrypt materials request's encryption context.
fn merge_reproduced_context(
    stored: EncryptionContext,
    reproduced: Option<&EncryptionContext>,
) -> Result<(EncryptionContext, Vec<String>), Error> {
    let mut merged = stored;
    let mut added = Vec::new();
    for (key, value) in reproduced.into_iter().flatten() {
        match merged.get(key) {
            Some(stored_value) if stored_value == value => {}
            Some(_) => {
                return Err(Error::EncryptionContext(format!(
                    "the reproduced value of \"{key}\" differs from the message's"
                )))
            }
            None => {
                // A public key that the message does not carry cannot be supplied by the caller.
                if key == PUBLIC_KEY_CONTEXT_KEY {
                    return Err(Error::EncryptionContext(format!(
                        "the key {PUBLIC_KEY_CONTEXT_KEY} is reserved"
                    )));
                }
                merged.insert(key.clone(), value.clone());
                added.push(key.clone());
            }
        }
    }
    Ok((merged, added))
}

//= framework/cmm-interface.md#get-encryption-materials
//# The CMM MUST ensure that the encryption materials returned are valid.
fn check_encryption_materials(
    materials: &EncryptionMaterials,
    suite: &'static AlgorithmSuite,
) -> Result<(), Error> {
    if materials.suite.id != suite.id {
        return Err(Error::Keyring("the keyring changed the algorithm suite".into()));
    }
    //# The value of the plaintext data key MUST be non-NULL.
    //# The plaintext data key length MUST be equal to the key derivation input length.
    match &materials.plaintext_data_key {
        Some(key) if key.expose_secret().len() == suite.data_key_len() => {}
        Some(_) => {
            return Err(Error::Keyring("the plaintext data key has the wrong length".into()))
        }
        None => return Err(Error::Keyring("the keyring returned no plaintext data key".into())),
    }
    //# The encrypted data keys list MUST contain at least one encrypted data key.
    if materials.encrypted_data_keys.is_empty() {
        return Err(Error::Keyring("the keyring returned no encrypted data key".into()));
    }
    //# If the algorithm suite contains a signing algorithm, the encryption materials returned
    //# MUST include the generated signing key.
    if materials.signing_key.is_some() != suite.is_signed() {
        return Err(Error::Keyring("the keyring changed the signing key".into()));
    }
    //# For every key in Required Encryption Context Keys there MUST be a matching key in the
    //# Encryption Context.
    if materials
        .required_encryption_context_keys
        .iter()
        .any(|k| !materials.encryption_context.contains_key(k))
    {
        return Err(Error::EncryptionContext(
            "a required key is missing from the encryption context".into(),
        ));
    }
    Ok(())
}

//= framework/cmm-interface.md#decrypt-materials
//# The CMM MUST ensure that the decryption materials returned are valid.
fn check_decryption_materials(
    materials: &DecryptionMaterials,
    suite: &'static AlgorithmSuite,
) -> Result<(), Error> {
    if materials.suite.id != suite.id {
        return Err(Error::Keyring("the keyring changed the algorithm suite".into()));
    }
    //# The value of the plaintext data key MUST be non-NULL.
    match &materials.plaintext_data_key {
        Some(key) if key.expose_secret().len() == suite.data_key_len() => {}
        Some(_) => {
            return Err(Error::Keyring("the plaintext data key has the wrong length".into()))
        }
        None => return Err(Error::NoDecryptableDataKey),
    }
    //# If the algorithm suite obtained from the decryption request contains a signing
    //# algorithm, the decryption materials MUST include the signature verification key.
    if materials.verifying_key.is_some() != suite.is_signed() {
        return Err(Error::Keyring("the keyring changed the verification key".into()));
    }
    Ok(())
}

/// A fresh signing key for `algorithm`, from the signature backend (its RNG is the
/// operating system's or the browser's).
fn generate_signing_key(algorithm: SignatureAlgorithm) -> Result<SigningKey, Error> {
    SigningKey::generate(algorithm)
}

/// The context value for a signing key: base64 of the compressed SEC1 public point, as the
/// official SDKs write it.
fn encode_public_key(key: &SigningKey) -> String {
    base64::encode(key.public_key())
}

/// Parses the `aws-crypto-public-key` value for `algorithm`.
fn decode_public_key(algorithm: SignatureAlgorithm, encoded: &str) -> Result<VerifyingKey, Error> {
    let bytes = base64::decode(encoded)
        .map_err(|_| Error::InvalidKey(format!("{PUBLIC_KEY_CONTEXT_KEY} is not base64")))?;
    VerifyingKey::from_sec1(algorithm, &bytes)
        .map_err(|_| Error::InvalidKey(format!("{PUBLIC_KEY_CONTEXT_KEY} is not a valid point")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_encoding_round_trips_for_both_curves() {
        for algorithm in [SignatureAlgorithm::EcdsaP256Sha256, SignatureAlgorithm::EcdsaP384Sha384]
        {
            let key = generate_signing_key(algorithm).unwrap();
            let encoded = encode_public_key(&key);
            let decoded = decode_public_key(algorithm, &encoded).unwrap();
            assert_eq!(decoded.algorithm(), algorithm);
            let expected = key.verifying_key();
            assert_eq!(decoded, expected);
        }
    }

    #[test]
    fn public_key_of_the_wrong_curve_is_rejected() {
        let key = generate_signing_key(SignatureAlgorithm::EcdsaP256Sha256).unwrap();
        let encoded = encode_public_key(&key);
        assert!(decode_public_key(SignatureAlgorithm::EcdsaP384Sha384, &encoded).is_err());
        assert!(decode_public_key(SignatureAlgorithm::EcdsaP256Sha256, "not base64!").is_err());
    }

    #[test]
    fn reproduced_context_merge() {
        let stored: EncryptionContext = [("a".to_owned(), "1".to_owned())].into();
        let reproduced: EncryptionContext =
            [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())].into();
        let (merged, added) = merge_reproduced_context(stored.clone(), Some(&reproduced)).unwrap();
        assert_eq!(merged.len(), 2);
        assert_eq!(added, vec!["b".to_owned()]);
        let conflicting: EncryptionContext = [("a".to_owned(), "9".to_owned())].into();
        assert!(merge_reproduced_context(stored, Some(&conflicting)).is_err());
    }
}

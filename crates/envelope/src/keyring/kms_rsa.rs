//! The AWS KMS RSA keyring (spec `framework/aws-kms/aws-kms-rsa-keyring.md`): wraps data
//! keys locally with the public key of an asymmetric KMS RSA key (no KMS call), and
//! unwraps them with KMS `Decrypt`.
//!
//! The RSA plaintext is the SHA-384 digest of the serialised encryption context (48 bytes)
//! followed by the data key, which binds the context to the data key. Suites with an ECDSA
//! signature are refused both ways (the spec's security considerations: the encrypting key
//! is public, so a signature adds nothing).

use std::fmt;
use std::sync::Arc;

use kms_api::hash::{self, HashAlgorithm};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::format::header::serialize_encryption_context;
use crate::keyring::kms::{
    is_alias, mrk_match_for_decrypt, provider_info_key_arn, validate_identifier,
};
use crate::keyring::multi::combine_errors;
use crate::keyring::raw_aes::data_key_or_generate;
use crate::keyring::raw_rsa::{
    public_key_from_der, public_key_from_pem, RsaEncryptKey, RsaPadding,
};
use crate::keyring::Keyring;
use crate::kms::{DecryptRequest, KmsClient};
use crate::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials, PlaintextDataKey,
};
use crate::suite::AlgorithmSuite;

/// The provider id of encrypted data keys written by the AWS KMS RSA keyring.
pub const AWS_KMS_RSA_PROVIDER_ID: &str = "aws-kms-rsa";
/// Length of the encryption context digest (SHA-384) at the start of the RSA plaintext.
pub const EC_DIGEST_LEN_BYTES: usize = 48;
/// The smallest RSA modulus the keyring accepts, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;

/// The KMS `EncryptionAlgorithm` of an RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KmsRsaEncryptionAlgorithm {
    /// `RSAES_OAEP_SHA_1`: OAEP with SHA-1 and MGF1 with SHA-1.
    RsaesOaepSha1,
    /// `RSAES_OAEP_SHA_256`: OAEP with SHA-256 and MGF1 with SHA-256.
    RsaesOaepSha256,
}

impl KmsRsaEncryptionAlgorithm {
    /// The KMS API name.
    pub fn as_str(self) -> &'static str {
        match self {
            KmsRsaEncryptionAlgorithm::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            KmsRsaEncryptionAlgorithm::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        }
    }

    fn padding(self) -> RsaPadding {
        match self {
            KmsRsaEncryptionAlgorithm::RsaesOaepSha1 => RsaPadding::OaepSha1Mgf1Sha1,
            KmsRsaEncryptionAlgorithm::RsaesOaepSha256 => RsaPadding::OaepSha256Mgf1Sha256,
        }
    }
}

/// SHA-384 of the serialised encryption context.
fn encryption_context_digest(
    context: &EncryptionContext,
) -> Result<[u8; EC_DIGEST_LEN_BYTES], Error> {
    let serialized = serialize_encryption_context(context)?;
    Ok(hash::digest(HashAlgorithm::Sha384, &serialized).to_array())
}

/// The spec refuses suites with an asymmetric signature.
fn check_unsigned(suite: &AlgorithmSuite) -> Result<(), Error> {
    if suite.is_signed() {
        return Err(Error::ApiMisuse(format!(
            "the AWS KMS RSA keyring does not support the signed algorithm suite {}",
            suite.name
        )));
    }
    Ok(())
}

/// A keyring over an asymmetric AWS KMS RSA key.
///
/// Encrypting needs only the key's public key ([`AwsKmsRsaKeyring::with_public_key_der`],
/// e.g. the DER from KMS `GetPublicKey`); decrypting needs a KMS client
/// ([`AwsKmsRsaKeyring::with_client`]). Encrypted data keys: provider id `aws-kms-rsa`,
/// provider info = the configured key identifier (use the key ARN: decryption accepts only
/// encrypted data keys whose provider info is a key ARN).
pub struct AwsKmsRsaKeyring {
    key_id: String,
    algorithm: KmsRsaEncryptionAlgorithm,
    public_key: Option<Arc<dyn RsaEncryptKey>>,
    client: Option<Arc<dyn KmsClient>>,
    grant_tokens: Vec<String>,
}

impl fmt::Debug for AwsKmsRsaKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsRsaKeyring")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("public_key_bits", &self.public_key.as_ref().map(|k| k.modulus_bits()))
            .field("has_client", &self.client.is_some())
            .field("grant_tokens", &self.grant_tokens.len())
            .finish()
    }
}

impl AwsKmsRsaKeyring {
    /// A keyring for the KMS RSA key `key_id` with `algorithm`. Add a public key to encrypt
    /// and a client to decrypt.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if `key_id` is not a valid AWS KMS identifier or is an alias.
    pub fn new(
        key_id: impl Into<String>,
        algorithm: KmsRsaEncryptionAlgorithm,
    ) -> Result<Self, Error> {
        let key_id = key_id.into();
        validate_identifier(&key_id)?;
        //= framework/aws-kms/aws-kms-rsa-keyring.md#initialization
        //# The AWS KMS key identifier MUST NOT be an AWS KMS alias.
        if is_alias(&key_id) {
            return Err(Error::InvalidKey(
                "the AWS KMS RSA keyring needs a key identifier, not an alias".into(),
            ));
        }
        Ok(Self { key_id, algorithm, public_key: None, client: None, grant_tokens: Vec::new() })
    }

    /// Sets the public key from a DER `SubjectPublicKeyInfo` (what KMS `GetPublicKey`
    /// returns). It must belong to the configured KMS key; that is not checked here.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is not an RSA public key of at least 2048 bits.
    pub fn with_public_key_der(self, der: &[u8]) -> Result<Self, Error> {
        self.with_public_key_ops(Arc::new(public_key_from_der(der)?))
    }

    /// Sets the public key from a PEM `SubjectPublicKeyInfo` (`BEGIN PUBLIC KEY`).
    ///
    /// # Errors
    /// As [`AwsKmsRsaKeyring::with_public_key_der`].
    pub fn with_public_key_pem(self, pem: &str) -> Result<Self, Error> {
        self.with_public_key_ops(Arc::new(public_key_from_pem(pem)?))
    }

    /// Sets the public key as caller-provided key operations (kms-wasm passes a WebCrypto
    /// key).
    ///
    /// # Errors
    /// As [`AwsKmsRsaKeyring::with_public_key_der`].
    pub fn with_public_key_ops(mut self, key: Arc<dyn RsaEncryptKey>) -> Result<Self, Error> {
        //= framework/aws-kms/aws-kms-rsa-keyring.md#initialization
        //# If provided the Public Key MUST have an RSA modulus bit length greater than or
        //# equal to 2048.
        if key.modulus_bits() < MIN_MODULUS_BITS {
            return Err(Error::InvalidKey(
                "the AWS KMS RSA keyring needs an RSA key of at least 2048 bits".into(),
            ));
        }
        self.public_key = Some(key);
        Ok(self)
    }

    /// Sets the KMS client used to decrypt.
    pub fn with_client(mut self, client: Arc<dyn KmsClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// Sets the grant tokens passed to KMS `Decrypt`.
    pub fn with_grant_tokens(mut self, grant_tokens: Vec<String>) -> Self {
        self.grant_tokens = grant_tokens;
        self
    }

    /// The configured key identifier.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The KMS encryption algorithm.
    pub fn algorithm(&self) -> KmsRsaEncryptionAlgorithm {
        self.algorithm
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Keyring for AwsKmsRsaKeyring {
    async fn on_encrypt(
        &self,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        //= framework/aws-kms/aws-kms-rsa-keyring.md#onencrypt
        //# OnEncrypt MUST fail if this keyring does not have a specified Public Key.
        let Some(public_key) = self.public_key.as_ref() else {
            return Err(Error::ApiMisuse(
                "the AWS KMS RSA keyring has no public key, so it cannot encrypt".into(),
            ));
        };
        //# OnEncrypt MUST fail if the input encryption materials contains an algorithm suite
        //# containing an asymmetric signature.
        check_unsigned(materials.suite)?;
        let digest = encryption_context_digest(&materials.encryption_context)?;
        let data_key = data_key_or_generate(&mut materials)?;
        //# The Encryption Context Digest concatenated with the plaintext data key is the
        //# plaintext input to RSA encryption.
        let mut message = Zeroizing::new(Vec::with_capacity(
            EC_DIGEST_LEN_BYTES + data_key.expose_secret().len(),
        ));
        message.extend_from_slice(&digest);
        message.extend_from_slice(data_key.expose_secret());
        let ciphertext = public_key.encrypt(self.algorithm.padding(), &message).await?;
        materials.encrypted_data_keys.push(EncryptedDataKey {
            provider_id: AWS_KMS_RSA_PROVIDER_ID.to_owned(),
            provider_info: self.key_id.as_bytes().to_vec(),
            ciphertext,
        });
        Ok(materials)
    }

    async fn on_decrypt(
        &self,
        mut materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        //= framework/aws-kms/aws-kms-rsa-keyring.md#ondecrypt
        //# OnDecrypt MUST fail if this keyring does not have a specified AWS KMS SDK client.
        let Some(client) = self.client.as_ref() else {
            return Err(Error::ApiMisuse(
                "the AWS KMS RSA keyring has no KMS client, so it cannot decrypt".into(),
            ));
        };
        //# OnDecrypt MUST fail if the input decryption materials contains an algorithm suite
        //# containing an asymmetric signature.
        check_unsigned(materials.suite)?;
        materials.require_no_data_key()?;
        let mut candidates = Vec::new();
        for edk in encrypted_data_keys.iter().filter(|e| e.provider_id == AWS_KMS_RSA_PROVIDER_ID) {
            let (_, text) = provider_info_key_arn(edk)?;
            if mrk_match_for_decrypt(&self.key_id, text) {
                candidates.push(edk);
            }
        }
        let expected_digest = encryption_context_digest(&materials.encryption_context)?;
        // The context is bound through the digest, so KMS gets none.
        let no_context = EncryptionContext::new();
        let mut errors = Vec::new();
        for edk in candidates {
            let response = match client
                .decrypt(DecryptRequest {
                    key_id: Some(&self.key_id),
                    ciphertext_blob: &edk.ciphertext,
                    encryption_context: &no_context,
                    grant_tokens: &self.grant_tokens,
                    encryption_algorithm: Some(self.algorithm.as_str()),
                })
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    errors.push(Error::Kms(e));
                    continue;
                }
            };
            //# The `KeyId` field in the response MUST equal the configured AWS KMS key
            //# identifier.
            if response.key_id != self.key_id {
                errors.push(Error::Keyring(format!(
                    "KMS Decrypt answered for key {} instead of {}",
                    response.key_id, self.key_id
                )));
                continue;
            }
            let plaintext = response.plaintext.expose_secret();
            if plaintext.len() != EC_DIGEST_LEN_BYTES + materials.suite.data_key_len() {
                errors.push(Error::Keyring(
                    "KMS Decrypt returned a plaintext of the wrong length".into(),
                ));
                continue;
            }
            //# the first 48 bytes is the encryption context digest
            //# all bytes after that are the plain text data key.
            let (digest, data_key) = plaintext.split_at(EC_DIGEST_LEN_BYTES);
            //# The keyring MUST compare the decrypted encryption context digest to the
            //# encryption context digest prime; if the two are not equal, the keyring MUST
            //# fail and MUST NOT modify the decryption materials.
            if !bool::from(digest.ct_eq(&expected_digest)) {
                errors.push(Error::Keyring(
                    "the encryption context does not match the one the data key was bound to"
                        .into(),
                ));
                continue;
            }
            materials.set_plaintext_data_key(PlaintextDataKey::new(data_key.to_vec()))?;
            return Ok(materials);
        }
        Err(combine_errors(errors))
    }
}

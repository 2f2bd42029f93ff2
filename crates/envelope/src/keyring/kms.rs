//! The AWS KMS keyrings (specs under `framework/aws-kms/`): they protect data keys with a
//! symmetric KMS key, reached through [`KmsClient`].
//!
//! - [`AwsKmsKeyring`]: one key; decrypts only encrypted data keys written under exactly
//!   that key ARN.
//! - [`AwsKmsMrkKeyring`]: the same, but a multi-Region key (`mrk-`) also decrypts what its
//!   replicas in other regions wrote.
//! - [`AwsKmsDiscoveryKeyring`]: decrypt only; asks KMS to decrypt with whatever key ARN
//!   the encrypted data key names, limited by an optional [`DiscoveryFilter`].
//! - [`AwsKmsMrkDiscoveryKeyring`]: discovery through one region's KMS client; a
//!   multi-Region key ARN is rewritten to that region, other keys must be in it.
//!
//! Encrypted data keys: provider id `aws-kms`, provider info = the key ARN KMS returned,
//! ciphertext = the KMS ciphertext blob.

mod arn;

use std::fmt;
use std::sync::Arc;

pub(crate) use self::arn::is_alias;
pub use self::arn::{
    is_multi_region_identifier, mrk_match_for_decrypt, validate_identifier, AwsKmsArn,
    AwsKmsResourceType,
};
use crate::error::Error;
use crate::keyring::multi::combine_errors;
use crate::keyring::Keyring;
use crate::kms::{DecryptRequest, EncryptRequest, GenerateDataKeyRequest, KmsClient};
use crate::materials::{DecryptionMaterials, EncryptedDataKey, EncryptionMaterials};

/// The provider id of encrypted data keys written by the AWS KMS keyrings.
pub const AWS_KMS_PROVIDER_ID: &str = "aws-kms";

/// Limits a discovery keyring to keys in one partition and a set of accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryFilter {
    partition: String,
    account_ids: Vec<String>,
}

impl DiscoveryFilter {
    /// A filter for `partition` (e.g. `aws`) and `account_ids`.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the partition is empty, the account list is empty, or an
    /// account id is empty.
    pub fn new(partition: impl Into<String>, account_ids: Vec<String>) -> Result<Self, Error> {
        let partition = partition.into();
        if partition.is_empty()
            || account_ids.is_empty()
            || account_ids.iter().any(String::is_empty)
        {
            return Err(Error::ApiMisuse(
                "a discovery filter needs a partition and at least one account id".into(),
            ));
        }
        Ok(Self { partition, account_ids })
    }

    /// The partition.
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The account ids.
    pub fn account_ids(&self) -> &[String] {
        &self.account_ids
    }

    /// Whether an ARN is in the partition and one of the accounts.
    fn allows(&self, arn: &AwsKmsArn) -> bool {
        arn.partition() == self.partition && self.account_ids.iter().any(|a| a == arn.account())
    }
}

/// The KMS client and grant tokens every KMS keyring carries.
#[derive(Clone)]
struct KmsConnection {
    client: Arc<dyn KmsClient>,
    grant_tokens: Vec<String>,
}

impl KmsConnection {
    fn new(client: Arc<dyn KmsClient>) -> Self {
        Self { client, grant_tokens: Vec::new() }
    }

    /// GenerateDataKey if the materials have no data key, else Encrypt; appends the EDK.
    async fn encrypt(
        &self,
        key_id: &str,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        let edk = match materials.plaintext_data_key.as_ref() {
            None => {
                let response = self
                    .client
                    .generate_data_key(GenerateDataKeyRequest {
                        key_id,
                        number_of_bytes: materials.suite.data_key_len(),
                        encryption_context: &materials.encryption_context,
                        grant_tokens: &self.grant_tokens,
                    })
                    .await?;
                //= framework/aws-kms/aws-kms-keyring.md#onencrypt
                //# If the Generate Data Key call succeeds, OnEncrypt MUST verify that the
                //# response `Plaintext` length matches the specification of the algorithm
                //# suite's Key Derivation Input Length field.
                if response.plaintext.expose_secret().len() != materials.suite.data_key_len() {
                    return Err(Error::Keyring(
                        "KMS GenerateDataKey returned a data key of the wrong length".into(),
                    ));
                }
                //# The Generate Data Key response's `KeyId` MUST be a valid AWS KMS key ARN.
                check_response_key_arn(&response.key_id, "GenerateDataKey")?;
                materials.set_plaintext_data_key(response.plaintext)?;
                EncryptedDataKey {
                    provider_id: AWS_KMS_PROVIDER_ID.to_owned(),
                    provider_info: response.key_id.into_bytes(),
                    ciphertext: response.ciphertext_blob,
                }
            }
            Some(data_key) => {
                let response = self
                    .client
                    .encrypt(EncryptRequest {
                        key_id,
                        plaintext: data_key.expose_secret(),
                        encryption_context: &materials.encryption_context,
                        grant_tokens: &self.grant_tokens,
                    })
                    .await?;
                //= framework/aws-kms/aws-kms-keyring.md#onencrypt
                //# If the Encrypt call succeeds the response's `KeyId` MUST be A valid AWS
                //# KMS key ARN.
                check_response_key_arn(&response.key_id, "Encrypt")?;
                EncryptedDataKey {
                    provider_id: AWS_KMS_PROVIDER_ID.to_owned(),
                    provider_info: response.key_id.into_bytes(),
                    ciphertext: response.ciphertext_blob,
                }
            }
        };
        materials.encrypted_data_keys.push(edk);
        Ok(materials)
    }

    /// Calls Decrypt for each `(encrypted data key, key id)` candidate in turn, with that
    /// key id, until one response names that same key id and holds a data key of the
    /// suite's length. Errors are collected and returned together if none succeeds.
    async fn decrypt(
        &self,
        mut materials: DecryptionMaterials,
        candidates: Vec<(&EncryptedDataKey, String)>,
    ) -> Result<DecryptionMaterials, Error> {
        let mut errors = Vec::new();
        for (edk, key_id) in candidates {
            let response = match self
                .client
                .decrypt(DecryptRequest {
                    key_id: Some(&key_id),
                    ciphertext_blob: &edk.ciphertext,
                    encryption_context: &materials.encryption_context,
                    grant_tokens: &self.grant_tokens,
                    encryption_algorithm: None,
                })
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    errors.push(Error::Kms(e));
                    continue;
                }
            };
            //= framework/aws-kms/aws-kms-keyring.md#ondecrypt
            //# The `KeyId` field in the response MUST equal the configured AWS KMS key
            //# identifier.
            if response.key_id != key_id {
                errors.push(Error::Keyring(format!(
                    "KMS Decrypt answered for key {} instead of {key_id}",
                    response.key_id
                )));
                continue;
            }
            //# The length of the response's `Plaintext` MUST equal the key derivation input
            //# length specified by the algorithm suite included in the input decryption
            //# materials.
            if response.plaintext.expose_secret().len() != materials.suite.data_key_len() {
                errors.push(Error::Keyring(
                    "KMS Decrypt returned a data key of the wrong length".into(),
                ));
                continue;
            }
            materials.set_plaintext_data_key(response.plaintext)?;
            return Ok(materials);
        }
        Err(combine_errors(errors))
    }
}

/// The key ARN in a KMS response must be a valid KMS key ARN.
fn check_response_key_arn(key_id: &str, operation: &str) -> Result<(), Error> {
    match AwsKmsArn::parse(key_id) {
        Ok(arn) if arn.resource_type() == AwsKmsResourceType::Key => Ok(()),
        _ => Err(Error::Keyring(format!(
            "KMS {operation} returned a key id that is not a valid key ARN"
        ))),
    }
}

/// The `aws-kms` encrypted data keys whose stored key ARN `matches` the configured key id,
/// each paired with the key id to call KMS Decrypt with (the configured one).
fn edks_for_key<'a>(
    edks: &'a [EncryptedDataKey],
    key_id: &str,
    matches: impl Fn(&str, &str) -> bool,
) -> Result<Vec<(&'a EncryptedDataKey, String)>, Error> {
    let mut out = Vec::new();
    for edk in edks.iter().filter(|e| e.provider_id == AWS_KMS_PROVIDER_ID) {
        let (_, stored) = provider_info_key_arn(edk)?;
        if matches(key_id, stored) {
            out.push((edk, key_id.to_owned()));
        }
    }
    Ok(out)
}

/// The key ARN in an `aws-kms` encrypted data key's provider info.
///
/// # Errors
/// [`Error::Keyring`] if the provider info is not a valid KMS ARN with resource type `key`
/// (the spec: "or OnDecrypt MUST fail").
pub(crate) fn provider_info_key_arn(edk: &EncryptedDataKey) -> Result<(AwsKmsArn, &str), Error> {
    let invalid = || {
        Error::Keyring(format!(
            "the provider info of an {} encrypted data key is not a valid KMS key ARN",
            edk.provider_id
        ))
    };
    let text = std::str::from_utf8(&edk.provider_info).map_err(|_| invalid())?;
    match AwsKmsArn::parse(text) {
        Ok(arn) if arn.resource_type() == AwsKmsResourceType::Key => Ok((arn, text)),
        _ => Err(invalid()),
    }
}

macro_rules! kms_keyring_impls {
    ($ty:ident) => {
        #[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
        #[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
        impl Keyring for $ty {
            async fn on_encrypt(
                &self,
                materials: EncryptionMaterials,
            ) -> Result<EncryptionMaterials, Error> {
                self.encrypt_impl(materials).await
            }

            async fn on_decrypt(
                &self,
                materials: DecryptionMaterials,
                encrypted_data_keys: &[EncryptedDataKey],
            ) -> Result<DecryptionMaterials, Error> {
                materials.require_no_data_key()?;
                let candidates = self.candidates(encrypted_data_keys)?;
                self.connection.decrypt(materials, candidates).await
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.debug_fields(&mut f.debug_struct(stringify!($ty)))
                    .field("grant_tokens", &self.connection.grant_tokens.len())
                    .finish()
            }
        }

        impl $ty {
            /// Sets the grant tokens passed on every KMS call.
            pub fn with_grant_tokens(mut self, grant_tokens: Vec<String>) -> Self {
                self.connection.grant_tokens = grant_tokens;
                self
            }

            /// The grant tokens passed on every KMS call.
            pub fn grant_tokens(&self) -> &[String] {
                &self.connection.grant_tokens
            }
        }
    };
}

/// Construction, the key id accessor, encryption and `Debug` fields of the keyrings that hold
/// one configured key (strict and multi-Region-key-aware): they differ only in which
/// encrypted data keys they match on decrypt.
macro_rules! single_key_keyring_impls {
    ($ty:ident) => {
        impl $ty {
            /// A keyring for `key_id` (key ARN, key id, alias name or alias ARN).
            ///
            /// # Errors
            /// [`Error::InvalidKey`] if `key_id` is not a valid AWS KMS identifier.
            pub fn new(
                client: Arc<dyn KmsClient>,
                key_id: impl Into<String>,
            ) -> Result<Self, Error> {
                let key_id = key_id.into();
                validate_identifier(&key_id)?;
                Ok(Self { key_id, connection: KmsConnection::new(client) })
            }

            /// The configured key identifier.
            pub fn key_id(&self) -> &str {
                &self.key_id
            }

            async fn encrypt_impl(
                &self,
                materials: EncryptionMaterials,
            ) -> Result<EncryptionMaterials, Error> {
                self.connection.encrypt(&self.key_id, materials).await
            }

            fn debug_fields<'a, 'b, 'c>(
                &self,
                d: &'a mut fmt::DebugStruct<'b, 'c>,
            ) -> &'a mut fmt::DebugStruct<'b, 'c> {
                d.field("key_id", &self.key_id)
            }
        }
    };
}

/// The AWS KMS keyring: encrypts under one KMS key and decrypts only encrypted data keys
/// whose key ARN equals its configured key identifier.
///
/// Configure it with a key ARN to decrypt: a key id or alias can encrypt, but never
/// equals the ARN stored in an encrypted data key.
pub struct AwsKmsKeyring {
    key_id: String,
    connection: KmsConnection,
}

impl AwsKmsKeyring {
    fn candidates<'a>(
        &self,
        edks: &'a [EncryptedDataKey],
    ) -> Result<Vec<(&'a EncryptedDataKey, String)>, Error> {
        //= framework/aws-kms/aws-kms-keyring.md#ondecrypt
        //# The provider info MUST match the configured AWS KMS key identifier.
        edks_for_key(edks, &self.key_id, |configured, stored| configured == stored)
    }
}

single_key_keyring_impls!(AwsKmsKeyring);
kms_keyring_impls!(AwsKmsKeyring);

/// The AWS KMS multi-Region-key-aware keyring: like [`AwsKmsKeyring`], but on decrypt a
/// multi-Region key also matches encrypted data keys written by its replicas in other
/// regions (AWS KMS MRK Match for Decrypt). Decrypt always calls KMS with the configured
/// key identifier.
pub struct AwsKmsMrkKeyring {
    key_id: String,
    connection: KmsConnection,
}

impl AwsKmsMrkKeyring {
    fn candidates<'a>(
        &self,
        edks: &'a [EncryptedDataKey],
    ) -> Result<Vec<(&'a EncryptedDataKey, String)>, Error> {
        //= framework/aws-kms/aws-kms-mrk-keyring.md#ondecrypt
        //# The the function AWS KMS MRK Match for Decrypt called with the configured AWS
        //# KMS key identifier and the provider info MUST return `true`.
        edks_for_key(edks, &self.key_id, mrk_match_for_decrypt)
    }
}

single_key_keyring_impls!(AwsKmsMrkKeyring);
kms_keyring_impls!(AwsKmsMrkKeyring);

/// The AWS KMS discovery keyring: decrypt only. For each `aws-kms` encrypted data key that
/// passes the optional [`DiscoveryFilter`], it asks KMS to decrypt with the key ARN stored
/// in the encrypted data key.
pub struct AwsKmsDiscoveryKeyring {
    discovery_filter: Option<DiscoveryFilter>,
    connection: KmsConnection,
}

impl AwsKmsDiscoveryKeyring {
    /// A discovery keyring, optionally limited by `discovery_filter`.
    pub fn new(client: Arc<dyn KmsClient>, discovery_filter: Option<DiscoveryFilter>) -> Self {
        Self { discovery_filter, connection: KmsConnection::new(client) }
    }

    /// The discovery filter, if any.
    pub fn discovery_filter(&self) -> Option<&DiscoveryFilter> {
        self.discovery_filter.as_ref()
    }

    async fn encrypt_impl(&self, _: EncryptionMaterials) -> Result<EncryptionMaterials, Error> {
        //= framework/aws-kms/aws-kms-discovery-keyring.md#onencrypt
        //# This function MUST fail.
        Err(Error::ApiMisuse("an AWS KMS discovery keyring cannot encrypt".into()))
    }

    fn candidates<'a>(
        &self,
        edks: &'a [EncryptedDataKey],
    ) -> Result<Vec<(&'a EncryptedDataKey, String)>, Error> {
        let mut out = Vec::new();
        for edk in edks.iter().filter(|e| e.provider_id == AWS_KMS_PROVIDER_ID) {
            let (arn, text) = provider_info_key_arn(edk)?;
            //= framework/aws-kms/aws-kms-discovery-keyring.md#ondecrypt
            //# If a discovery filter is configured, its partition and the provider info
            //# partition MUST match.
            //# If a discovery filter is configured, its set of accounts MUST contain the
            //# provider info account.
            if self.discovery_filter.as_ref().is_none_or(|f| f.allows(&arn)) {
                out.push((edk, text.to_owned()));
            }
        }
        Ok(out)
    }

    fn debug_fields<'a, 'b, 'c>(
        &self,
        d: &'a mut fmt::DebugStruct<'b, 'c>,
    ) -> &'a mut fmt::DebugStruct<'b, 'c> {
        d.field("discovery_filter", &self.discovery_filter)
    }
}

kms_keyring_impls!(AwsKmsDiscoveryKeyring);

/// The AWS KMS multi-Region-key-aware discovery keyring: decrypt only, through a KMS
/// client of one region. A multi-Region key ARN is rewritten to that region before calling
/// Decrypt; any other key must already be in that region.
pub struct AwsKmsMrkDiscoveryKeyring {
    region: String,
    discovery_filter: Option<DiscoveryFilter>,
    connection: KmsConnection,
}

impl AwsKmsMrkDiscoveryKeyring {
    /// A discovery keyring whose `client` talks to KMS in `region`.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `region` is empty.
    pub fn new(
        client: Arc<dyn KmsClient>,
        region: impl Into<String>,
        discovery_filter: Option<DiscoveryFilter>,
    ) -> Result<Self, Error> {
        let region = region.into();
        if region.is_empty() {
            return Err(Error::ApiMisuse("the MRK discovery keyring needs a region".into()));
        }
        Ok(Self { region, discovery_filter, connection: KmsConnection::new(client) })
    }

    /// The region of the KMS client.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The discovery filter, if any.
    pub fn discovery_filter(&self) -> Option<&DiscoveryFilter> {
        self.discovery_filter.as_ref()
    }

    async fn encrypt_impl(&self, _: EncryptionMaterials) -> Result<EncryptionMaterials, Error> {
        //= framework/aws-kms/aws-kms-mrk-discovery-keyring.md#onencrypt
        //# This function MUST fail.
        Err(Error::ApiMisuse("an AWS KMS discovery keyring cannot encrypt".into()))
    }

    fn candidates<'a>(
        &self,
        edks: &'a [EncryptedDataKey],
    ) -> Result<Vec<(&'a EncryptedDataKey, String)>, Error> {
        let mut out = Vec::new();
        for edk in edks.iter().filter(|e| e.provider_id == AWS_KMS_PROVIDER_ID) {
            let (arn, text) = provider_info_key_arn(edk)?;
            if !self.discovery_filter.as_ref().is_none_or(|f| f.allows(&arn)) {
                continue;
            }
            //= framework/aws-kms/aws-kms-mrk-discovery-keyring.md#ondecrypt
            //# If the provider info is not identified as a multi-Region key, then the
            //# provider info's Region MUST match the AWS KMS client region.
            if arn.is_multi_region_key() {
                //# If the provider info's resource type is `key` and its resource is a
                //# multi-Region key then a new ARN MUST be created where the region part
                //# MUST equal the AWS KMS client region and every other part MUST equal the
                //# provider info.
                out.push((edk, arn.with_region(&self.region).to_string()));
            } else if arn.region() == self.region {
                out.push((edk, text.to_owned()));
            }
        }
        Ok(out)
    }

    fn debug_fields<'a, 'b, 'c>(
        &self,
        d: &'a mut fmt::DebugStruct<'b, 'c>,
    ) -> &'a mut fmt::DebugStruct<'b, 'c> {
        d.field("region", &self.region).field("discovery_filter", &self.discovery_filter)
    }
}

kms_keyring_impls!(AwsKmsMrkDiscoveryKeyring);

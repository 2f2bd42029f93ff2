//! Request and response shapes of the KMS operations, with AWS's member names.
//!
//! Every request member is optional here, even the ones AWS requires: a missing
//! required member is a `ValidationException` ("Member must not be null"), which
//! the server reports itself, not a deserialisation failure. Unknown members are
//! ignored. Absent response members are omitted from the JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob::{Blob, SecretBlob};

/// An encryption context: string pairs bound to a ciphertext as additional authenticated data.
pub type EncryptionContext = BTreeMap<String, String>;

/// A key/value tag on a KMS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag key.
    pub tag_key: Option<String>,
    /// The tag value (may be empty).
    pub tag_value: Option<String>,
}

/// A request member that this server does not support; its presence is an error.
pub type Unsupported = Option<serde_json::Value>;

/// The properties of a KMS key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// The account that owns the key.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// The key id (a UUID, or `mrk-…` for multi-Region keys).
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// Creation time, seconds since the epoch.
    pub creation_date: f64,
    /// True exactly when `KeyState` is `Enabled`.
    pub enabled: bool,
    /// The description.
    pub description: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC` or `KEY_AGREEMENT`.
    pub key_usage: String,
    /// The key state.
    pub key_state: String,
    /// When the key will be deleted (only while `PendingDeletion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    /// Where the key material came from.
    pub origin: String,
    /// `CUSTOMER` or `AWS`.
    pub key_manager: String,
    /// The deprecated twin of `KeySpec`.
    pub customer_master_key_spec: String,
    /// The key spec.
    pub key_spec: String,
    /// Encryption algorithms (only for `ENCRYPT_DECRYPT` keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<String>>,
    /// Signing algorithms (only for `SIGN_VERIFY` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<String>>,
    /// MAC algorithms (only for `GENERATE_VERIFY_MAC` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<String>>,
    /// Key agreement algorithms (only for `KEY_AGREEMENT` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<String>>,
    /// When imported key material expires, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    /// `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE` (imported material only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    /// Whether this is a multi-Region key.
    pub multi_region: bool,
    /// The primary and replicas of a multi-Region key (only for multi-Region keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    /// The waiting period of a primary key in `PendingReplicaDeletion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
    /// The current key material's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// One entry of `ListKeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
}

/// One entry of `ListAliases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    /// `alias/…`.
    pub alias_name: String,
    /// The alias ARN.
    pub alias_arn: String,
    /// The id (not ARN) of the key the alias points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_key_id: Option<String>,
    /// Creation time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<f64>,
    /// Last update time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_date: Option<f64>,
}

/// One entry of `ListKeyRotations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    /// The key id.
    pub key_id: String,
    /// The key material id (64 hex characters).
    pub key_material_id: String,
    /// `CURRENT` or `NON_CURRENT`.
    pub key_material_state: String,
    /// When this material was created by rotation, seconds since the epoch (absent for the original material).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<f64>,
    /// `AUTOMATIC` or `ON_DEMAND` (absent for the original material).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<String>,
}

macro_rules! shape {
    ($(#[$doc:meta])* $name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

// ---- Keys ------------------------------------------------------------------------------

shape!(/// `CreateKey` input.
CreateKeyRequest {
    /// The key policy (JSON).
    policy: String,
    /// The description.
    description: String,
    /// The key usage.
    key_usage: String,
    /// The key spec.
    key_spec: String,
    /// The deprecated twin of `KeySpec`.
    customer_master_key_spec: String,
    /// The origin of the key material.
    origin: String,
    /// A custom key store (not supported).
    custom_key_store_id: String,
    /// Skip the policy lockout check.
    bypass_policy_lockout_safety_check: bool,
    /// Tags to attach.
    tags: Vec<Tag>,
    /// Create a multi-Region key.
    multi_region: bool,
    /// An external key store key (not supported).
    xks_key_id: String,
});

shape!(/// Output of `CreateKey`, `DescribeKey`.
KeyMetadataResponse {
    /// The key's properties.
    key_metadata: KeyMetadata,
});

shape!(/// `DescribeKey` input.
DescribeKeyRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
});

shape!(/// Input of operations that take only a key id.
KeyIdRequest {
    /// Key id or key ARN.
    key_id: String,
});

shape!(/// Output of operations that return only a key ARN.
KeyIdResponse {
    /// The key ARN.
    key_id: String,
});

shape!(/// Paginated list input.
ListRequest {
    /// Key id or key ARN (for per-key lists).
    key_id: String,
    /// Maximum number of entries.
    limit: i64,
    /// Where to continue.
    marker: String,
});

shape!(/// `ListKeys` output.
ListKeysResponse {
    /// The keys.
    keys: Vec<KeyListEntry>,
    /// Where to continue (only when truncated).
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

shape!(/// `UpdateKeyDescription` input.
UpdateKeyDescriptionRequest {
    /// Key id or key ARN.
    key_id: String,
    /// The new description.
    description: String,
});

// ---- Deletion --------------------------------------------------------------------------

shape!(/// `ScheduleKeyDeletion` input.
ScheduleKeyDeletionRequest {
    /// Key id or key ARN.
    key_id: String,
    /// 7 to 30 days; 30 by default.
    pending_window_in_days: i64,
});

shape!(/// `ScheduleKeyDeletion` output.
ScheduleKeyDeletionResponse {
    /// The key ARN.
    key_id: String,
    /// When the key will be deleted.
    deletion_date: f64,
    /// `PendingDeletion`.
    key_state: String,
    /// The waiting period.
    pending_window_in_days: i64,
});

// ---- Aliases ---------------------------------------------------------------------------

shape!(/// `CreateAlias` and `UpdateAlias` input.
AliasRequest {
    /// `alias/…`.
    alias_name: String,
    /// Key id or key ARN.
    target_key_id: String,
});

shape!(/// `ListAliases` output.
ListAliasesResponse {
    /// The aliases.
    aliases: Vec<AliasListEntry>,
    /// Where to continue.
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

// ---- Tags ------------------------------------------------------------------------------

shape!(/// `TagResource` input.
TagResourceRequest {
    /// Key id or key ARN.
    key_id: String,
    /// Tags to add or replace.
    tags: Vec<Tag>,
});

shape!(/// `UntagResource` input.
UntagResourceRequest {
    /// Key id or key ARN.
    key_id: String,
    /// Tag keys to remove.
    tag_keys: Vec<String>,
});

shape!(/// `ListResourceTags` output.
ListResourceTagsResponse {
    /// The tags.
    tags: Vec<Tag>,
    /// Where to continue.
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

// ---- Cryptography ----------------------------------------------------------------------

shape!(/// `Encrypt` input.
EncryptRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// Up to 4096 bytes.
    plaintext: SecretBlob,
    /// Bound as additional authenticated data.
    encryption_context: EncryptionContext,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// `SYMMETRIC_DEFAULT` for symmetric keys.
    encryption_algorithm: String,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `Encrypt` output.
EncryptResponse {
    /// The ciphertext blob.
    ciphertext_blob: Blob,
    /// The key ARN.
    key_id: String,
    /// The algorithm used.
    encryption_algorithm: String,
});

shape!(/// `Decrypt` input.
DecryptRequest {
    /// The ciphertext blob.
    ciphertext_blob: Blob,
    /// Must equal the context given at encryption.
    encryption_context: EncryptionContext,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Optional for symmetric ciphertext; if given it must name the key that encrypted it.
    key_id: String,
    /// `SYMMETRIC_DEFAULT` for symmetric keys.
    encryption_algorithm: String,
    /// Attested recipient (not supported).
    recipient: serde_json::Value,
    /// Check access only.
    dry_run: bool,
    /// Dry-run modifiers.
    dry_run_modifiers: Vec<String>,
});

shape!(/// `Decrypt` output.
DecryptResponse {
    /// The key ARN.
    key_id: String,
    /// The plaintext.
    plaintext: SecretBlob,
    /// The algorithm used.
    encryption_algorithm: String,
    /// The key material that decrypted it.
    key_material_id: String,
});

shape!(/// `ReEncrypt` input.
ReEncryptRequest {
    /// The ciphertext blob.
    ciphertext_blob: Blob,
    /// The context the ciphertext was made with.
    source_encryption_context: EncryptionContext,
    /// Optional for symmetric ciphertext.
    source_key_id: String,
    /// The key to re-encrypt under.
    destination_key_id: String,
    /// The new context.
    destination_encryption_context: EncryptionContext,
    /// Source algorithm.
    source_encryption_algorithm: String,
    /// Destination algorithm.
    destination_encryption_algorithm: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Check access only.
    dry_run: bool,
    /// Dry-run modifiers.
    dry_run_modifiers: Vec<String>,
});

shape!(/// `ReEncrypt` output.
ReEncryptResponse {
    /// The new ciphertext blob.
    ciphertext_blob: Blob,
    /// The source key ARN.
    source_key_id: String,
    /// The destination key ARN.
    key_id: String,
    /// Source algorithm.
    source_encryption_algorithm: String,
    /// Destination algorithm.
    destination_encryption_algorithm: String,
    /// Source key material id.
    source_key_material_id: String,
    /// Destination key material id.
    destination_key_material_id: String,
});

shape!(/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext` input.
GenerateDataKeyRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// Bound as additional authenticated data.
    encryption_context: EncryptionContext,
    /// 1 to 1024 (not with `KeySpec`).
    number_of_bytes: i64,
    /// `AES_128` or `AES_256` (not with `NumberOfBytes`).
    key_spec: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Attested recipient (not supported).
    recipient: serde_json::Value,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext` output.
GenerateDataKeyResponse {
    /// The encrypted data key.
    ciphertext_blob: Blob,
    /// The plaintext data key (absent without plaintext).
    plaintext: SecretBlob,
    /// The key ARN.
    key_id: String,
    /// The key material that encrypted the data key.
    key_material_id: String,
});

shape!(/// `GenerateRandom` input.
GenerateRandomRequest {
    /// 1 to 1024.
    number_of_bytes: i64,
    /// CloudHSM key store (not supported).
    custom_key_store_id: String,
    /// Attested recipient (not supported).
    recipient: serde_json::Value,
});

shape!(/// `GenerateRandom` output.
GenerateRandomResponse {
    /// Random bytes.
    plaintext: SecretBlob,
});

// ---- Rotation --------------------------------------------------------------------------

shape!(/// `EnableKeyRotation` input.
EnableKeyRotationRequest {
    /// Key id or key ARN.
    key_id: String,
    /// 90 to 2560 days; 365 by default.
    rotation_period_in_days: i64,
});

shape!(/// `GetKeyRotationStatus` output.
GetKeyRotationStatusResponse {
    /// Whether automatic rotation is on.
    key_rotation_enabled: bool,
    /// The key ARN.
    key_id: String,
    /// The rotation period.
    rotation_period_in_days: i64,
    /// When the next automatic rotation is due.
    next_rotation_date: f64,
    /// Start of a running on-demand rotation.
    on_demand_rotation_start_date: f64,
});

shape!(/// `ListKeyRotations` input.
ListKeyRotationsRequest {
    /// Key id or key ARN.
    key_id: String,
    /// `ALL_KEY_MATERIAL` or `ROTATIONS_ONLY`.
    include_key_material: String,
    /// Maximum number of entries.
    limit: i64,
    /// Where to continue.
    marker: String,
});

shape!(/// `ListKeyRotations` output.
ListKeyRotationsResponse {
    /// The rotations.
    rotations: Vec<RotationsListEntry>,
    /// Where to continue.
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

// ---- Policies --------------------------------------------------------------------------

shape!(/// `GetKeyPolicy` input.
GetKeyPolicyRequest {
    /// Key id or key ARN.
    key_id: String,
    /// `default`.
    policy_name: String,
});

shape!(/// `GetKeyPolicy` output.
GetKeyPolicyResponse {
    /// The policy document.
    policy: String,
    /// `default`.
    policy_name: String,
});

shape!(/// `PutKeyPolicy` input.
PutKeyPolicyRequest {
    /// Key id or key ARN.
    key_id: String,
    /// `default`.
    policy_name: String,
    /// The policy document.
    policy: String,
    /// Skip the policy lockout check.
    bypass_policy_lockout_safety_check: bool,
});

shape!(/// `ListKeyPolicies` output.
ListKeyPoliciesResponse {
    /// Always `["default"]`.
    policy_names: Vec<String>,
    /// Where to continue.
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

mod asymmetric;
pub use asymmetric::*;
mod grants;
pub use grants::*;
mod multi_region;
pub use multi_region::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_metadata_uses_aws_member_names() {
        let meta = KeyMetadata { aws_account_id: "111122223333".into(), ..Default::default() };
        let json = serde_json::to_value(&meta).unwrap();
        assert_eq!(json["AWSAccountId"], "111122223333");
        assert!(json.get("DeletionDate").is_none());
    }

    #[test]
    fn requests_ignore_unknown_members_and_omit_absent_ones() {
        let req: EncryptRequest =
            serde_json::from_str(r#"{"KeyId":"k","Plaintext":"aGk=","Whatever":1}"#).unwrap();
        assert_eq!(req.key_id.as_deref(), Some("k"));
        assert_eq!(req.plaintext.unwrap().expose_secret(), b"hi");
        let json = serde_json::to_string(&EncryptResponse::default()).unwrap();
        assert_eq!(json, "{}");
    }

    #[test]
    fn wrong_member_types_fail_to_parse() {
        assert!(serde_json::from_str::<ListRequest>(r#"{"Limit":"ten"}"#).is_err());
        assert!(serde_json::from_str::<EncryptRequest>(r#"{"Plaintext":5}"#).is_err());
    }
}

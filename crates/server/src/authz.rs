//! Authorization: may this caller perform this action on this key?
//!
//! For now an account owns its keys and sees no other account's keys. Key policies,
//! IAM policies and grants plug in here, behind the same call.

use kms_api::KmsError;

use crate::auth::Principal;
use crate::model::KeyRecord;
use crate::ops::key_not_found;

/// A KMS action on a key, as IAM names it (`kms:<Action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    CancelKeyDeletion,
    CreateAlias,
    Decrypt,
    DeleteAlias,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    EnableKey,
    EnableKeyRotation,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    GetKeyPolicy,
    GetKeyRotationStatus,
    ListAliases,
    ListKeyPolicies,
    ListKeyRotations,
    ListResourceTags,
    PutKeyPolicy,
    ReEncryptFrom,
    ReEncryptTo,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateKeyDescription,
    Sign,
    Verify,
    GetPublicKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateMac,
    VerifyMac,
    DeriveSharedSecret,
    GetParametersForImport,
    ImportKeyMaterial,
    DeleteImportedKeyMaterial,
}

/// Checks that `caller` may perform `action` on `key`.
///
/// # Errors
/// `NotFoundException` when the key belongs to another account (it is not visible).
pub fn authorize(caller: &Principal, _action: Action, key: &KeyRecord) -> Result<(), KmsError> {
    if key.key.account != caller.account {
        return Err(key_not_found(&key.key));
    }
    Ok(())
}

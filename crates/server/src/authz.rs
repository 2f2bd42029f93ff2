//! Authorization: may this caller perform this action on this key?
//!
//! Key policies and identity policies are parsed by [`policy`], conditions compared by
//! [`condition`] against the request [`context`], and the decision made by [`evaluate`]
//! as AWS documents it for KMS. Grants plug into [`context::RequestFacts::grant`].
//!
//! Every operation calls [`authorize`] (or [`authorize_with`] when it has request
//! parameters that condition keys read).

pub mod condition;
pub mod context;
pub mod evaluate;
pub mod explain;
pub mod grant;
#[cfg(test)]
mod grant_scenarios;
pub mod policy;
pub mod record;
#[cfg(test)]
mod scenarios;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use kms_api::{ErrorCode, KmsError};

use self::context::RequestFacts;
use self::evaluate::{evaluate, Decision};
use self::policy::{Policy, PolicyError, PolicyKind};
use self::record::DecisionLog;
use crate::auth::Principal;
use crate::model::KeyRecord;
use crate::ops::key_not_found;

/// A KMS action, as IAM names it (`kms:<Action>`): variant names must be IAM's action
/// names, since policies are matched against `kms:<variant>`.
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
    CreateKey,
    ListKeys,
    GenerateRandom,
    CreateGrant,
    ListGrants,
    ListRetirableGrants,
    RetireGrant,
    RevokeGrant,
    ReplicateKey,
    UpdatePrimaryRegion,
}

impl Action {
    /// The grant operation of the same name, for actions a grant can allow.
    pub fn grant_operation(self) -> Option<&'static str> {
        Some(match self {
            Self::Decrypt => "Decrypt",
            Self::Encrypt => "Encrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Self::ReEncryptFrom => "ReEncryptFrom",
            Self::ReEncryptTo => "ReEncryptTo",
            Self::Sign => "Sign",
            Self::Verify => "Verify",
            Self::GetPublicKey => "GetPublicKey",
            Self::CreateGrant => "CreateGrant",
            Self::RetireGrant => "RetireGrant",
            Self::DescribeKey => "DescribeKey",
            Self::GenerateDataKeyPair => "GenerateDataKeyPair",
            Self::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
            Self::GenerateMac => "GenerateMac",
            Self::VerifyMac => "VerifyMac",
            Self::DeriveSharedSecret => "DeriveSharedSecret",
            _ => return None,
        })
    }
}

/// Checks that `caller` may perform `action` on `key`, with no operation parameters.
///
/// # Errors
/// `NotFoundException` when the key belongs to another account and the action cannot be
/// performed across accounts; `AccessDeniedException` when the policies do not allow it.
pub fn authorize(caller: &Principal, action: Action, key: &KeyRecord) -> Result<(), KmsError> {
    authorize_with(caller, action, key, &RequestFacts::default()).map(drop)
}

/// Checks that `caller` may perform `action` on `key`, given the operation's parameters
/// for condition keys, and returns the decision (for the audit trail).
///
/// # Errors
/// As [`authorize`].
pub fn authorize_with(
    caller: &Principal,
    action: Action,
    key: &KeyRecord,
    facts: &RequestFacts<'_>,
) -> Result<Decision, KmsError> {
    let policy = stored_key_policy(key)?;
    authorize_with_policy(caller, action, key, &policy, facts, &DecisionLog::default())
}

/// [`authorize_with`] with the key's parsed policy already in hand.
///
/// # Errors
/// As [`authorize`].
pub fn authorize_with_policy(
    caller: &Principal,
    action: Action,
    key: &KeyRecord,
    policy: &Policy,
    facts: &RequestFacts<'_>,
    log: &DecisionLog,
) -> Result<Decision, KmsError> {
    if key.key.account != caller.account && !action.is_cross_account() {
        return Err(key_not_found(&key.key));
    }
    let decision = evaluate(caller, action, Some((key, policy)), facts);
    log.note(action, &key.key.arn(), &decision);
    if decision.allowed {
        Ok(decision)
    } else {
        Err(access_denied(decision.denial_message(caller, action, &key.key.arn())))
    }
}

/// Whether `key_policy` or an identity policy of `caller` uses condition key `name`
/// (lowercase), so callers fetch costly values only when needed.
pub fn policies_use_key(caller: &Principal, key_policy: &Policy, name: &str) -> bool {
    key_policy.uses_condition_key(name)
        || caller.identity.policies.iter().any(|(_, p)| p.uses_condition_key(name))
}

/// Checks an operation that names no key (CreateKey, ListKeys, GenerateRandom, …):
/// decided by the caller's identity policies.
///
/// # Errors
/// `AccessDeniedException` when no identity policy allows it, or one denies it.
pub fn authorize_account(
    caller: &Principal,
    action: Action,
    facts: &RequestFacts<'_>,
    log: &DecisionLog,
) -> Result<Decision, KmsError> {
    let decision = evaluate(caller, action, None, facts);
    log.note(action, "*", &decision);
    if decision.allowed {
        Ok(decision)
    } else {
        Err(access_denied(decision.denial_message(caller, action, "*")))
    }
}

/// Checks `action` on a resource that has no resource policy, such as an alias ARN:
/// decided by the caller's identity policies.
///
/// # Errors
/// `AccessDeniedException` when no identity policy allows it, or one denies it.
pub fn authorize_identity(
    caller: &Principal,
    action: Action,
    resource: &str,
    facts: &RequestFacts<'_>,
) -> Result<Decision, KmsError> {
    let name = action.iam_name();
    let decision = evaluate::evaluate_named(caller, &name, resource, None, None, facts);
    if decision.allowed {
        Ok(decision)
    } else {
        Err(access_denied(decision.denial_message_named(caller, &name, resource)))
    }
}

/// The policy lockout safety check: the new key policy must let `caller` call
/// `kms:PutKeyPolicy` on the key later.
///
/// # Errors
/// `MalformedPolicyDocumentException` with AWS's text when it would not.
pub fn check_lockout(
    caller: &Principal,
    key: &KeyRecord,
    new_policy: &Policy,
) -> Result<(), KmsError> {
    let decision =
        evaluate(caller, Action::PutKeyPolicy, Some((key, new_policy)), &RequestFacts::default());
    if decision.allowed {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorCode::MalformedPolicyDocumentException,
        "The new key policy will not allow you to update the key policy in the future.",
    ))
}

/// `AccessDeniedException` with the given message.
pub fn access_denied(message: String) -> KmsError {
    KmsError::new(ErrorCode::AccessDeniedException, message)
}

/// Parses a key policy document for storage.
///
/// # Errors
/// `MalformedPolicyDocumentException` saying what is wrong.
pub fn parse_key_policy(text: &str) -> Result<Arc<Policy>, KmsError> {
    let policy = Policy::parse(text, PolicyKind::Key).map_err(|e: PolicyError| {
        KmsError::new(ErrorCode::MalformedPolicyDocumentException, e.to_string())
    })?;
    Ok(Arc::new(policy))
}

const POLICY_CACHE_MAX: usize = 4096;

/// A fast multiply-rotate hasher for the policy cache. Not DoS-resistant, which is fine:
/// only principals allowed to set key policies choose its keys, and the cache is bounded.
#[derive(Default)]
struct PolicyTextHasher(u64);

impl std::hash::Hasher for PolicyTextHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type PolicyCache =
    RwLock<HashMap<String, Arc<Policy>, std::hash::BuildHasherDefault<PolicyTextHasher>>>;

/// Parsed key policies by document text, so the hot path parses each policy once.
fn policy_cache() -> &'static PolicyCache {
    static CACHE: OnceLock<PolicyCache> = OnceLock::new();
    CACHE.get_or_init(PolicyCache::default)
}

/// The parsed key policy of a stored key. A stored policy that no longer parses allows
/// nothing (fail closed) and is logged.
pub(crate) fn stored_key_policy(key: &KeyRecord) -> Result<Arc<Policy>, KmsError> {
    let cache = policy_cache();
    if let Some(p) =
        cache.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key.policy)
    {
        return Ok(Arc::clone(p));
    }
    let policy = match Policy::parse(&key.policy, PolicyKind::Key) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::warn!(key = %key.key.arn(), error = %e, "stored key policy does not parse; it allows nothing");
            Arc::new(Policy { id: None, statements: vec![] })
        }
    };
    let mut map = cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= POLICY_CACHE_MAX {
        map.clear();
    }
    map.insert(key.policy.clone(), Arc::clone(&policy));
    Ok(policy)
}

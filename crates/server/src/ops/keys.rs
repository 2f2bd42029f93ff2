//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion.

use std::sync::Arc;

use aws_lc_rs::rand;
use kms_api::types::{
    CreateKeyRequest, DescribeKeyRequest, KeyIdRequest, KeyIdResponse, KeyListEntry, KeyMetadata,
    KeyMetadataResponse, ListKeysResponse, ListRequest, ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse, UpdateKeyDescriptionRequest,
};
use kms_api::{ErrorCode, KmsError};

use super::managed_keys;
use super::validate::{invalid, Validator};
use super::{internal, page_params, require_not_pending_deletion, Ctx, KeyIdForms};
use crate::authz::context::{NewKey, RequestFacts};
use crate::authz::{self, Action};
use crate::clock::{to_epoch_seconds, DAY_MS};
use crate::keypairs::KeyKind;
use crate::model::{
    ImportInfo, KeyManager, KeyMaterial, KeyRecord, KeyRef, KeyState, MaterialOrigin, Rotation,
};
use crate::ops::{asymmetric, key_specs, multi_region, policy, tags};
use crate::state::AppState;

/// Customer managed keys per account and Region (AWS's default quota).
pub const MAX_KEYS_PER_REGION: u64 = 100_000;
/// Longest description.
pub const DESCRIPTION_MAX_CHARS: usize = 8192;

const KEY_USAGES: &[&str] =
    &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"];
const KEY_SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
];
const CUSTOMER_MASTER_KEY_SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];
const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];

/// The `KeyMetadata` AWS reports for a key.
pub fn metadata(record: &KeyRecord) -> KeyMetadata {
    let algorithms = key_specs::algorithms(&record.key_spec, &record.key_usage);
    let imported = record.origin == "EXTERNAL" && !record.materials.is_empty();
    KeyMetadata {
        aws_account_id: record.key.account.clone(),
        key_id: record.key.key_id.clone(),
        arn: record.key.arn(),
        creation_date: to_epoch_seconds(record.created_ms),
        enabled: record.state == KeyState::Enabled,
        description: record.description.clone(),
        key_usage: record.key_usage.clone(),
        key_state: record.state.as_str().to_owned(),
        deletion_date: match record.state {
            KeyState::PendingDeletion => record.deletion_ms.map(to_epoch_seconds),
            _ => None,
        },
        origin: record.origin.clone(),
        key_manager: record.key_manager.as_str().to_owned(),
        customer_master_key_spec: record.key_spec.clone(),
        key_spec: record.key_spec.clone(),
        encryption_algorithms: algorithms.encryption,
        signing_algorithms: algorithms.signing,
        mac_algorithms: algorithms.mac,
        key_agreement_algorithms: algorithms.key_agreement,
        valid_to: if imported { record.import.valid_to_ms.map(to_epoch_seconds) } else { None },
        expiration_model: if imported { record.import.expiration_model.clone() } else { None },
        multi_region: record.multi_region.is_some(),
        multi_region_configuration: multi_region::configuration(record),
        pending_deletion_window_in_days: match record.state {
            KeyState::PendingReplicaDeletion => record.pending_window_days,
            _ => None,
        },
        current_key_material_id: if record.key_spec == "SYMMETRIC_DEFAULT" {
            record.current_material().map(|m| m.material_id.clone())
        } else {
            None
        },
    }
}

/// Creates fresh key material version `version` for `key`.
///
/// # Errors
/// `KMSInternalException` if the random generator or keystore fails.
pub fn new_material(
    state: &AppState,
    key: &KeyRef,
    version: u32,
    origin: MaterialOrigin,
    now_ms: i64,
) -> Result<KeyMaterial, KmsError> {
    let sealed = state
        .keystore
        .new_sealed_material(key, version)
        .map_err(|e| internal("cannot create key material", e))?;
    let mut id = [0u8; 32];
    rand::fill(&mut id).map_err(|e| internal("random generator failed", e))?;
    Ok(KeyMaterial {
        version,
        material_id: hex::encode(id),
        sealed,
        created_ms: now_ms,
        origin,
        public_key: Vec::new(),
    })
}

/// CreateKey.
///
/// # Errors
/// `ValidationException`, `MalformedPolicyDocumentException`, `TagException`,
/// `LimitExceededException`, `UnsupportedOperationException` for key types this server
/// does not offer yet.
pub async fn create_key(
    ctx: &Ctx<'_>,
    req: CreateKeyRequest,
) -> Result<KeyMetadataResponse, KmsError> {
    let mut v = Validator::new();
    if let Some(d) = &req.description {
        v.length("description", d, 0, DESCRIPTION_MAX_CHARS);
    }
    if let Some(p) = &req.policy {
        policy::validate_member(&mut v, p);
    }
    if let Some(u) = &req.key_usage {
        v.one_of("keyUsage", u, KEY_USAGES);
    }
    if let Some(s) = &req.key_spec {
        v.one_of("keySpec", s, KEY_SPECS);
    }
    if let Some(s) = &req.customer_master_key_spec {
        v.one_of("customerMasterKeySpec", s, CUSTOMER_MASTER_KEY_SPECS);
    }
    if let Some(o) = &req.origin {
        v.one_of("origin", o, ORIGINS);
    }
    if let Some(id) = &req.custom_key_store_id {
        v.length("customKeyStoreId", id, 1, 64);
    }
    if let Some(t) = &req.tags {
        tags::validate_members(&mut v, t);
    }
    v.finish()?;

    if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
        return Err(invalid(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
        ));
    }
    let key_spec = req
        .key_spec
        .or(req.customer_master_key_spec)
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    let key_usage = match (req.key_usage, key_spec.as_str()) {
        (Some(usage), _) => usage,
        (None, "SYMMETRIC_DEFAULT") => "ENCRYPT_DECRYPT".to_owned(),
        (None, _) => {
            return Err(invalid(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ))
        }
    };
    let kind = key_specs::check_spec_and_usage(&key_spec, &key_usage)?;
    let unsupported = |what: String| KmsError::new(ErrorCode::UnsupportedOperationException, what);
    let origin = req.origin.unwrap_or_else(|| "AWS_KMS".to_owned());
    if origin != "AWS_KMS" && origin != "EXTERNAL" {
        return Err(unsupported(format!("Origin {origin} is not supported by this server yet")));
    }
    let multi_region = req.multi_region == Some(true);
    if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
        return Err(unsupported("custom key stores are not supported by this server".into()));
    }
    let key_tags = tags::merge(&[], req.tags.as_deref().unwrap_or_default())?;
    let bypass_lockout = req.bypass_policy_lockout_safety_check == Some(true);
    let tag_keys: Vec<&str> = key_tags.iter().map(|(k, _)| k.as_str()).collect();
    let facts = RequestFacts {
        new_key: Some(NewKey {
            key_spec: &key_spec,
            key_usage: &key_usage,
            origin: &origin,
            multi_region,
        }),
        new_key_type: multi_region.then_some("PRIMARY"),
        request_tags: (!key_tags.is_empty()).then_some(key_tags.as_slice()),
        tag_keys: (!tag_keys.is_empty()).then_some(tag_keys),
        bypass_lockout: Some(bypass_lockout),
        ..RequestFacts::default()
    };
    authz::authorize_account(ctx.caller, Action::CreateKey, &facts, ctx.decisions)?;
    if !key_tags.is_empty() {
        // Tags at creation need kms:TagResource as well (identity policies), as for AWS.
        authz::authorize_account(ctx.caller, Action::TagResource, &facts, ctx.decisions)?;
    }

    let key = ctx.own_key(&if multi_region {
        multi_region::new_key_id()
    } else {
        uuid::Uuid::new_v4().hyphenated().to_string()
    });
    let (policy, parsed) = match req.policy {
        Some(p) => {
            let parsed = policy::check_document(&p)?;
            policy::check_principals(ctx, &parsed)?;
            (p, Some(parsed))
        }
        None => (policy::default_policy(&key.account), None),
    };
    if ctx.state.store.count_keys(&key.account, &key.region).await? >= MAX_KEYS_PER_REGION {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!("You have reached the limit of {MAX_KEYS_PER_REGION} KMS keys in this Region"),
        ));
    }
    let (materials, state) = if origin == "EXTERNAL" {
        (Vec::new(), KeyState::PendingImport)
    } else if kind == KeyKind::Symmetric {
        (
            vec![new_material(ctx.state, &key, 1, MaterialOrigin::Original, ctx.now_ms())?],
            KeyState::Enabled,
        )
    } else {
        let material = asymmetric::generate_material(ctx.state, &key, kind, ctx.now_ms()).await?;
        (vec![material], KeyState::Enabled)
    };
    let record = KeyRecord {
        materials,
        import: ImportInfo::default(),
        multi_region: multi_region.then(|| multi_region::new_primary(&key.region)),
        key,
        revision: 1,
        created_ms: ctx.now_ms(),
        description: req.description.unwrap_or_default(),
        key_usage,
        key_spec,
        origin,
        state,
        deletion_ms: None,
        pending_window_days: None,
        policy,
        tags: key_tags,
        rotation: Rotation::default(),
        key_manager: KeyManager::Customer,
    };
    if let (Some(parsed), false) = (parsed, bypass_lockout) {
        authz::check_lockout(ctx.caller, &record, &parsed)?;
    }
    ctx.state.store.insert_key(&record).await?;
    let response = KeyMetadataResponse { key_metadata: Some(metadata(&record)) };
    ctx.state.keys.put(Arc::new(record));
    Ok(response)
}

/// DescribeKey.
///
/// # Errors
/// `NotFoundException`, `ValidationException`.
pub async fn describe_key(
    ctx: &Ctx<'_>,
    req: DescribeKeyRequest,
) -> Result<KeyMetadataResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| v.grant_tokens(&req.grant_tokens))?;
    let record = match ctx.find(key_id, KeyIdForms::KeyOrAlias, Action::DescribeKey).await {
        Err(e)
            if e.code == ErrorCode::NotFoundException
                && managed_keys::service_of(key_id).is_some() =>
        {
            // DescribeKey on a predefined alias with no key yet makes the AWS managed key.
            managed_keys::create(ctx, key_id).await?;
            ctx.find(key_id, KeyIdForms::KeyOrAlias, Action::DescribeKey).await?
        }
        found => found?,
    };
    Ok(KeyMetadataResponse { key_metadata: Some(metadata(&record)) })
}

/// Validates a required `KeyId` member (plus any extra checks) and returns it.
///
/// # Errors
/// `ValidationException`.
pub fn require_key_id(
    key_id: &Option<String>,
    extra: impl FnOnce(&mut Validator),
) -> Result<&str, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", key_id) {
        if let Some(id) = key_id {
            v.length("keyId", id, 1, 2048);
        }
    }
    extra(&mut v);
    v.finish()?;
    Ok(key_id.as_deref().unwrap_or_default())
}

/// ListKeys.
///
/// # Errors
/// `ValidationException`, `InvalidMarkerException`.
pub async fn list_keys(ctx: &Ctx<'_>, req: ListRequest) -> Result<ListKeysResponse, KmsError> {
    authz::authorize_account(
        ctx.caller,
        Action::ListKeys,
        &RequestFacts::default(),
        ctx.decisions,
    )?;
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 1000, 100)?;
    let mut ids = ctx
        .state
        .store
        .list_key_ids(&ctx.caller.account, ctx.region, after.as_deref(), limit + 1)
        .await?;
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    let next_marker = if truncated { ids.last().map(|id| super::encode_marker(id)) } else { None };
    let keys = ids
        .into_iter()
        .map(|id| KeyListEntry { key_arn: ctx.own_key(&id).arn(), key_id: id })
        .collect();
    Ok(ListKeysResponse { keys: Some(keys), next_marker, truncated: Some(truncated) })
}

/// EnableKey.
///
/// # Errors
/// `NotFoundException`, `KMSInvalidStateException` when pending deletion.
pub async fn enable_key(ctx: &Ctx<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
    set_enabled(ctx, req, true).await
}

/// DisableKey.
///
/// # Errors
/// `NotFoundException`, `KMSInvalidStateException` when pending deletion.
pub async fn disable_key(ctx: &Ctx<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
    set_enabled(ctx, req, false).await
}

async fn set_enabled(ctx: &Ctx<'_>, req: KeyIdRequest, enabled: bool) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let action = if enabled { Action::EnableKey } else { Action::DisableKey };
    ctx.mutate_id(key_id, action, |record| {
        require_not_pending_deletion(record)?;
        if record.state == KeyState::PendingImport {
            return Err(super::pending_import(record));
        }
        record.state = if enabled { KeyState::Enabled } else { KeyState::Disabled };
        Ok(())
    })
    .await?;
    Ok(())
}

/// UpdateKeyDescription.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `KMSInvalidStateException`.
pub async fn update_key_description(
    ctx: &Ctx<'_>,
    req: UpdateKeyDescriptionRequest,
) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("description", &req.description) {
            if let Some(d) = &req.description {
                v.length("description", d, 0, DESCRIPTION_MAX_CHARS);
            }
        }
    })?;
    let description = req.description.unwrap_or_default();
    ctx.mutate_id(key_id, Action::UpdateKeyDescription, |record| {
        require_not_pending_deletion(record)?;
        record.description.clone_from(&description);
        Ok(())
    })
    .await?;
    Ok(())
}

/// ScheduleKeyDeletion. A multi-Region primary that has replicas goes to
/// `PendingReplicaDeletion` and starts its waiting period when its last replica is deleted.
///
/// # Errors
/// `ValidationException` for a window outside 7–30 days, `KMSInvalidStateException` if
/// the key is already pending deletion.
pub async fn schedule_key_deletion(
    ctx: &Ctx<'_>,
    req: ScheduleKeyDeletionRequest,
) -> Result<ScheduleKeyDeletionResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if let Some(days) = req.pending_window_in_days {
            v.range("pendingWindowInDays", days, 7, 30);
        }
    })?;
    let days = req.pending_window_in_days.unwrap_or(30);
    let now = ctx.now_ms();
    let facts = RequestFacts { pending_window_days: Some(days), ..RequestFacts::default() };
    let (deletion_ms, record) = ctx
        .mutate_id_with(key_id, Action::ScheduleKeyDeletion, &facts, |record| {
            require_not_pending_deletion(record)?;
            // A multi-Region primary with replicas waits for them, with no deletion date.
            let state = multi_region::deletion_state(record);
            let when = (state == KeyState::PendingDeletion).then_some(now + days * DAY_MS);
            record.state = state;
            record.deletion_ms = when;
            record.pending_window_days = Some(days);
            Ok(when)
        })
        .await?;
    Ok(ScheduleKeyDeletionResponse {
        key_id: Some(record.key.arn()),
        deletion_date: deletion_ms.map(to_epoch_seconds),
        key_state: Some(record.state.as_str().to_owned()),
        pending_window_in_days: Some(days),
    })
}

/// CancelKeyDeletion: the key returns as `Disabled`.
///
/// # Errors
/// `KMSInvalidStateException` if the key is not pending deletion.
pub async fn cancel_key_deletion(
    ctx: &Ctx<'_>,
    req: KeyIdRequest,
) -> Result<KeyIdResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let ((), record) = ctx
        .mutate_id(key_id, Action::CancelKeyDeletion, |record| {
            if !record.state.is_pending_deletion() {
                return Err(KmsError::new(
                    ErrorCode::KMSInvalidStateException,
                    format!(
                        "{} is not pending deletion (or pending replica deletion).",
                        record.key.arn()
                    ),
                ));
            }
            // A key whose imported material is gone goes back to waiting for an import.
            record.state = if record.materials.is_empty() {
                KeyState::PendingImport
            } else {
                KeyState::Disabled
            };
            record.deletion_ms = None;
            record.pending_window_days = None;
            Ok(())
        })
        .await?;
    Ok(KeyIdResponse { key_id: Some(record.key.arn()) })
}

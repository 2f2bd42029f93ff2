//! Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations. Automatic rotation runs in `jobs`. A multi-Region
//! key rotates at its primary, and every replica gets the new material in the same write.

use kms_api::types::{
    EnableKeyRotationRequest, GetKeyRotationStatusResponse, KeyIdRequest, KeyIdResponse,
    ListKeyRotationsRequest, ListKeyRotationsResponse, RotationsListEntry,
};
use kms_api::{ErrorCode, KmsError};

use super::keys::{new_material, require_key_id};
use super::validate::Validator;
use super::{encode_marker, multi_region, page_params, require_enabled, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::clock::{to_epoch_seconds, DAY_MS};
use crate::model::{KeyRecord, MaterialOrigin};
use crate::state::AppState;

/// Default automatic rotation period.
pub const DEFAULT_ROTATION_DAYS: i64 = 365;
/// Shortest automatic rotation period.
pub const MIN_ROTATION_DAYS: i64 = 90;
/// Longest automatic rotation period.
pub const MAX_ROTATION_DAYS: i64 = 2560;
/// Most on-demand rotations per key.
pub const MAX_ON_DEMAND_ROTATIONS: usize = 25;

/// Which rotation operation asks (AWS words the refusal differently for on-demand rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotating {
    Automatic,
    OnDemand,
}

/// Rotation exists only for symmetric encryption keys whose material AWS KMS generated.
///
/// # Errors
/// `UnsupportedOperationException` for asymmetric and HMAC keys and (automatic rotation)
/// for imported key material; `KMSInvalidStateException` for on-demand rotation of
/// imported material, which would need new material imported for rotation first.
fn require_rotatable(record: &KeyRecord, rotating: Rotating) -> Result<(), KmsError> {
    if record.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(match rotating {
            Rotating::OnDemand => KmsError::bare(ErrorCode::UnsupportedOperationException),
            Rotating::Automatic => KmsError::new(
                ErrorCode::UnsupportedOperationException,
                format!(
                    "{} key spec is {} which is not valid for this operation.",
                    record.key.arn(),
                    record.key_spec
                ),
            ),
        });
    }
    if record.origin != "AWS_KMS" {
        return Err(match rotating {
            Rotating::OnDemand => KmsError::new(
                ErrorCode::KMSInvalidStateException,
                format!(
                    "No available key material pending rotation for the key: {}.",
                    record.key.arn()
                ),
            ),
            Rotating::Automatic => KmsError::new(
                ErrorCode::UnsupportedOperationException,
                format!(
                    "{} origin is {} which is not valid for this operation.",
                    record.key.arn(),
                    record.origin
                ),
            ),
        });
    }
    Ok(())
}

/// EnableKeyRotation; calling it again changes the period.
///
/// # Errors
/// `ValidationException`, `DisabledException`, `KMSInvalidStateException`, `NotFoundException`.
pub async fn enable_key_rotation(
    ctx: &Ctx<'_>,
    req: EnableKeyRotationRequest,
) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if let Some(days) = req.rotation_period_in_days {
            v.range("rotationPeriodInDays", days, MIN_ROTATION_DAYS, MAX_ROTATION_DAYS);
        }
    })?;
    let days = req.rotation_period_in_days.unwrap_or(DEFAULT_ROTATION_DAYS);
    let now = ctx.now_ms();
    let facts = RequestFacts { rotation_period_days: Some(days), ..RequestFacts::default() };
    multi_region::mutate_rotation(ctx, key_id, Action::EnableKeyRotation, &facts, |record| {
        require_rotatable(record, Rotating::Automatic)?;
        require_enabled(record)?;
        record.rotation.enabled = true;
        record.rotation.period_days = Some(days);
        record.rotation.next_rotation_ms = Some(now + days * DAY_MS);
        Ok(())
    })
    .await?;
    Ok(())
}

/// DisableKeyRotation.
///
/// # Errors
/// `DisabledException`, `KMSInvalidStateException`, `NotFoundException`.
pub async fn disable_key_rotation(ctx: &Ctx<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let facts = RequestFacts::default();
    multi_region::mutate_rotation(ctx, key_id, Action::DisableKeyRotation, &facts, |record| {
        require_rotatable(record, Rotating::Automatic)?;
        require_enabled(record)?;
        record.rotation.enabled = false;
        record.rotation.next_rotation_ms = None;
        Ok(())
    })
    .await?;
    Ok(())
}

/// GetKeyRotationStatus. A key pending deletion reports rotation off (it comes back on cancel).
///
/// # Errors
/// `NotFoundException`, `ValidationException`.
pub async fn get_key_rotation_status(
    ctx: &Ctx<'_>,
    req: KeyIdRequest,
) -> Result<GetKeyRotationStatusResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let record = ctx.find(key_id, KeyIdForms::KeyOnly, Action::GetKeyRotationStatus).await?;
    require_rotatable(&record, Rotating::Automatic)?;
    let enabled = record.rotation.enabled && !record.state.is_pending_deletion();
    Ok(GetKeyRotationStatusResponse {
        key_rotation_enabled: Some(enabled),
        key_id: Some(record.key.arn()),
        rotation_period_in_days: if enabled { record.rotation.period_days } else { None },
        next_rotation_date: if enabled {
            record.rotation.next_rotation_ms.map(to_epoch_seconds)
        } else {
            None
        },
        on_demand_rotation_start_date: None,
    })
}

/// RotateKeyOnDemand: new material at once; the automatic schedule is unchanged.
///
/// # Errors
/// `DisabledException`, `KMSInvalidStateException`, `LimitExceededException` after 25.
pub async fn rotate_key_on_demand(
    ctx: &Ctx<'_>,
    req: KeyIdRequest,
) -> Result<KeyIdResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let facts = RequestFacts::default();
    let ((), record) =
        multi_region::mutate_rotation(ctx, key_id, Action::RotateKeyOnDemand, &facts, |record| {
            require_rotatable(record, Rotating::OnDemand)?;
            require_enabled(record)?;
            if record.on_demand_rotations() >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::new(
                    ErrorCode::LimitExceededException,
                    format!(
                        "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                        record.key.arn()
                    ),
                ));
            }
            add_material(ctx.state, record, MaterialOrigin::OnDemand, ctx.now_ms())
        })
        .await?;
    Ok(KeyIdResponse { key_id: Some(record.key.key_id.clone()) })
}

/// Appends a new material version (it becomes current).
///
/// # Errors
/// `KMSInternalException` if material cannot be created.
pub fn add_material(
    state: &AppState,
    record: &mut KeyRecord,
    origin: MaterialOrigin,
    now_ms: i64,
) -> Result<(), KmsError> {
    let version = record.materials.last().map_or(1, |m| m.version + 1);
    let material = new_material(state, &record.key, version, origin, now_ms)?;
    record.materials.push(material);
    Ok(())
}

/// ListKeyRotations, oldest first.
///
/// # Errors
/// `ValidationException`, `InvalidMarkerException`, `NotFoundException`.
pub async fn list_key_rotations(
    ctx: &Ctx<'_>,
    req: ListKeyRotationsRequest,
) -> Result<ListKeyRotationsResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v: &mut Validator| {
        if let Some(include) = &req.include_key_material {
            v.one_of("includeKeyMaterial", include, &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"]);
        }
    })?;
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 1000, 100)?;
    let record = ctx.find(key_id, KeyIdForms::KeyOnly, Action::ListKeyRotations).await?;
    require_rotatable(&record, Rotating::Automatic)?;
    let include_original = req.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
    let after_version = match after {
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| KmsError::new(ErrorCode::InvalidMarkerException, "Invalid marker"))?,
        ),
        None => None,
    };
    let current = record.current_material().map(|m| m.version);
    let mut entries: Vec<_> = record
        .materials
        .iter()
        .filter(|m| include_original || m.origin != MaterialOrigin::Original)
        .filter(|m| after_version.is_none_or(|a| m.version > a))
        .take(limit + 1)
        .collect();
    let truncated = entries.len() > limit;
    entries.truncate(limit);
    let next_marker = if truncated {
        entries.last().map(|m| encode_marker(&m.version.to_string()))
    } else {
        None
    };
    let rotations = entries
        .into_iter()
        .map(|m| RotationsListEntry {
            key_id: record.key.key_id.clone(),
            key_material_id: m.material_id.clone(),
            key_material_state: if Some(m.version) == current { "CURRENT" } else { "NON_CURRENT" }
                .to_owned(),
            rotation_date: (m.origin != MaterialOrigin::Original)
                .then(|| to_epoch_seconds(m.created_ms)),
            rotation_type: match m.origin {
                MaterialOrigin::Original => None,
                MaterialOrigin::Automatic => Some("AUTOMATIC".to_owned()),
                MaterialOrigin::OnDemand => Some("ON_DEMAND".to_owned()),
            },
        })
        .collect();
    Ok(ListKeyRotationsResponse {
        rotations: Some(rotations),
        next_marker,
        truncated: Some(truncated),
    })
}

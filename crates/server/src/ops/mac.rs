//! HMAC keys: GenerateMac and VerifyMac.

use std::sync::Arc;

use kms_api::types::{
    GenerateMacRequest, GenerateMacResponse, VerifyMacRequest, VerifyMacResponse,
};
use kms_api::{Blob, ErrorCode, KmsError};

use super::asymmetric::secret_of;
use super::crypto::dry_run_succeeded;
use super::key_specs::{
    self, require_usable, wrong_algorithm, GENERATE_VERIFY_MAC, MAC_ALGORITHMS,
};
use super::validate::Validator;
use super::{internal, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::model::KeyRecord;

/// Largest `Message`.
pub const MESSAGE_MAX_BYTES: usize = 4096;
/// Largest `Mac`.
pub const MAC_MAX_BYTES: usize = 6144;

/// Validates the members GenerateMac and VerifyMac share, finds the key and checks it.
#[allow(clippy::too_many_arguments)]
async fn mac_key(
    ctx: &Ctx<'_>,
    key_id: &Option<String>,
    message: Option<&[u8]>,
    algorithm: &Option<String>,
    grant_tokens: &Option<Vec<String>>,
    extra: impl FnOnce(&mut Validator),
    operation: &str,
    action: Action,
) -> Result<Arc<KeyRecord>, KmsError> {
    let mut v = Validator::new();
    if v.required("message", &message) {
        v.secret_length("message", message.map_or(0, <[u8]>::len), 1, MESSAGE_MAX_BYTES);
    }
    if v.required("keyId", key_id) {
        v.length("keyId", key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if v.required("macAlgorithm", algorithm) {
        v.one_of("macAlgorithm", algorithm.as_deref().unwrap_or_default(), MAC_ALGORITHMS);
    }
    v.grant_tokens(grant_tokens);
    extra(&mut v);
    v.finish()?;
    let facts = RequestFacts { mac_algorithm: algorithm.as_deref(), ..RequestFacts::default() };
    let key_id = key_id.as_deref().unwrap_or_default();
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, action, &facts).await?;
    require_usable(&record, GENERATE_VERIFY_MAC, operation)?;
    let algorithm = algorithm.as_deref().unwrap_or_default();
    let offered =
        key_specs::algorithms(&record.key_spec, &record.key_usage).mac.unwrap_or_default();
    if !offered.iter().any(|a| a == algorithm) {
        return Err(wrong_algorithm(&record, algorithm));
    }
    Ok(record)
}

/// GenerateMac: an RFC 2104 HMAC of the message.
///
/// # Errors
/// `ValidationException`, `InvalidKeyUsageException`, the key-state errors,
/// `DryRunOperationException`.
pub async fn generate_mac(
    ctx: &Ctx<'_>,
    req: GenerateMacRequest,
) -> Result<GenerateMacResponse, KmsError> {
    let message = req.message.as_ref().map(|m| m.expose_secret());
    let record = mac_key(
        ctx,
        &req.key_id,
        message,
        &req.mac_algorithm,
        &req.grant_tokens,
        |_| {},
        "GenerateMac",
        Action::GenerateMac,
    )
    .await?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let mac = secret_of(ctx, &record)?
        .mac(message.unwrap_or_default())
        .map_err(|e| internal("HMAC failed", e))?;
    Ok(GenerateMacResponse {
        mac: Some(Blob(mac)),
        mac_algorithm: req.mac_algorithm,
        key_id: Some(record.key.arn()),
    })
}

/// VerifyMac: a wrong MAC is `KMSInvalidMacException` (no message), never `MacValid: false`.
///
/// # Errors
/// As [`generate_mac`], plus `KMSInvalidMacException`.
pub async fn verify_mac(
    ctx: &Ctx<'_>,
    req: VerifyMacRequest,
) -> Result<VerifyMacResponse, KmsError> {
    let message = req.message.as_ref().map(|m| m.expose_secret());
    let mac = req.mac.as_ref().map(|m| m.0.as_slice());
    let record = mac_key(
        ctx,
        &req.key_id,
        message,
        &req.mac_algorithm,
        &req.grant_tokens,
        |v| {
            if v.required("mac", &mac) {
                v.list_length("mac", mac.map_or(0, <[u8]>::len), 1, MAC_MAX_BYTES);
            }
        },
        "VerifyMac",
        Action::VerifyMac,
    )
    .await?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    secret_of(ctx, &record)?
        .verify_mac(message.unwrap_or_default(), mac.unwrap_or_default())
        .map_err(|_| KmsError::bare(ErrorCode::KMSInvalidMacException))?;
    Ok(VerifyMacResponse {
        key_id: Some(record.key.arn()),
        mac_valid: Some(true),
        mac_algorithm: req.mac_algorithm,
    })
}

//! DeriveSharedSecret: ECDH between a `KEY_AGREEMENT` key and a peer's public key.

use kms_api::types::{DeriveSharedSecretRequest, DeriveSharedSecretResponse};
use kms_api::{ErrorCode, KmsError, SecretBlob};

use super::asymmetric::secret_of;
use super::crypto::{dry_run_succeeded, unsupported_recipient};
use super::key_specs::{require_usable, KEY_AGREEMENT};
use super::validate::Validator;
use super::{Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;

/// Largest `PublicKey`.
pub const PUBLIC_KEY_MAX_BYTES: usize = 8192;

/// DeriveSharedSecret. The peer key must be a DER `SubjectPublicKeyInfo` on the key's curve;
/// anything else is a `ValidationException` with no message, as AWS sends it.
///
/// # Errors
/// `ValidationException`, `InvalidKeyUsageException`, the key-state errors,
/// `DryRunOperationException`, `UnsupportedOperationException` for recipients.
pub async fn derive_shared_secret(
    ctx: &Ctx<'_>,
    req: DeriveSharedSecretRequest,
) -> Result<DeriveSharedSecretResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if v.required("keyAgreementAlgorithm", &req.key_agreement_algorithm) {
        let algorithm = req.key_agreement_algorithm.as_deref().unwrap_or_default();
        v.one_of("keyAgreementAlgorithm", algorithm, &["ECDH"]);
    }
    if v.required("publicKey", &req.public_key) {
        let len = req.public_key.as_ref().map_or(0, |k| k.0.len());
        v.list_length("publicKey", len, 1, PUBLIC_KEY_MAX_BYTES);
    }
    v.grant_tokens(&req.grant_tokens);
    v.finish()?;
    if req.recipient.is_some() {
        return Err(unsupported_recipient());
    }
    let key_id = req.key_id.as_deref().unwrap_or_default();
    let facts = RequestFacts {
        key_agreement_algorithm: req.key_agreement_algorithm.as_deref(),
        ..RequestFacts::default()
    };
    let record =
        ctx.find_with(key_id, KeyIdForms::KeyOrAlias, Action::DeriveSharedSecret, &facts).await?;
    require_usable(&record, KEY_AGREEMENT, "DeriveSharedSecret")?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let peer = req.public_key.unwrap_or_default();
    let secret = secret_of(ctx, &record)?
        .agree(&peer.0)
        .map_err(|_| KmsError::bare(ErrorCode::ValidationException))?;
    Ok(DeriveSharedSecretResponse {
        key_id: Some(record.key.arn()),
        shared_secret: Some(SecretBlob::new(secret.to_vec())),
        key_agreement_algorithm: Some("ECDH".to_owned()),
        key_origin: Some(record.origin.clone()),
    })
}

//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh key pair whose
//! private key comes back encrypted under a symmetric KMS key.

use kms_api::types::{GenerateDataKeyPairRequest, GenerateDataKeyPairResponse};
use kms_api::{Blob, ErrorCode, KmsError, SecretBlob};

use super::crypto::{
    check_encryption_key, dry_run_succeeded, seal_under_current, unsupported_recipient,
};
use super::validate::Validator;
use super::{internal, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::keypairs::{self, KeyKind};

const KEY_PAIR_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SM2",
    "ECC_NIST_EDWARDS25519",
];

/// GenerateDataKeyPair (`with_plaintext`) or GenerateDataKeyPairWithoutPlaintext.
///
/// # Errors
/// `ValidationException`, `UnsupportedOperationException` (SM2, recipients), the
/// encryption key's state and usage errors, `DryRunOperationException`.
pub async fn generate_data_key_pair(
    ctx: &Ctx<'_>,
    req: GenerateDataKeyPairRequest,
    with_plaintext: bool,
) -> Result<GenerateDataKeyPairResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if v.required("keyPairSpec", &req.key_pair_spec) {
        v.one_of("keyPairSpec", req.key_pair_spec.as_deref().unwrap_or_default(), KEY_PAIR_SPECS);
    }
    v.grant_tokens(&req.grant_tokens);
    v.finish()?;
    if req.recipient.is_some() {
        return Err(unsupported_recipient());
    }
    let spec = req.key_pair_spec.unwrap_or_default();
    let kind = KeyKind::from_spec(&spec).filter(|k| k.is_asymmetric()).ok_or_else(|| {
        KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("KeyPairSpec {spec} is only available in the AWS China Regions"),
        )
    })?;
    let (action, operation) = if with_plaintext {
        (Action::GenerateDataKeyPair, "GenerateDataKeyPair")
    } else {
        (Action::GenerateDataKeyPairWithoutPlaintext, "GenerateDataKeyPairWithoutPlaintext")
    };
    let key_id = req.key_id.as_deref().unwrap_or_default();
    let context = req.encryption_context.clone().unwrap_or_default();
    // The context and spec feed kms:EncryptionContext*, kms:DataKeyPairSpec and grant
    // constraints.
    let facts = RequestFacts {
        encryption_context: Some(&context),
        encryption_algorithm: Some("SYMMETRIC_DEFAULT"),
        data_key_pair_spec: Some(&spec),
        ..RequestFacts::default()
    };
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, action, &facts).await?;
    check_encryption_key(&record, operation, None)?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    // RSA key generation takes long enough that it must not block the async workers.
    let pair = tokio::task::spawn_blocking(move || keypairs::generate(kind))
        .await
        .map_err(|e| internal("key generation task failed", e))?
        .map_err(|e| internal("key generation failed", e))?;
    let sealed = seal_under_current(ctx, &record, &context, &pair.secret)?;
    Ok(GenerateDataKeyPairResponse {
        private_key_ciphertext_blob: Some(Blob(sealed.blob)),
        private_key_plaintext: with_plaintext.then(|| SecretBlob::new(pair.secret.to_vec())),
        public_key: Some(Blob(pair.public_key.clone())),
        key_id: Some(record.key.arn()),
        key_pair_spec: Some(spec),
        key_material_id: Some(sealed.material_id),
    })
}

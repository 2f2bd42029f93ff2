//! Asymmetric keys: key generation, GetPublicKey, Sign, Verify, and the RSA-OAEP halves
//! of Encrypt, Decrypt and ReEncrypt (the symmetric halves live in `crypto`).

use std::sync::Arc;

use aws_lc_rs::rand;
use kms_api::types::{
    GetPublicKeyRequest, GetPublicKeyResponse, SignRequest, SignResponse, VerifyRequest,
    VerifyResponse,
};
use kms_api::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::crypto::dry_run_succeeded;
use super::key_specs::{
    self, kind_of, require_usable, wrong_algorithm, ENCRYPT_DECRYPT, KEY_AGREEMENT,
    SIGNING_ALGORITHMS, SIGN_VERIFY,
};
use super::keys::require_key_id;
use super::validate::{invalid, Validator};
use super::{internal, require_enabled, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::keypairs::{self, Hash, KeyKind, SecretKey, SignInput, SigningAlgorithm};
use crate::keystore::SecretPurpose;
use crate::model::{KeyMaterial, KeyRecord, KeyRef, MaterialOrigin};
use crate::state::AppState;

/// Largest `Message` of Sign and Verify.
pub const MESSAGE_MAX_BYTES: usize = 4096;
/// Largest `Signature` of Verify.
pub const SIGNATURE_MAX_BYTES: usize = 6144;
const MESSAGE_TYPES: &[&str] = &["RAW", "DIGEST", "EXTERNAL_MU"];

/// Generates the first material of a new asymmetric or HMAC key, sealed by the keystore.
///
/// # Errors
/// `KMSInternalException` if generation or sealing fails.
pub async fn generate_material(
    state: &AppState,
    key: &KeyRef,
    kind: KeyKind,
    now_ms: i64,
) -> Result<KeyMaterial, KmsError> {
    // RSA key generation takes long enough that it must not block the async workers.
    let generated = tokio::task::spawn_blocking(move || keypairs::generate(kind))
        .await
        .map_err(|e| internal("key generation task failed", e))?
        .map_err(|e| internal("key generation failed", e))?;
    let sealed = state
        .keystore
        .seal_secret(key, SecretPurpose::KeyMaterial, 1, &generated.secret)
        .map_err(|e| internal("cannot seal key material", e))?;
    Ok(KeyMaterial {
        version: 1,
        material_id: random_material_id()?,
        sealed,
        created_ms: now_ms,
        origin: MaterialOrigin::Original,
        public_key: generated.public_key.clone(),
    })
}

/// A new random key material id (64 hex characters).
///
/// # Errors
/// `KMSInternalException` if the random generator fails.
pub fn random_material_id() -> Result<String, KmsError> {
    let mut id = [0u8; 32];
    rand::fill(&mut id).map_err(|e| internal("random generator failed", e))?;
    Ok(hex::encode(id))
}

/// The current material of a key that must have one.
///
/// # Errors
/// `KMSInternalException` if the key has none (callers check the state first).
pub fn current(record: &KeyRecord) -> Result<&KeyMaterial, KmsError> {
    record.current_material().ok_or_else(|| internal("key has no material", record.key.arn()))
}

/// The parsed private or HMAC key of a key's current material (cached by the keystore).
///
/// # Errors
/// `KMSInternalException` if it cannot be unsealed.
pub fn secret_of(ctx: &Ctx<'_>, record: &KeyRecord) -> Result<Arc<SecretKey>, KmsError> {
    let kind = kind_of(record)?;
    ctx.state
        .keystore
        .secret_key(&record.key, current(record)?, kind, record.key_usage == KEY_AGREEMENT)
        .map_err(|e| internal("cannot unseal key material", e))
}

/// GetPublicKey.
///
/// # Errors
/// `UnsupportedOperationException` for symmetric and HMAC keys; the key-state errors.
pub async fn get_public_key(
    ctx: &Ctx<'_>,
    req: GetPublicKeyRequest,
) -> Result<GetPublicKeyResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| v.grant_tokens(&req.grant_tokens))?;
    let record = ctx.find(key_id, KeyIdForms::KeyOrAlias, Action::GetPublicKey).await?;
    if !kind_of(&record)?.is_asymmetric() {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!(
                "{} key spec is {} which has no public key.",
                record.key.arn(),
                record.key_spec
            ),
        ));
    }
    require_enabled(&record)?;
    let algorithms = key_specs::algorithms(&record.key_spec, &record.key_usage);
    Ok(GetPublicKeyResponse {
        key_id: Some(record.key.arn()),
        public_key: Some(Blob(current(&record)?.public_key.clone())),
        customer_master_key_spec: Some(record.key_spec.clone()),
        key_spec: Some(record.key_spec.clone()),
        key_usage: Some(record.key_usage.clone()),
        encryption_algorithms: algorithms.encryption,
        signing_algorithms: algorithms.signing,
        key_agreement_algorithms: algorithms.key_agreement,
    })
}

struct SignParams<'a> {
    record: Arc<KeyRecord>,
    algorithm: SigningAlgorithm,
    algorithm_name: String,
    input: SignInput<'a>,
}

/// The checks Sign and Verify share, in AWS's order: members, key, usage, algorithm,
/// message type and digest length.
#[allow(clippy::too_many_arguments)]
async fn sign_params<'a>(
    ctx: &Ctx<'_>,
    key_id: &Option<String>,
    message: Option<&'a [u8]>,
    message_type: &Option<String>,
    algorithm: &Option<String>,
    grant_tokens: &Option<Vec<String>>,
    extra: impl FnOnce(&mut Validator),
    operation: &str,
    action: Action,
) -> Result<SignParams<'a>, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", key_id) {
        v.length("keyId", key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if v.required("message", &message) {
        v.secret_length("message", message.map_or(0, <[u8]>::len), 1, MESSAGE_MAX_BYTES);
    }
    if let Some(t) = message_type {
        v.one_of("messageType", t, MESSAGE_TYPES);
    }
    if v.required("signingAlgorithm", algorithm) {
        v.one_of("signingAlgorithm", algorithm.as_deref().unwrap_or_default(), SIGNING_ALGORITHMS);
    }
    v.grant_tokens(grant_tokens);
    extra(&mut v);
    v.finish()?;
    let key_id = key_id.as_deref().unwrap_or_default();
    let facts = RequestFacts {
        signing_algorithm: algorithm.as_deref(),
        message_type: Some(message_type.as_deref().unwrap_or("RAW")),
        ..RequestFacts::default()
    };
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, action, &facts).await?;
    require_usable(&record, SIGN_VERIFY, operation)?;
    let algorithm_name = algorithm.clone().unwrap_or_default();
    let algorithm = key_specs::signing_algorithm(&record, &algorithm_name)?;
    let message = message.unwrap_or_default();
    let input = match message_type.as_deref().unwrap_or("RAW") {
        // KMS signs ED25519_PH_SHA_512 only over a SHA-512 digest the caller computed.
        "RAW" if algorithm == SigningAlgorithm::Ed25519Ph => {
            return Err(invalid(format!(
                "The {algorithm_name} signing algorithm requires MessageType DIGEST."
            )))
        }
        "RAW" => SignInput::Raw(message),
        "DIGEST" => {
            let Some(hash) = algorithm.digest_hash() else {
                return Err(invalid(format!(
                    "The {algorithm_name} signing algorithm requires MessageType RAW."
                )));
            };
            if message.len() != hash.output_len() {
                return Err(invalid(format!(
                    "Digest is invalid length for algorithm {algorithm_name}."
                )));
            }
            SignInput::Digest(message)
        }
        _ if algorithm == SigningAlgorithm::MlDsa => {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperationException,
                "MessageType EXTERNAL_MU is not supported by this server",
            ))
        }
        _ => {
            return Err(invalid(format!(
                "MessageType EXTERNAL_MU is not valid for algorithm {algorithm_name}."
            )))
        }
    };
    Ok(SignParams { record, algorithm, algorithm_name, input })
}

/// Sign.
///
/// # Errors
/// `ValidationException` (limits, digest length), `InvalidKeyUsageException`, the
/// key-state errors, `DryRunOperationException`.
pub async fn sign(ctx: &Ctx<'_>, req: SignRequest) -> Result<SignResponse, KmsError> {
    let message = req.message.as_ref().map(|m| m.expose_secret());
    let p = sign_params(
        ctx,
        &req.key_id,
        message,
        &req.message_type,
        &req.signing_algorithm,
        &req.grant_tokens,
        |_| {},
        "Sign",
        Action::Sign,
    )
    .await?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let key = secret_of(ctx, &p.record)?;
    let signature = key.sign(p.algorithm, p.input).map_err(|e| internal("signing failed", e))?;
    Ok(SignResponse {
        key_id: Some(p.record.key.arn()),
        signature: Some(Blob(signature)),
        signing_algorithm: Some(p.algorithm_name),
    })
}

/// Verify. A signature that does not verify is `KMSInvalidSignatureException`; the
/// response never says `SignatureValid: false`.
///
/// # Errors
/// As [`sign`], plus `KMSInvalidSignatureException`.
pub async fn verify(ctx: &Ctx<'_>, req: VerifyRequest) -> Result<VerifyResponse, KmsError> {
    let message = req.message.as_ref().map(|m| m.expose_secret());
    let signature = req.signature.as_ref().map(|s| s.0.as_slice());
    let p = sign_params(
        ctx,
        &req.key_id,
        message,
        &req.message_type,
        &req.signing_algorithm,
        &req.grant_tokens,
        |v| {
            if v.required("signature", &signature) {
                v.list_length(
                    "signature",
                    signature.map_or(0, <[u8]>::len),
                    1,
                    SIGNATURE_MAX_BYTES,
                );
            }
        },
        "Verify",
        Action::Verify,
    )
    .await?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let kind = kind_of(&p.record)?;
    let public_key = &current(&p.record)?.public_key;
    keypairs::verify(kind, public_key, p.algorithm, p.input, signature.unwrap_or_default())
        .map_err(|_| KmsError::bare(ErrorCode::KMSInvalidSignatureException))?;
    Ok(VerifyResponse {
        key_id: Some(p.record.key.arn()),
        signature_valid: Some(true),
        signing_algorithm: Some(p.algorithm_name),
    })
}

fn oaep_hash(record: &KeyRecord, algorithm: Option<&str>) -> Result<(Hash, String), KmsError> {
    let name = algorithm.unwrap_or("SYMMETRIC_DEFAULT");
    match name {
        "RSAES_OAEP_SHA_1" => Ok((Hash::Sha1, name.to_owned())),
        "RSAES_OAEP_SHA_256" => Ok((Hash::Sha256, name.to_owned())),
        _ => Err(wrong_algorithm(record, name)),
    }
}

/// Checks that an asymmetric key can encrypt with `algorithm` and returns the OAEP hash.
///
/// # Errors
/// The key-state errors, `InvalidKeyUsageException` for the wrong usage or algorithm.
pub fn check_encryption(
    record: &KeyRecord,
    algorithm: Option<&str>,
    operation: &str,
) -> Result<(Hash, String), KmsError> {
    require_usable(record, ENCRYPT_DECRYPT, operation)?;
    oaep_hash(record, algorithm)
}

/// RSA-OAEP encryption under an asymmetric key's public key, with AWS's size limit.
///
/// # Errors
/// `ValidationException` if the plaintext is longer than the key and algorithm allow.
pub fn encrypt_with(
    record: &KeyRecord,
    hash: Hash,
    algorithm_name: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let KeyKind::Rsa(bits) = kind_of(record)? else {
        return Err(wrong_algorithm(record, algorithm_name));
    };
    let max = keypairs::oaep_max_plaintext(bits, hash);
    if plaintext.len() > max {
        return Err(invalid(format!(
            "Algorithm {algorithm_name} and key spec {} cannot encrypt data larger than {max} bytes.",
            record.key_spec
        )));
    }
    keypairs::encrypt(&current(record)?.public_key, hash, plaintext)
        .map_err(|e| internal("RSA encryption failed", e))
}

/// RSA-OAEP decryption with an asymmetric key's private key.
///
/// # Errors
/// `InvalidCiphertextException` (no message) if the ciphertext does not decrypt.
pub fn decrypt_with(
    ctx: &Ctx<'_>,
    record: &KeyRecord,
    hash: Hash,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let key = secret_of(ctx, record)?;
    key.decrypt(hash, ciphertext).map_err(|_| KmsError::bare(ErrorCode::InvalidCiphertextException))
}

/// Asymmetric keys take no encryption context.
///
/// # Errors
/// `ValidationException` when one is given.
pub fn refuse_context(present: bool) -> Result<(), KmsError> {
    if present {
        return Err(invalid("EncryptionContext is not supported with asymmetric KMS keys."));
    }
    Ok(())
}

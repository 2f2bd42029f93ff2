//! Imported key material (origin `EXTERNAL`): GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial, and the expiry of material imported with a `ValidTo`.
//!
//! A key remembers a fingerprint of the first material imported into it, so the same
//! material can be imported again after it was deleted or expired, and different
//! material is refused (`IncorrectKeyMaterialException`).

use kms_api::types::{
    DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse,
    GetParametersForImportRequest, GetParametersForImportResponse, ImportKeyMaterialRequest,
    ImportKeyMaterialResponse,
};
use kms_api::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::key_specs::{kind_of, KEY_AGREEMENT};
use super::keys::require_key_id;
use super::validate::{invalid, Validator};
use super::{internal, require_not_pending_deletion, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::clock::{to_epoch_seconds, DAY_MS};
use crate::keypairs::{self, Hash, KeyKind, SecretKey, Wrapping};
use crate::keystore::SecretPurpose;
use crate::model::{ImportParameters, KeyMaterial, KeyRecord, KeyState, MaterialOrigin};

/// How long import parameters (token and wrapping key) stay valid.
pub const PARAMETERS_VALID_MS: i64 = DAY_MS;
/// How far ahead `ValidTo` may be.
pub const VALID_TO_MAX_DAYS: i64 = 365;
/// Largest `ImportToken` and `EncryptedKeyMaterial`.
pub const BLOB_MAX_BYTES: usize = 6144;

const KEY_MATERIAL_EXPIRES: &str = "KEY_MATERIAL_EXPIRES";
const KEY_MATERIAL_DOES_NOT_EXPIRE: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";
const WRAPPING_ALGORITHMS: &[&str] = &[
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
];
const WRAPPING_KEY_SPECS: &[&str] = &["RSA_2048", "RSA_3072", "RSA_4096", "SM2"];
const TOKEN_PREFIX: &[u8] = b"kms-server import token v1\0";
const TOKEN_ID_LEN: usize = 32;

fn unsupported(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::UnsupportedOperationException, message)
}

/// Only `EXTERNAL` keys take imported material.
fn require_external(record: &KeyRecord) -> Result<(), KmsError> {
    if record.origin != "EXTERNAL" {
        return Err(unsupported(format!(
            "{} origin is {} which is not valid for this operation.",
            record.key.arn(),
            record.origin
        )));
    }
    Ok(())
}

fn wrapping(name: &str) -> Result<Wrapping, KmsError> {
    match name {
        "RSAES_OAEP_SHA_1" => Ok(Wrapping::Oaep(Hash::Sha1)),
        "RSAES_OAEP_SHA_256" => Ok(Wrapping::Oaep(Hash::Sha256)),
        "RSA_AES_KEY_WRAP_SHA_1" => Ok(Wrapping::RsaAesKeyWrap(Hash::Sha1)),
        "RSA_AES_KEY_WRAP_SHA_256" => Ok(Wrapping::RsaAesKeyWrap(Hash::Sha256)),
        "RSAES_PKCS1_V1_5" => Err(unsupported(
            "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported; use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256",
        )),
        _ => Err(unsupported(format!("Wrapping algorithm {name} is only available in the AWS China Regions"))),
    }
}

/// GetParametersForImport: a fresh RSA wrapping key and an import token, valid 24 hours.
///
/// # Errors
/// `ValidationException`, `UnsupportedOperationException` (not `EXTERNAL`, SM2, PKCS #1
/// v1.5), `KMSInvalidStateException` when pending deletion, `NotFoundException`.
pub async fn get_parameters_for_import(
    ctx: &Ctx<'_>,
    req: GetParametersForImportRequest,
) -> Result<GetParametersForImportResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("wrappingAlgorithm", &req.wrapping_algorithm) {
            let a = req.wrapping_algorithm.as_deref().unwrap_or_default();
            v.one_of("wrappingAlgorithm", a, WRAPPING_ALGORITHMS);
        }
        if v.required("wrappingKeySpec", &req.wrapping_key_spec) {
            let s = req.wrapping_key_spec.as_deref().unwrap_or_default();
            v.one_of("wrappingKeySpec", s, WRAPPING_KEY_SPECS);
        }
    })?;
    let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts {
        wrapping_algorithm: req.wrapping_algorithm.as_deref(),
        wrapping_key_spec: req.wrapping_key_spec.as_deref(),
        ..RequestFacts::default()
    };
    let record = ctx.load_with(&key, Action::GetParametersForImport, &facts).await?;
    require_external(&record)?;
    require_not_pending_deletion(&record)?;
    let algorithm = req.wrapping_algorithm.clone().unwrap_or_default();
    wrapping(&algorithm)?;
    let spec = req.wrapping_key_spec.clone().unwrap_or_default();
    let bits = match spec.as_str() {
        "RSA_2048" => 2048,
        "RSA_3072" => 3072,
        "RSA_4096" => 4096,
        _ => {
            return Err(unsupported(
                "Wrapping key spec SM2 is only available in the AWS China Regions",
            ))
        }
    };
    // RSA key generation takes long enough that it must not block the async workers.
    let wrapping_key = tokio::task::spawn_blocking(move || keypairs::generate_wrapping_key(bits))
        .await
        .map_err(|e| internal("key generation task failed", e))?
        .map_err(|e| internal("wrapping key generation failed", e))?;
    let sealed = ctx
        .state
        .keystore
        .seal_secret(&key, SecretPurpose::ImportWrappingKey, 0, &wrapping_key.secret)
        .map_err(|e| internal("cannot seal the wrapping key", e))?;
    let mut token_id = [0u8; TOKEN_ID_LEN];
    aws_lc_rs::rand::fill(&mut token_id).map_err(|e| internal("random generator failed", e))?;
    let expires_ms = ctx.now_ms() + PARAMETERS_VALID_MS;
    let parameters = ImportParameters {
        token_id: hex::encode(token_id),
        wrapping_algorithm: algorithm,
        wrapping_key_spec: spec,
        sealed_wrapping_key: sealed,
        expires_ms,
    };
    ctx.mutate_with(&key, Action::GetParametersForImport, &facts, |record| {
        require_external(record)?;
        require_not_pending_deletion(record)?;
        record.import.pending = Some(parameters.clone());
        Ok(())
    })
    .await?;
    let mut token = TOKEN_PREFIX.to_vec();
    token.extend_from_slice(&token_id);
    token.extend_from_slice(key.key_id.as_bytes());
    Ok(GetParametersForImportResponse {
        key_id: Some(key.arn()),
        import_token: Some(Blob(token)),
        public_key: Some(Blob(wrapping_key.public_key.clone())),
        parameters_valid_to: Some(to_epoch_seconds(expires_ms)),
    })
}

/// What the unwrapped material turned out to be, ready to store.
struct Checked {
    /// The material as the keystore seals it (32 bytes, HMAC bytes, or PKCS #8).
    secret: Zeroizing<Vec<u8>>,
    /// The public key of asymmetric material.
    public_key: Vec<u8>,
    /// Identifies the material across imports.
    fingerprint: String,
}

/// HMAC key lengths AWS accepts for imported material, in bytes.
fn hmac_import_range(bits: usize) -> (usize, usize) {
    match bits {
        224 => (28, 64),
        256 => (32, 64),
        384 => (48, 128),
        _ => (64, 128),
    }
}

fn check_material(record: &KeyRecord, material: Zeroizing<Vec<u8>>) -> Result<Checked, KmsError> {
    let kind = kind_of(record)?;
    let spec = &record.key_spec;
    let (public_key, fingerprint_input): (Vec<u8>, &[u8]) = match kind {
        KeyKind::Symmetric => {
            if material.len() != 32 {
                return Err(invalid(format!(
                    "The key material for a {spec} key must be 256 bits (32 bytes) long."
                )));
            }
            (Vec::new(), &material)
        }
        KeyKind::Hmac(bits) => {
            let (min, max) = hmac_import_range(bits);
            if material.len() < min || material.len() > max {
                return Err(invalid(format!(
                    "The key material for a {spec} key must be {min} to {max} bytes long."
                )));
            }
            (Vec::new(), &material)
        }
        _ => {
            let agreement = record.key_usage == KEY_AGREEMENT;
            let parsed = SecretKey::load(kind, agreement, &material).map_err(|_| {
                invalid(format!(
                    "The key material is not a PKCS #8 private key that fits key spec {spec}."
                ))
            })?;
            let public = parsed.public_key_der().map_err(|e| internal("public key", e))?;
            let fingerprint = hex::encode(keypairs::sha256_parts(&[b"public key", &public]));
            return Ok(Checked { secret: material, public_key: public, fingerprint });
        }
    };
    // The material is a high-entropy key; its hash identifies it without revealing it.
    let fingerprint = hex::encode(keypairs::sha256_parts(&[b"secret key", fingerprint_input]));
    Ok(Checked { secret: material.clone(), public_key, fingerprint })
}

fn parse_token<'a>(token: &'a [u8], key_id: &str) -> Result<&'a [u8], KmsError> {
    let bad = || KmsError::new(ErrorCode::InvalidImportTokenException, "Invalid import token");
    let rest = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
    if rest.len() <= TOKEN_ID_LEN {
        return Err(bad());
    }
    let (id, key) = rest.split_at(TOKEN_ID_LEN);
    if key != key_id.as_bytes() {
        return Err(bad());
    }
    Ok(id)
}

/// The current parameters, if `token_id` names them and they have not expired.
fn current_parameters<'a>(
    record: &'a KeyRecord,
    token_id: &[u8],
    now_ms: i64,
) -> Result<&'a ImportParameters, KmsError> {
    let parameters =
        record.import.pending.as_ref().filter(|p| p.token_id == hex::encode(token_id)).ok_or_else(
            || {
                KmsError::new(
                    ErrorCode::InvalidImportTokenException,
                    "The import token is not the latest one issued for this key",
                )
            },
        )?;
    if parameters.expires_ms <= now_ms {
        return Err(KmsError::new(
            ErrorCode::ExpiredImportTokenException,
            "The import token has expired. Call GetParametersForImport for a new one.",
        ));
    }
    Ok(parameters)
}

/// ImportKeyMaterial.
///
/// # Errors
/// `ValidationException` (expiration model and `ValidTo`, material that does not fit the
/// key spec), `InvalidImportTokenException`, `ExpiredImportTokenException`,
/// `InvalidCiphertextException` (does not unwrap), `IncorrectKeyMaterialException`
/// (different from the material imported before), `UnsupportedOperationException`,
/// `KMSInvalidStateException`.
pub async fn import_key_material(
    ctx: &Ctx<'_>,
    req: ImportKeyMaterialRequest,
) -> Result<ImportKeyMaterialResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("importToken", &req.import_token) {
            let len = req.import_token.as_ref().map_or(0, |b| b.0.len());
            v.list_length("importToken", len, 1, BLOB_MAX_BYTES);
        }
        if v.required("encryptedKeyMaterial", &req.encrypted_key_material) {
            let len = req.encrypted_key_material.as_ref().map_or(0, |b| b.0.len());
            v.list_length("encryptedKeyMaterial", len, 1, BLOB_MAX_BYTES);
        }
        if let Some(m) = &req.expiration_model {
            v.one_of("expirationModel", m, &[KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE]);
        }
        if let Some(t) = &req.import_type {
            v.one_of("importType", t, &["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"]);
        }
        if let Some(d) = &req.key_material_description {
            v.length("keyMaterialDescription", d, 0, 256);
        }
        if let Some(id) = &req.key_material_id {
            v.length("keyMaterialId", id, 64, 64);
        }
    })?;
    let model = req.expiration_model.clone().unwrap_or_else(|| KEY_MATERIAL_EXPIRES.to_owned());
    let now = ctx.now_ms();
    let valid_to_ms = match (model.as_str(), req.valid_to) {
        (KEY_MATERIAL_EXPIRES, None) => {
            return Err(invalid(
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            ))
        }
        (KEY_MATERIAL_EXPIRES, Some(seconds)) => {
            // Seconds with a fraction, as the wire carries timestamps.
            #[allow(clippy::cast_possible_truncation)]
            let ms = (seconds * 1000.0).round() as i64;
            if ms <= now || ms > now + VALID_TO_MAX_DAYS * DAY_MS {
                return Err(invalid(format!(
                    "ValidTo must be in the future and at most {VALID_TO_MAX_DAYS} days from now"
                )));
            }
            Some(ms)
        }
        (_, Some(_)) => return Err(invalid(
            "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
        )),
        (_, None) => None,
    };
    let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts {
        expiration_model: Some(&model),
        valid_to_s: valid_to_ms.map(|ms| ms.div_euclid(1000)),
        ..RequestFacts::default()
    };
    let record = ctx.load_with(&key, Action::ImportKeyMaterial, &facts).await?;
    require_external(&record)?;
    require_not_pending_deletion(&record)?;
    let token = req.import_token.unwrap_or_default();
    let token_id = parse_token(&token.0, &key.key_id)?;
    let parameters = current_parameters(&record, token_id, now)?;
    let wrapping_key = ctx
        .state
        .keystore
        .unseal_secret(&key, SecretPurpose::ImportWrappingKey, 0, &parameters.sealed_wrapping_key)
        .map_err(|e| internal("cannot unseal the wrapping key", e))?;
    let blob = req.encrypted_key_material.unwrap_or_default();
    let material =
        keypairs::unwrap_import(&wrapping_key, wrapping(&parameters.wrapping_algorithm)?, &blob.0)
            .map_err(|_| KmsError::bare(ErrorCode::InvalidCiphertextException))?;
    let checked = check_material(&record, material)?;
    let material_id = hex::encode(keypairs::sha256_parts(&[
        b"imported material id",
        checked.fingerprint.as_bytes(),
    ]));
    let keystore = &ctx.state.keystore;
    let ((), stored) = ctx
        .mutate_with(&key, Action::ImportKeyMaterial, &facts, |record| {
            require_external(record)?;
            require_not_pending_deletion(record)?;
            current_parameters(record, token_id, now)?;
            if record.import.fingerprint.as_ref().is_some_and(|f| *f != checked.fingerprint) {
                return Err(KmsError::new(
                    ErrorCode::IncorrectKeyMaterialException,
                    "The key material you are trying to import is different from the key material that was previously imported into this KMS key.",
                ));
            }
            if record.materials.is_empty() {
                let sealed = if record.key_spec == "SYMMETRIC_DEFAULT" {
                    keystore.seal_material(&record.key, 1, &checked.secret)
                } else {
                    keystore.seal_secret(&record.key, SecretPurpose::KeyMaterial, 1, &checked.secret)
                }
                .map_err(|e| internal("cannot seal key material", e))?;
                record.materials.push(KeyMaterial {
                    version: 1,
                    material_id: material_id.clone(),
                    sealed,
                    created_ms: now,
                    origin: MaterialOrigin::Original,
                    public_key: checked.public_key.clone(),
                });
            }
            record.import.fingerprint = Some(checked.fingerprint.clone());
            record.import.expiration_model = Some(model.clone());
            record.import.valid_to_ms = valid_to_ms;
            if record.state == KeyState::PendingImport {
                record.state = KeyState::Enabled;
            }
            Ok(())
        })
        .await?;
    Ok(ImportKeyMaterialResponse {
        key_id: Some(stored.key.arn()),
        key_material_id: Some(material_id),
    })
}

/// Removes a key's imported material: the key waits for an import again (unless it is
/// pending deletion, which it stays). Used by DeleteImportedKeyMaterial and by expiry.
pub fn remove_material(record: &mut KeyRecord) {
    record.materials.clear();
    record.import.valid_to_ms = None;
    record.import.expiration_model = None;
    if !record.state.is_pending_deletion() {
        record.state = KeyState::PendingImport;
    }
}

/// DeleteImportedKeyMaterial.
///
/// # Errors
/// `UnsupportedOperationException` for keys that are not `EXTERNAL`, `NotFoundException`
/// for an unknown `KeyMaterialId`.
pub async fn delete_imported_key_material(
    ctx: &Ctx<'_>,
    req: DeleteImportedKeyMaterialRequest,
) -> Result<DeleteImportedKeyMaterialResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v: &mut Validator| {
        if let Some(id) = &req.key_material_id {
            v.length("keyMaterialId", id, 64, 64);
        }
    })?;
    let wanted = req.key_material_id;
    let (deleted, record) = ctx
        .mutate_id(key_id, Action::DeleteImportedKeyMaterial, |record| {
            require_external(record)?;
            let current = record.current_material().map(|m| m.material_id.clone());
            if let Some(wanted) = &wanted {
                if current.as_ref() != Some(wanted) {
                    return Err(KmsError::new(
                        ErrorCode::NotFoundException,
                        format!("Key material {wanted} is not in key {}", record.key.arn()),
                    ));
                }
            }
            remove_material(record);
            Ok(current)
        })
        .await?;
    ctx.state.keystore.forget(&record.key);
    Ok(DeleteImportedKeyMaterialResponse {
        key_id: Some(record.key.arn()),
        key_material_id: deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_key() {
        let mut token = TOKEN_PREFIX.to_vec();
        token.extend_from_slice(&[7; TOKEN_ID_LEN]);
        token.extend_from_slice(b"key-a");
        assert_eq!(parse_token(&token, "key-a").unwrap(), &[7; TOKEN_ID_LEN]);
        assert_eq!(
            parse_token(&token, "key-b").unwrap_err().code,
            ErrorCode::InvalidImportTokenException
        );
        assert!(parse_token(b"garbage", "key-a").is_err());
    }
}

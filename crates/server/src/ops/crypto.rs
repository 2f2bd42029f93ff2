//! Cryptographic operations on symmetric keys: Encrypt, Decrypt, ReEncrypt,
//! GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.

use std::sync::Arc;

use aws_lc_rs::rand;
use kms_api::types::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, EncryptionContext,
    GenerateDataKeyRequest, GenerateDataKeyResponse, GenerateRandomRequest, GenerateRandomResponse,
    ReEncryptRequest, ReEncryptResponse,
};
use kms_api::{Blob, ErrorCode, KmsError, SecretBlob};
use zeroize::Zeroizing;

use super::asymmetric;
use super::validate::{invalid, Validator};
use super::{internal, multi_region, require_enabled, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::{self, Action};
use crate::ciphertext::{self, BlobHeader};
use crate::model::{KeyRecord, KeyRef};

/// Largest plaintext `Encrypt` accepts.
pub const PLAINTEXT_MAX_BYTES: usize = 4096;
/// Largest ciphertext blob accepted.
pub const CIPHERTEXT_MAX_BYTES: usize = 6144;
/// Largest `NumberOfBytes` for data keys and random bytes.
pub const RANDOM_MAX_BYTES: i64 = 1024;

/// The symmetric encryption algorithm's name (also `kms:EncryptionAlgorithm` for data key pairs).
pub(crate) const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";
const ENCRYPTION_ALGORITHMS: &[&str] =
    &[SYMMETRIC_DEFAULT, "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"];
const DATA_KEY_SPECS: &[&str] = &["AES_256", "AES_128"];

/// `DryRunOperationException`: the request would have succeeded.
pub fn dry_run_succeeded() -> KmsError {
    KmsError::new(
        ErrorCode::DryRunOperationException,
        "The request would have succeeded, but the DryRun option is set.",
    )
}

pub(crate) fn unsupported_recipient() -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperationException,
        "Recipient (attested enclave decryption) is not supported by this server",
    )
}

fn validate_algorithm(v: &mut Validator, member: &str, algorithm: &Option<String>) {
    if let Some(a) = algorithm {
        v.one_of(member, a, ENCRYPTION_ALGORITHMS);
    }
}

/// The key must be an encryption key, enabled, and the algorithm must fit its spec.
pub(crate) fn check_encryption_key(
    record: &KeyRecord,
    operation: &str,
    algorithm: Option<&str>,
) -> Result<(), KmsError> {
    require_enabled(record)?;
    if record.key_usage != "ENCRYPT_DECRYPT" {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsageException,
            format!(
                "{} key usage is {} which is not valid for {operation}.",
                record.key.arn(),
                record.key_usage
            ),
        ));
    }
    let algorithm = algorithm.unwrap_or(SYMMETRIC_DEFAULT);
    if algorithm != SYMMETRIC_DEFAULT || record.key_spec != SYMMETRIC_DEFAULT {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsageException,
            format!("Algorithm {algorithm} is incompatible with key spec {}.", record.key_spec),
        ));
    }
    Ok(())
}

/// A ciphertext blob and the material that made it.
pub(crate) struct Sealed {
    /// The ciphertext blob.
    pub(crate) blob: Vec<u8>,
    /// The key material id.
    pub(crate) material_id: String,
}

/// Encrypts under a symmetric key's current material (also used for data key pairs).
pub(crate) fn seal_under_current(
    ctx: &Ctx<'_>,
    record: &KeyRecord,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Sealed, KmsError> {
    let material = record
        .current_material()
        .ok_or_else(|| internal("key has no material", record.key.arn()))?;
    let aead = ctx
        .state
        .keystore
        .material_key(&record.key, material)
        .map_err(|e| internal("cannot unseal key material", e))?;
    let blob = ciphertext::seal(
        &aead,
        &record.key.key_id,
        &record.key.account,
        material.version,
        context,
        plaintext,
    )
    .map_err(|e| internal("encryption failed", e))?;
    Ok(Sealed { blob, material_id: material.material_id.clone() })
}

/// Encrypt.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `DisabledException`,
/// `KMSInvalidStateException`, `InvalidKeyUsageException`, `DryRunOperationException`.
pub async fn encrypt(ctx: &Ctx<'_>, req: EncryptRequest) -> Result<EncryptResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if v.required("plaintext", &req.plaintext) {
        let len = req.plaintext.as_ref().map_or(0, |p| p.expose_secret().len());
        v.secret_length("plaintext", len, 1, PLAINTEXT_MAX_BYTES);
    }
    v.grant_tokens(&req.grant_tokens);
    validate_algorithm(&mut v, "encryptionAlgorithm", &req.encryption_algorithm);
    v.finish()?;
    let key_id = req.key_id.as_deref().unwrap_or_default();
    let context = req.encryption_context.unwrap_or_default();
    let facts = RequestFacts {
        encryption_context: Some(&context),
        encryption_algorithm: Some(
            req.encryption_algorithm.as_deref().unwrap_or(SYMMETRIC_DEFAULT),
        ),
        ..RequestFacts::default()
    };
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, Action::Encrypt, &facts).await?;
    let plaintext = req.plaintext.unwrap_or_default();
    if record.key_spec != SYMMETRIC_DEFAULT {
        let algorithm = req.encryption_algorithm.as_deref();
        let (hash, name) = asymmetric::check_encryption(&record, algorithm, "Encrypt")?;
        asymmetric::refuse_context(!context.is_empty())?;
        if req.dry_run == Some(true) {
            return Err(dry_run_succeeded());
        }
        let blob = asymmetric::encrypt_with(&record, hash, &name, plaintext.expose_secret())?;
        return Ok(EncryptResponse {
            ciphertext_blob: Some(Blob(blob)),
            key_id: Some(record.key.arn()),
            encryption_algorithm: Some(name),
        });
    }
    check_encryption_key(&record, "Encrypt", req.encryption_algorithm.as_deref())?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let sealed = seal_under_current(ctx, &record, &context, plaintext.expose_secret())?;
    Ok(EncryptResponse {
        ciphertext_blob: Some(Blob(sealed.blob)),
        key_id: Some(record.key.arn()),
        encryption_algorithm: Some(SYMMETRIC_DEFAULT.to_owned()),
    })
}

struct Opened {
    record: Arc<KeyRecord>,
    plaintext: Zeroizing<Vec<u8>>,
    material_id: String,
}

fn invalid_ciphertext() -> KmsError {
    KmsError::bare(ErrorCode::InvalidCiphertextException)
}

/// Shared by Decrypt and ReEncrypt: finds the key named in the blob, checks the optional
/// key id against it, and decrypts. Plaintext is returned only after the tag verifies.
#[allow(clippy::too_many_arguments)]
async fn open_blob(
    ctx: &Ctx<'_>,
    blob: &[u8],
    context: &EncryptionContext,
    key_id: Option<&str>,
    algorithm: Option<&str>,
    operation: &str,
    (action, same_key): (Action, Option<bool>),
    dry_run: bool,
) -> Result<Opened, KmsError> {
    let header = BlobHeader::decode(blob).map_err(|_| invalid_ciphertext())?;
    let key = KeyRef {
        account: header.account.clone(),
        region: ctx.region.to_owned(),
        key_id: header.key_id.clone(),
    };
    if let Some(key_id) = key_id {
        let named = ctx.resolve(key_id, KeyIdForms::KeyOrAlias).await?;
        if named != key {
            return Err(KmsError::new(
                ErrorCode::IncorrectKeyException,
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
    }
    let facts = RequestFacts {
        encryption_context: Some(context),
        encryption_algorithm: Some(algorithm.unwrap_or(SYMMETRIC_DEFAULT)),
        request_alias: key_id.and_then(super::request_alias),
        reencrypt_on_same_key: same_key,
        ..RequestFacts::default()
    };
    let record = ctx.load_with(&key, action, &facts).await?;
    check_encryption_key(&record, operation, algorithm)?;
    let material = record.material(header.material_version).ok_or_else(invalid_ciphertext)?;
    if dry_run {
        return Err(dry_run_succeeded());
    }
    let aead = ctx
        .state
        .keystore
        .material_key(&record.key, material)
        .map_err(|e| internal("cannot unseal key material", e))?;
    let plaintext = ciphertext::open(&aead, blob, context).map_err(|_| invalid_ciphertext())?;
    let material_id = material.material_id.clone();
    Ok(Opened { record, plaintext, material_id })
}

/// Decrypt. `KeyId` is optional: the blob names its key.
///
/// # Errors
/// `InvalidCiphertextException` for a wrong context, tampering or a foreign blob;
/// `IncorrectKeyException` when `KeyId` names another key; the key state errors.
pub async fn decrypt(ctx: &Ctx<'_>, req: DecryptRequest) -> Result<DecryptResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("ciphertextBlob", &req.ciphertext_blob) {
        let len = req.ciphertext_blob.as_ref().map_or(0, |b| b.0.len());
        v.list_length("ciphertextBlob", len, 1, CIPHERTEXT_MAX_BYTES);
    }
    if let Some(k) = &req.key_id {
        v.length("keyId", k, 1, 2048);
    }
    v.grant_tokens(&req.grant_tokens);
    validate_algorithm(&mut v, "encryptionAlgorithm", &req.encryption_algorithm);
    v.finish()?;
    if req.recipient.is_some() {
        return Err(unsupported_recipient());
    }
    let blob = req.ciphertext_blob.unwrap_or_default();
    let context = req.encryption_context.unwrap_or_default();
    let facts = RequestFacts {
        encryption_context: Some(&context),
        encryption_algorithm: Some(
            req.encryption_algorithm.as_deref().unwrap_or(SYMMETRIC_DEFAULT),
        ),
        ..RequestFacts::default()
    };
    let named = asymmetric_key(ctx, req.key_id.as_deref(), Action::Decrypt, &facts).await?;
    if let Some(record) = named {
        let algorithm = req.encryption_algorithm.as_deref();
        let (hash, name) = asymmetric::check_encryption(&record, algorithm, "Decrypt")?;
        asymmetric::refuse_context(!context.is_empty())?;
        if req.dry_run == Some(true) {
            return Err(dry_run_succeeded());
        }
        let plaintext = asymmetric::decrypt_with(ctx, &record, hash, &blob.0)?;
        return Ok(DecryptResponse {
            key_id: Some(record.key.arn()),
            plaintext: Some(SecretBlob::new(plaintext.to_vec())),
            encryption_algorithm: Some(name),
            key_material_id: None,
        });
    }
    let opened = open_blob(
        ctx,
        &blob.0,
        &context,
        req.key_id.as_deref(),
        req.encryption_algorithm.as_deref(),
        "Decrypt",
        (Action::Decrypt, None),
        req.dry_run == Some(true),
    )
    .await?;
    Ok(DecryptResponse {
        key_id: Some(opened.record.key.arn()),
        plaintext: Some(SecretBlob::new(opened.plaintext.to_vec())),
        encryption_algorithm: Some(SYMMETRIC_DEFAULT.to_owned()),
        key_material_id: Some(opened.material_id),
    })
}

/// ReEncrypt: decrypts under the source key and encrypts under the destination key
/// without returning plaintext.
///
/// # Errors
/// As Decrypt for the source and Encrypt for the destination.
pub async fn re_encrypt(
    ctx: &Ctx<'_>,
    req: ReEncryptRequest,
) -> Result<ReEncryptResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("ciphertextBlob", &req.ciphertext_blob) {
        let len = req.ciphertext_blob.as_ref().map_or(0, |b| b.0.len());
        v.list_length("ciphertextBlob", len, 1, CIPHERTEXT_MAX_BYTES);
    }
    if v.required("destinationKeyId", &req.destination_key_id) {
        v.length(
            "destinationKeyId",
            req.destination_key_id.as_deref().unwrap_or_default(),
            1,
            2048,
        );
    }
    if let Some(k) = &req.source_key_id {
        v.length("sourceKeyId", k, 1, 2048);
    }
    v.grant_tokens(&req.grant_tokens);
    validate_algorithm(&mut v, "sourceEncryptionAlgorithm", &req.source_encryption_algorithm);
    validate_algorithm(
        &mut v,
        "destinationEncryptionAlgorithm",
        &req.destination_encryption_algorithm,
    );
    v.finish()?;
    let dry_run = req.dry_run == Some(true);
    let destination_id = req.destination_key_id.as_deref().unwrap_or_default();
    let destination_context = req.destination_encryption_context.unwrap_or_default();
    let blob = req.ciphertext_blob.unwrap_or_default();
    // The destination may be a key of another Region this server serves (by ARN); its
    // own key policy then decides kms:ReEncryptTo.
    let destination_ref = multi_region::resolve_destination(ctx, destination_id).await?;
    // kms:ReEncryptOnSameKey, from the key the blob names (when it parses).
    let same_key = BlobHeader::decode(&blob.0).ok().map(|h| {
        h.account == destination_ref.account
            && h.key_id == destination_ref.key_id
            && destination_ref.region == ctx.region
    });
    let facts = RequestFacts {
        encryption_context: Some(&destination_context),
        encryption_algorithm: Some(
            req.destination_encryption_algorithm.as_deref().unwrap_or(SYMMETRIC_DEFAULT),
        ),
        request_alias: super::request_alias(destination_id),
        reencrypt_on_same_key: same_key,
        ..RequestFacts::default()
    };
    let destination = ctx.load_with(&destination_ref, Action::ReEncryptTo, &facts).await?;
    let destination_algorithm = req.destination_encryption_algorithm.as_deref();
    let destination_oaep = if destination.key_spec == SYMMETRIC_DEFAULT {
        check_encryption_key(&destination, "ReEncrypt", destination_algorithm)?;
        None
    } else {
        let oaep = asymmetric::check_encryption(&destination, destination_algorithm, "ReEncrypt")?;
        asymmetric::refuse_context(!destination_context.is_empty())?;
        Some(oaep)
    };
    let source_context = req.source_encryption_context.unwrap_or_default();
    let source_key_id = req.source_key_id.as_deref();
    let source_algorithm = req.source_encryption_algorithm.as_deref();
    let source_facts = RequestFacts {
        encryption_context: Some(&source_context),
        encryption_algorithm: Some(source_algorithm.unwrap_or(SYMMETRIC_DEFAULT)),
        reencrypt_on_same_key: same_key,
        ..RequestFacts::default()
    };
    let named = asymmetric_key(ctx, source_key_id, Action::ReEncryptFrom, &source_facts).await?;
    let source = match named {
        Some(record) => {
            let (hash, name) =
                asymmetric::check_encryption(&record, source_algorithm, "ReEncrypt")?;
            asymmetric::refuse_context(!source_context.is_empty())?;
            if dry_run {
                return Err(dry_run_succeeded());
            }
            let plaintext = asymmetric::decrypt_with(ctx, &record, hash, &blob.0)?;
            (Opened { record, plaintext, material_id: String::new() }, name)
        }
        None => {
            let opened = open_blob(
                ctx,
                &blob.0,
                &source_context,
                source_key_id,
                source_algorithm,
                "ReEncrypt",
                (Action::ReEncryptFrom, same_key),
                dry_run,
            )
            .await?;
            (opened, SYMMETRIC_DEFAULT.to_owned())
        }
    };
    let (opened, source_algorithm) = source;
    let (ciphertext, destination_algorithm, destination_material_id) = match destination_oaep {
        Some((hash, name)) => {
            (asymmetric::encrypt_with(&destination, hash, &name, &opened.plaintext)?, name, None)
        }
        None => {
            let sealed =
                seal_under_current(ctx, &destination, &destination_context, &opened.plaintext)?;
            (sealed.blob, SYMMETRIC_DEFAULT.to_owned(), Some(sealed.material_id))
        }
    };
    Ok(ReEncryptResponse {
        ciphertext_blob: Some(Blob(ciphertext)),
        source_key_id: Some(opened.record.key.arn()),
        key_id: Some(destination.key.arn()),
        source_encryption_algorithm: Some(source_algorithm),
        destination_encryption_algorithm: Some(destination_algorithm),
        source_key_material_id: (!opened.material_id.is_empty()).then_some(opened.material_id),
        destination_key_material_id: destination_material_id,
    })
}

/// When a `KeyId` is given and names an asymmetric key, that key (its ciphertext is RSA,
/// not a blob naming its key); otherwise `None` and the symmetric path decides.
async fn asymmetric_key(
    ctx: &Ctx<'_>,
    key_id: Option<&str>,
    action: Action,
    facts: &RequestFacts<'_>,
) -> Result<Option<Arc<KeyRecord>>, KmsError> {
    let Some(key_id) = key_id else {
        return Ok(None);
    };
    // With the request's facts: the algorithm and context decide conditions and grant
    // constraints here as in the symmetric path.
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, action, facts).await?;
    Ok((record.key_spec != SYMMETRIC_DEFAULT).then_some(record))
}

/// GenerateDataKey (`with_plaintext`) or GenerateDataKeyWithoutPlaintext.
///
/// # Errors
/// `ValidationException` unless exactly one of `NumberOfBytes` and `KeySpec` is given;
/// the key state and usage errors of Encrypt.
pub async fn generate_data_key(
    ctx: &Ctx<'_>,
    req: GenerateDataKeyRequest,
    with_plaintext: bool,
) -> Result<GenerateDataKeyResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if let Some(n) = req.number_of_bytes {
        v.range("numberOfBytes", n, 1, RANDOM_MAX_BYTES);
    }
    if let Some(spec) = &req.key_spec {
        v.one_of("keySpec", spec, DATA_KEY_SPECS);
    }
    v.grant_tokens(&req.grant_tokens);
    v.finish()?;
    let length = match (req.number_of_bytes, req.key_spec.as_deref()) {
        (Some(n), None) => usize::try_from(n).unwrap_or(0),
        (None, Some("AES_128")) => 16,
        (None, Some(_)) => 32,
        _ => return Err(invalid("Please specify either number of bytes or key spec.")),
    };
    if req.recipient.is_some() {
        return Err(unsupported_recipient());
    }
    let key_id = req.key_id.as_deref().unwrap_or_default();
    let action = if with_plaintext {
        Action::GenerateDataKey
    } else {
        Action::GenerateDataKeyWithoutPlaintext
    };
    let context = req.encryption_context.unwrap_or_default();
    let facts = RequestFacts {
        encryption_context: Some(&context),
        encryption_algorithm: Some(SYMMETRIC_DEFAULT),
        ..RequestFacts::default()
    };
    let record = ctx.find_with(key_id, KeyIdForms::KeyOrAlias, action, &facts).await?;
    let operation =
        if with_plaintext { "GenerateDataKey" } else { "GenerateDataKeyWithoutPlaintext" };
    check_encryption_key(&record, operation, None)?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let mut data_key = Zeroizing::new(vec![0u8; length]);
    rand::fill(data_key.as_mut_slice()).map_err(|e| internal("random generator failed", e))?;
    let sealed = seal_under_current(ctx, &record, &context, &data_key)?;
    Ok(GenerateDataKeyResponse {
        ciphertext_blob: Some(Blob(sealed.blob)),
        plaintext: with_plaintext.then(|| SecretBlob::new(data_key.to_vec())),
        key_id: Some(record.key.arn()),
        key_material_id: Some(sealed.material_id),
    })
}

/// GenerateRandom.
///
/// # Errors
/// `ValidationException` for a missing or out-of-range `NumberOfBytes`;
/// `CustomKeyStoreNotFoundException` for any custom key store (there are none);
/// `UnsupportedOperationException` for attested recipients.
pub async fn generate_random(
    ctx: &Ctx<'_>,
    req: GenerateRandomRequest,
) -> Result<GenerateRandomResponse, KmsError> {
    let mut v = Validator::new();
    if let Some(n) = req.number_of_bytes {
        v.range("numberOfBytes", n, 1, RANDOM_MAX_BYTES);
    }
    if let Some(id) = &req.custom_key_store_id {
        v.length("customKeyStoreId", id, 1, 64);
    }
    v.finish()?;
    authz::authorize_account(
        ctx.caller,
        Action::GenerateRandom,
        &RequestFacts::default(),
        ctx.decisions,
    )?;
    let Some(n) = req.number_of_bytes else {
        return Err(invalid("NumberOfBytes is required."));
    };
    if req.custom_key_store_id.is_some() {
        // This server has no custom key stores, so every id names a missing one.
        return Err(KmsError::new(
            ErrorCode::CustomKeyStoreNotFoundException,
            "Custom key store not found",
        ));
    }
    if req.recipient.is_some() {
        return Err(unsupported_recipient());
    }
    let mut bytes = vec![0u8; usize::try_from(n).unwrap_or(0)];
    rand::fill(&mut bytes).map_err(|e| internal("random generator failed", e))?;
    Ok(GenerateRandomResponse { plaintext: Some(SecretBlob::new(bytes)) })
}

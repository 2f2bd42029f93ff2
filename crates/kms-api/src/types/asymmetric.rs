//! Shapes of the asymmetric, HMAC, key agreement and key import operations.

use serde::{Deserialize, Serialize};

use super::EncryptionContext;
use crate::blob::{Blob, SecretBlob};

// ---- Public keys and signatures ----------------------------------------------------------

shape!(/// `GetPublicKey` input.
GetPublicKeyRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
});

shape!(/// `GetPublicKey` output.
GetPublicKeyResponse {
    /// The key ARN.
    key_id: String,
    /// The public key, a DER-encoded `SubjectPublicKeyInfo`.
    public_key: Blob,
    /// The deprecated twin of `KeySpec`.
    customer_master_key_spec: String,
    /// The key spec.
    key_spec: String,
    /// The key usage.
    key_usage: String,
    /// Encryption algorithms (`ENCRYPT_DECRYPT` keys).
    encryption_algorithms: Vec<String>,
    /// Signing algorithms (`SIGN_VERIFY` keys).
    signing_algorithms: Vec<String>,
    /// Key agreement algorithms (`KEY_AGREEMENT` keys).
    key_agreement_algorithms: Vec<String>,
});

shape!(/// `Sign` input.
SignRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// The message or its digest, up to 4096 bytes.
    message: SecretBlob,
    /// `RAW` (default) or `DIGEST`.
    message_type: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// The signing algorithm.
    signing_algorithm: String,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `Sign` output.
SignResponse {
    /// The key ARN.
    key_id: String,
    /// The signature (PKCS #1 for RSA, DER-encoded for ECDSA, 64 bytes for Ed25519).
    signature: Blob,
    /// The algorithm used.
    signing_algorithm: String,
});

shape!(/// `Verify` input.
VerifyRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// The message or its digest, up to 4096 bytes.
    message: SecretBlob,
    /// `RAW` (default) or `DIGEST`.
    message_type: String,
    /// The signature to check.
    signature: Blob,
    /// The signing algorithm.
    signing_algorithm: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `Verify` output.
VerifyResponse {
    /// The key ARN.
    key_id: String,
    /// Always true: an invalid signature is an error.
    signature_valid: bool,
    /// The algorithm used.
    signing_algorithm: String,
});

// ---- HMAC --------------------------------------------------------------------------------

shape!(/// `GenerateMac` input.
GenerateMacRequest {
    /// The message, up to 4096 bytes.
    message: SecretBlob,
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// The MAC algorithm.
    mac_algorithm: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `GenerateMac` output.
GenerateMacResponse {
    /// The HMAC tag.
    mac: Blob,
    /// The algorithm used.
    mac_algorithm: String,
    /// The key ARN.
    key_id: String,
});

shape!(/// `VerifyMac` input.
VerifyMacRequest {
    /// The message, up to 4096 bytes.
    message: SecretBlob,
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// The MAC algorithm.
    mac_algorithm: String,
    /// The tag to check.
    mac: Blob,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `VerifyMac` output.
VerifyMacResponse {
    /// The key ARN.
    key_id: String,
    /// Always true: a wrong MAC is an error.
    mac_valid: bool,
    /// The algorithm used.
    mac_algorithm: String,
});

// ---- Data key pairs and key agreement ----------------------------------------------------

shape!(/// `GenerateDataKeyPair` and `GenerateDataKeyPairWithoutPlaintext` input.
GenerateDataKeyPairRequest {
    /// Bound as additional authenticated data to the encrypted private key.
    encryption_context: EncryptionContext,
    /// The symmetric encryption key that encrypts the private key.
    key_id: String,
    /// The kind of key pair.
    key_pair_spec: String,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Attested recipient (not supported).
    recipient: serde_json::Value,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `GenerateDataKeyPair` and `GenerateDataKeyPairWithoutPlaintext` output.
GenerateDataKeyPairResponse {
    /// The private key encrypted under the KMS key.
    private_key_ciphertext_blob: Blob,
    /// The private key, DER-encoded PKCS #8 (absent without plaintext).
    private_key_plaintext: SecretBlob,
    /// The public key, a DER-encoded `SubjectPublicKeyInfo`.
    public_key: Blob,
    /// The key ARN.
    key_id: String,
    /// The kind of key pair.
    key_pair_spec: String,
    /// The key material that encrypted the private key.
    key_material_id: String,
});

shape!(/// `DeriveSharedSecret` input.
DeriveSharedSecretRequest {
    /// Key id, key ARN, alias name or alias ARN.
    key_id: String,
    /// `ECDH`.
    key_agreement_algorithm: String,
    /// The peer's public key, a DER-encoded `SubjectPublicKeyInfo`.
    public_key: Blob,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// Check access only.
    dry_run: bool,
    /// Attested recipient (not supported).
    recipient: serde_json::Value,
});

shape!(/// `DeriveSharedSecret` output.
DeriveSharedSecretResponse {
    /// The key ARN.
    key_id: String,
    /// The raw shared secret.
    shared_secret: SecretBlob,
    /// `ECDH`.
    key_agreement_algorithm: String,
    /// `AWS_KMS` or `EXTERNAL`.
    key_origin: String,
});

// ---- Imported key material ---------------------------------------------------------------

shape!(/// `GetParametersForImport` input.
GetParametersForImportRequest {
    /// Key id or key ARN of a key with origin `EXTERNAL`.
    key_id: String,
    /// How the key material will be wrapped.
    wrapping_algorithm: String,
    /// The RSA wrapping key size.
    wrapping_key_spec: String,
});

shape!(/// `GetParametersForImport` output.
GetParametersForImportResponse {
    /// The key ARN.
    key_id: String,
    /// Pass to `ImportKeyMaterial`.
    import_token: Blob,
    /// The wrapping public key, a DER-encoded `SubjectPublicKeyInfo`.
    public_key: Blob,
    /// When the token and public key expire, seconds since the epoch.
    parameters_valid_to: f64,
});

shape!(/// `ImportKeyMaterial` input.
ImportKeyMaterialRequest {
    /// Key id or key ARN.
    key_id: String,
    /// From `GetParametersForImport`.
    import_token: Blob,
    /// The key material wrapped under the wrapping public key.
    encrypted_key_material: Blob,
    /// When the material expires, seconds since the epoch.
    valid_to: f64,
    /// `KEY_MATERIAL_EXPIRES` (default) or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    expiration_model: String,
    /// `NEW_KEY_MATERIAL` or `EXISTING_KEY_MATERIAL`.
    import_type: String,
    /// A description of the material.
    key_material_description: String,
    /// The material to re-import.
    key_material_id: String,
});

shape!(/// `ImportKeyMaterial` output.
ImportKeyMaterialResponse {
    /// The key ARN.
    key_id: String,
    /// The imported material's id.
    key_material_id: String,
});

shape!(/// `DeleteImportedKeyMaterial` input.
DeleteImportedKeyMaterialRequest {
    /// Key id or key ARN.
    key_id: String,
    /// The material to delete (the current one by default).
    key_material_id: String,
});

shape!(/// `DeleteImportedKeyMaterial` output.
DeleteImportedKeyMaterialResponse {
    /// The key ARN.
    key_id: String,
    /// The deleted material's id.
    key_material_id: String,
});

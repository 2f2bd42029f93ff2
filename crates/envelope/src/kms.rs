//! The only way this crate reaches a KMS: a small async trait the caller implements
//! (over HTTP in `kms-wasm`, over an SDK natively, or in memory in tests).

use crate::materials::{EncryptionContext, PlaintextDataKey};

/// A KMS failure, as the client reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct KmsClientError {
    /// The AWS exception name (e.g. `NotFoundException`) or a transport error code.
    // A boxed str rather than a String keeps the error (and every `Result` carrying a crate
    // `Error`) as small as it was before `status`: a larger one costs code in wasm.
    pub code: Box<str>,
    /// The message.
    pub message: String,
    /// The HTTP status of KMS's answer, or 0 when there was none (a transport failure, or a
    /// check on the client's side); what kms-wasm reports as a `KmsError`'s `status`.
    pub status: u16,
}

/// `GenerateDataKey` input.
#[derive(Debug, Clone, Copy)]
pub struct GenerateDataKeyRequest<'a> {
    /// Key id, key ARN, alias name or alias ARN.
    pub key_id: &'a str,
    /// Data key length in bytes.
    pub number_of_bytes: usize,
    /// The encryption context.
    pub encryption_context: &'a EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: &'a [String],
}

/// `GenerateDataKey` output.
#[derive(Debug)]
pub struct GenerateDataKeyResponse {
    /// The key ARN that encrypted the data key.
    pub key_id: String,
    /// The plaintext data key.
    pub plaintext: PlaintextDataKey,
    /// The encrypted data key.
    pub ciphertext_blob: Vec<u8>,
}

/// `Encrypt` input.
#[derive(Debug, Clone, Copy)]
pub struct EncryptRequest<'a> {
    /// Key id, key ARN, alias name or alias ARN.
    pub key_id: &'a str,
    /// The plaintext (a data key).
    pub plaintext: &'a [u8],
    /// The encryption context.
    pub encryption_context: &'a EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: &'a [String],
}

/// `Encrypt` output.
#[derive(Debug, Clone)]
pub struct EncryptResponse {
    /// The key ARN that encrypted.
    pub key_id: String,
    /// The ciphertext blob.
    pub ciphertext_blob: Vec<u8>,
}

/// `Decrypt` input.
#[derive(Debug, Clone, Copy)]
pub struct DecryptRequest<'a> {
    /// The key expected to decrypt (always given by keyrings).
    pub key_id: Option<&'a str>,
    /// The ciphertext blob.
    pub ciphertext_blob: &'a [u8],
    /// The encryption context (empty for asymmetric decryption).
    pub encryption_context: &'a EncryptionContext,
    /// Grant tokens.
    pub grant_tokens: &'a [String],
    /// `None` for symmetric keys; `RSAES_OAEP_SHA_1`/`RSAES_OAEP_SHA_256` for RSA keys.
    pub encryption_algorithm: Option<&'a str>,
}

/// `Decrypt` output.
#[derive(Debug)]
pub struct DecryptResponse {
    /// The key ARN that decrypted.
    pub key_id: String,
    /// The plaintext.
    pub plaintext: PlaintextDataKey,
}

/// The three KMS calls the keyrings need.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait KmsClient: crate::MaybeSendSync {
    /// KMS `GenerateDataKey`.
    async fn generate_data_key(
        &self,
        request: GenerateDataKeyRequest<'_>,
    ) -> Result<GenerateDataKeyResponse, KmsClientError>;

    /// KMS `Encrypt`.
    async fn encrypt(&self, request: EncryptRequest<'_>)
        -> Result<EncryptResponse, KmsClientError>;

    /// KMS `Decrypt`.
    async fn decrypt(&self, request: DecryptRequest<'_>)
        -> Result<DecryptResponse, KmsClientError>;
}

//! The simple interface: encrypt or decrypt a whole message held in memory, and the
//! configuration shared with the streaming [`Encryptor`] and [`Decryptor`].
//!
//! Both functions follow spec `client-apis/encrypt.md` and `client-apis/decrypt.md`;
//! for messages that do not fit in memory use the [`crate::stream`] types directly.

use zeroize::Zeroizing;

use crate::cmm::CryptographicMaterialsManager;
use crate::error::Error;
use crate::format::MessageHeader;
use crate::materials::EncryptionContext;
use crate::stream::{Decryptor, Encryptor};
use crate::suite::{AlgorithmSuite, CommitmentPolicy};

/// The default frame length: 4096 plaintext bytes per frame.
pub const FRAME_LEN_DEFAULT_BYTES: u32 = 4096;

/// Encryption settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptConfig {
    /// Which suites may encrypt (default: require key commitment).
    pub commitment_policy: CommitmentPolicy,
    /// The suite to ask the materials manager for. `None` lets it choose the policy's
    /// default (`0x0578` under the default policy).
    pub suite: Option<&'static AlgorithmSuite>,
    /// Plaintext bytes per frame, 1 to 2^32 - 1 (default 4096).
    pub frame_length: u32,
    /// Fail if the materials hold more encrypted data keys than this. `None`: no limit.
    pub max_encrypted_data_keys: Option<usize>,
    /// For streaming: an upper bound on the plaintext length, passed to the materials
    /// manager and enforced (encryption fails once the plaintext grows past it).
    /// [`encrypt`] sets it to the plaintext's length.
    pub plaintext_length_bound: Option<u64>,
}

impl Default for EncryptConfig {
    fn default() -> Self {
        Self {
            commitment_policy: CommitmentPolicy::default(),
            suite: None,
            frame_length: FRAME_LEN_DEFAULT_BYTES,
            max_encrypted_data_keys: None,
            plaintext_length_bound: None,
        }
    }
}

/// Decryption settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptConfig {
    /// Which suites may be decrypted (default: committing suites only).
    pub commitment_policy: CommitmentPolicy,
    /// Fail as soon as the header shows more encrypted data keys than this.
    /// `None`: no limit.
    pub max_encrypted_data_keys: Option<usize>,
    /// The reproduced encryption context: pairs the caller expects, including those
    /// that were authenticated but not stored in the message (passed to the materials
    /// manager, which checks it and returns the full context).
    pub reproduced_encryption_context: Option<EncryptionContext>,
    /// Fail if the frame length (or a non-framed body's length) exceeds this many
    /// bytes; bounds the memory a hostile message can make the decryptor hold.
    /// `None`: the format's own limits.
    pub max_body_size: Option<u64>,
    /// Fail right after parsing the header if the suite signs messages, so no
    /// plaintext is ever released before a signature is verified (spec
    /// `client-apis/decrypt.md`, the unsigned-only streaming option). The error is
    /// [`Error::UnsupportedSuite`].
    pub forbid_signed_suites: bool,
}

/// The result of [`decrypt`].
#[derive(Debug)]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The encryption context that was authenticated: the stored pairs plus any
    /// reproduced pairs that were not stored.
    pub encryption_context: EncryptionContext,
    /// The message's algorithm suite.
    pub suite: &'static AlgorithmSuite,
    /// The parsed header.
    pub header: MessageHeader,
}

/// Encrypts `plaintext` into one message.
///
/// # Errors
/// [`Error::EncryptionContext`] if a key starts with the reserved `aws-crypto-` prefix,
/// [`Error::CommitmentPolicy`] if the suite breaks the policy,
/// [`Error::TooManyEncryptedDataKeys`], [`Error::ApiMisuse`] for a bad configuration,
/// and any error of the materials manager.
pub async fn encrypt(
    cmm: &dyn CryptographicMaterialsManager,
    plaintext: &[u8],
    encryption_context: EncryptionContext,
    config: &EncryptConfig,
) -> Result<Vec<u8>, Error> {
    let config =
        EncryptConfig { plaintext_length_bound: Some(plaintext.len() as u64), ..config.clone() };
    let mut encryptor = Encryptor::new(cmm, encryption_context, &config).await?;
    let mut out = Vec::with_capacity(encryptor.ciphertext_len_estimate(plaintext.len()));
    encryptor.update(plaintext, &mut out)?;
    encryptor.finish(&mut out)?;
    Ok(out)
}

/// Decrypts one whole message. Nothing is returned unless every check passes.
///
/// # Errors
/// [`Error::DecryptionFailed`] for any cryptographic failure (commitment, header tag,
/// frame tag, signature), [`Error::Malformed`] if the bytes are not one well-formed
/// message (including truncation and trailing bytes), [`Error::CommitmentPolicy`],
/// [`Error::TooManyEncryptedDataKeys`], [`Error::UnsupportedSuite`], and any error of
/// the materials manager.
pub async fn decrypt(
    cmm: &dyn CryptographicMaterialsManager,
    ciphertext: &[u8],
    config: &DecryptConfig,
) -> Result<Decrypted, Error> {
    let mut decryptor = Decryptor::new(cmm, config);
    // The plaintext is never longer than the ciphertext. Zeroized if anything fails.
    let mut out = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    decryptor.update(ciphertext, &mut out).await?;
    let info = decryptor.finish(&mut out)?;
    Ok(Decrypted {
        plaintext: std::mem::take(&mut *out),
        encryption_context: info.encryption_context,
        suite: info.suite,
        header: info.header,
    })
}

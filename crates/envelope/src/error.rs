//! The crate's one error type.

use crate::kms::KmsClientError;

/// Why an envelope operation failed.
///
/// Cryptographic failures are deliberately opaque: [`Error::DecryptionFailed`] never says
/// which check (tag, commitment, signature, key) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication of the message failed (tag, key commitment, header, or signature).
    #[error("decryption failed")]
    DecryptionFailed,
    /// The bytes are not a well-formed message.
    #[error("malformed message: {0}")]
    Malformed(Malformed),
    /// The message uses a suite this build does not know.
    #[error("unsupported algorithm suite 0x{0:04x}")]
    UnsupportedSuite(u16),
    /// The commitment policy forbids this suite for this operation.
    #[error("the commitment policy does not allow algorithm suite 0x{0:04x}")]
    CommitmentPolicy(u16),
    /// More encrypted data keys than the configured maximum.
    #[error("the message has more encrypted data keys than the configured maximum of {0}")]
    TooManyEncryptedDataKeys(usize),
    /// No keyring could decrypt any of the message's encrypted data keys.
    #[error("no keyring could decrypt any encrypted data key")]
    NoDecryptableDataKey,
    /// A keyring failed to produce or protect a data key.
    #[error("keyring failure: {0}")]
    Keyring(String),
    /// The KMS client failed.
    #[error(transparent)]
    Kms(#[from] KmsClientError),
    /// The encryption context is not acceptable (reserved key, required keys missing or different).
    #[error("encryption context: {0}")]
    EncryptionContext(String),
    /// A key could not be parsed or has the wrong type or size.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The caller used the API in a way it does not allow (bad arguments, wrong order of calls).
    #[error("api misuse: {0}")]
    ApiMisuse(String),
    /// The random generator failed.
    #[error("random generator failed")]
    Random,
}

/// What is wrong with a malformed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The input ended before the message did.
    #[error("truncated")]
    Truncated,
    /// Bytes follow the end of the message.
    #[error("trailing bytes after the message")]
    TrailingBytes,
    /// An unknown version or content type byte.
    #[error("unknown {0} value {1}")]
    UnknownValue(&'static str, u32),
    /// A field violates the format (reserved bytes, lengths, counts).
    #[error("invalid {0}")]
    InvalidField(&'static str),
    /// A frame arrived out of sequence or with the wrong IV.
    #[error("frame out of sequence")]
    FrameSequence,
}

impl From<Malformed> for Error {
    fn from(m: Malformed) -> Self {
        Error::Malformed(m)
    }
}

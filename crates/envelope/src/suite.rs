//! Algorithm suites (spec `framework/algorithm-suites.md`) and commitment policies.

/// How the data key becomes the message's encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// The data key is the encryption key (deprecated suites).
    Identity,
    /// HKDF with SHA-256.
    HkdfSha256,
    /// HKDF with SHA-384.
    HkdfSha384,
    /// HKDF with SHA-512 (committing suites).
    HkdfSha512,
}

/// The footer signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384Sha384,
}

/// Message format version written by a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormatVersion {
    /// Version 1 (non-committing suites).
    V1,
    /// Version 2 (committing suites).
    V2,
}

/// One algorithm suite.
#[derive(Debug, PartialEq, Eq)]
pub struct AlgorithmSuite {
    /// The 2-byte suite id, e.g. `0x0578`.
    pub id: u16,
    /// The spec's name, e.g. `AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`.
    pub name: &'static str,
    /// Which message format the suite writes.
    pub message_format: MessageFormatVersion,
    /// AES-GCM key length in bytes (16, 24 or 32); also the data key length.
    pub encryption_key_len: usize,
    /// Key derivation.
    pub kdf: Kdf,
    /// Footer signature, if any.
    pub signature: Option<SignatureAlgorithm>,
    /// Whether the suite commits to its key (v2 suites).
    pub committing: bool,
}

/// AES-GCM IV length for every suite.
pub const IV_LEN_BYTES: usize = 12;
/// AES-GCM tag length for every suite.
pub const TAG_LEN_BYTES: usize = 16;
/// Length of the commitment key and of the v2 header's suite data.
pub const COMMITMENT_LEN_BYTES: usize = 32;
/// Length of the message id in v1 messages.
pub const MESSAGE_ID_V1_LEN_BYTES: usize = 16;
/// Length of the message id in v2 messages.
pub const MESSAGE_ID_V2_LEN_BYTES: usize = 32;

impl AlgorithmSuite {
    /// The data key length (always the encryption key length).
    pub fn data_key_len(&self) -> usize {
        self.encryption_key_len
    }

    /// Message id length for this suite's format.
    pub fn message_id_len(&self) -> usize {
        match self.message_format {
            MessageFormatVersion::V1 => MESSAGE_ID_V1_LEN_BYTES,
            MessageFormatVersion::V2 => MESSAGE_ID_V2_LEN_BYTES,
        }
    }

    /// Whether messages of this suite carry a footer signature.
    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// Looks a suite up by id.
    pub fn by_id(id: u16) -> Option<&'static AlgorithmSuite> {
        ALL_SUITES.iter().copied().find(|s| s.id == id)
    }

    /// Looks a suite up by its spec name.
    pub fn by_name(name: &str) -> Option<&'static AlgorithmSuite> {
        ALL_SUITES.iter().copied().find(|s| s.name == name)
    }
}

macro_rules! suite {
    ($const:ident, $id:literal, $name:literal, $fmt:ident, $len:literal, $kdf:ident, $sig:expr, $commit:literal) => {
        #[doc = concat!("`", $name, "` (", stringify!($id), ").")]
        pub const $const: AlgorithmSuite = AlgorithmSuite {
            id: $id,
            name: $name,
            message_format: MessageFormatVersion::$fmt,
            encryption_key_len: $len,
            kdf: Kdf::$kdf,
            signature: $sig,
            committing: $commit,
        };
    };
}

use SignatureAlgorithm::{EcdsaP256Sha256 as P256, EcdsaP384Sha384 as P384};

suite!(
    AES_128_GCM_IV12_TAG16_NO_KDF,
    0x0014,
    "AES_128_GCM_IV12_TAG16_NO_KDF",
    V1,
    16,
    Identity,
    None,
    false
);
suite!(
    AES_192_GCM_IV12_TAG16_NO_KDF,
    0x0046,
    "AES_192_GCM_IV12_TAG16_NO_KDF",
    V1,
    24,
    Identity,
    None,
    false
);
suite!(
    AES_256_GCM_IV12_TAG16_NO_KDF,
    0x0078,
    "AES_256_GCM_IV12_TAG16_NO_KDF",
    V1,
    32,
    Identity,
    None,
    false
);
suite!(
    AES_128_GCM_IV12_TAG16_HKDF_SHA256,
    0x0114,
    "AES_128_GCM_IV12_TAG16_HKDF_SHA256",
    V1,
    16,
    HkdfSha256,
    None,
    false
);
suite!(
    AES_192_GCM_IV12_TAG16_HKDF_SHA256,
    0x0146,
    "AES_192_GCM_IV12_TAG16_HKDF_SHA256",
    V1,
    24,
    HkdfSha256,
    None,
    false
);
suite!(
    AES_256_GCM_IV12_TAG16_HKDF_SHA256,
    0x0178,
    "AES_256_GCM_IV12_TAG16_HKDF_SHA256",
    V1,
    32,
    HkdfSha256,
    None,
    false
);
suite!(
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
    0x0214,
    "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
    V1,
    16,
    HkdfSha256,
    Some(P256),
    false
);
suite!(
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    0x0346,
    "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
    V1,
    24,
    HkdfSha384,
    Some(P384),
    false
);
suite!(
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    0x0378,
    "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
    V1,
    32,
    HkdfSha384,
    Some(P384),
    false
);
suite!(
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    0x0478,
    "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
    V2,
    32,
    HkdfSha512,
    None,
    true
);
suite!(
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
    0x0578,
    "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
    V2,
    32,
    HkdfSha512,
    Some(P384),
    true
);

/// Every supported suite, in id order.
pub const ALL_SUITES: &[&AlgorithmSuite] = &[
    &AES_128_GCM_IV12_TAG16_NO_KDF,
    &AES_192_GCM_IV12_TAG16_NO_KDF,
    &AES_256_GCM_IV12_TAG16_NO_KDF,
    &AES_128_GCM_IV12_TAG16_HKDF_SHA256,
    &AES_192_GCM_IV12_TAG16_HKDF_SHA256,
    &AES_256_GCM_IV12_TAG16_HKDF_SHA256,
    &AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
    &AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    &AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    &AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    &AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
];

/// The default suite: committing, signed.
pub const DEFAULT_SUITE: &AlgorithmSuite = &AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;

/// Which suites may be used to encrypt and to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitmentPolicy {
    /// Encrypt only with non-committing suites; decrypt anything.
    ForbidEncryptAllowDecrypt,
    /// Encrypt only with committing suites; decrypt anything.
    RequireEncryptAllowDecrypt,
    /// Encrypt and decrypt only with committing suites (the default).
    #[default]
    RequireEncryptRequireDecrypt,
}

impl CommitmentPolicy {
    /// Whether `suite` may encrypt under this policy.
    pub fn allows_encrypt(self, suite: &AlgorithmSuite) -> bool {
        match self {
            CommitmentPolicy::ForbidEncryptAllowDecrypt => !suite.committing,
            _ => suite.committing,
        }
    }

    /// Whether a message of `suite` may be decrypted under this policy.
    pub fn allows_decrypt(self, suite: &AlgorithmSuite) -> bool {
        match self {
            CommitmentPolicy::RequireEncryptRequireDecrypt => suite.committing,
            _ => true,
        }
    }

    /// The suite to use when the caller names none.
    pub fn default_suite(self) -> &'static AlgorithmSuite {
        match self {
            CommitmentPolicy::ForbidEncryptAllowDecrypt => {
                &AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
            }
            _ => DEFAULT_SUITE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_suites_with_unique_ids() {
        assert_eq!(ALL_SUITES.len(), 11);
        for s in ALL_SUITES {
            assert_eq!(AlgorithmSuite::by_id(s.id), Some(*s));
            assert_eq!(AlgorithmSuite::by_name(s.name), Some(*s));
            assert_eq!(s.committing, s.message_format == MessageFormatVersion::V2);
        }
        assert_eq!(AlgorithmSuite::by_id(0x0001), None);
    }

    #[test]
    fn commitment_policies() {
        let p = CommitmentPolicy::default();
        assert_eq!(p, CommitmentPolicy::RequireEncryptRequireDecrypt);
        assert!(p.allows_encrypt(DEFAULT_SUITE));
        assert!(!p.allows_decrypt(&AES_256_GCM_IV12_TAG16_HKDF_SHA256));
        assert!(CommitmentPolicy::RequireEncryptAllowDecrypt
            .allows_decrypt(&AES_128_GCM_IV12_TAG16_NO_KDF));
        assert!(!CommitmentPolicy::ForbidEncryptAllowDecrypt.allows_encrypt(DEFAULT_SUITE));
        assert_eq!(DEFAULT_SUITE.id, 0x0578);
    }
}

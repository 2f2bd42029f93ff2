//! Key specs and key usages: which combinations AWS allows, which algorithms each
//! offers, and the checks every asymmetric or HMAC operation makes on its key.

use kms_api::{ErrorCode, KmsError};

use super::require_enabled;
use super::validate::invalid;
use crate::keypairs::{Curve, KeyKind, SigningAlgorithm};
use crate::model::KeyRecord;

/// `ENCRYPT_DECRYPT`.
pub const ENCRYPT_DECRYPT: &str = "ENCRYPT_DECRYPT";
/// `SIGN_VERIFY`.
pub const SIGN_VERIFY: &str = "SIGN_VERIFY";
/// `GENERATE_VERIFY_MAC`.
pub const GENERATE_VERIFY_MAC: &str = "GENERATE_VERIFY_MAC";
/// `KEY_AGREEMENT`.
pub const KEY_AGREEMENT: &str = "KEY_AGREEMENT";

/// Every signing algorithm AWS names (for enum validation).
pub const SIGNING_ALGORITHMS: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
];

/// Every MAC algorithm AWS names.
pub const MAC_ALGORITHMS: &[&str] =
    &["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"];

/// The algorithms a key offers, as `DescribeKey` and `GetPublicKey` list them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Algorithms {
    /// `EncryptionAlgorithms`.
    pub encryption: Option<Vec<String>>,
    /// `SigningAlgorithms`.
    pub signing: Option<Vec<String>>,
    /// `MacAlgorithms`.
    pub mac: Option<Vec<String>>,
    /// `KeyAgreementAlgorithms`.
    pub key_agreement: Option<Vec<String>>,
}

fn list(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|&n| n.to_owned()).collect())
}

/// The algorithms of a key spec used for a key usage (only the list matching the usage).
pub fn algorithms(spec: &str, usage: &str) -> Algorithms {
    let Some(kind) = KeyKind::from_spec(spec) else {
        return Algorithms::default();
    };
    match (kind, usage) {
        (KeyKind::Symmetric, _) => {
            Algorithms { encryption: list(&["SYMMETRIC_DEFAULT"]), ..Algorithms::default() }
        }
        (KeyKind::Rsa(_), ENCRYPT_DECRYPT) => Algorithms {
            encryption: list(&["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
            ..Algorithms::default()
        },
        (KeyKind::Rsa(_), _) => Algorithms {
            signing: list(&[
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
            ]),
            ..Algorithms::default()
        },
        (KeyKind::Ecc(_), KEY_AGREEMENT) => {
            Algorithms { key_agreement: list(&["ECDH"]), ..Algorithms::default() }
        }
        (KeyKind::Ecc(curve), _) => Algorithms {
            signing: list(&[match curve {
                Curve::P256 | Curve::Secp256k1 => "ECDSA_SHA_256",
                Curve::P384 => "ECDSA_SHA_384",
                Curve::P521 => "ECDSA_SHA_512",
            }]),
            ..Algorithms::default()
        },
        (KeyKind::Ed25519, _) => Algorithms {
            signing: list(&["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
            ..Algorithms::default()
        },
        (KeyKind::Hmac(bits), _) => {
            Algorithms { mac: Some(vec![format!("HMAC_SHA_{bits}")]), ..Algorithms::default() }
        }
        (KeyKind::MlDsa(_), _) => {
            Algorithms { signing: list(&["ML_DSA_SHAKE_256"]), ..Algorithms::default() }
        }
    }
}

/// Checks a `CreateKey` spec/usage pair and returns the kind of key to create.
///
/// # Errors
/// `ValidationException` (`KeyUsage X is not compatible with KeySpec Y`) for a pair AWS
/// refuses; `UnsupportedOperationException` for SM2 (China Regions only).
pub fn check_spec_and_usage(spec: &str, usage: &str) -> Result<KeyKind, KmsError> {
    let Some(kind) = KeyKind::from_spec(spec) else {
        let why = if spec == "SM2" {
            "KeySpec SM2 is only available in the AWS China Regions"
        } else {
            "is not supported by this server"
        };
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            if spec == "SM2" { why.to_owned() } else { format!("KeySpec {spec} {why}") },
        ));
    };
    let allowed: &[&str] = match kind {
        KeyKind::Symmetric => &[ENCRYPT_DECRYPT],
        KeyKind::Rsa(_) => &[ENCRYPT_DECRYPT, SIGN_VERIFY],
        KeyKind::Ecc(Curve::Secp256k1) | KeyKind::Ed25519 | KeyKind::MlDsa(_) => &[SIGN_VERIFY],
        KeyKind::Ecc(_) => &[SIGN_VERIFY, KEY_AGREEMENT],
        KeyKind::Hmac(_) => &[GENERATE_VERIFY_MAC],
    };
    if !allowed.contains(&usage) {
        return Err(invalid(format!("KeyUsage {usage} is not compatible with KeySpec {spec}")));
    }
    Ok(kind)
}

/// The kind of a stored key.
///
/// # Errors
/// `KMSInternalException` if the stored spec is unknown (a corrupt record).
pub fn kind_of(record: &KeyRecord) -> Result<KeyKind, KmsError> {
    KeyKind::from_spec(&record.key_spec)
        .ok_or_else(|| super::internal("stored key has an unknown key spec", record.key.arn()))
}

/// `InvalidKeyUsageException: <arn> key usage is X which is not valid for <operation>.`
pub fn wrong_usage(record: &KeyRecord, operation: &str) -> KmsError {
    KmsError::new(
        ErrorCode::InvalidKeyUsageException,
        format!(
            "{} key usage is {} which is not valid for {operation}.",
            record.key.arn(),
            record.key_usage
        ),
    )
}

/// `InvalidKeyUsageException: Algorithm X is incompatible with key spec Y.`
pub fn wrong_algorithm(record: &KeyRecord, algorithm: &str) -> KmsError {
    KmsError::new(
        ErrorCode::InvalidKeyUsageException,
        format!("Algorithm {algorithm} is incompatible with key spec {}.", record.key_spec),
    )
}

/// A cryptographic operation's checks on its key: enabled, the right usage.
///
/// # Errors
/// The key-state errors and `InvalidKeyUsageException`.
pub fn require_usable(record: &KeyRecord, usage: &str, operation: &str) -> Result<(), KmsError> {
    require_enabled(record)?;
    if record.key_usage != usage {
        return Err(wrong_usage(record, operation));
    }
    Ok(())
}

/// Checks a signing algorithm against the key and parses it.
///
/// # Errors
/// `InvalidKeyUsageException` if the key does not offer it.
pub fn signing_algorithm(record: &KeyRecord, name: &str) -> Result<SigningAlgorithm, KmsError> {
    let offered = algorithms(&record.key_spec, &record.key_usage).signing.unwrap_or_default();
    let parsed = SigningAlgorithm::from_name(name);
    match parsed {
        Some(algorithm) if offered.iter().any(|a| a == name) => Ok(algorithm),
        _ => Err(wrong_algorithm(record, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_refuses_these_pairs() {
        assert!(check_spec_and_usage("RSA_2048", "KEY_AGREEMENT").is_err());
        assert!(check_spec_and_usage("ECC_SECG_P256K1", "KEY_AGREEMENT").is_err());
        assert!(check_spec_and_usage("HMAC_256", "SIGN_VERIFY").is_err());
        assert!(check_spec_and_usage("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT").is_err());
        let err = check_spec_and_usage("RSA_2048", "KEY_AGREEMENT").unwrap_err();
        assert_eq!(
            err.message.unwrap(),
            "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
        );
        assert_eq!(
            check_spec_and_usage("SM2", "SIGN_VERIFY").unwrap_err().code,
            ErrorCode::UnsupportedOperationException
        );
    }

    #[test]
    fn algorithms_follow_the_usage() {
        let rsa = algorithms("RSA_3072", ENCRYPT_DECRYPT);
        assert_eq!(rsa.encryption.unwrap(), ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
        assert!(rsa.signing.is_none());
        assert_eq!(algorithms("ECC_NIST_P521", SIGN_VERIFY).signing.unwrap(), ["ECDSA_SHA_512"]);
        assert_eq!(algorithms("ECC_NIST_P384", KEY_AGREEMENT).key_agreement.unwrap(), ["ECDH"]);
        assert_eq!(algorithms("HMAC_224", GENERATE_VERIFY_MAC).mac.unwrap(), ["HMAC_SHA_224"]);
    }
}

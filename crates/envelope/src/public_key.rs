//! Local operations with the public half of an asymmetric KMS key: RSA-OAEP encryption that
//! KMS `Decrypt` accepts, and verification of signatures made by KMS `Sign`.
//!
//! Names, limits and encodings follow AWS KMS: keys are DER `SubjectPublicKeyInfo` (what
//! `GetPublicKey` returns), RSA signatures are PKCS #1 (PSS with a salt as long as the hash),
//! ECDSA signatures are DER X9.62, and a `DIGEST` message must be exactly as long as the
//! algorithm's hash.

use p256::pkcs8::DecodePublicKey;
use rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::Error;

/// The smallest RSA modulus KMS uses (`RSA_2048`), in bits.
pub const RSA_MIN_MODULUS_BITS: usize = 2048;
/// The largest RSA modulus KMS uses (`RSA_4096`), in bits.
pub const RSA_MAX_MODULUS_BITS: usize = 4096;

/// A KMS `SigningAlgorithm` this module verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// `RSASSA_PSS_SHA_256`.
    RsassaPssSha256,
    /// `RSASSA_PSS_SHA_384`.
    RsassaPssSha384,
    /// `RSASSA_PSS_SHA_512`.
    RsassaPssSha512,
    /// `RSASSA_PKCS1_V1_5_SHA_256`.
    RsassaPkcs1V15Sha256,
    /// `RSASSA_PKCS1_V1_5_SHA_384`.
    RsassaPkcs1V15Sha384,
    /// `RSASSA_PKCS1_V1_5_SHA_512`.
    RsassaPkcs1V15Sha512,
    /// `ECDSA_SHA_256` (P-256 keys).
    EcdsaSha256,
    /// `ECDSA_SHA_384` (P-384 keys).
    EcdsaSha384,
    /// `ECDSA_SHA_512` (P-521 keys).
    EcdsaSha512,
}

/// The hash functions behind the signing algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

impl SigningAlgorithm {
    /// Every algorithm, in KMS's order.
    pub const ALL: [SigningAlgorithm; 9] = [
        SigningAlgorithm::RsassaPssSha256,
        SigningAlgorithm::RsassaPssSha384,
        SigningAlgorithm::RsassaPssSha512,
        SigningAlgorithm::RsassaPkcs1V15Sha256,
        SigningAlgorithm::RsassaPkcs1V15Sha384,
        SigningAlgorithm::RsassaPkcs1V15Sha512,
        SigningAlgorithm::EcdsaSha256,
        SigningAlgorithm::EcdsaSha384,
        SigningAlgorithm::EcdsaSha512,
    ];

    /// The KMS API name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RsassaPssSha256 => "RSASSA_PSS_SHA_256",
            SigningAlgorithm::RsassaPssSha384 => "RSASSA_PSS_SHA_384",
            SigningAlgorithm::RsassaPssSha512 => "RSASSA_PSS_SHA_512",
            SigningAlgorithm::RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
            SigningAlgorithm::RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
            SigningAlgorithm::RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
            SigningAlgorithm::EcdsaSha256 => "ECDSA_SHA_256",
            SigningAlgorithm::EcdsaSha384 => "ECDSA_SHA_384",
            SigningAlgorithm::EcdsaSha512 => "ECDSA_SHA_512",
        }
    }

    /// The algorithm with this KMS API name.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for an unknown or unsupported name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| Error::ApiMisuse(format!("unsupported signing algorithm {name:?}")))
    }

    fn hash(self) -> Hash {
        match self {
            SigningAlgorithm::RsassaPssSha256
            | SigningAlgorithm::RsassaPkcs1V15Sha256
            | SigningAlgorithm::EcdsaSha256 => Hash::Sha256,
            SigningAlgorithm::RsassaPssSha384
            | SigningAlgorithm::RsassaPkcs1V15Sha384
            | SigningAlgorithm::EcdsaSha384 => Hash::Sha384,
            SigningAlgorithm::RsassaPssSha512
            | SigningAlgorithm::RsassaPkcs1V15Sha512
            | SigningAlgorithm::EcdsaSha512 => Hash::Sha512,
        }
    }
}

/// Whether a message to verify is the message itself or its digest (KMS `MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageType {
    /// `RAW`: the message; it is hashed with the algorithm's hash.
    Raw,
    /// `DIGEST`: the message's hash, exactly as long as the algorithm's hash.
    Digest,
}

impl MessageType {
    /// The message type with this KMS API name.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for anything but `RAW` or `DIGEST`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "RAW" => Ok(MessageType::Raw),
            "DIGEST" => Ok(MessageType::Digest),
            _ => Err(Error::ApiMisuse(format!("unsupported message type {name:?}"))),
        }
    }
}

/// A KMS `EncryptionAlgorithm` for RSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncryptionAlgorithm {
    /// `RSAES_OAEP_SHA_1`: OAEP with SHA-1 and MGF1 with SHA-1, no label.
    RsaesOaepSha1,
    /// `RSAES_OAEP_SHA_256`: OAEP with SHA-256 and MGF1 with SHA-256, no label.
    RsaesOaepSha256,
}

impl EncryptionAlgorithm {
    /// The KMS API name.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionAlgorithm::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            EncryptionAlgorithm::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        }
    }

    /// The algorithm with this KMS API name.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for anything but the two OAEP algorithms.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "RSAES_OAEP_SHA_1" => Ok(EncryptionAlgorithm::RsaesOaepSha1),
            "RSAES_OAEP_SHA_256" => Ok(EncryptionAlgorithm::RsaesOaepSha256),
            _ => Err(Error::ApiMisuse(format!("unsupported encryption algorithm {name:?}"))),
        }
    }

    fn hash_len(self) -> usize {
        match self {
            EncryptionAlgorithm::RsaesOaepSha1 => 20,
            EncryptionAlgorithm::RsaesOaepSha256 => 32,
        }
    }
}

/// A parsed public key of one of the KMS key specs this module handles.
#[derive(Clone)]
pub enum PublicKey {
    /// `RSA_2048`, `RSA_3072` or `RSA_4096` (any modulus of 2048 to 4096 bits is accepted).
    Rsa(RsaPublicKey),
    /// `ECC_NIST_P256`.
    P256(p256::ecdsa::VerifyingKey),
    /// `ECC_NIST_P384`.
    P384(p384::ecdsa::VerifyingKey),
    /// `ECC_NIST_P521`.
    P521(p521::ecdsa::VerifyingKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_spec())
    }
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` holding an RSA, P-256, P-384 or P-521 key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for anything else, including RSA moduli outside 2048 to 4096
    /// bits.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        if let Ok(key) = RsaPublicKey::from_public_key_der(der) {
            let bits = key.n().bits();
            if !(RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS).contains(&bits) {
                return Err(Error::InvalidKey(format!(
                    "RSA keys of {bits} bits are not supported (2048 to 4096)"
                )));
            }
            return Ok(PublicKey::Rsa(key));
        }
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(key));
        }
        if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(key));
        }
        if let Ok(key) = p521::PublicKey::from_public_key_der(der) {
            let key = p521::ecdsa::VerifyingKey::from_affine(*key.as_affine())
                .map_err(|_| Error::InvalidKey("invalid P-521 public key".into()))?;
            return Ok(PublicKey::P521(key));
        }
        Err(Error::InvalidKey(
            "not a DER SubjectPublicKeyInfo RSA, P-256, P-384 or P-521 public key".into(),
        ))
    }

    /// The KMS key spec: `RSA_2048`, `RSA_3072`, `RSA_4096`, `ECC_NIST_P256`, ...; RSA keys
    /// of other sizes are named `RSA_<bits>`.
    pub fn key_spec(&self) -> String {
        match self {
            PublicKey::Rsa(key) => format!("RSA_{}", key.n().bits()),
            PublicKey::P256(_) => "ECC_NIST_P256".into(),
            PublicKey::P384(_) => "ECC_NIST_P384".into(),
            PublicKey::P521(_) => "ECC_NIST_P521".into(),
        }
    }

    /// The signing algorithms KMS allows for this key spec.
    pub fn signing_algorithms(&self) -> Vec<SigningAlgorithm> {
        match self {
            PublicKey::Rsa(_) => SigningAlgorithm::ALL[..6].to_vec(),
            PublicKey::P256(_) => vec![SigningAlgorithm::EcdsaSha256],
            PublicKey::P384(_) => vec![SigningAlgorithm::EcdsaSha384],
            PublicKey::P521(_) => vec![SigningAlgorithm::EcdsaSha512],
        }
    }

    /// The largest plaintext KMS encrypts with this key and algorithm: the modulus length
    /// minus twice the hash length minus 2 (RSA_2048: 214 with SHA-1, 190 with SHA-256).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if this is not an RSA key.
    pub fn max_plaintext_len(&self, algorithm: EncryptionAlgorithm) -> Result<usize, Error> {
        match self {
            PublicKey::Rsa(key) => Ok(key.size() - 2 * algorithm.hash_len() - 2),
            _ => Err(Error::ApiMisuse(format!(
                "key spec {} cannot encrypt; only RSA keys can",
                self.key_spec()
            ))),
        }
    }

    /// RSA-OAEP encrypts `plaintext` exactly as KMS `Encrypt` does for this key, so KMS
    /// `Decrypt` with the same algorithm returns it.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for a non-RSA key, an empty plaintext, or one over
    /// [`PublicKey::max_plaintext_len`] (KMS's `ValidationException` text);
    /// [`Error::Random`] if encryption fails.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        algorithm: EncryptionAlgorithm,
    ) -> Result<Vec<u8>, Error> {
        let max = self.max_plaintext_len(algorithm)?;
        let PublicKey::Rsa(key) = self else {
            return Err(Error::ApiMisuse("only RSA keys can encrypt".into()));
        };
        if plaintext.is_empty() {
            return Err(Error::ApiMisuse("the plaintext must not be empty".into()));
        }
        if plaintext.len() > max {
            return Err(Error::ApiMisuse(format!(
                "Algorithm {} and key spec {} cannot encrypt data larger than {max} bytes.",
                algorithm.as_str(),
                self.key_spec()
            )));
        }
        let mut rng = OsRng;
        let result = match algorithm {
            EncryptionAlgorithm::RsaesOaepSha1 => {
                key.encrypt(&mut rng, Oaep::new::<Sha1>(), plaintext)
            }
            EncryptionAlgorithm::RsaesOaepSha256 => {
                key.encrypt(&mut rng, Oaep::new::<Sha256>(), plaintext)
            }
        };
        result.map_err(|_| Error::Random)
    }

    /// Verifies a signature made by KMS `Sign`: `Ok(true)` if it is valid, `Ok(false)` if
    /// not (including a signature that is not well-formed).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the algorithm is not one KMS allows for this key spec, or a
    /// `DIGEST` message is not as long as the algorithm's hash.
    pub fn verify(
        &self,
        message: &[u8],
        signature: &[u8],
        algorithm: SigningAlgorithm,
        message_type: MessageType,
    ) -> Result<bool, Error> {
        if !self.signing_algorithms().contains(&algorithm) {
            return Err(Error::ApiMisuse(format!(
                "signing algorithm {} is not valid for key spec {}",
                algorithm.as_str(),
                self.key_spec()
            )));
        }
        let hash = algorithm.hash();
        let digest = match message_type {
            MessageType::Raw => hash.digest(message),
            MessageType::Digest if message.len() == hash.len() => message.to_vec(),
            MessageType::Digest => {
                return Err(Error::ApiMisuse(format!(
                    "Digest is invalid length for algorithm {}.",
                    algorithm.as_str()
                )))
            }
        };
        Ok(self.verify_prehash(&digest, signature, algorithm))
    }

    fn verify_prehash(&self, digest: &[u8], signature: &[u8], algorithm: SigningAlgorithm) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        use SigningAlgorithm as A;
        match self {
            PublicKey::Rsa(key) => {
                let scheme_ok = match algorithm {
                    A::RsassaPssSha256 => key.verify(Pss::new::<Sha256>(), digest, signature),
                    A::RsassaPssSha384 => key.verify(Pss::new::<Sha384>(), digest, signature),
                    A::RsassaPssSha512 => key.verify(Pss::new::<Sha512>(), digest, signature),
                    A::RsassaPkcs1V15Sha256 => {
                        key.verify(Pkcs1v15Sign::new::<Sha256>(), digest, signature)
                    }
                    A::RsassaPkcs1V15Sha384 => {
                        key.verify(Pkcs1v15Sign::new::<Sha384>(), digest, signature)
                    }
                    A::RsassaPkcs1V15Sha512 => {
                        key.verify(Pkcs1v15Sign::new::<Sha512>(), digest, signature)
                    }
                    A::EcdsaSha256 | A::EcdsaSha384 | A::EcdsaSha512 => return false,
                };
                scheme_ok.is_ok()
            }
            PublicKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| key.verify_prehash(digest, &s).is_ok()),
            PublicKey::P384(key) => p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| key.verify_prehash(digest, &s).is_ok()),
            PublicKey::P521(key) => p521::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| key.verify_prehash(digest, &s).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePublicKey;
    use rsa::RsaPrivateKey;

    fn rsa_key() -> (RsaPrivateKey, PublicKey) {
        let private = RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
        let der = private.to_public_key().to_public_key_der().unwrap();
        (private, PublicKey::from_spki_der(der.as_bytes()).unwrap())
    }

    #[test]
    fn oaep_ciphertext_decrypts_with_the_private_key_and_limits_match_kms() {
        let (private, public) = rsa_key();
        assert_eq!(public.key_spec(), "RSA_2048");
        assert_eq!(public.max_plaintext_len(EncryptionAlgorithm::RsaesOaepSha1).unwrap(), 214);
        assert_eq!(public.max_plaintext_len(EncryptionAlgorithm::RsaesOaepSha256).unwrap(), 190);
        let ct = public.encrypt(&[7; 190], EncryptionAlgorithm::RsaesOaepSha256).unwrap();
        assert_eq!(private.decrypt(Oaep::new::<Sha256>(), &ct).unwrap(), vec![7; 190]);
        let ct = public.encrypt(&[9; 214], EncryptionAlgorithm::RsaesOaepSha1).unwrap();
        assert_eq!(private.decrypt(Oaep::new::<Sha1>(), &ct).unwrap(), vec![9; 214]);
        let err = public.encrypt(&[7; 191], EncryptionAlgorithm::RsaesOaepSha256).unwrap_err();
        assert!(err.to_string().contains("cannot encrypt data larger than 190 bytes"), "{err}");
        assert!(public.encrypt(&[], EncryptionAlgorithm::RsaesOaepSha1).is_err());
    }

    #[test]
    fn rsa_signatures_verify_raw_and_digest_and_tampering_fails() {
        let (private, public) = rsa_key();
        let message = b"message to sign";
        let digest = Sha384::digest(message);
        let pss = private.sign_with_rng(&mut OsRng, Pss::new::<Sha384>(), &digest).unwrap();
        let pkcs = private.sign(Pkcs1v15Sign::new::<Sha384>(), &digest).unwrap();
        let (raw, dig) = (MessageType::Raw, MessageType::Digest);
        assert!(public.verify(message, &pss, SigningAlgorithm::RsassaPssSha384, raw).unwrap());
        assert!(public.verify(&digest, &pss, SigningAlgorithm::RsassaPssSha384, dig).unwrap());
        assert!(public
            .verify(message, &pkcs, SigningAlgorithm::RsassaPkcs1V15Sha384, raw)
            .unwrap());
        assert!(!public.verify(message, &pkcs, SigningAlgorithm::RsassaPssSha384, raw).unwrap());
        assert!(!public.verify(b"other", &pss, SigningAlgorithm::RsassaPssSha384, raw).unwrap());
        let mut bad = pss.clone();
        bad[10] ^= 1;
        assert!(!public.verify(message, &bad, SigningAlgorithm::RsassaPssSha384, raw).unwrap());
        // A digest of the wrong length and an ECDSA algorithm are caller errors.
        assert!(public
            .verify(&digest[..32], &pss, SigningAlgorithm::RsassaPssSha384, dig)
            .is_err());
        assert!(public.verify(message, &pss, SigningAlgorithm::EcdsaSha384, raw).is_err());
    }

    #[test]
    fn ecdsa_signatures_verify_for_each_curve() {
        use p256::ecdsa::signature::Signer;
        let message = b"kms signs this";
        let raw = MessageType::Raw;

        let k256 = p256::ecdsa::SigningKey::random(&mut OsRng);
        let der = k256.verifying_key().to_public_key_der().unwrap();
        let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
        let sig: p256::ecdsa::Signature = k256.sign(message);
        let sig = sig.to_der();
        assert_eq!(public.key_spec(), "ECC_NIST_P256");
        assert!(public
            .verify(message, sig.as_bytes(), SigningAlgorithm::EcdsaSha256, raw)
            .unwrap());
        assert!(!public.verify(b"x", sig.as_bytes(), SigningAlgorithm::EcdsaSha256, raw).unwrap());
        assert!(public
            .verify(message, sig.as_bytes(), SigningAlgorithm::EcdsaSha384, raw)
            .is_err());

        let k384 = p384::ecdsa::SigningKey::random(&mut OsRng);
        let der = k384.verifying_key().to_public_key_der().unwrap();
        let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
        let sig: p384::ecdsa::Signature = k384.sign(message);
        assert!(public
            .verify(message, sig.to_der().as_bytes(), SigningAlgorithm::EcdsaSha384, raw)
            .unwrap());

        let k521 = p521::ecdsa::SigningKey::random(&mut OsRng);
        let point = p521::ecdsa::VerifyingKey::from(&k521).to_encoded_point(false);
        let der = p521::PublicKey::from_sec1_bytes(point.as_bytes())
            .unwrap()
            .to_public_key_der()
            .unwrap();
        let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
        assert_eq!(public.key_spec(), "ECC_NIST_P521");
        let digest = Sha512::digest(message);
        let sig: p521::ecdsa::Signature =
            p256::ecdsa::signature::hazmat::PrehashSigner::sign_prehash(&k521, &digest).unwrap();
        let sig = sig.to_der();
        assert!(public
            .verify(message, sig.as_bytes(), SigningAlgorithm::EcdsaSha512, raw)
            .unwrap());
        assert!(public
            .verify(&digest, sig.as_bytes(), SigningAlgorithm::EcdsaSha512, MessageType::Digest)
            .unwrap());
        assert!(!public.verify(b"y", sig.as_bytes(), SigningAlgorithm::EcdsaSha512, raw).unwrap());
        // ECC keys cannot encrypt.
        assert!(public.encrypt(b"x", EncryptionAlgorithm::RsaesOaepSha256).is_err());
    }

    #[test]
    fn garbage_keys_and_names_are_rejected() {
        assert!(PublicKey::from_spki_der(b"not a key").is_err());
        assert!(SigningAlgorithm::from_name("ECDSA_SHA_1").is_err());
        assert_eq!(
            SigningAlgorithm::from_name("RSASSA_PSS_SHA_512").unwrap(),
            SigningAlgorithm::RsassaPssSha512
        );
        assert!(MessageType::from_name("EXTERNAL_MU").is_err());
        assert!(EncryptionAlgorithm::from_name("SYMMETRIC_DEFAULT").is_err());
    }
}

//! Local operations with the public half of an asymmetric KMS key: RSA-OAEP encryption that
//! KMS `Decrypt` accepts, and verification of signatures made by KMS `Sign`.
//!
//! Names, limits and encodings follow AWS KMS: keys are DER `SubjectPublicKeyInfo` (what
//! `GetPublicKey` returns), RSA signatures are PKCS #1 (PSS with a salt as long as the hash),
//! ECDSA signatures are DER X9.62, and a `DIGEST` message must be exactly as long as the
//! algorithm's hash.

use kms_api::hash::{self, HashAlgorithm};
use sha2::Sha256;

use crate::der::{self, NamedCurve, Spki};
use crate::error::Error;
use crate::signature;

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
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Hash::Sha256 => HashAlgorithm::Sha256,
            Hash::Sha384 => HashAlgorithm::Sha384,
            Hash::Sha512 => HashAlgorithm::Sha512,
        };
        hash::digest(algorithm, message).as_bytes().to_vec()
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
            .ok_or_else(|| Error::ApiMisuse(format!("unsupported signing algorithm \"{name}\"")))
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
            _ => Err(Error::ApiMisuse(format!("unsupported message type \"{name}\""))),
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
            _ => Err(Error::ApiMisuse(format!("unsupported encryption algorithm \"{name}\""))),
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
///
/// This module parses the DER itself ([`crate::der`]) and checks the rules KMS keys
/// follow: RSA moduli of 2048 to 4096 bits with an odd modulus and exponent, EC points only
/// in the uncompressed or compressed SEC1 forms and on the curve (checked by the
/// [`signature`] backend; in kms-wasm before its EC module is loaded only the form is
/// checked at parse time, the curve before each verification). The arithmetic of
/// verification is the signature backend's (natively the RustCrypto `rsa`, `p256`, `p384`
/// and `p521` crates).
#[derive(Clone)]
pub struct PublicKey(Key);

#[derive(Clone)]
enum Key {
    /// Big-endian modulus and exponent without leading zeros, and the modulus's bit length.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        bits: usize,
    },
    Ec {
        curve: NamedCurve,
        point: Vec<u8>,
    },
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_spec())
    }
}

/// The bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_len(be: &[u8]) -> usize {
    be.first().map_or(0, |&top| 8 * be.len() - top.leading_zeros() as usize)
}

/// The largest RSA public exponent accepted, as the `rsa` crate bounds it: 2^33 - 1.
const RSA_MAX_EXPONENT_BITS: usize = 33;

/// The RSA key (`n`, `e`) if KMS could have made it: a modulus of 2048 to 4096 bits, both
/// odd, an exponent of at least 3 and below 2^33.
fn rsa_key(n: &[u8], e: &[u8]) -> Result<Key, Error> {
    let bits = bit_len(n);
    if !(RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS).contains(&bits) {
        return Err(Error::InvalidKey(format!(
            "RSA keys of {bits} bits are not supported (2048 to 4096)"
        )));
    }
    let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
    let e_bits = bit_len(e);
    if !odd(n) || !odd(e) || !(2..=RSA_MAX_EXPONENT_BITS).contains(&e_bits) || n[0] == 0 {
        return Err(Error::InvalidKey("invalid RSA public key".into()));
    }
    Ok(Key::Rsa { n: n.to_vec(), e: e.to_vec(), bits })
}

/// The EC key on `curve` from a SEC1 point, uncompressed (`04`) or compressed (`02`/`03`);
/// the identity and "compact" forms, which no KMS key has, are refused.
fn ec_key(curve: NamedCurve, point: &[u8]) -> Result<Key, Error> {
    let on_curve = signature::is_sec1_form(curve, point)
        && signature::backend().ok().and_then(|b| b.check_point(curve, point)) != Some(false);
    if !on_curve {
        return Err(Error::InvalidKey("invalid EC public key point".into()));
    }
    Ok(Key::Ec { curve, point: point.to_vec() })
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` holding an RSA, P-256, P-384 or P-521 key (EC
    /// points uncompressed, as KMS `GetPublicKey` returns them, or compressed).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for anything else, including RSA moduli outside 2048 to 4096
    /// bits and points not on the curve.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let unsupported = || {
            Error::InvalidKey(
                "not a DER SubjectPublicKeyInfo RSA, P-256, P-384 or P-521 public key".into(),
            )
        };
        match der::parse_spki(der).ok_or_else(unsupported)? {
            Spki::Rsa { n, e } => Ok(PublicKey(rsa_key(&n, &e)?)),
            Spki::Ec { curve, point } => Ok(PublicKey(ec_key(curve, &point)?)),
        }
    }

    /// Whether this is an RSA key (which can encrypt).
    pub fn is_rsa(&self) -> bool {
        matches!(self.0, Key::Rsa { .. })
    }

    /// The KMS key spec: `RSA_2048`, `RSA_3072`, `RSA_4096`, `ECC_NIST_P256`, ...; RSA keys
    /// of other sizes are named `RSA_<bits>`.
    pub fn key_spec(&self) -> String {
        match &self.0 {
            Key::Rsa { bits, .. } => format!("RSA_{bits}"),
            Key::Ec { curve: NamedCurve::P256, .. } => "ECC_NIST_P256".into(),
            Key::Ec { curve: NamedCurve::P384, .. } => "ECC_NIST_P384".into(),
            Key::Ec { curve: NamedCurve::P521, .. } => "ECC_NIST_P521".into(),
        }
    }

    /// The signing algorithms KMS allows for this key spec.
    pub fn signing_algorithms(&self) -> Vec<SigningAlgorithm> {
        match &self.0 {
            Key::Rsa { .. } => SigningAlgorithm::ALL[..6].to_vec(),
            Key::Ec { curve: NamedCurve::P256, .. } => vec![SigningAlgorithm::EcdsaSha256],
            Key::Ec { curve: NamedCurve::P384, .. } => vec![SigningAlgorithm::EcdsaSha384],
            Key::Ec { curve: NamedCurve::P521, .. } => vec![SigningAlgorithm::EcdsaSha512],
        }
    }

    /// The largest plaintext KMS encrypts with this key and algorithm: the modulus length
    /// minus twice the hash length minus 2 (RSA_2048: 214 with SHA-1, 190 with SHA-256).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if this is not an RSA key.
    pub fn max_plaintext_len(&self, algorithm: EncryptionAlgorithm) -> Result<usize, Error> {
        match &self.0 {
            Key::Rsa { bits, .. } => Ok(bits.div_ceil(8) - 2 * algorithm.hash_len() - 2),
            Key::Ec { .. } => Err(Error::ApiMisuse(format!(
                "key spec {} cannot encrypt; only RSA keys can",
                self.key_spec()
            ))),
        }
    }

    /// Checks a plaintext against KMS's rules for this key and algorithm: an RSA key, not
    /// empty, at most [`PublicKey::max_plaintext_len`] bytes.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] with KMS's `ValidationException` text.
    pub fn check_plaintext(
        &self,
        plaintext: &[u8],
        algorithm: EncryptionAlgorithm,
    ) -> Result<(), Error> {
        let max = self.max_plaintext_len(algorithm)?;
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
        Ok(())
    }

    /// RSA-OAEP encrypts `plaintext` exactly as KMS `Encrypt` does for this key, so KMS
    /// `Decrypt` with the same algorithm returns it. (The WebAssembly build encrypts with
    /// WebCrypto instead, after [`PublicKey::check_plaintext`].)
    ///
    /// # Errors
    /// As [`PublicKey::check_plaintext`]; [`Error::Random`] if encryption fails.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        algorithm: EncryptionAlgorithm,
    ) -> Result<Vec<u8>, Error> {
        use rsa::{BigUint, Oaep, RsaPublicKey};
        self.check_plaintext(plaintext, algorithm)?;
        let Key::Rsa { n, e, .. } = &self.0 else {
            return Err(Error::ApiMisuse("only RSA keys can encrypt".into()));
        };
        let key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
            .map_err(|_| Error::InvalidKey("invalid RSA public key".into()))?;
        let mut rng = rand_core::OsRng;
        let result = match algorithm {
            EncryptionAlgorithm::RsaesOaepSha1 => {
                key.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), plaintext)
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
        self.check_signing_algorithm(algorithm)?;
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
        self.verify_prehash(&digest, signature, algorithm)
    }

    /// Checks that KMS allows `algorithm` for this key spec.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if it does not.
    pub fn check_signing_algorithm(&self, algorithm: SigningAlgorithm) -> Result<(), Error> {
        if !self.signing_algorithms().contains(&algorithm) {
            return Err(Error::ApiMisuse(format!(
                "signing algorithm {} is not valid for key spec {}",
                algorithm.as_str(),
                self.key_spec()
            )));
        }
        Ok(())
    }

    /// Verifies `signature` over `digest` (already checked: as long as the algorithm's
    /// hash, an algorithm KMS allows for this key spec) with the signature backend.
    fn verify_prehash(
        &self,
        digest: &[u8],
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool, Error> {
        let backend = signature::backend()?;
        match &self.0 {
            Key::Rsa { n, e, .. } => backend.verify_rsa(n, e, algorithm, digest, signature),
            Key::Ec { curve, point } => backend.verify_ecdsa(*curve, point, digest, signature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePublicKey;
    use rand_core::OsRng;
    use rsa::{Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey};
    use sha1::Sha1;
    use sha2::{Digest, Sha384, Sha512};

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

    /// Every RSA algorithm, RAW and DIGEST, against signatures from the `rsa` crate; any
    /// flipped bit of the signature or the digest fails.
    #[test]
    fn every_rsa_algorithm_matches_the_rsa_crate_and_rejects_tampering() {
        let private = RsaPrivateKey::new(&mut OsRng, 3072).unwrap();
        let der = private.to_public_key().to_public_key_der().unwrap();
        let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
        assert_eq!(public.key_spec(), "RSA_3072");
        for algorithm in &SigningAlgorithm::ALL[..6] {
            let message = algorithm.as_str().as_bytes();
            let digest = algorithm.hash().digest(message);
            let signature = match (algorithm, algorithm.hash()) {
                (SigningAlgorithm::RsassaPssSha256, _) => {
                    private.sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), &digest)
                }
                (SigningAlgorithm::RsassaPssSha384, _) => {
                    private.sign_with_rng(&mut OsRng, Pss::new::<Sha384>(), &digest)
                }
                (SigningAlgorithm::RsassaPssSha512, _) => {
                    private.sign_with_rng(&mut OsRng, Pss::new::<Sha512>(), &digest)
                }
                (_, Hash::Sha256) => private.sign(Pkcs1v15Sign::new::<Sha256>(), &digest),
                (_, Hash::Sha384) => private.sign(Pkcs1v15Sign::new::<Sha384>(), &digest),
                (_, Hash::Sha512) => private.sign(Pkcs1v15Sign::new::<Sha512>(), &digest),
            }
            .unwrap();
            let check = |m: &[u8], sig: &[u8], t| public.verify(m, sig, *algorithm, t).unwrap();
            assert!(check(message, &signature, MessageType::Raw), "{algorithm:?}");
            assert!(check(&digest, &signature, MessageType::Digest), "{algorithm:?}");
            for bit in [0, 7, 8 * signature.len() / 2, 8 * signature.len() - 1] {
                let mut bad = signature.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(!check(message, &bad, MessageType::Raw), "{algorithm:?} bit {bit}");
            }
            let mut bad_digest = digest.clone();
            bad_digest[3] ^= 0x40;
            assert!(!check(&bad_digest, &signature, MessageType::Digest), "{algorithm:?}");
            assert!(!check(message, &signature[1..], MessageType::Raw), "{algorithm:?}");
        }
    }

    /// ECDSA on each curve, RAW and DIGEST, many keys, against the RustCrypto crates.
    #[test]
    fn ecdsa_matches_the_curve_crates_on_many_keys() {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        fn check(public: &PublicKey, algorithm: SigningAlgorithm, digest: &[u8], der: &[u8]) {
            let (raw, dig) = (MessageType::Raw, MessageType::Digest);
            assert!(public.verify(digest, der, algorithm, dig).unwrap());
            assert!(!public.verify(b"not the message", der, algorithm, raw).unwrap());
            let mut bad = digest.to_vec();
            bad[0] ^= 0x80;
            assert!(!public.verify(&bad, der, algorithm, dig).unwrap());
            let mut bad_sig = der.to_vec();
            let last = bad_sig.len() - 1;
            bad_sig[last] ^= 1;
            assert!(!public.verify(digest, &bad_sig, algorithm, dig).unwrap());
        }
        for round in 0u8..4 {
            let message = [round; 40];
            let k = p256::ecdsa::SigningKey::random(&mut OsRng);
            let der = k.verifying_key().to_public_key_der().unwrap();
            let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
            let digest = Sha256::digest(message);
            let sig: p256::ecdsa::Signature = k.sign_prehash(&digest).unwrap();
            assert!(public
                .verify(
                    &message,
                    sig.to_der().as_bytes(),
                    SigningAlgorithm::EcdsaSha256,
                    MessageType::Raw
                )
                .unwrap());
            check(&public, SigningAlgorithm::EcdsaSha256, &digest, sig.to_der().as_bytes());

            let k = p384::ecdsa::SigningKey::random(&mut OsRng);
            let der = k.verifying_key().to_public_key_der().unwrap();
            let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
            let digest = Sha384::digest(message);
            let sig: p384::ecdsa::Signature = k.sign_prehash(&digest).unwrap();
            check(&public, SigningAlgorithm::EcdsaSha384, &digest, sig.to_der().as_bytes());

            let k = p521::ecdsa::SigningKey::random(&mut OsRng);
            let point = p521::ecdsa::VerifyingKey::from(&k).to_encoded_point(false);
            let der = p521::PublicKey::from_sec1_bytes(point.as_bytes())
                .unwrap()
                .to_public_key_der()
                .unwrap();
            let public = PublicKey::from_spki_der(der.as_bytes()).unwrap();
            let digest = Sha512::digest(message);
            let sig: p521::ecdsa::Signature = k.sign_prehash(&digest).unwrap();
            check(&public, SigningAlgorithm::EcdsaSha512, &digest, sig.to_der().as_bytes());
        }
    }

    /// KMS's RSA rules on top of the crate's: 2048 to 4096 bits, odd modulus, odd exponent
    /// of at least 3 (the moduli here need not be products of primes: only parsed).
    #[test]
    fn rsa_moduli_and_exponents_outside_kms_rules_are_rejected() {
        let modulus = |bits: usize| {
            let mut n = vec![0xff; bits.div_ceil(8)];
            n[0] = 0xff >> (8 * n.len() - bits);
            n
        };
        let parse = |n: &[u8], e: &[u8]| PublicKey::from_spki_der(&der::rsa_spki(n, e));
        assert_eq!(parse(&modulus(2048), &[1, 0, 1]).unwrap().key_spec(), "RSA_2048");
        assert_eq!(parse(&modulus(4096), &[3]).unwrap().key_spec(), "RSA_4096");
        assert!(parse(&modulus(2047), &[1, 0, 1]).is_err());
        assert!(parse(&modulus(4097), &[1, 0, 1]).is_err());
        assert!(parse(&modulus(1024), &[1, 0, 1]).is_err());
        let mut even = modulus(2048);
        even[255] ^= 1;
        assert!(parse(&even, &[1, 0, 1]).is_err());
        for bad_e in [&[1u8][..], &[2], &[1, 0, 0], &[2, 0, 0, 0, 0, 1]] {
            assert!(parse(&modulus(2048), bad_e).is_err(), "{bad_e:?}");
        }
    }

    /// PSS signatures with a salt of another length than the hash (KMS always uses the
    /// hash length) are rejected.
    #[test]
    fn pss_salt_must_be_as_long_as_the_hash() {
        let (private, public) = rsa_key();
        let digest = Sha256::digest(b"salted");
        let verify = |sig: &[u8]| {
            public
                .verify(&digest, sig, SigningAlgorithm::RsassaPssSha256, MessageType::Digest)
                .unwrap()
        };
        for (salt, ok) in [(32, true), (0, false), (20, false), (64, false)] {
            let sig = private
                .sign_with_rng(&mut OsRng, Pss::new_with_salt::<Sha256>(salt), &digest)
                .unwrap();
            assert_eq!(verify(&sig), ok, "salt {salt}");
        }
    }

    /// A signature `s + n` (same value modulo `n`, still `k` bytes) is rejected: signatures
    /// must be below the modulus.
    #[test]
    fn rsa_signatures_not_below_the_modulus_are_rejected() {
        use rsa::traits::PublicKeyParts;
        use rsa::BigUint;
        let (private, public) = rsa_key();
        let k = private.size();
        let mut found = 0;
        for i in 0u32..2000 {
            let digest = Sha256::digest(i.to_be_bytes());
            let sig = private.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
            let big = (BigUint::from_bytes_be(&sig) + private.n()).to_bytes_be();
            if big.len() != k {
                continue;
            }
            let (raw, dig) = (&digest[..], MessageType::Digest);
            let alg = SigningAlgorithm::RsassaPkcs1V15Sha256;
            assert!(public.verify(raw, &sig, alg, dig).unwrap());
            assert!(!public.verify(raw, &big, alg, dig).unwrap());
            let pss = private.sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), &digest).unwrap();
            let big = (BigUint::from_bytes_be(&pss) + private.n()).to_bytes_be();
            if big.len() == k {
                let alg = SigningAlgorithm::RsassaPssSha256;
                assert!(public.verify(raw, &pss, alg, dig).unwrap());
                assert!(!public.verify(raw, &big, alg, dig).unwrap());
                found += 1;
            }
            if found == 3 {
                return;
            }
        }
        panic!("no signature s with s + n below 2^(8k) in 2000 tries");
    }

    /// SPKI of an EC point on `curve_oid`, built by hand (short lengths only).
    fn ec_spki(curve_oid: &[u8], point: &[u8]) -> Vec<u8> {
        let ec_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        let mut algorithm = vec![0x06, ec_oid.len() as u8];
        algorithm.extend_from_slice(&ec_oid);
        algorithm.extend_from_slice(&[0x06, curve_oid.len() as u8]);
        algorithm.extend_from_slice(curve_oid);
        let mut body = vec![0x30, algorithm.len() as u8];
        body.extend_from_slice(&algorithm);
        body.extend_from_slice(&[0x03, point.len() as u8 + 1, 0]);
        body.extend_from_slice(point);
        let mut out = vec![0x30, body.len() as u8];
        out.extend_from_slice(&body);
        out
    }

    /// Compressed points are taken (the crates decompress them); the identity and the
    /// compact form are not, nor a point off the curve.
    #[test]
    fn ec_point_encodings() {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let p256_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let p521_oid = [0x2b, 0x81, 0x04, 0x00, 0x23];
        let digest = Sha256::digest(b"compressed");
        let k = p256::ecdsa::SigningKey::random(&mut OsRng);
        let sig: p256::ecdsa::Signature = k.sign_prehash(&digest).unwrap();
        let compressed = k.verifying_key().to_encoded_point(true);
        let uncompressed = k.verifying_key().to_encoded_point(false);
        let public = PublicKey::from_spki_der(&ec_spki(&p256_oid, compressed.as_bytes())).unwrap();
        let (alg, dig) = (SigningAlgorithm::EcdsaSha256, MessageType::Digest);
        assert!(public.verify(&digest, sig.to_der().as_bytes(), alg, dig).unwrap());
        // The same key in SPKI form from the crate (uncompressed) parses too.
        let der = k.verifying_key().to_public_key_der().unwrap();
        assert!(der.as_bytes().ends_with(uncompressed.as_bytes()));
        assert!(PublicKey::from_spki_der(der.as_bytes()).is_ok());
        // Identity, compact (0x05 || x), hybrid (0x06), a point off the curve, a P-256 point
        // named as P-521.
        let mut compact = compressed.as_bytes().to_vec();
        compact[0] = 5;
        let mut hybrid = uncompressed.as_bytes().to_vec();
        hybrid[0] = 6;
        let mut off = uncompressed.as_bytes().to_vec();
        off[64] ^= 1;
        for point in [&[0u8][..], &compact, &hybrid, &off, &uncompressed.as_bytes()[..64]] {
            assert!(PublicKey::from_spki_der(&ec_spki(&p256_oid, point)).is_err(), "{point:?}");
        }
        assert!(PublicKey::from_spki_der(&ec_spki(&p521_oid, compressed.as_bytes())).is_err());
        // A P-521 key compressed (67 bytes).
        let k = p521::ecdsa::SigningKey::random(&mut OsRng);
        let point = p521::ecdsa::VerifyingKey::from(&k).to_encoded_point(true);
        let public = PublicKey::from_spki_der(&ec_spki(&p521_oid, point.as_bytes())).unwrap();
        let digest = Sha512::digest(b"p521");
        let sig: p521::ecdsa::Signature = k.sign_prehash(&digest).unwrap();
        let (alg, der_sig) = (SigningAlgorithm::EcdsaSha512, sig.to_der());
        assert!(public.verify(&digest, der_sig.as_bytes(), alg, dig).unwrap());
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

    proptest::proptest! {
        /// Parsers and verifiers never panic on arbitrary bytes.
        #[test]
        fn arbitrary_keys_and_signatures_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let _ = PublicKey::from_spki_der(&bytes);
            let _ = der::rsa_pkcs8_public_parts(&bytes);
            let _ = der::parse_ecdsa_signature(&bytes, 66);
            let (raw, dig) = (MessageType::Raw, MessageType::Digest);
            for key in test_keys() {
                for algorithm in key.signing_algorithms() {
                    proptest::prop_assert!(!key.verify(&bytes, &bytes, algorithm, raw).unwrap());
                    let digest = vec![7; algorithm.hash().len()];
                    proptest::prop_assert!(!key.verify(&digest, &bytes, algorithm, dig).unwrap());
                }
            }
        }
    }

    /// One key of each kind, made once.
    fn test_keys() -> &'static [PublicKey] {
        static KEYS: std::sync::OnceLock<Vec<PublicKey>> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let rsa = RsaPrivateKey::new(&mut OsRng, 2048).unwrap().to_public_key();
            let p256 = *p256::ecdsa::SigningKey::random(&mut OsRng).verifying_key();
            let p384 = *p384::ecdsa::SigningKey::random(&mut OsRng).verifying_key();
            let p521 = p521::ecdsa::SigningKey::random(&mut OsRng);
            let p521 = p521::ecdsa::VerifyingKey::from(&p521).to_encoded_point(false);
            let p521 = p521::PublicKey::from_sec1_bytes(p521.as_bytes()).unwrap();
            [
                rsa.to_public_key_der().unwrap(),
                p256.to_public_key_der().unwrap(),
                p384.to_public_key_der().unwrap(),
                p521.to_public_key_der().unwrap(),
            ]
            .iter()
            .map(|der| PublicKey::from_spki_der(der.as_bytes()).unwrap())
            .collect()
        })
    }
}

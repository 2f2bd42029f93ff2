//! Asymmetric and HMAC key material with aws-lc-rs: generation, loading from the
//! PKCS #8 the keystore seals, and the operations on it (sign, verify, RSA-OAEP,
//! ECDH, HMAC, unwrapping imported material).
//!
//! Nothing here knows about KMS errors; failures are a [`CryptoError`] that callers map.
//! Private keys are only held as aws-lc-rs objects or [`Zeroizing`] buffers.
//!
//! The exception is `ED25519_PH_SHA_512` (Ed25519ph), which aws-lc-rs's safe API lacks:
//! [`ed25519ph`] implements it with `ed25519-dalek`.

pub mod ed25519ph;

use aws_lc_rs::agreement::{self, UnparsedPublicKey as AgreementPublicKey};
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded as _, AES_256};
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, PqdsaKeyPair,
    PqdsaSigningAlgorithm, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm,
};
use aws_lc_rs::{hmac, signature::RsaEncoding};
use zeroize::Zeroizing;

/// A failure of a cryptographic operation. Deliberately says nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Input the operation cannot use: a malformed key, ciphertext or public key.
    #[error("invalid input")]
    Invalid,
    /// The signature or MAC does not verify.
    #[error("verification failed")]
    Mismatch,
    /// The underlying library failed (random generator, internal error).
    #[error("cryptographic failure")]
    Internal,
}

/// A named elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (`ECC_NIST_P256`).
    P256,
    /// NIST P-384 (`ECC_NIST_P384`).
    P384,
    /// NIST P-521 (`ECC_NIST_P521`).
    P521,
    /// secp256k1 (`ECC_SECG_P256K1`).
    Secp256k1,
}

/// What kind of key a `KeySpec` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `SYMMETRIC_DEFAULT`: a 256-bit AES-GCM key.
    Symmetric,
    /// RSA with this modulus size in bits.
    Rsa(usize),
    /// ECDSA or ECDH on a curve.
    Ecc(Curve),
    /// Ed25519 (`ECC_NIST_EDWARDS25519`).
    Ed25519,
    /// HMAC whose hash output has this many bits.
    Hmac(usize),
    /// ML-DSA (FIPS 204) at parameter set 44, 65 or 87.
    MlDsa(usize),
}

impl KeyKind {
    /// The kind a key spec names, or `None` for specs this server cannot create (SM2).
    pub fn from_spec(spec: &str) -> Option<Self> {
        Some(match spec {
            "SYMMETRIC_DEFAULT" => Self::Symmetric,
            "RSA_2048" => Self::Rsa(2048),
            "RSA_3072" => Self::Rsa(3072),
            "RSA_4096" => Self::Rsa(4096),
            "ECC_NIST_P256" => Self::Ecc(Curve::P256),
            "ECC_NIST_P384" => Self::Ecc(Curve::P384),
            "ECC_NIST_P521" => Self::Ecc(Curve::P521),
            "ECC_SECG_P256K1" => Self::Ecc(Curve::Secp256k1),
            "ECC_NIST_EDWARDS25519" => Self::Ed25519,
            "HMAC_224" => Self::Hmac(224),
            "HMAC_256" => Self::Hmac(256),
            "HMAC_384" => Self::Hmac(384),
            "HMAC_512" => Self::Hmac(512),
            "ML_DSA_44" => Self::MlDsa(44),
            "ML_DSA_65" => Self::MlDsa(65),
            "ML_DSA_87" => Self::MlDsa(87),
            _ => return None,
        })
    }

    /// True for RSA, elliptic-curve, Ed25519 and ML-DSA keys.
    pub fn is_asymmetric(self) -> bool {
        matches!(self, Self::Rsa(_) | Self::Ecc(_) | Self::Ed25519 | Self::MlDsa(_))
    }

    /// The length of freshly generated HMAC key material (the hash output length).
    pub fn hmac_key_len_bytes(self) -> Option<usize> {
        match self {
            Self::Hmac(bits) => Some(bits / 8),
            _ => None,
        }
    }
}

/// A hash function of a signing, encryption or MAC algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (RSA-OAEP only).
    Sha1,
    /// SHA-224 (HMAC only).
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha224 => &digest::SHA224,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        self.digest_algorithm().output_len()
    }
}

/// A KMS signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// `RSASSA_PSS_SHA_*` (salt length = digest length, MGF1 with the same hash).
    RsaPss(Hash),
    /// `RSASSA_PKCS1_V1_5_SHA_*`.
    RsaPkcs1(Hash),
    /// `ECDSA_SHA_*` (DER-encoded signatures).
    Ecdsa(Hash),
    /// `ED25519_SHA_512` (pure Ed25519 over the raw message).
    Ed25519,
    /// `ED25519_PH_SHA_512` (HashEdDSA over a SHA-512 digest).
    Ed25519Ph,
    /// `ML_DSA_SHAKE_256` (pure ML-DSA over the raw message, empty context).
    MlDsa,
}

impl SigningAlgorithm {
    /// Parses a KMS algorithm name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RSASSA_PSS_SHA_256" => Self::RsaPss(Hash::Sha256),
            "RSASSA_PSS_SHA_384" => Self::RsaPss(Hash::Sha384),
            "RSASSA_PSS_SHA_512" => Self::RsaPss(Hash::Sha512),
            "RSASSA_PKCS1_V1_5_SHA_256" => Self::RsaPkcs1(Hash::Sha256),
            "RSASSA_PKCS1_V1_5_SHA_384" => Self::RsaPkcs1(Hash::Sha384),
            "RSASSA_PKCS1_V1_5_SHA_512" => Self::RsaPkcs1(Hash::Sha512),
            "ECDSA_SHA_256" => Self::Ecdsa(Hash::Sha256),
            "ECDSA_SHA_384" => Self::Ecdsa(Hash::Sha384),
            "ECDSA_SHA_512" => Self::Ecdsa(Hash::Sha512),
            "ED25519_SHA_512" => Self::Ed25519,
            "ED25519_PH_SHA_512" => Self::Ed25519Ph,
            "ML_DSA_SHAKE_256" => Self::MlDsa,
            _ => return None,
        })
    }

    /// The hash a `DIGEST` message must have been made with, or `None` for algorithms that
    /// sign only raw messages (`ED25519_SHA_512`, `ML_DSA_SHAKE_256`).
    pub fn digest_hash(self) -> Option<Hash> {
        match self {
            Self::RsaPss(h) | Self::RsaPkcs1(h) | Self::Ecdsa(h) => Some(h),
            Self::Ed25519Ph => Some(Hash::Sha512),
            Self::Ed25519 | Self::MlDsa => None,
        }
    }
}

/// What `Sign`/`Verify` is given: the message itself or its digest.
#[derive(Debug, Clone, Copy)]
pub enum SignInput<'a> {
    /// The raw message (`MessageType` `RAW`).
    Raw(&'a [u8]),
    /// A digest of the message (`MessageType` `DIGEST`); its length is checked by the caller.
    Digest(&'a [u8]),
}

/// A freshly generated key: the secret as the keystore seals it and the public key.
pub struct Generated {
    /// PKCS #8 for asymmetric keys, raw bytes for HMAC keys.
    pub secret: Zeroizing<Vec<u8>>,
    /// DER `SubjectPublicKeyInfo` (empty for HMAC keys).
    pub public_key: Vec<u8>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generated(<secret redacted>, {} byte public key)", self.public_key.len())
    }
}

fn rsa_size(bits: usize) -> Result<KeySize, CryptoError> {
    match bits {
        2048 => Ok(KeySize::Rsa2048),
        3072 => Ok(KeySize::Rsa3072),
        4096 => Ok(KeySize::Rsa4096),
        _ => Err(CryptoError::Invalid),
    }
}

fn ecdsa_signing(curve: Curve) -> &'static EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        Curve::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
    }
}

fn ml_dsa_signing(level: usize) -> Result<&'static PqdsaSigningAlgorithm, CryptoError> {
    match level {
        44 => Ok(&signature::ML_DSA_44_SIGNING),
        65 => Ok(&signature::ML_DSA_65_SIGNING),
        87 => Ok(&signature::ML_DSA_87_SIGNING),
        _ => Err(CryptoError::Invalid),
    }
}

fn ecdh_algorithm(curve: Curve) -> Result<&'static agreement::Algorithm, CryptoError> {
    match curve {
        Curve::P256 => Ok(&agreement::ECDH_P256),
        Curve::P384 => Ok(&agreement::ECDH_P384),
        Curve::P521 => Ok(&agreement::ECDH_P521),
        Curve::Secp256k1 => Err(CryptoError::Invalid),
    }
}

fn pkcs8(doc: &impl AsDer<Pkcs8V1Der<'static>>) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let der = doc.as_der().map_err(|_| CryptoError::Internal)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

fn spki(key: &impl AsDer<PublicKeyX509Der<'static>>) -> Result<Vec<u8>, CryptoError> {
    Ok(key.as_der().map_err(|_| CryptoError::Internal)?.as_ref().to_vec())
}

/// Generates key material of `kind`.
///
/// # Errors
/// [`CryptoError::Invalid`] for symmetric keys (the keystore makes those),
/// [`CryptoError::Internal`] if generation fails.
pub fn generate(kind: KeyKind) -> Result<Generated, CryptoError> {
    match kind {
        KeyKind::Rsa(bits) => {
            let pair = RsaKeyPair::generate(rsa_size(bits)?).map_err(|_| CryptoError::Internal)?;
            Ok(Generated { secret: pkcs8(&pair)?, public_key: spki(pair.public_key())? })
        }
        KeyKind::Ecc(curve) => {
            let pair =
                EcdsaKeyPair::generate(ecdsa_signing(curve)).map_err(|_| CryptoError::Internal)?;
            let der = pair.to_pkcs8v1().map_err(|_| CryptoError::Internal)?;
            Ok(Generated {
                secret: Zeroizing::new(der.as_ref().to_vec()),
                public_key: spki(pair.public_key())?,
            })
        }
        KeyKind::Ed25519 => {
            let pair = Ed25519KeyPair::generate().map_err(|_| CryptoError::Internal)?;
            let der = pair.to_pkcs8v1().map_err(|_| CryptoError::Internal)?;
            Ok(Generated {
                secret: Zeroizing::new(der.as_ref().to_vec()),
                public_key: spki(pair.public_key())?,
            })
        }
        KeyKind::MlDsa(level) => {
            let pair = PqdsaKeyPair::generate(ml_dsa_signing(level)?)
                .map_err(|_| CryptoError::Internal)?;
            let der = pair.to_pkcs8v1().map_err(|_| CryptoError::Internal)?;
            Ok(Generated {
                secret: Zeroizing::new(der.as_ref().to_vec()),
                public_key: spki(pair.public_key())?,
            })
        }
        KeyKind::Hmac(bits) => {
            let mut secret = Zeroizing::new(vec![0u8; bits / 8]);
            rand::fill(secret.as_mut_slice()).map_err(|_| CryptoError::Internal)?;
            Ok(Generated { secret, public_key: Vec::new() })
        }
        KeyKind::Symmetric => Err(CryptoError::Invalid),
    }
}

/// A private or secret key, parsed once and kept in the keystore's cache.
pub enum SecretKey {
    /// An RSA key pair, usable for signing and for OAEP decryption.
    Rsa {
        /// The signing view.
        signing: RsaKeyPair,
        /// The decrypting view.
        decrypting: OaepPrivateDecryptingKey,
    },
    /// An ECDSA signing key.
    Ecdsa(EcdsaKeyPair),
    /// An ECDH key agreement key.
    Ecdh(agreement::PrivateKey),
    /// An Ed25519 signing key.
    Ed25519(Ed25519KeyPair),
    /// An ML-DSA signing key.
    MlDsa(PqdsaKeyPair),
    /// An HMAC key (boxed: it is much larger than the other variants).
    Hmac(Box<hmac::Key>),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// Parses sealed-then-unsealed material: PKCS #8 for asymmetric keys, raw bytes for
    /// HMAC keys. `agreement` selects ECDH rather than ECDSA for elliptic-curve keys.
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] if the bytes are not a key of that kind (wrong type, curve or size).
    pub fn load(kind: KeyKind, agreement: bool, secret: &[u8]) -> Result<Self, CryptoError> {
        fn invalid<E>(_: E) -> CryptoError {
            CryptoError::Invalid
        }
        match kind {
            KeyKind::Rsa(bits) => {
                let signing = RsaKeyPair::from_pkcs8(secret).map_err(invalid)?;
                if signing.public_modulus_len() * 8 != bits {
                    return Err(CryptoError::Invalid);
                }
                let decrypting = PrivateDecryptingKey::from_pkcs8(secret).map_err(invalid)?;
                let decrypting = OaepPrivateDecryptingKey::new(decrypting).map_err(invalid)?;
                Ok(Self::Rsa { signing, decrypting })
            }
            KeyKind::Ecc(curve) if agreement => {
                let pair =
                    agreement::PrivateKey::from_private_key_der(ecdh_algorithm(curve)?, secret)
                        .map_err(invalid)?;
                Ok(Self::Ecdh(pair))
            }
            KeyKind::Ecc(curve) => Ok(Self::Ecdsa(
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(curve), secret).map_err(invalid)?,
            )),
            KeyKind::Ed25519 => Ok(Self::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(secret).map_err(invalid)?,
            )),
            KeyKind::MlDsa(level) => Ok(Self::MlDsa(
                PqdsaKeyPair::from_pkcs8(ml_dsa_signing(level)?, secret).map_err(invalid)?,
            )),
            KeyKind::Hmac(bits) => {
                let algorithm = match bits {
                    224 => hmac::HMAC_SHA224,
                    256 => hmac::HMAC_SHA256,
                    384 => hmac::HMAC_SHA384,
                    512 => hmac::HMAC_SHA512,
                    _ => return Err(CryptoError::Invalid),
                };
                Ok(Self::Hmac(Box::new(hmac::Key::new(algorithm, secret))))
            }
            KeyKind::Symmetric => Err(CryptoError::Invalid),
        }
    }

    /// The public key as a DER `SubjectPublicKeyInfo` (used to check imported material).
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] for HMAC keys, which have none.
    pub fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Rsa { signing, .. } => spki(signing.public_key()),
            Self::Ecdsa(pair) => spki(pair.public_key()),
            Self::Ecdh(key) => spki(&key.compute_public_key().map_err(|_| CryptoError::Internal)?),
            Self::Ed25519(pair) => spki(pair.public_key()),
            Self::MlDsa(pair) => spki(pair.public_key()),
            Self::Hmac(_) => Err(CryptoError::Invalid),
        }
    }

    /// Signs a message or digest. The caller has checked that `algorithm` fits the key.
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] if the algorithm does not fit the key or the digest length
    /// is wrong; [`CryptoError::Internal`] on failure.
    pub fn sign(
        &self,
        algorithm: SigningAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        let digest_of = |bytes: &[u8]| {
            let hash = algorithm.digest_hash().ok_or(CryptoError::Invalid)?;
            Digest::import_less_safe(bytes, hash.digest_algorithm())
                .map_err(|_| CryptoError::Invalid)
        };
        match (self, algorithm) {
            (
                Self::Rsa { signing, .. },
                SigningAlgorithm::RsaPss(_) | SigningAlgorithm::RsaPkcs1(_),
            ) => {
                let encoding = rsa_encoding(algorithm)?;
                let mut out = vec![0u8; signing.public_modulus_len()];
                match input {
                    SignInput::Raw(message) => {
                        signing.sign(encoding, &SystemRandom::new(), message, &mut out)
                    }
                    SignInput::Digest(bytes) => {
                        signing.sign_digest(encoding, &digest_of(bytes)?, &mut out)
                    }
                }
                .map_err(|_| CryptoError::Internal)?;
                Ok(out)
            }
            (Self::Ecdsa(pair), SigningAlgorithm::Ecdsa(_)) => {
                let signature = match input {
                    SignInput::Raw(message) => pair.sign(&SystemRandom::new(), message),
                    SignInput::Digest(bytes) => pair.sign_digest(&digest_of(bytes)?),
                }
                .map_err(|_| CryptoError::Internal)?;
                Ok(signature.as_ref().to_vec())
            }
            (Self::Ed25519(pair), SigningAlgorithm::Ed25519) => match input {
                SignInput::Raw(message) => Ok(pair.sign(message).as_ref().to_vec()),
                SignInput::Digest(_) => Err(CryptoError::Invalid),
            },
            (Self::Ed25519(pair), SigningAlgorithm::Ed25519Ph) => match input {
                SignInput::Digest(digest) => {
                    let seed = pair.seed().map_err(|_| CryptoError::Internal)?;
                    let seed = Zeroizing::new(
                        AsBigEndian::<Curve25519SeedBin<'_>>::as_be_bytes(&seed)
                            .map_err(|_| CryptoError::Internal)?
                            .as_ref()
                            .to_vec(),
                    );
                    ed25519ph::sign(&seed, digest)
                }
                SignInput::Raw(_) => Err(CryptoError::Invalid),
            },
            (Self::MlDsa(pair), SigningAlgorithm::MlDsa) => match input {
                SignInput::Raw(message) => {
                    let mut out = vec![0u8; pair.algorithm().signature_len()];
                    let len = pair.sign(message, &mut out).map_err(|_| CryptoError::Internal)?;
                    out.truncate(len);
                    Ok(out)
                }
                SignInput::Digest(_) => Err(CryptoError::Invalid),
            },
            _ => Err(CryptoError::Invalid),
        }
    }

    /// RSA-OAEP decryption.
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] if the key is not RSA or the ciphertext does not decrypt.
    pub fn decrypt(
        &self,
        hash: Hash,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Self::Rsa { decrypting, .. } = self else {
            return Err(CryptoError::Invalid);
        };
        let mut out = Zeroizing::new(vec![0u8; decrypting.min_output_size()]);
        let len = decrypting
            .decrypt(oaep(hash)?, ciphertext, out.as_mut_slice(), None)
            .map_err(|_| CryptoError::Invalid)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// ECDH with a peer public key given as a DER `SubjectPublicKeyInfo` on the same curve.
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] if the key is not an ECDH key or the peer key is not a valid
    /// SPKI on the key's curve.
    pub fn agree(&self, peer_spki: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Self::Ecdh(key) = self else {
            return Err(CryptoError::Invalid);
        };
        // A DER SubjectPublicKeyInfo is a SEQUENCE; raw SEC1 points are not accepted.
        if peer_spki.first() != Some(&0x30) {
            return Err(CryptoError::Invalid);
        }
        let peer = AgreementPublicKey::new(key.algorithm(), peer_spki);
        agreement::agree(key, peer, CryptoError::Invalid, |secret| {
            Ok(Zeroizing::new(secret.to_vec()))
        })
    }

    /// HMAC of `message`.
    ///
    /// # Errors
    /// [`CryptoError::Invalid`] if the key is not an HMAC key.
    pub fn mac(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let Self::Hmac(key) = self else {
            return Err(CryptoError::Invalid);
        };
        Ok(hmac::sign(key, message).as_ref().to_vec())
    }

    /// Checks an HMAC tag in constant time.
    ///
    /// # Errors
    /// [`CryptoError::Mismatch`] if it does not verify.
    pub fn verify_mac(&self, message: &[u8], tag: &[u8]) -> Result<(), CryptoError> {
        let Self::Hmac(key) = self else {
            return Err(CryptoError::Invalid);
        };
        hmac::verify(key, message, tag).map_err(|_| CryptoError::Mismatch)
    }
}

fn rsa_encoding(algorithm: SigningAlgorithm) -> Result<&'static dyn RsaEncoding, CryptoError> {
    Ok(match algorithm {
        SigningAlgorithm::RsaPss(Hash::Sha256) => &signature::RSA_PSS_SHA256,
        SigningAlgorithm::RsaPss(Hash::Sha384) => &signature::RSA_PSS_SHA384,
        SigningAlgorithm::RsaPss(Hash::Sha512) => &signature::RSA_PSS_SHA512,
        SigningAlgorithm::RsaPkcs1(Hash::Sha256) => &signature::RSA_PKCS1_SHA256,
        SigningAlgorithm::RsaPkcs1(Hash::Sha384) => &signature::RSA_PKCS1_SHA384,
        SigningAlgorithm::RsaPkcs1(Hash::Sha512) => &signature::RSA_PKCS1_SHA512,
        _ => return Err(CryptoError::Invalid),
    })
}

fn oaep(hash: Hash) -> Result<&'static OaepAlgorithm, CryptoError> {
    match hash {
        Hash::Sha1 => Ok(&OAEP_SHA1_MGF1SHA1),
        Hash::Sha256 => Ok(&OAEP_SHA256_MGF1SHA256),
        _ => Err(CryptoError::Invalid),
    }
}

fn verification(
    kind: KeyKind,
    algorithm: SigningAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, CryptoError> {
    use SigningAlgorithm as S;
    Ok(match (kind, algorithm) {
        (KeyKind::Rsa(_), S::RsaPkcs1(Hash::Sha256)) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::Rsa(_), S::RsaPkcs1(Hash::Sha384)) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::Rsa(_), S::RsaPkcs1(Hash::Sha512)) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeyKind::Rsa(_), S::RsaPss(Hash::Sha256)) => &signature::RSA_PSS_2048_8192_SHA256,
        (KeyKind::Rsa(_), S::RsaPss(Hash::Sha384)) => &signature::RSA_PSS_2048_8192_SHA384,
        (KeyKind::Rsa(_), S::RsaPss(Hash::Sha512)) => &signature::RSA_PSS_2048_8192_SHA512,
        (KeyKind::Ecc(Curve::P256), S::Ecdsa(Hash::Sha256)) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeyKind::Ecc(Curve::P384), S::Ecdsa(Hash::Sha384)) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeyKind::Ecc(Curve::P521), S::Ecdsa(Hash::Sha512)) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeyKind::Ecc(Curve::Secp256k1), S::Ecdsa(Hash::Sha256)) => {
            &signature::ECDSA_P256K1_SHA256_ASN1
        }
        (KeyKind::Ed25519, S::Ed25519) => &signature::ED25519,
        (KeyKind::MlDsa(44), S::MlDsa) => &signature::ML_DSA_44,
        (KeyKind::MlDsa(65), S::MlDsa) => &signature::ML_DSA_65,
        (KeyKind::MlDsa(87), S::MlDsa) => &signature::ML_DSA_87,
        _ => return Err(CryptoError::Invalid),
    })
}

/// Verifies a signature with a public key (DER `SubjectPublicKeyInfo`).
///
/// # Errors
/// [`CryptoError::Mismatch`] if the signature does not verify; [`CryptoError::Invalid`] if
/// the algorithm does not fit the key kind.
pub fn verify(
    kind: KeyKind,
    public_key: &[u8],
    algorithm: SigningAlgorithm,
    input: SignInput<'_>,
    signature_bytes: &[u8],
) -> Result<(), CryptoError> {
    if (kind, algorithm) == (KeyKind::Ed25519, SigningAlgorithm::Ed25519Ph) {
        return match input {
            SignInput::Digest(digest) => ed25519ph::verify(public_key, digest, signature_bytes),
            SignInput::Raw(_) => Err(CryptoError::Invalid),
        };
    }
    let key = UnparsedPublicKey::new(verification(kind, algorithm)?, public_key);
    match input {
        SignInput::Raw(message) => key.verify(message, signature_bytes),
        SignInput::Digest(bytes) => {
            let hash = algorithm.digest_hash().ok_or(CryptoError::Invalid)?;
            let digest = Digest::import_less_safe(bytes, hash.digest_algorithm())
                .map_err(|_| CryptoError::Invalid)?;
            key.verify_digest(&digest, signature_bytes)
        }
    }
    .map_err(|_| CryptoError::Mismatch)
}

/// RSA-OAEP encryption with a public key (DER `SubjectPublicKeyInfo`).
///
/// # Errors
/// [`CryptoError::Invalid`] if the key is not RSA or the plaintext is too long.
pub fn encrypt(public_key: &[u8], hash: Hash, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = PublicEncryptingKey::from_der(public_key).map_err(|_| CryptoError::Invalid)?;
    let key = OaepPublicEncryptingKey::new(key).map_err(|_| CryptoError::Invalid)?;
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(oaep(hash)?, plaintext, &mut out, None)
        .map_err(|_| CryptoError::Invalid)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The largest plaintext RSA-OAEP takes with a `bits`-bit key: k - 2·hLen - 2.
pub fn oaep_max_plaintext(bits: usize, hash: Hash) -> usize {
    (bits / 8).saturating_sub(2 * hash.output_len() + 2)
}

/// An RSA key pair that wraps imported key material (from `GetParametersForImport`).
///
/// # Errors
/// [`CryptoError::Invalid`] for an unsupported size, [`CryptoError::Internal`] on failure.
pub fn generate_wrapping_key(bits: usize) -> Result<Generated, CryptoError> {
    let key = PrivateDecryptingKey::generate(rsa_size(bits)?).map_err(|_| CryptoError::Internal)?;
    Ok(Generated { secret: pkcs8(&key)?, public_key: spki(&key.public_key())? })
}

/// How imported key material was wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// `RSAES_OAEP_SHA_*`: the material itself is RSA-OAEP encrypted.
    Oaep(Hash),
    /// `RSA_AES_KEY_WRAP_SHA_*`: an ephemeral AES-256 key, RSA-OAEP encrypted, followed by
    /// the material wrapped under it with AES key wrap with padding (RFC 5649).
    RsaAesKeyWrap(Hash),
}

/// Unwraps imported key material with the wrapping private key (PKCS #8).
///
/// # Errors
/// [`CryptoError::Invalid`] if the blob does not unwrap.
pub fn unwrap_import(
    wrapping_key: &[u8],
    wrapping: Wrapping,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key = PrivateDecryptingKey::from_pkcs8(wrapping_key).map_err(|_| CryptoError::Invalid)?;
    let modulus_len = key.key_size_bytes();
    let key = SecretKey::Rsa {
        signing: RsaKeyPair::from_pkcs8(wrapping_key).map_err(|_| CryptoError::Invalid)?,
        decrypting: OaepPrivateDecryptingKey::new(key).map_err(|_| CryptoError::Invalid)?,
    };
    match wrapping {
        Wrapping::Oaep(hash) => key.decrypt(hash, blob),
        Wrapping::RsaAesKeyWrap(hash) => {
            if blob.len() <= modulus_len {
                return Err(CryptoError::Invalid);
            }
            let (wrapped_aes, wrapped_material) = blob.split_at(modulus_len);
            let aes_key = key.decrypt(hash, wrapped_aes)?;
            if aes_key.len() != 32 {
                return Err(CryptoError::Invalid);
            }
            let kek = AesKek::new(&AES_256, &aes_key).map_err(|_| CryptoError::Invalid)?;
            let mut out = Zeroizing::new(vec![0u8; wrapped_material.len()]);
            let len = kek
                .unwrap_with_padding(wrapped_material, out.as_mut_slice())
                .map_err(|_| CryptoError::Invalid)?
                .len();
            out.truncate(len);
            Ok(out)
        }
    }
}

/// SHA-256 of `parts`, each length-prefixed (for fingerprints and derived ids).
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests;

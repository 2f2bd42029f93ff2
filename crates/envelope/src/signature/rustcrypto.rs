//! [`RustCrypto`]: the signature backend over the RustCrypto `p256`, `p384`, `p521` and
//! `rsa` crates. This module parses nothing itself beyond what [`crate::der`] gives it and
//! adds the rules KMS keys follow that the crates leave open (PSS salts as long as the
//! hash, signatures below the modulus, points only in the SEC1 compressed or uncompressed
//! forms).

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rand_core::{OsRng, RngCore};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::{fixed_signature, is_sec1_form, EcdsaSigner, SignatureBackend};
use crate::der::{self, NamedCurve};
use crate::error::Error;
use crate::public_key::SigningAlgorithm as KmsSigningAlgorithm;

/// How many fresh random scalars to try before giving up on making a signing key. A random
/// 32- or 48-byte string is out of range with probability below 2^-32 per try.
const SIGNING_KEY_ATTEMPTS: usize = 8;

/// The RustCrypto signature backend (the native default).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

/// An ECDSA signing key; the crates zeroize its scalar on drop.
enum Key {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

struct Signer {
    key: Key,
    public: Vec<u8>,
}

impl EcdsaSigner for Signer {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error> {
        let fail = |_| Error::InvalidKey("ECDSA signing failed".into());
        let r_s = match &self.key {
            Key::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign_prehash(prehash).map_err(fail)?;
                sig.to_bytes().to_vec()
            }
            Key::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign_prehash(prehash).map_err(fail)?;
                sig.to_bytes().to_vec()
            }
        };
        Ok(der::encode_ecdsa_signature(&r_s))
    }
}

/// A random scalar of `N` bytes that the curve accepts as a private key.
fn random_key<const N: usize, K>(from_slice: impl Fn(&[u8]) -> Option<K>) -> Result<K, Error> {
    for _ in 0..SIGNING_KEY_ATTEMPTS {
        let mut scalar = Zeroizing::new([0u8; N]);
        OsRng.try_fill_bytes(scalar.as_mut()).map_err(|_| Error::Random)?;
        if let Some(key) = from_slice(scalar.as_ref()) {
            return Ok(key);
        }
    }
    Err(Error::Random)
}

impl RustCrypto {
    /// A signing key from its private scalar (big-endian, the curve's scalar length), as
    /// exported by another implementation (a WebCrypto JWK's `d`). The scalar is copied
    /// into the curve crate's key, which zeroizes it on drop; the caller wipes its own copy.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the scalar has the wrong length or is not a valid private
    /// key (zero, or not below the order); [`Error::ApiMisuse`] for P-521.
    pub fn signing_key_from_scalar(
        &self,
        curve: NamedCurve,
        scalar: &[u8],
    ) -> Result<Box<dyn EcdsaSigner>, Error> {
        let invalid = || Error::InvalidKey("not a private key of the curve".into());
        let key = match curve {
            NamedCurve::P256 if scalar.len() == 32 => {
                Key::P256(p256::ecdsa::SigningKey::from_slice(scalar).map_err(|_| invalid())?)
            }
            NamedCurve::P384 if scalar.len() == 48 => {
                Key::P384(p384::ecdsa::SigningKey::from_slice(scalar).map_err(|_| invalid())?)
            }
            NamedCurve::P521 => return Err(Error::ApiMisuse("no signed suite uses P-521".into())),
            _ => return Err(invalid()),
        };
        Ok(Box::new(Signer::new(key)))
    }
}

impl Signer {
    fn new(key: Key) -> Self {
        let public = match &key {
            Key::P256(k) => k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
            Key::P384(k) => k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
        };
        Signer { key, public }
    }
}

/// ECDSA over a DER signature turned into the curve's `r || s`; the crates reject `r` or
/// `s` of zero or not below the order, and points not on the curve.
fn verify_ec<S, K>(key: Option<K>, curve: NamedCurve, prehash: &[u8], signature: &[u8]) -> bool
where
    S: for<'a> TryFrom<&'a [u8]>,
    K: PrehashVerifier<S>,
{
    let Some(key) = key else { return false };
    fixed_signature(curve, signature)
        .and_then(|r_s| S::try_from(r_s.as_slice()).ok())
        .is_some_and(|s| key.verify_prehash(prehash, &s).is_ok())
}

/// RSASSA-PSS with MGF1 over the same hash and a salt exactly as long as the hash (what
/// KMS uses). The signature must be `k` bytes (checked by the crate) and below the modulus
/// (checked here: the crate's `SignatureScheme` path for PSS does not).
///
/// `RsaPublicKey::verify` rather than `pss::VerifyingKey`: the latter boxes the crate's
/// error into `signature::Error`, which links the `der`/`pkcs1`/`pkcs8` error formatting
/// into the WebAssembly build for nothing.
fn verify_pss<D: Digest + sha2::digest::DynDigest + Send + Sync + 'static>(
    key: &RsaPublicKey,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    BigUint::from_bytes_be(signature) < *key.n()
        && key.verify(rsa::Pss::new::<D>(), digest, signature).is_ok()
}

/// RSASSA-PKCS1-v1_5 with the `DigestInfo` of `D`; the crate checks the signature's length
/// and that it is below the modulus.
fn verify_pkcs1v15<D: Digest + sha2::digest::const_oid::AssociatedOid>(
    key: &RsaPublicKey,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    key.verify(rsa::Pkcs1v15Sign::new::<D>(), digest, signature).is_ok()
}

impl SignatureBackend for RustCrypto {
    fn generate_signing_key(&self, curve: NamedCurve) -> Result<Box<dyn EcdsaSigner>, Error> {
        let key = match curve {
            NamedCurve::P256 => {
                Key::P256(random_key::<32, _>(|s| p256::ecdsa::SigningKey::from_slice(s).ok())?)
            }
            NamedCurve::P384 => {
                Key::P384(random_key::<48, _>(|s| p384::ecdsa::SigningKey::from_slice(s).ok())?)
            }
            NamedCurve::P521 => {
                return Err(Error::ApiMisuse("no signed suite uses P-521".into()));
            }
        };
        Ok(Box::new(Signer::new(key)))
    }

    fn check_point(&self, curve: NamedCurve, point: &[u8]) -> Option<bool> {
        if !is_sec1_form(curve, point) {
            return Some(false);
        }
        Some(match curve {
            NamedCurve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
            NamedCurve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
            NamedCurve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        })
    }

    fn verify_ecdsa(
        &self,
        curve: NamedCurve,
        point: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        if !is_sec1_form(curve, point) {
            return Ok(false);
        }
        Ok(match curve {
            NamedCurve::P256 => verify_ec::<p256::ecdsa::Signature, _>(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).ok(),
                curve,
                prehash,
                signature,
            ),
            NamedCurve::P384 => verify_ec::<p384::ecdsa::Signature, _>(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).ok(),
                curve,
                prehash,
                signature,
            ),
            NamedCurve::P521 => verify_ec::<p521::ecdsa::Signature, _>(
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point).ok(),
                curve,
                prehash,
                signature,
            ),
        })
    }

    fn verify_rsa(
        &self,
        n: &[u8],
        e: &[u8],
        algorithm: KmsSigningAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        use KmsSigningAlgorithm as A;
        let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
        else {
            return Ok(false);
        };
        Ok(match algorithm {
            A::RsassaPssSha256 => verify_pss::<Sha256>(&key, digest, signature),
            A::RsassaPssSha384 => verify_pss::<Sha384>(&key, digest, signature),
            A::RsassaPssSha512 => verify_pss::<Sha512>(&key, digest, signature),
            A::RsassaPkcs1V15Sha256 => verify_pkcs1v15::<Sha256>(&key, digest, signature),
            A::RsassaPkcs1V15Sha384 => verify_pkcs1v15::<Sha384>(&key, digest, signature),
            A::RsassaPkcs1V15Sha512 => verify_pkcs1v15::<Sha512>(&key, digest, signature),
            A::EcdsaSha256 | A::EcdsaSha384 | A::EcdsaSha512 => false,
        })
    }
}

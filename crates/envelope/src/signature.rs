//! Asymmetric signatures behind a trait: ECDSA P-256/P-384 for the signed suites (key
//! generation, signing and verification of a prehash) and verification of KMS signatures
//! (RSA PSS and PKCS #1 v1.5, ECDSA P-256/P-384/P-521) over a digest.
//!
//! The arithmetic lives in a [`SignatureBackend`]. [`RustCrypto`] (the `p256`, `p384`,
//! `p521` and `rsa` crates) is the default on native targets. On wasm32 nothing is
//! installed by default, so a WebAssembly build that never calls [`RustCrypto`] links none
//! of those crates: kms-wasm installs a backend that forwards to a second, lazily loaded
//! module (`kms-wasm-ec`), which runs [`RustCrypto`].
//!
//! Everything that crosses the trait is bytes: SEC1 points, DER signatures, big-endian
//! RSA integers. Private keys never leave their backend; [`EcdsaSigner`] is a handle.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::der::{self, NamedCurve};
use crate::error::Error;
use crate::public_key::SigningAlgorithm as KmsSigningAlgorithm;
use crate::suite::SignatureAlgorithm;

mod rustcrypto;

pub use rustcrypto::RustCrypto;

/// The arithmetic of asymmetric signatures (see the module documentation).
pub trait SignatureBackend: Send + Sync {
    /// A fresh random ECDSA signing key on `curve` (P-256 or P-384).
    ///
    /// # Errors
    /// [`Error::Random`] if the random generator fails; [`Error::ApiMisuse`] for a curve
    /// the backend does not sign with or a backend that is not available.
    fn generate_signing_key(&self, curve: NamedCurve) -> Result<Box<dyn EcdsaSigner>, Error>;

    /// Whether `point` (SEC1, compressed or uncompressed) is a point on `curve`; `None` when
    /// the backend cannot tell yet (it is checked again before any verification).
    fn check_point(&self, curve: NamedCurve, point: &[u8]) -> Option<bool>;

    /// Verifies a DER ECDSA `signature` over `prehash` with the SEC1 public `point`.
    /// `Ok(false)` for any invalid signature or point.
    ///
    /// # Errors
    /// Only when the backend is not available.
    fn verify_ecdsa(
        &self,
        curve: NamedCurve,
        point: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error>;

    /// Verifies an RSA `signature` over `digest` with the key (`n`, `e`: big-endian, no
    /// leading zeros) for an RSASSA-PSS or RSASSA-PKCS1-v1_5 `algorithm`.
    /// `Ok(false)` for any invalid signature, or an ECDSA algorithm.
    ///
    /// # Errors
    /// Only when the backend is not available.
    fn verify_rsa(
        &self,
        n: &[u8],
        e: &[u8],
        algorithm: KmsSigningAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error>;
}

/// An ECDSA private key held by a backend; it is wiped when the handle is dropped.
pub trait EcdsaSigner: Send + Sync {
    /// The compressed SEC1 public point.
    fn public_key(&self) -> &[u8];

    /// Signs `prehash` (the finalized message hash); returns the DER signature.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if signing fails.
    fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error>;

    /// The signer as `Any`, for a caller that signs some messages another way with the
    /// same key (kms-wasm signs one-shot messages with WebCrypto and needs its `CryptoKey`).
    /// `None` (the default) for signers that only sign prehashes.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

static INSTALLED: OnceLock<Box<dyn SignatureBackend>> = OnceLock::new();

/// Installs the process-wide backend. Only the first call takes effect.
///
/// # Errors
/// [`Error::ApiMisuse`] if a backend is already installed.
pub fn install(backend: Box<dyn SignatureBackend>) -> Result<(), Error> {
    INSTALLED
        .set(backend)
        .map_err(|_| Error::ApiMisuse("a signature backend is already installed".into()))
}

/// The installed backend; natively [`RustCrypto`] when none is.
///
/// # Errors
/// [`Error::ApiMisuse`] on wasm32 when no backend is installed.
pub fn backend() -> Result<&'static dyn SignatureBackend, Error> {
    if let Some(backend) = INSTALLED.get() {
        return Ok(backend.as_ref());
    }
    default_backend()
}

#[cfg(not(target_arch = "wasm32"))]
fn default_backend() -> Result<&'static dyn SignatureBackend, Error> {
    Ok(&RustCrypto)
}

#[cfg(target_arch = "wasm32")]
fn default_backend() -> Result<&'static dyn SignatureBackend, Error> {
    Err(Error::ApiMisuse(
        "no signature backend is installed (kms_envelope::signature::install)".into(),
    ))
}

/// The curve of a signed suite's algorithm.
pub fn curve_of(algorithm: SignatureAlgorithm) -> NamedCurve {
    match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => NamedCurve::P256,
        SignatureAlgorithm::EcdsaP384Sha384 => NamedCurve::P384,
    }
}

/// The length in bytes of a scalar (and of a coordinate) on `curve`.
pub fn scalar_len(curve: NamedCurve) -> usize {
    match curve {
        NamedCurve::P256 => 32,
        NamedCurve::P384 => 48,
        NamedCurve::P521 => 66,
    }
}

/// Whether `point` has the length and first byte of a compressed (`02`/`03`) or
/// uncompressed (`04`) SEC1 point on `curve`; the identity and other forms are refused.
pub fn is_sec1_form(curve: NamedCurve, point: &[u8]) -> bool {
    let len = scalar_len(curve);
    match point.first() {
        Some(2 | 3) => point.len() == 1 + len,
        Some(4) => point.len() == 1 + 2 * len,
        _ => false,
    }
}

/// The private key that signs a message's footer (signed suites): a handle into the
/// signature backend, shared by clones; the backend wipes the key when the last is dropped.
#[derive(Clone)]
pub struct SigningKey {
    algorithm: SignatureAlgorithm,
    signer: Arc<dyn EcdsaSigner>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, <redacted>)", self.algorithm)
    }
}

impl SigningKey {
    /// A fresh random key for `algorithm`, from the installed [`backend`].
    ///
    /// # Errors
    /// As [`SignatureBackend::generate_signing_key`].
    pub fn generate(algorithm: SignatureAlgorithm) -> Result<Self, Error> {
        let signer = backend()?.generate_signing_key(curve_of(algorithm))?;
        Self::from_signer(algorithm, Arc::from(signer))
    }

    /// Wraps a backend's signer for `algorithm`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if its public key is not a compressed point of the curve.
    pub fn from_signer(
        algorithm: SignatureAlgorithm,
        signer: Arc<dyn EcdsaSigner>,
    ) -> Result<Self, Error> {
        let point = signer.public_key();
        if !is_sec1_form(curve_of(algorithm), point) || point[0] == 4 {
            return Err(Error::InvalidKey(
                "the signer's public key is not a compressed point".into(),
            ));
        }
        Ok(SigningKey { algorithm, signer })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The compressed SEC1 public point (what `aws-crypto-public-key` holds, base64).
    pub fn public_key(&self) -> &[u8] {
        self.signer.public_key()
    }

    /// The backend's signer behind this key.
    pub fn signer(&self) -> &dyn EcdsaSigner {
        self.signer.as_ref()
    }

    /// The matching verification key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey { algorithm: self.algorithm, point: self.public_key().to_vec() }
    }

    /// Signs a finalized hash; returns the DER signature.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the hash does not fit the algorithm or signing fails.
    pub fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error> {
        if prehash.len() != scalar_len(curve_of(self.algorithm)) {
            return Err(Error::InvalidKey("the hash does not fit the signing key".into()));
        }
        self.signer.sign_prehash(prehash)
    }
}

/// The public key that verifies a message's footer: a SEC1 point of the algorithm's curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    algorithm: SignatureAlgorithm,
    point: Vec<u8>,
}

impl VerifyingKey {
    /// A key from a SEC1 point (compressed or uncompressed).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is not a point of the curve (checked on the curve when
    /// the backend can; always again before a verification).
    pub fn from_sec1(algorithm: SignatureAlgorithm, point: &[u8]) -> Result<Self, Error> {
        let curve = curve_of(algorithm);
        let on_curve = is_sec1_form(curve, point)
            && backend().ok().and_then(|b| b.check_point(curve, point)) != Some(false);
        if !on_curve {
            return Err(Error::InvalidKey("not a valid EC public key point".into()));
        }
        Ok(VerifyingKey { algorithm, point: point.to_vec() })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The SEC1 point, as given.
    pub fn as_sec1(&self) -> &[u8] {
        &self.point
    }

    /// Verifies a DER `signature` over a finalized hash.
    ///
    /// # Errors
    /// Only when the backend is not available.
    pub fn verify_prehash(&self, prehash: &[u8], signature: &[u8]) -> Result<bool, Error> {
        backend()?.verify_ecdsa(curve_of(self.algorithm), &self.point, prehash, signature)
    }
}

/// A message footer (a `u16` length, then the DER `ECDSA-Sig-Value`) from a signature
/// given as the fixed-length `r || s` of `algorithm`'s curve (IEEE P1363, the form
/// WebCrypto returns): minimal DER integers, with a leading zero byte where the high bit
/// is set.
///
/// # Errors
/// [`Error::InvalidKey`] if `r_s` is not twice the curve's scalar length or `r` or `s` is
/// zero.
pub fn footer_from_fixed(algorithm: SignatureAlgorithm, r_s: &[u8]) -> Result<Vec<u8>, Error> {
    let len = scalar_len(curve_of(algorithm));
    let (r, s) = r_s.split_at(r_s.len().min(len));
    let zero = |v: &[u8]| v.iter().all(|&b| b == 0);
    if r_s.len() != 2 * len || zero(r) || zero(s) {
        return Err(Error::InvalidKey("not an ECDSA signature of the suite's curve".into()));
    }
    let mut footer = Vec::with_capacity(2 + 8 + 2 * len);
    crate::codec::Codec::encode(
        &crate::format::Footer { signature: &der::encode_ecdsa_signature(r_s) },
        &mut footer,
    )?;
    Ok(footer)
}

/// `der::parse_ecdsa_signature` for a curve: the fixed-length `r || s` of a DER signature.
pub(crate) fn fixed_signature(curve: NamedCurve, der_signature: &[u8]) -> Option<Vec<u8>> {
    der::parse_ecdsa_signature(der_signature, scalar_len(curve))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sec1_forms_by_curve() {
        assert!(is_sec1_form(NamedCurve::P256, &[2; 33]));
        assert!(is_sec1_form(NamedCurve::P384, &[4; 97]));
        assert!(is_sec1_form(NamedCurve::P521, &[3; 67]));
        assert!(!is_sec1_form(NamedCurve::P256, &[2; 49]), "P-384 length on P-256");
        assert!(!is_sec1_form(NamedCurve::P256, &[0]), "identity");
        assert!(!is_sec1_form(NamedCurve::P256, &[5; 33]));
        assert!(!is_sec1_form(NamedCurve::P256, &[]));
    }

    #[test]
    fn keys_sign_verify_and_refuse_what_does_not_fit() {
        for algorithm in [SignatureAlgorithm::EcdsaP256Sha256, SignatureAlgorithm::EcdsaP384Sha384]
        {
            let key = SigningKey::generate(algorithm).unwrap();
            let len = scalar_len(curve_of(algorithm));
            assert_eq!(key.public_key().len(), len + 1);
            let public = VerifyingKey::from_sec1(algorithm, key.public_key()).unwrap();
            assert_eq!(public, key.verifying_key());
            let prehash = vec![9u8; len];
            let signature = key.sign_prehash(&prehash).unwrap();
            assert!(public.verify_prehash(&prehash, &signature).unwrap());
            assert!(!public.verify_prehash(&vec![8u8; len], &signature).unwrap());
            assert!(key.sign_prehash(&prehash[1..]).is_err(), "a hash of the wrong length");
            // Off the curve: the key's x with y = 1 (on the curve with probability ~2^-256).
            let mut off = vec![4u8];
            off.extend_from_slice(&key.public_key()[1..]);
            off.extend(std::iter::repeat_n(0u8, len - 1));
            off.push(1);
            assert!(VerifyingKey::from_sec1(algorithm, &off).is_err());
            assert!(VerifyingKey::from_sec1(algorithm, &key.public_key()[1..]).is_err());
        }
        let p256 = SigningKey::generate(SignatureAlgorithm::EcdsaP256Sha256).unwrap();
        let signer: Arc<dyn EcdsaSigner> =
            Arc::from(RustCrypto.generate_signing_key(NamedCurve::P256).unwrap());
        assert!(SigningKey::from_signer(SignatureAlgorithm::EcdsaP384Sha384, signer).is_err());
        assert!(format!("{p256:?}").contains("redacted"));
    }

    /// The DER length of one INTEGER holding the unsigned big-endian `v`, worked out
    /// independently of the encoder: leading zeros dropped (one zero byte kept for zero),
    /// one zero byte added when the high bit is set.
    fn integer_len(v: &[u8]) -> usize {
        let stripped = &v[v.iter().take_while(|&&b| b == 0).count()..];
        let high = stripped.first().is_some_and(|&b| b & 0x80 != 0);
        2 + stripped.len().max(1) + usize::from(high)
    }

    /// `r_s` with `r` or `s` forced into the interesting shapes: high bit set, leading zero
    /// bytes (so the minimal encoding is shorter), or a single non-zero byte.
    fn shaped(mut r_s: Vec<u8>, shape_r: u8, shape_s: u8) -> Vec<u8> {
        for (half, shape) in [(0usize, shape_r), (1, shape_s)] {
            let v = &mut r_s[half * 48..(half + 1) * 48];
            match shape % 5 {
                0 => v[0] |= 0x80,
                1 => v[..3].fill(0),
                2 => {
                    v[0] = 0;
                    v[1] |= 0x80;
                }
                3 => {
                    v[..47].fill(0);
                    v[47] |= 1;
                }
                _ => {}
            }
            if v.iter().all(|&b| b == 0) {
                v[47] = 1;
            }
        }
        r_s
    }

    proptest::proptest! {
        /// WebCrypto's `r || s` to the footer and back, against kms-envelope's strict DER
        /// reader and, where the values are valid P-384 scalars, the p384 crate's DER parser.
        #[test]
        fn fixed_signatures_round_trip_through_the_footer(
            r_s in proptest::collection::vec(proptest::num::u8::ANY, 96),
            shape_r in 0u8..5,
            shape_s in 0u8..5,
        ) {
            let r_s = shaped(r_s, shape_r, shape_s);
            let footer = footer_from_fixed(SignatureAlgorithm::EcdsaP384Sha384, &r_s).unwrap();
            let der = &footer[2..];
            proptest::prop_assert_eq!(usize::from(u16::from_be_bytes([footer[0], footer[1]])), der.len());
            let body = integer_len(&r_s[..48]) + integer_len(&r_s[48..]);
            proptest::prop_assert_eq!(der.len(), 2 + body, "minimal DER");
            proptest::prop_assert_eq!(der::parse_ecdsa_signature(der, 48), Some(r_s.clone()));
            if let Ok(expected) = p384::ecdsa::Signature::from_slice(&r_s) {
                let parsed = p384::ecdsa::Signature::from_der(der).unwrap();
                proptest::prop_assert_eq!(parsed, expected);
            }
        }
    }

    #[test]
    fn footers_refuse_what_is_not_a_signature_of_the_curve() {
        let p384 = SignatureAlgorithm::EcdsaP384Sha384;
        assert!(footer_from_fixed(p384, &[1; 64]).is_err(), "a P-256 length");
        assert!(footer_from_fixed(p384, &[1; 97]).is_err());
        let mut zero_r = vec![0u8; 96];
        zero_r[95] = 1;
        assert!(footer_from_fixed(p384, &zero_r).is_err());
        let mut zero_s = vec![0u8; 96];
        zero_s[0] = 1;
        assert!(footer_from_fixed(p384, &zero_s).is_err());
        let p256 = footer_from_fixed(SignatureAlgorithm::EcdsaP256Sha256, &[0x80; 64]).unwrap();
        assert_eq!(p256[..2], [0, 72]);
        assert_eq!(p256[2..6], [0x30, 70, 2, 33]);
    }

    #[test]
    fn imported_scalars_sign_like_the_generated_key() {
        let scalar = [7u8; 48];
        let signer = RustCrypto.signing_key_from_scalar(NamedCurve::P384, &scalar).unwrap();
        let expected = p384::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        assert_eq!(signer.public_key(), expected.verifying_key().to_encoded_point(true).as_bytes());
        let key = SigningKey::from_signer(SignatureAlgorithm::EcdsaP384Sha384, Arc::from(signer))
            .unwrap();
        let signature = key.sign_prehash(&[3; 48]).unwrap();
        assert!(key.verifying_key().verify_prehash(&[3; 48], &signature).unwrap());
        assert!(RustCrypto.signing_key_from_scalar(NamedCurve::P384, &[0; 48]).is_err());
        assert!(RustCrypto.signing_key_from_scalar(NamedCurve::P384, &[7; 47]).is_err());
        assert!(RustCrypto.signing_key_from_scalar(NamedCurve::P521, &[7; 66]).is_err());
    }
}

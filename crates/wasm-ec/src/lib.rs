//! `kms-wasm-ec`: the second WebAssembly module of the npm package `kms-wasm`, holding the
//! elliptic-curve and RSA arithmetic (kms-envelope's [`RustCrypto`] signature backend over
//! the `p256`, `p384`, `p521` and `rsa` crates). kms-wasm loads it only for a signed suite
//! or a `DIGEST` verification, and calls it through a small JavaScript shim with bytes
//! only.
//!
//! ECDSA private keys stay in this module's memory behind a numeric handle: only the
//! compressed public point and DER signatures leave it, and [`free`] drops (and so wipes)
//! the key.

use std::cell::RefCell;
use std::collections::BTreeMap;

use kms_envelope::der::NamedCurve;
use kms_envelope::public_key::SigningAlgorithm;
use kms_envelope::signature::{EcdsaSigner, RustCrypto, SignatureBackend};
use kms_envelope::Error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsError;
use zeroize::Zeroizing;

/// The heap: TLSF instead of the default dlmalloc (smaller code; as in kms-wasm).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

/// The live signing keys by handle. Handles are random (other code in the same JavaScript
/// realm cannot name a live key by counting) and never reused while their key lives.
#[derive(Default)]
struct Keys {
    keys: BTreeMap<u32, Box<dyn EcdsaSigner>>,
}

thread_local! {
    static KEYS: RefCell<Keys> = RefCell::new(Keys::default());
}

/// The curve with this number (256, 384 or 521).
fn curve(bits: u16) -> Result<NamedCurve, Error> {
    match bits {
        256 => Ok(NamedCurve::P256),
        384 => Ok(NamedCurve::P384),
        521 => Ok(NamedCurve::P521),
        _ => Err(Error::ApiMisuse(format!("unknown curve P-{bits}"))),
    }
}

fn js(error: Error) -> JsError {
    JsError::new(&error.to_string())
}

/// Creates a signing key and keeps it; returns its handle.
fn generate_key(curve_bits: u16) -> Result<u32, Error> {
    keep(RustCrypto.generate_signing_key(curve(curve_bits)?)?)
}

/// Keeps `signer` under a fresh handle.
fn keep(signer: Box<dyn EcdsaSigner>) -> Result<u32, Error> {
    KEYS.with(|k| {
        let mut keys = k.borrow_mut();
        let handle = loop {
            let candidate = rand_core::RngCore::next_u32(&mut rand_core::OsRng);
            if candidate != 0 && !keys.keys.contains_key(&candidate) {
                break candidate;
            }
        };
        keys.keys.insert(handle, signer);
        Ok(handle)
    })
}

/// Runs `f` with the key behind `handle`.
fn with_key<T>(
    handle: u32,
    f: impl FnOnce(&dyn EcdsaSigner) -> Result<T, Error>,
) -> Result<T, Error> {
    KEYS.with(|k| {
        let keys = k.borrow();
        let key = keys
            .keys
            .get(&handle)
            .ok_or_else(|| Error::ApiMisuse("the signing key was freed".into()))?;
        f(key.as_ref())
    })
}

/// Drops the key behind `handle` (its scalar is zeroized); `false` if there was none.
fn free_key(handle: u32) -> bool {
    KEYS.with(|k| k.borrow_mut().keys.remove(&handle).is_some())
}

/// A fresh random ECDSA signing key on P-256 or P-384 (`curve` 256 or 384), kept in this
/// module; returns its handle.
#[wasm_bindgen]
pub fn generate(curve: u16) -> Result<u32, JsError> {
    generate_key(curve).map_err(js)
}

/// Keeps a signing key made elsewhere (a WebCrypto key's exported scalar, big-endian, on
/// P-256 or P-384: `curve` 256 or 384); returns its handle. The scalar is wiped here once
/// the key is made; the key's own copy when it is freed.
#[wasm_bindgen(js_name = importScalar)]
pub fn import_scalar(curve_bits: u16, scalar: Vec<u8>) -> Result<u32, JsError> {
    let scalar = Zeroizing::new(scalar);
    curve(curve_bits)
        .and_then(|c| RustCrypto.signing_key_from_scalar(c, &scalar))
        .and_then(keep)
        .map_err(js)
}

/// The compressed SEC1 public point of the key behind `handle`.
#[wasm_bindgen(js_name = publicKey)]
pub fn public_key(handle: u32) -> Result<Vec<u8>, JsError> {
    with_key(handle, |k| Ok(k.public_key().to_vec())).map_err(js)
}

/// Signs a finalized hash with the key behind `handle`; returns the DER signature.
#[wasm_bindgen(js_name = signPrehash)]
pub fn sign_prehash(handle: u32, prehash: &[u8]) -> Result<Vec<u8>, JsError> {
    with_key(handle, |k| k.sign_prehash(prehash)).map_err(js)
}

/// Drops (and wipes) the key behind `handle`; `false` if it was already freed.
#[wasm_bindgen]
pub fn free(handle: u32) -> bool {
    free_key(handle)
}

/// Whether `point` (SEC1) is on the curve (256, 384 or 521).
#[wasm_bindgen(js_name = checkPoint)]
pub fn check_point(curve_bits: u16, point: &[u8]) -> bool {
    curve(curve_bits).is_ok_and(|c| RustCrypto.check_point(c, point) == Some(true))
}

/// Verifies a DER ECDSA signature over a finalized hash with a SEC1 public point.
#[wasm_bindgen(js_name = verifyEcdsa)]
pub fn verify_ecdsa(curve_bits: u16, point: &[u8], prehash: &[u8], signature: &[u8]) -> bool {
    curve(curve_bits)
        .and_then(|c| RustCrypto.verify_ecdsa(c, point, prehash, signature))
        .unwrap_or(false)
}

/// Verifies an RSA signature over a digest for a KMS signing algorithm (by its KMS name);
/// `n` and `e` big-endian.
#[wasm_bindgen(js_name = verifyRsa)]
pub fn verify_rsa(n: &[u8], e: &[u8], algorithm: &str, digest: &[u8], signature: &[u8]) -> bool {
    SigningAlgorithm::from_name(algorithm)
        .and_then(|a| RustCrypto.verify_rsa(n, e, a, digest, signature))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_sign_until_freed() {
        let handle = generate_key(384).unwrap();
        let point = with_key(handle, |k| Ok(k.public_key().to_vec())).unwrap();
        assert_eq!(point.len(), 49);
        assert!(check_point(384, &point));
        assert!(!check_point(256, &point));
        let prehash = [3u8; 48];
        let der = with_key(handle, |k| k.sign_prehash(&prehash)).unwrap();
        assert!(verify_ecdsa(384, &point, &prehash, &der));
        assert!(!verify_ecdsa(384, &point, &[4u8; 48], &der));
        assert!(free_key(handle));
        assert!(!free_key(handle));
        assert!(with_key(handle, |_| Ok(())).is_err());
        let other = generate_key(256).unwrap();
        assert_ne!(other, handle, "handles are not reused");
        assert!(generate_key(521).is_err(), "no signed suite uses P-521");
        assert!(generate_key(1).is_err());
        assert!(free_key(other));
    }

    #[test]
    fn imported_scalars_become_keys() {
        let handle = import_scalar(384, vec![7u8; 48]).unwrap();
        let expected = RustCrypto.signing_key_from_scalar(NamedCurve::P384, &[7u8; 48]).unwrap();
        let point = with_key(handle, |k| Ok(k.public_key().to_vec())).unwrap();
        assert_eq!(point, expected.public_key());
        let der = with_key(handle, |k| k.sign_prehash(&[5u8; 48])).unwrap();
        assert!(verify_ecdsa(384, &point, &[5u8; 48], &der));
        assert!(free_key(handle));
    }

    #[test]
    fn unknown_rsa_algorithms_do_not_verify() {
        assert!(!verify_rsa(&[0xc1; 256], &[1, 0, 1], "RSASSA_PSS_SHA_999", &[0; 32], &[0; 256]));
        assert!(!verify_rsa(&[0xc1; 256], &[1, 0, 1], "RSASSA_PSS_SHA_256", &[0; 32], &[0; 256]));
    }
}

//! The EC module (`kms_wasm_ec`, crate `kms-wasm-ec`): the elliptic-curve and RSA
//! signature arithmetic, in a second WebAssembly module loaded on first need and only
//! once, so that unsigned messages and WebCrypto-backed operations never fetch it.
//!
//! `js/ec.js` (a wasm-bindgen snippet; `scripts/build-wasm` puts the node and bundler
//! flavours in their builds) loads the module next to this one's glue and resolves to its
//! exports; [`JsBackend`] then forwards kms-envelope's [`SignatureBackend`] to them, with
//! bytes only. ECDSA private keys stay in the EC module behind numeric handles.
//!
//! Needed by: encryption and decryption with a signed suite in streams (one-shot calls
//! only where WebCrypto cannot sign or verify, see websign.rs), items (signed suites), and
//! `DIGEST` verification.

use std::cell::RefCell;

use js_sys::Promise;
use kms_envelope::der::NamedCurve;
use kms_envelope::public_key::SigningAlgorithm;
use kms_envelope::signature::{self, EcdsaSigner, SignatureBackend};
use kms_envelope::Error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::kms_error;

#[wasm_bindgen(module = "/js/ec.js")]
extern "C" {
    /// Loads the EC module (once; later calls return the same promise) and resolves to
    /// its exports.
    #[wasm_bindgen(js_name = loadEcModule)]
    fn load_ec_module() -> Promise;
}

#[wasm_bindgen]
extern "C" {
    /// The EC module's exports (crates/wasm-ec/src/lib.rs).
    type EcModule;

    #[wasm_bindgen(method, catch)]
    fn generate(this: &EcModule, curve: u16) -> Result<u32, JsValue>;
    #[wasm_bindgen(method, catch, js_name = publicKey)]
    fn public_key(this: &EcModule, handle: u32) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(method, catch, js_name = signPrehash)]
    fn sign_prehash(this: &EcModule, handle: u32, prehash: &[u8]) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(method, catch, js_name = importScalar)]
    fn import_scalar(this: &EcModule, curve: u16, scalar: &[u8]) -> Result<u32, JsValue>;
    // All `catch`: an exception from the other module (a trap) must not unwind through
    // this one's frames.
    #[wasm_bindgen(method, catch)]
    fn free(this: &EcModule, handle: u32) -> Result<bool, JsValue>;
    #[wasm_bindgen(method, catch, js_name = checkPoint)]
    fn check_point(this: &EcModule, curve: u16, point: &[u8]) -> Result<bool, JsValue>;
    #[wasm_bindgen(method, catch, js_name = verifyEcdsa)]
    fn verify_ecdsa(
        this: &EcModule,
        curve: u16,
        point: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<bool, JsValue>;
    #[wasm_bindgen(method, catch, js_name = verifyRsa)]
    fn verify_rsa(
        this: &EcModule,
        n: &[u8],
        e: &[u8],
        algorithm: &str,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, JsValue>;
}

thread_local! {
    /// The loaded EC module's exports.
    static EC: RefCell<Option<EcModule>> = const { RefCell::new(None) };
}

/// Whether the EC module has been loaded (by a signed suite or a `DIGEST` verification).
#[wasm_bindgen(js_name = ecModuleLoaded)]
pub fn ec_module_loaded() -> bool {
    EC.with(|ec| ec.borrow().is_some())
}

/// Loads the EC module if it is not loaded yet and installs it as kms-envelope's
/// signature backend.
///
/// # Errors
/// A `KmsError` (`EcModuleUnavailable`) if the module cannot be loaded.
pub(crate) async fn ensure() -> Result<(), JsValue> {
    if ec_module_loaded() {
        return Ok(());
    }
    let exports = JsFuture::from(load_ec_module()).await.map_err(|e| {
        let why = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| "unknown error".into());
        kms_error(
            "EcModuleUnavailable",
            &format!(
                "the kms-wasm EC module (kms_wasm_ec.js, needed for signed suites and DIGEST \
                 verification) could not be loaded: {why}"
            ),
            0,
        )
    })?;
    EC.with(|ec| *ec.borrow_mut() = Some(exports.unchecked_into()));
    install_backend();
    Ok(())
}

/// Installs [`JsBackend`] as kms-envelope's signature backend, whether or not the EC module
/// is loaded yet (it reads the module when called; WebCrypto keys need no module). Calls
/// after the first are refused by kms-envelope, harmlessly.
pub(crate) fn install_backend() {
    let _ = signature::install(Box::new(JsBackend));
}

/// Signs a prehash with the EC module's key behind `handle`; the DER signature.
///
/// # Errors
/// [`Error::ApiMisuse`] if the module is not loaded, [`Error::InvalidKey`] if signing fails.
pub(crate) fn sign_prehash(handle: u32, prehash: &[u8]) -> Result<Vec<u8>, Error> {
    with_ec(|ec| ec.sign_prehash(handle, prehash))?
        .map_err(|_| Error::InvalidKey("ECDSA signing failed".into()))
}

/// Gives the EC module a private scalar (the caller wipes its copy; the module wipes its
/// own when the key is freed); the new key's handle.
///
/// # Errors
/// [`Error::ApiMisuse`] if the module is not loaded, [`Error::InvalidKey`] if the module
/// refuses the scalar.
pub(crate) fn import_scalar(curve: NamedCurve, scalar: &[u8]) -> Result<u32, Error> {
    with_ec(|ec| ec.import_scalar(curve_bits(curve), scalar))?
        .map_err(|_| Error::InvalidKey("the EC module refused the private key".into()))
}

/// Frees (and wipes) the EC module's key behind `handle`; nothing if the module is not
/// loaded (it never unloads, so the key cannot exist then).
pub(crate) fn free_key(handle: u32) {
    let _ = with_ec(|ec| ec.free(handle));
}

/// Loads the EC module if `signed`.
pub(crate) async fn ensure_if(signed: bool) -> Result<(), JsValue> {
    if signed {
        ensure().await
    } else {
        Ok(())
    }
}

fn curve_bits(curve: NamedCurve) -> u16 {
    match curve {
        NamedCurve::P256 => 256,
        NamedCurve::P384 => 384,
        NamedCurve::P521 => 521,
    }
}

fn failed(what: &str) -> Error {
    Error::InvalidKey(format!("{what} failed in the EC module"))
}

fn not_loaded() -> Error {
    Error::ApiMisuse("the kms-wasm EC module is not loaded".into())
}

/// Runs `f` with the loaded EC module.
fn with_ec<T>(f: impl FnOnce(&EcModule) -> T) -> Result<T, Error> {
    EC.with(|ec| ec.borrow().as_ref().map(f)).ok_or_else(not_loaded)
}

/// kms-envelope's signature backend, forwarded to the EC module.
struct JsBackend;

/// A signing key inside the EC module; dropping it frees (and wipes) the key there.
struct JsSigner {
    handle: u32,
    public: Vec<u8>,
}

impl Drop for JsSigner {
    fn drop(&mut self) {
        free_key(self.handle);
    }
}

impl EcdsaSigner for JsSigner {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error> {
        sign_prehash(self.handle, prehash)
    }
}

impl SignatureBackend for JsBackend {
    /// The WebCrypto key a one-shot `encrypt` offers (websign.rs), else a key made in the
    /// EC module.
    fn generate_signing_key(&self, curve: NamedCurve) -> Result<Box<dyn EcdsaSigner>, Error> {
        if let Some(offered) = crate::websign::take_offered(curve) {
            return Ok(offered);
        }
        let failed = |_| Error::Random;
        let handle = with_ec(|ec| ec.generate(curve_bits(curve)))?.map_err(failed)?;
        // Owned from here: dropped (and freed) if the public key cannot be read.
        let mut signer = JsSigner { handle, public: Vec::new() };
        signer.public = with_ec(|ec| ec.public_key(handle))?.map_err(failed)?;
        Ok(Box::new(signer))
    }

    fn check_point(&self, curve: NamedCurve, point: &[u8]) -> Option<bool> {
        with_ec(|ec| ec.check_point(curve_bits(curve), point).unwrap_or(false)).ok()
    }

    fn verify_ecdsa(
        &self,
        curve: NamedCurve,
        point: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        with_ec(|ec| ec.verify_ecdsa(curve_bits(curve), point, prehash, signature))?
            .map_err(|_| failed("ECDSA verification"))
    }

    fn verify_rsa(
        &self,
        n: &[u8],
        e: &[u8],
        algorithm: SigningAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        with_ec(|ec| ec.verify_rsa(n, e, algorithm.as_str(), digest, signature))?
            .map_err(|_| failed("RSA verification"))
    }
}

/// Whether a message is signed, from its first bytes: the suite id follows the version
/// byte (version 2) or the version and type bytes (version 1). Decided once 4 bytes have
/// been seen; a message of an unknown version or suite is left to the decryptor to refuse.
#[derive(Default)]
pub(crate) struct SignedPeek {
    prefix: Vec<u8>,
}

impl SignedPeek {
    /// Adds the next input bytes; `Some(signed)` once the suite is known.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Option<bool> {
        let want = 4usize.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&bytes[..want.min(bytes.len())]);
        let p = &self.prefix;
        if p.len() < 4 {
            return None;
        }
        let id = match p[0] {
            1 => u16::from_be_bytes([p[2], p[3]]),
            2 => u16::from_be_bytes([p[1], p[2]]),
            _ => return Some(false),
        };
        Some(kms_envelope::suite::AlgorithmSuite::by_id(id).is_some_and(|s| s.is_signed()))
    }
}

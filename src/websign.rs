//! WebCrypto ECDSA for the footers of signed messages encrypted in one shot, so that they
//! need neither the EC module nor ECDSA arithmetic in WebAssembly (about 5 ms per message
//! in Chromium for P-384, against well under 1 ms natively).
//!
//! How a key gets into a message:
//! - [`prepare`] makes a WebCrypto ECDSA key pair for the suite's curve and compresses its
//!   public point (the parity of `y` in the first byte, then `x`: no arithmetic).
//! - [`offer`] runs `Encryptor::new` with that key waiting in a slot for exactly the first,
//!   synchronous poll: the default materials manager makes its signing key there (before
//!   any await), and the EC-module backend ([`crate::ec`]) takes the waiting key instead of
//!   generating one. A key not taken (materials from a cache) is dropped; nothing else can
//!   take it, since JavaScript runs one poll at a time.
//! - The one-shot `encrypt` then detaches the signature from the encryptor (nothing is
//!   hashed in wasm) and [`append_footer`] signs the whole `header || body` with
//!   `crypto.subtle.sign({ name: "ECDSA", hash })`, which is ECDSA over the suite's hash of
//!   those bytes, as the footer requires. WebCrypto's IEEE P1363 `r || s` becomes the DER
//!   footer in kms-envelope (`signature::footer_from_fixed`).
//!
//! Streams cannot sign with WebCrypto (it has no incremental signing), so they keep the
//! prehash signer of the EC module. The two paths meet only through the caching materials
//! manager, whose cached materials (signing key included) may serve a one-shot call and
//! then a stream. So:
//! - without a cache, the key is non-extractable: it only ever signs this one message;
//! - with a cache, it is extractable, and a stream that receives it calls
//!   [`prepare_prehash`], which exports the private scalar once (PKCS #8, wiped), hands it to the
//!   EC module as a key of its own (wiped in this module right away, and there when the key
//!   is dropped) and keeps the EC handle next to the `CryptoKey`;
//! - materials that came from a stream (an EC-module key) serve one-shot calls as before,
//!   through the prehash.
//!
//! Where WebCrypto is missing or refuses the curve, [`prepare`] returns `None` and the
//! caller uses the EC module as before.
//!
//! One-shot `decrypt` of a signed message works the same way round: the decryptor leaves
//! the footer to [`verify_footer`], which has WebCrypto verify `header || body` with the
//! `aws-crypto-public-key` point; no plaintext is returned before it has verified.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use js_sys::{Array, ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use kms_envelope::der::{self, NamedCurve};
use kms_envelope::materials::SigningKey;
use kms_envelope::signature::{self, curve_of, scalar_len, EcdsaSigner};
use kms_envelope::stream::DetachedSignature;
use kms_envelope::suite::SignatureAlgorithm;
use kms_envelope::Error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use crate::ec;
use crate::error::from_envelope;
use crate::js_bytes::JsParts;
use crate::subtle::{algorithm, subtle, Subtle};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(method, catch, js_name = generateKey)]
    fn generate_key(
        this: &Subtle,
        algorithm: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = exportKey)]
    fn export_key(this: &Subtle, format: &str, key: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn digest(this: &Subtle, algorithm: &str, data: &Uint8Array) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn sign(
        this: &Subtle,
        algorithm: &Object,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

thread_local! {
    /// The private `CryptoKey` of every live [`WebSigner`], by its id (`CryptoKey` is a
    /// JavaScript object: it cannot live in a `Send + Sync` signer). A list: only the keys
    /// of calls in flight and of cached materials live at once.
    static KEYS: RefCell<Vec<(u32, JsValue)>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
    /// The key [`offer`] holds out during the first poll of `Encryptor::new`.
    static OFFERED: RefCell<Option<Box<WebSigner>>> = const { RefCell::new(None) };
}

/// An ECDSA key pair made by WebCrypto: its private key stays a `CryptoKey` (in [`KEYS`]);
/// its public point is compressed SEC1. After [`prepare_prehash`] the EC module also holds
/// the scalar, for the prehash signatures of streams.
pub(crate) struct WebSigner {
    id: u32,
    algorithm: SignatureAlgorithm,
    public: Vec<u8>,
    /// The same key inside the EC module once a stream needed it (its handle), else 0 (the
    /// EC module never hands out 0).
    ec_handle: AtomicU32,
}

impl Drop for WebSigner {
    fn drop(&mut self) {
        KEYS.with(|k| k.borrow_mut().retain(|(id, _)| *id != self.id));
        let handle = self.ec_handle.load(Ordering::Relaxed);
        if handle != 0 {
            ec::free_key(handle);
        }
    }
}

impl EcdsaSigner for WebSigner {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error> {
        match self.ec_handle.load(Ordering::Relaxed) {
            0 => Err(Error::ApiMisuse("a WebCrypto key not prepared for a prehash".into())),
            handle => ec::sign_prehash(handle, prehash),
        }
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

impl WebSigner {
    fn crypto_key(&self) -> Result<JsValue, Error> {
        KEYS.with(|k| k.borrow().iter().find(|(id, _)| *id == self.id).map(|(_, key)| key.clone()))
            .ok_or_else(|| Error::ApiMisuse("the WebCrypto signing key is gone".into()))
    }
}

/// The [`WebSigner`] behind a signing key, if WebCrypto made it.
fn web_signer(key: &SigningKey) -> Option<&WebSigner> {
    key.signer().as_any()?.downcast_ref::<WebSigner>()
}

/// Whether WebCrypto made this signing key (and so can sign a whole message with it).
pub(crate) fn is_web(key: &SigningKey) -> bool {
    web_signer(key).is_some()
}

/// WebCrypto's name for a curve.
fn curve_name(curve: NamedCurve) -> &'static str {
    match curve {
        NamedCurve::P256 => "P-256",
        NamedCurve::P384 => "P-384",
        NamedCurve::P521 => "P-521",
    }
}

/// WebCrypto's name for the suite's hash.
fn hash_name(algorithm: SignatureAlgorithm) -> &'static str {
    match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => "SHA-256",
        SignatureAlgorithm::EcdsaP384Sha384 => "SHA-384",
    }
}

/// The compressed SEC1 form of an uncompressed point `04 || x || y` on `curve`.
fn compress(curve: NamedCurve, raw: &[u8]) -> Option<Vec<u8>> {
    let len = scalar_len(curve);
    if raw.len() != 1 + 2 * len || raw[0] != 4 {
        return None;
    }
    let mut point = Vec::with_capacity(1 + len);
    point.push(2 | (raw[2 * len] & 1));
    point.extend_from_slice(&raw[1..=len]);
    Some(point)
}

/// A fresh WebCrypto key pair for `algorithm`, or `None` if this runtime has no WebCrypto
/// or it refuses (the caller then uses the EC module). `extractable` only when a stream may
/// later need the scalar (see the module documentation).
pub(crate) async fn prepare(
    algorithm: SignatureAlgorithm,
    extractable: bool,
) -> Option<Box<WebSigner>> {
    let subtle = subtle()?;
    let curve = curve_of(algorithm);
    let params = crate::subtle::algorithm("ECDSA", &[("namedCurve", curve_name(curve).into())]);
    let usages = Array::of2(&"sign".into(), &"verify".into());
    let pair =
        JsFuture::from(subtle.generate_key(&params, extractable, &usages).ok()?).await.ok()?;
    let private = Reflect::get(&pair, &"privateKey".into()).ok()?;
    let public = Reflect::get(&pair, &"publicKey".into()).ok()?;
    let raw = JsFuture::from(subtle.export_key("raw", &public).ok()?).await.ok()?;
    let point = compress(curve, &Uint8Array::new(raw.dyn_ref::<ArrayBuffer>()?).to_vec())?;
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    });
    KEYS.with(|k| k.borrow_mut().push((id, private)));
    // The default materials manager asks the installed backend for the key; that backend
    // (ec.rs) takes the offered one, and needs no EC module for it.
    ec::install_backend();
    Some(Box::new(WebSigner { id, algorithm, public: point, ec_handle: AtomicU32::new(0) }))
}

/// The key [`offer`] holds out, if it is for `curve` (called by the EC-module backend's
/// key generation).
pub(crate) fn take_offered(curve: NamedCurve) -> Option<Box<dyn EcdsaSigner>> {
    OFFERED.with(|o| {
        let mut offered = o.borrow_mut();
        if offered.as_ref().is_some_and(|s| curve_of(s.algorithm) == curve) {
            offered.take().map(|s| s as Box<dyn EcdsaSigner>)
        } else {
            None
        }
    })
}

/// Runs `future` (an `Encryptor::new`) with `key` offered to the signing-key generation of
/// its first poll only (see the module documentation).
pub(crate) fn offer<F: Future>(key: Option<Box<WebSigner>>, future: F) -> Offer<F> {
    Offer { key, future: Box::pin(future) }
}

/// The future of [`offer`].
pub(crate) struct Offer<F> {
    key: Option<Box<WebSigner>>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Offer<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(key) = self.key.take() else { return self.future.as_mut().poll(cx) };
        OFFERED.with(|o| *o.borrow_mut() = Some(key));
        let result = self.future.as_mut().poll(cx);
        // Not taken (cached materials): dropped here, so no other call can receive it.
        OFFERED.with(|o| o.borrow_mut().take());
        result
    }
}

/// Signs the whole message so far (`header || body`, in `message`) with the WebCrypto key
/// and appends the footer; returns the complete message.
///
/// # Errors
/// A `KmsError` if the key is not a WebCrypto key or WebCrypto fails to sign.
pub(crate) async fn append_footer(
    key: &SigningKey,
    message: JsParts,
) -> Result<Uint8Array, JsValue> {
    let signer = web_signer(key)
        .ok_or_else(|| from_envelope(Error::ApiMisuse("not a WebCrypto signing key".into())))?;
    let subtle =
        subtle().ok_or_else(|| from_envelope(Error::ApiMisuse("WebCrypto is gone".into())))?;
    let body = message.join();
    let params = algorithm("ECDSA", &[("hash", hash_name(signer.algorithm).into())]);
    let crypto_key = signer.crypto_key().map_err(from_envelope)?;
    let signed = JsFuture::from(subtle.sign(&params, &crypto_key, &body)?).await?;
    let r_s =
        signed.dyn_ref::<ArrayBuffer>().map(|b| Uint8Array::new(b).to_vec()).ok_or_else(|| {
            from_envelope(Error::InvalidKey("WebCrypto returned no signature".into()))
        })?;
    let footer = signature::footer_from_fixed(signer.algorithm, &r_s).map_err(from_envelope)?;
    let whole = Uint8Array::new_with_length(body.length() + footer.len() as u32);
    whole.set(&body, 0);
    whole.subarray(body.length(), whole.length()).copy_from(&footer);
    Ok(whole)
}

/// Verifies a signed message's footer (left to the caller by the decryptor) over
/// `signed` (`header || body`) with WebCrypto: the key imported from its SEC1 point
/// (`raw`; Chromium and Node take compressed points), the DER signature turned into
/// `r || s`. Where WebCrypto refuses the key, WebCrypto hashes and the EC module verifies
/// the prehash, as it does for streams. `false` for any signature or key that does not
/// verify.
///
/// # Errors
/// A `KmsError` if WebCrypto is gone or the EC module is needed and cannot be loaded.
pub(crate) async fn verify_footer(
    detached: &DetachedSignature,
    signed: &Uint8Array,
) -> Result<bool, JsValue> {
    let subtle =
        subtle().ok_or_else(|| from_envelope(Error::ApiMisuse("WebCrypto is gone".into())))?;
    let algorithm_of_key = detached.key.algorithm();
    let curve = curve_of(algorithm_of_key);
    let hash = hash_name(algorithm_of_key);
    let Some(r_s) = der::parse_ecdsa_signature(&detached.signature, scalar_len(curve)) else {
        return Ok(false);
    };
    let params = algorithm("ECDSA", &[("namedCurve", curve_name(curve).into())]);
    let imported =
        crate::subtle::import(&subtle, "raw", detached.key.as_sec1(), &params, "verify").await;
    if let Ok(key) = imported {
        let params = algorithm("ECDSA", &[("hash", hash.into())]);
        let r_s = Uint8Array::from(r_s.as_slice());
        let verified = JsFuture::from(subtle.verify(&params, &key, &r_s, signed)?).await;
        return Ok(verified.is_ok_and(|v| v.as_bool() == Some(true)));
    }
    // WebCrypto refused the point (a runtime without compressed points, or a point off the
    // curve): the EC module decides.
    ec::ensure().await?;
    let digest = JsFuture::from(subtle.digest(hash, signed)?).await?;
    let prehash = digest
        .dyn_ref::<ArrayBuffer>()
        .map(|b| Uint8Array::new(b).to_vec())
        .ok_or_else(|| from_envelope(Error::ApiMisuse("WebCrypto returned no digest".into())))?;
    detached.key.verify_prehash(&prehash, &detached.signature).map_err(from_envelope)
}

/// Makes a WebCrypto signing key able to sign a prehash (streams): its scalar goes to the
/// EC module once (loading the module if needed). Nothing to do for other keys.
///
/// # Errors
/// A `KmsError` if the EC module cannot be loaded or WebCrypto does not export the key
/// (a non-extractable key: never given to streams, see the module documentation).
pub(crate) async fn prepare_prehash(key: Option<&SigningKey>) -> Result<(), JsValue> {
    let Some(signer) = key.and_then(web_signer) else { return Ok(()) };
    if signer.ec_handle.load(Ordering::Relaxed) != 0 {
        return Ok(());
    }
    ec::ensure().await?;
    let subtle =
        subtle().ok_or_else(|| from_envelope(Error::ApiMisuse("WebCrypto is gone".into())))?;
    let crypto_key = signer.crypto_key().map_err(from_envelope)?;
    // PKCS #8 (bytes, which are wiped once copied), not JWK (whose `d` would be a
    // JavaScript string nobody can wipe).
    let exported = JsFuture::from(subtle.export_key("pkcs8", &crypto_key)?).await?;
    let exported =
        Uint8Array::new(exported.dyn_ref::<ArrayBuffer>().ok_or_else(|| {
            from_envelope(Error::InvalidKey("the exported key is not bytes".into()))
        })?);
    let mut der = Zeroizing::new(vec![0u8; exported.length() as usize]);
    exported.copy_to(&mut der);
    exported.fill(0, 0, exported.length());
    let curve = curve_of(signer.algorithm);
    let scalar = kms_envelope::der::ec_pkcs8_private_scalar(&der, curve)
        .filter(|s| s.len() == scalar_len(curve))
        .ok_or_else(|| from_envelope(Error::InvalidKey("the exported key is malformed".into())))?;
    let handle = ec::import_scalar(curve, scalar).map_err(from_envelope)?;
    // Two streams may prepare the same cached key at once: the second handle is freed.
    if signer.ec_handle.compare_exchange(0, handle, Ordering::Relaxed, Ordering::Relaxed).is_err() {
        ec::free_key(handle);
    }
    Ok(())
}

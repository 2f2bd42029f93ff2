//! WebCrypto (`globalThis.crypto.subtle`, in browsers and Node 20+) for the asymmetric
//! operations it can do: RSA-OAEP encryption and decryption (raw RSA and KMS RSA keyrings,
//! `publicKeyEncrypt`) and RSA-PSS / RSASSA-PKCS1-v1_5 / ECDSA verification of `RAW`
//! messages. Native code that is constant time where it matters, and the RSA crates stay
//! out of the WebAssembly module.
//!
//! What WebCrypto cannot do stays in Rust, in the lazily loaded EC module (ec.rs):
//! verification of a precomputed `DIGEST` (the RustCrypto `rsa`/`p256`/`p384`/`p521`
//! crates) and the ECDSA signatures of the signed suites.
//! WebCrypto has no RSAES-PKCS1-v1_5 encryption, so the raw RSA keyring refuses that
//! padding here (as `@aws-crypto/client-browser` does).

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use kms_envelope::der;
use kms_envelope::keyring::raw_rsa::{RsaDecryptKey, RsaEncryptKey, RsaPadding};
use kms_envelope::Error;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use crate::convert::set;
use crate::error::kms_error;

#[wasm_bindgen]
extern "C" {
    /// `SubtleCrypto`.
    pub(crate) type Subtle;

    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(
        this: &Subtle,
        format: &str,
        key: &Uint8Array,
        algorithm: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn encrypt(
        this: &Subtle,
        algorithm: &Object,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn decrypt(
        this: &Subtle,
        algorithm: &Object,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub(crate) fn verify(
        this: &Subtle,
        algorithm: &Object,
        key: &JsValue,
        signature: &Uint8Array,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// `globalThis.crypto.subtle`, if this runtime has it (browsers only in secure contexts).
pub(crate) fn subtle() -> Option<Subtle> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    (!subtle.is_undefined() && !subtle.is_null()).then(|| subtle.unchecked_into())
}

/// The error for a runtime without WebCrypto.
pub(crate) fn no_subtle(what: &str) -> JsValue {
    kms_error(
        "UnsupportedOperationException",
        &format!("{what} needs WebCrypto (globalThis.crypto.subtle: Node 20+, or a browser page in a secure context)"),
        0,
    )
}

/// A WebCrypto algorithm object: `{ name, ...fields }`.
pub(crate) fn algorithm(name: &str, fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    set(&object, "name", &name.into());
    for (key, value) in fields {
        set(&object, key, value);
    }
    object
}

fn usages(usage: &str) -> Array {
    Array::of1(&usage.into())
}

/// Imports a non-extractable key (`format` `spki` or `pkcs8`).
pub(crate) async fn import(
    subtle: &Subtle,
    format: &str,
    der: &[u8],
    algorithm: &Object,
    usage: &str,
) -> Result<JsValue, JsValue> {
    let bytes = Uint8Array::from(der);
    let promise = subtle.import_key(format, &bytes, algorithm, false, &usages(usage));
    if format == "pkcs8" {
        // The private key's bytes were copied into this view only for the call.
        bytes.fill(0, 0, bytes.length());
    }
    JsFuture::from(promise?).await
}

/// WebCrypto `verify`: `true` or `false` (a rejected promise, e.g. for a signature
/// WebCrypto finds malformed, counts as `false`).
pub(crate) async fn verify_with(
    subtle: &Subtle,
    algorithm: &Object,
    key: &JsValue,
    signature: &[u8],
    message: &[u8],
) -> bool {
    let promise =
        subtle.verify(algorithm, key, &Uint8Array::from(signature), &Uint8Array::from(message));
    match promise {
        Ok(p) => JsFuture::from(p).await.is_ok_and(|v| v.as_bool() == Some(true)),
        Err(_) => false,
    }
}

/// The WebCrypto hash name of an OAEP padding; `None` for PKCS #1 v1.5.
fn oaep_hash(padding: RsaPadding) -> Option<&'static str> {
    match padding {
        RsaPadding::OaepSha1Mgf1Sha1 => Some("SHA-1"),
        RsaPadding::OaepSha256Mgf1Sha256 => Some("SHA-256"),
        RsaPadding::OaepSha384Mgf1Sha384 => Some("SHA-384"),
        RsaPadding::OaepSha512Mgf1Sha512 => Some("SHA-512"),
        _ => None,
    }
}

/// Refuses the padding WebCrypto cannot do.
pub(crate) fn check_padding(padding: RsaPadding) -> Result<&'static str, Error> {
    oaep_hash(padding).ok_or_else(|| {
        Error::ApiMisuse(
            "RSA PKCS #1 v1.5 encryption padding is not available in WebCrypto, so kms-wasm \
             cannot use it; use an OAEP padding"
                .into(),
        )
    })
}

fn js_failure(what: &str) -> Error {
    Error::Keyring(format!("WebCrypto {what} failed"))
}

/// The bit length of a big-endian modulus without leading zeros.
fn bit_length(n: &[u8]) -> usize {
    n.first().map_or(0, |&b| 8 * n.len() - b.leading_zeros() as usize)
}

/// A CryptoKey imported on first use for one OAEP hash and kept.
#[derive(Default)]
struct KeyCache(RefCell<Option<(&'static str, JsValue)>>);

impl KeyCache {
    async fn get(
        &self,
        format: &str,
        der: &[u8],
        hash: &'static str,
        usage: &str,
    ) -> Result<JsValue, Error> {
        if let Some((cached_hash, key)) = self.0.borrow().as_ref() {
            if *cached_hash == hash {
                return Ok(key.clone());
            }
        }
        let subtle = subtle().ok_or_else(|| Error::ApiMisuse(
            "RSA-OAEP needs WebCrypto (globalThis.crypto.subtle: Node 20+, or a browser page in a secure context)".into(),
        ))?;
        let algorithm = algorithm("RSA-OAEP", &[("hash", hash.into())]);
        let key = import(&subtle, format, der, &algorithm, usage)
            .await
            .map_err(|_| Error::InvalidKey(format!("WebCrypto refused the RSA {format} key")))?;
        *self.0.borrow_mut() = Some((hash, key.clone()));
        Ok(key)
    }
}

/// An RSA public key (DER SPKI) that encrypts with WebCrypto RSA-OAEP.
pub(crate) struct WebRsaPublicKey {
    spki: Vec<u8>,
    bits: usize,
    key: KeyCache,
}

impl WebRsaPublicKey {
    /// From a DER `SubjectPublicKeyInfo` RSA key.
    pub(crate) fn from_spki(spki: &[u8]) -> Result<Self, Error> {
        let Some(der::Spki::Rsa { n, .. }) = der::parse_spki(spki) else {
            return Err(Error::InvalidKey("not a DER SubjectPublicKeyInfo RSA public key".into()));
        };
        Ok(WebRsaPublicKey { spki: spki.to_vec(), bits: bit_length(&n), key: KeyCache::default() })
    }

    /// From PEM (`BEGIN PUBLIC KEY`).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, Error> {
        let der = der::pem_to_der(pem, "PUBLIC KEY").ok_or_else(|| {
            Error::InvalidKey("not a PEM SubjectPublicKeyInfo RSA public key".into())
        })?;
        Self::from_spki(&der)
    }
}

/// RSA-OAEP encryption of `message` under `key` (`spki` DER) with WebCrypto.
async fn oaep_encrypt(key: &JsValue, message: &[u8]) -> Result<Vec<u8>, Error> {
    let subtle = subtle().ok_or_else(|| js_failure("is missing: RSA-OAEP"))?;
    let data = Uint8Array::from(message);
    let promise = subtle.encrypt(&algorithm("RSA-OAEP", &[]), key, &data);
    data.fill(0, 0, data.length());
    let buffer = JsFuture::from(promise.map_err(|_| js_failure("RSA-OAEP encryption"))?)
        .await
        .map_err(|_| js_failure("RSA-OAEP encryption"))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

#[async_trait::async_trait(?Send)]
impl RsaEncryptKey for WebRsaPublicKey {
    fn modulus_bits(&self) -> usize {
        self.bits
    }

    async fn encrypt(&self, padding: RsaPadding, message: &[u8]) -> Result<Vec<u8>, Error> {
        let hash = check_padding(padding)?;
        let key = self.key.get("spki", &self.spki, hash, "encrypt").await?;
        oaep_encrypt(&key, message).await
    }
}

/// An RSA private key (DER PKCS #8) that decrypts with WebCrypto RSA-OAEP.
pub(crate) struct WebRsaPrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    /// The public half, from the PKCS #8 modulus and exponent.
    spki: Vec<u8>,
    key: KeyCache,
}

impl WebRsaPrivateKey {
    /// From a DER PKCS #8 `PrivateKeyInfo` RSA key.
    pub(crate) fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<Self, Error> {
        let (n, e) = der::rsa_pkcs8_public_parts(&pkcs8)
            .ok_or_else(|| Error::InvalidKey("not a DER PKCS #8 RSA private key".into()))?;
        Ok(WebRsaPrivateKey { spki: der::rsa_spki(&n, &e), pkcs8, key: KeyCache::default() })
    }

    /// From PEM (`BEGIN PRIVATE KEY`).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, Error> {
        let der = der::pem_to_der(pem, "PRIVATE KEY")
            .ok_or_else(|| Error::InvalidKey("not a PEM PKCS #8 RSA private key".into()))?;
        Self::from_pkcs8(Zeroizing::new(der))
    }
}

#[async_trait::async_trait(?Send)]
impl RsaDecryptKey for WebRsaPrivateKey {
    async fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let hash = check_padding(padding).ok()?;
        let key = self.key.get("pkcs8", &self.pkcs8, hash, "decrypt").await.ok()?;
        let subtle = subtle()?;
        let promise = subtle
            .decrypt(&algorithm("RSA-OAEP", &[]), &key, &Uint8Array::from(ciphertext))
            .ok()?;
        let buffer = JsFuture::from(promise).await.ok()?;
        let view = Uint8Array::new(&buffer);
        let plaintext = Zeroizing::new(view.to_vec());
        // The data key must not linger in the JavaScript heap.
        view.fill(0, 0, view.length());
        Some(plaintext)
    }

    fn public_key(&self) -> Option<Arc<dyn RsaEncryptKey>> {
        WebRsaPublicKey::from_spki(&self.spki).ok().map(|k| Arc::new(k) as Arc<dyn RsaEncryptKey>)
    }
}

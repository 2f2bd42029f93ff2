//! `PublicKey`, `publicKeyEncrypt` and `verify`: local operations with the public half of a
//! KMS asymmetric key. WebCrypto encrypts (RSA-OAEP) and verifies `RAW` messages;
//! kms-envelope's `public_key` module verifies `DIGEST` messages (and `RAW` ones where the
//! runtime has no WebCrypto), its arithmetic (the RustCrypto `rsa`/`p256`/`p384`/`p521`
//! crates) running in the EC module, loaded on first need (ec.rs). Both calls return
//! Promises.

use js_sys::{Array, Object, Promise, Uint8Array};
use kms_envelope::der;
use kms_envelope::keyring::raw_rsa::{RsaEncryptKey, RsaPadding};
use kms_envelope::public_key::{self as pk, EncryptionAlgorithm, MessageType, SigningAlgorithm};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use zeroize::Zeroizing;

use crate::convert::{promise, to_uint8};
use crate::ec;
use crate::error::{from_envelope, kms_error};
use crate::subtle;

/// The public key of a KMS asymmetric key, parsed once: keep it to verify signatures and
/// encrypt without calling KMS again. From `client.getPublicKey(keyId)` or
/// `PublicKey.fromSpki(der)`.
#[wasm_bindgen]
pub struct PublicKey {
    inner: pk::PublicKey,
    spki: Vec<u8>,
    key_id: Option<String>,
    key_usage: Option<String>,
    encryption_algorithms: Vec<String>,
    signing_algorithms: Vec<String>,
}

fn strings_to_js(items: &[String]) -> Array {
    items.iter().map(|s| JsValue::from(s.as_str())).collect()
}

impl PublicKey {
    /// A key described by KMS `GetPublicKey`.
    pub(crate) fn from_kms(
        spki: &[u8],
        key_id: Option<String>,
        _key_spec: Option<String>,
        key_usage: Option<String>,
        encryption_algorithms: Option<Vec<String>>,
        signing_algorithms: Option<Vec<String>>,
    ) -> Result<PublicKey, JsValue> {
        let inner = pk::PublicKey::from_spki_der(spki).map_err(from_envelope)?;
        Ok(PublicKey {
            inner,
            spki: spki.to_vec(),
            key_id,
            key_usage,
            encryption_algorithms: encryption_algorithms.unwrap_or_default(),
            signing_algorithms: signing_algorithms.unwrap_or_default(),
        })
    }

    /// KMS lists the algorithms of the key's usage only; refuse the others as KMS does.
    fn check_allowed(
        &self,
        list: &[String],
        algorithm: &str,
        operation: &str,
    ) -> Result<(), JsValue> {
        if self.key_usage.is_some() && !list.iter().any(|a| a == algorithm) {
            let id = self.key_id.as_deref().unwrap_or("the key");
            return Err(kms_error(
                "InvalidKeyUsageException",
                &format!("{algorithm} is not a valid algorithm for {operation} with {id}"),
                0,
            ));
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` (RSA 2048-4096, P-256, P-384, P-521).
    #[wasm_bindgen(js_name = fromSpki)]
    pub fn from_spki(spki: Vec<u8>) -> Result<PublicKey, JsValue> {
        let inner = pk::PublicKey::from_spki_der(&spki).map_err(from_envelope)?;
        let signing = inner.signing_algorithms().iter().map(|a| a.as_str().to_owned()).collect();
        let encryption = if inner.is_rsa() {
            vec!["RSAES_OAEP_SHA_1".into(), "RSAES_OAEP_SHA_256".into()]
        } else {
            Vec::new()
        };
        Ok(PublicKey {
            inner,
            spki,
            key_id: None,
            key_usage: None,
            encryption_algorithms: encryption,
            signing_algorithms: signing,
        })
    }

    /// The key ARN, when the key came from `getPublicKey`.
    #[wasm_bindgen(getter, js_name = keyId)]
    pub fn key_id(&self) -> Option<String> {
        self.key_id.clone()
    }

    /// `RSA_2048`, `RSA_3072`, `RSA_4096`, `ECC_NIST_P256`, `ECC_NIST_P384` or `ECC_NIST_P521`.
    #[wasm_bindgen(getter, js_name = keySpec)]
    pub fn key_spec(&self) -> String {
        self.inner.key_spec()
    }

    /// `ENCRYPT_DECRYPT` or `SIGN_VERIFY`, when the key came from `getPublicKey`.
    #[wasm_bindgen(getter, js_name = keyUsage)]
    pub fn key_usage(&self) -> Option<String> {
        self.key_usage.clone()
    }

    /// The DER `SubjectPublicKeyInfo`.
    #[wasm_bindgen(getter)]
    pub fn spki(&self) -> Uint8Array {
        to_uint8(&self.spki)
    }

    /// The encryption algorithms the key allows.
    #[wasm_bindgen(getter, js_name = encryptionAlgorithms, unchecked_return_type = "string[]")]
    pub fn encryption_algorithms(&self) -> Array {
        strings_to_js(&self.encryption_algorithms)
    }

    /// The signing algorithms the key allows.
    #[wasm_bindgen(getter, js_name = signingAlgorithms, unchecked_return_type = "string[]")]
    pub fn signing_algorithms(&self) -> Array {
        strings_to_js(&self.signing_algorithms)
    }

    /// Verifies a signature from KMS `Sign` (DER for ECDSA): a Promise of `true` or
    /// `false`. Rejects with a `KmsError` for an algorithm the key does not allow or a
    /// `DIGEST` of the wrong length.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn verify(
        &self,
        message: Vec<u8>,
        signature: Vec<u8>,
        #[wasm_bindgen(js_name = signingAlgorithm)] signing_algorithm: String,
        #[wasm_bindgen(js_name = messageType)] message_type: Option<String>,
    ) -> Promise {
        let allowed = self.check_allowed(&self.signing_algorithms, &signing_algorithm, "Verify");
        let key = allowed.map(|()| self.inner.clone());
        verify_promise(key, self.spki.clone(), message, signature, signing_algorithm, message_type)
    }

    /// RSA-OAEP encryption that KMS `Decrypt` accepts for this key, with KMS's size
    /// limits: a Promise of the ciphertext (WebCrypto).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn encrypt(
        &self,
        plaintext: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "\"RSAES_OAEP_SHA_256\" | \"RSAES_OAEP_SHA_1\"")]
        algorithm: String,
    ) -> Promise {
        let plaintext = Zeroizing::new(plaintext);
        let allowed = self.check_allowed(&self.encryption_algorithms, &algorithm, "Encrypt");
        let key = allowed.map(|()| self.inner.clone());
        encrypt_promise(key, self.spki.clone(), plaintext, algorithm)
    }
}

/// The WebCrypto import and verify parameters of a KMS signing algorithm, and the byte
/// length of ECDSA scalars (WebCrypto takes `r || s`, KMS gives DER).
fn web_algorithm(algorithm: SigningAlgorithm) -> Option<(Object, Object, Option<usize>)> {
    use SigningAlgorithm as A;
    let hash = |bits: u32| JsValue::from(format!("SHA-{bits}"));
    let rsa = |name: &str, bits: u32, verify: Object| {
        (subtle::algorithm(name, &[("hash", hash(bits))]), verify, None)
    };
    let pss = |bits: u32| {
        let salt = JsValue::from(bits / 8);
        rsa("RSA-PSS", bits, subtle::algorithm("RSA-PSS", &[("saltLength", salt)]))
    };
    let pkcs1 =
        |bits: u32| rsa("RSASSA-PKCS1-v1_5", bits, subtle::algorithm("RSASSA-PKCS1-v1_5", &[]));
    let ecdsa = |curve: &str, bits: u32, len: usize| {
        (
            subtle::algorithm("ECDSA", &[("namedCurve", curve.into())]),
            subtle::algorithm("ECDSA", &[("hash", hash(bits))]),
            Some(len),
        )
    };
    Some(match algorithm {
        A::RsassaPssSha256 => pss(256),
        A::RsassaPssSha384 => pss(384),
        A::RsassaPssSha512 => pss(512),
        A::RsassaPkcs1V15Sha256 => pkcs1(256),
        A::RsassaPkcs1V15Sha384 => pkcs1(384),
        A::RsassaPkcs1V15Sha512 => pkcs1(512),
        A::EcdsaSha256 => ecdsa("P-256", 256, 32),
        A::EcdsaSha384 => ecdsa("P-384", 384, 48),
        A::EcdsaSha512 => ecdsa("P-521", 512, 66),
        _ => return None,
    })
}

/// `RAW` messages go to WebCrypto (when the runtime has it); `DIGEST` messages, which
/// WebCrypto cannot take, to kms-envelope's verifier. Both check the algorithm and the
/// digest length first.
async fn verify_with(
    key: &pk::PublicKey,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
    signing_algorithm: &str,
    message_type: Option<String>,
) -> Result<bool, JsValue> {
    let algorithm = SigningAlgorithm::from_name(signing_algorithm).map_err(from_envelope)?;
    let message_type =
        MessageType::from_name(message_type.as_deref().unwrap_or("RAW")).map_err(from_envelope)?;
    let subtle = match message_type {
        MessageType::Raw => subtle::subtle(),
        _ => None,
    };
    key.check_signing_algorithm(algorithm).map_err(from_envelope)?;
    if let (Some(subtle), Some((import, verify, ecdsa_len))) = (subtle, web_algorithm(algorithm)) {
        // Some runtimes refuse encodings kms-envelope takes (compressed EC points): the
        // key parsed there, so its verifier decides.
        if let Ok(crypto_key) = subtle::import(&subtle, "spki", spki, &import, "verify").await {
            let signature = match ecdsa_len {
                None => signature.to_vec(),
                Some(len) => match der::parse_ecdsa_signature(signature, len) {
                    Some(r_s) => r_s,
                    None => return Ok(false),
                },
            };
            return Ok(
                subtle::verify_with(&subtle, &verify, &crypto_key, &signature, message).await
            );
        }
    }
    // kms-envelope's verifier, whose arithmetic runs in the EC module (loaded first).
    ec::ensure().await?;
    key.verify(message, signature, algorithm, message_type).map_err(from_envelope)
}

/// The Promise of `verify` and `PublicKey.verify`: rejected with `key`'s error (a key that
/// did not parse, or an algorithm it does not allow), else [`verify_with`]. One async body
/// for both (each is a state machine of its own in wasm).
fn verify_promise(
    key: Result<pk::PublicKey, JsValue>,
    spki: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    algorithm: String,
    message_type: Option<String>,
) -> Promise {
    promise(async move {
        let ok = verify_with(&key?, &spki, &message, &signature, &algorithm, message_type).await?;
        Ok(ok.into())
    })
}

/// Checks KMS's limits, then RSA-OAEP encrypts with WebCrypto.
async fn encrypt_with(
    key: &pk::PublicKey,
    spki: &[u8],
    plaintext: Zeroizing<Vec<u8>>,
    algorithm: &str,
) -> Result<JsValue, JsValue> {
    let algorithm = EncryptionAlgorithm::from_name(algorithm).map_err(from_envelope)?;
    key.check_plaintext(&plaintext, algorithm).map_err(from_envelope)?;
    let padding = match algorithm {
        EncryptionAlgorithm::RsaesOaepSha1 => RsaPadding::OaepSha1Mgf1Sha1,
        _ => RsaPadding::OaepSha256Mgf1Sha256,
    };
    if subtle::subtle().is_none() {
        return Err(subtle::no_subtle("RSA-OAEP encryption"));
    }
    let web_key = subtle::WebRsaPublicKey::from_spki(spki).map_err(from_envelope)?;
    let ciphertext = web_key.encrypt(padding, &plaintext).await.map_err(from_envelope)?;
    Ok(to_uint8(&ciphertext).into())
}

/// The Promise of `publicKeyEncrypt` and `PublicKey.encrypt`, as [`verify_promise`].
fn encrypt_promise(
    key: Result<pk::PublicKey, JsValue>,
    spki: Vec<u8>,
    plaintext: Zeroizing<Vec<u8>>,
    algorithm: String,
) -> Promise {
    promise(async move { encrypt_with(&key?, &spki, plaintext, &algorithm).await })
}

/// Encrypts up to KMS's limit for the key (RSA_2048: 190 bytes with `RSAES_OAEP_SHA_256`,
/// 214 with `RSAES_OAEP_SHA_1`) so that KMS `Decrypt` with the private key returns it: a
/// Promise of the ciphertext (WebCrypto RSA-OAEP).
#[wasm_bindgen(js_name = publicKeyEncrypt, unchecked_return_type = "Promise<Uint8Array>")]
pub fn public_key_encrypt(
    #[wasm_bindgen(js_name = spkiDer)] spki_der: Vec<u8>,
    plaintext: Vec<u8>,
    #[wasm_bindgen(unchecked_param_type = "\"RSAES_OAEP_SHA_256\" | \"RSAES_OAEP_SHA_1\"")]
    algorithm: String,
) -> Promise {
    let plaintext = Zeroizing::new(plaintext);
    let key = pk::PublicKey::from_spki_der(&spki_der).map_err(from_envelope);
    encrypt_promise(key, spki_der, plaintext, algorithm)
}

/// Verifies a KMS signature: RSASSA_PSS_SHA_256/384/512, RSASSA_PKCS1_V1_5_SHA_256/384/512,
/// ECDSA_SHA_256 (P-256), ECDSA_SHA_384 (P-384), ECDSA_SHA_512 (P-521); `messageType` is
/// `RAW` (default) or `DIGEST`; ECDSA signatures are DER as KMS returns them. A Promise
/// of `true` or `false`.
#[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
pub fn verify(
    #[wasm_bindgen(js_name = spkiDer)] spki_der: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    #[wasm_bindgen(js_name = signingAlgorithm)] signing_algorithm: String,
    #[wasm_bindgen(js_name = messageType)] message_type: Option<String>,
) -> Promise {
    let key = pk::PublicKey::from_spki_der(&spki_der).map_err(from_envelope);
    verify_promise(key, spki_der, message, signature, signing_algorithm, message_type)
}

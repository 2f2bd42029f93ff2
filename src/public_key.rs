//! `PublicKey`, `publicKeyEncrypt` and `verify`: local operations with the public half of a
//! KMS asymmetric key (the crypto is kms-envelope's `public_key` module).

use js_sys::{Array, Uint8Array};
use kms_envelope::public_key::{self as pk, EncryptionAlgorithm, MessageType, SigningAlgorithm};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use zeroize::Zeroizing;

use crate::convert::to_uint8;
use crate::error::{from_envelope, kms_error};

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
    pub fn from_spki(spki: &[u8]) -> Result<PublicKey, JsValue> {
        let inner = pk::PublicKey::from_spki_der(spki).map_err(from_envelope)?;
        let signing = inner.signing_algorithms().iter().map(|a| a.as_str().to_owned()).collect();
        let encryption = if inner.is_rsa() {
            vec!["RSAES_OAEP_SHA_1".into(), "RSAES_OAEP_SHA_256".into()]
        } else {
            Vec::new()
        };
        Ok(PublicKey {
            inner,
            spki: spki.to_vec(),
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

    /// Verifies a signature from KMS `Sign` (DER for ECDSA): `true` or `false`. Throws a
    /// `KmsError` for an algorithm the key does not allow or a `DIGEST` of the wrong length.
    pub fn verify(
        &self,
        message: &[u8],
        signature: &[u8],
        #[wasm_bindgen(js_name = signingAlgorithm)] signing_algorithm: &str,
        #[wasm_bindgen(js_name = messageType)] message_type: Option<String>,
    ) -> Result<bool, JsValue> {
        self.check_allowed(&self.signing_algorithms, signing_algorithm, "Verify")?;
        verify_with(&self.inner, message, signature, signing_algorithm, message_type)
    }

    /// RSA-OAEP encryption that KMS `Decrypt` accepts for this key, with KMS's size limits.
    pub fn encrypt(
        &self,
        plaintext: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "\"RSAES_OAEP_SHA_256\" | \"RSAES_OAEP_SHA_1\"")]
        algorithm: &str,
    ) -> Result<Uint8Array, JsValue> {
        self.check_allowed(&self.encryption_algorithms, algorithm, "Encrypt")?;
        encrypt_with(&self.inner, Zeroizing::new(plaintext), algorithm)
    }
}

fn verify_with(
    key: &pk::PublicKey,
    message: &[u8],
    signature: &[u8],
    signing_algorithm: &str,
    message_type: Option<String>,
) -> Result<bool, JsValue> {
    let algorithm = SigningAlgorithm::from_name(signing_algorithm).map_err(from_envelope)?;
    let message_type =
        MessageType::from_name(message_type.as_deref().unwrap_or("RAW")).map_err(from_envelope)?;
    key.verify(message, signature, algorithm, message_type).map_err(from_envelope)
}

fn encrypt_with(
    key: &pk::PublicKey,
    plaintext: Zeroizing<Vec<u8>>,
    algorithm: &str,
) -> Result<Uint8Array, JsValue> {
    let algorithm = EncryptionAlgorithm::from_name(algorithm).map_err(from_envelope)?;
    let ciphertext = key.encrypt(&plaintext, algorithm).map_err(from_envelope)?;
    Ok(to_uint8(&ciphertext))
}

/// Encrypts up to KMS's limit for the key (RSA_2048: 190 bytes with `RSAES_OAEP_SHA_256`,
/// 214 with `RSAES_OAEP_SHA_1`) so that KMS `Decrypt` with the private key returns it.
#[wasm_bindgen(js_name = publicKeyEncrypt)]
pub fn public_key_encrypt(
    #[wasm_bindgen(js_name = spkiDer)] spki_der: &[u8],
    plaintext: Vec<u8>,
    #[wasm_bindgen(unchecked_param_type = "\"RSAES_OAEP_SHA_256\" | \"RSAES_OAEP_SHA_1\"")]
    algorithm: &str,
) -> Result<Uint8Array, JsValue> {
    let plaintext = Zeroizing::new(plaintext);
    let key = pk::PublicKey::from_spki_der(spki_der).map_err(from_envelope)?;
    encrypt_with(&key, plaintext, algorithm)
}

/// Verifies a KMS signature: RSASSA_PSS_SHA_256/384/512, RSASSA_PKCS1_V1_5_SHA_256/384/512,
/// ECDSA_SHA_256 (P-256), ECDSA_SHA_384 (P-384), ECDSA_SHA_512 (P-521); `messageType` is
/// `RAW` (default) or `DIGEST`; ECDSA signatures are DER as KMS returns them.
#[wasm_bindgen]
pub fn verify(
    #[wasm_bindgen(js_name = spkiDer)] spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
    #[wasm_bindgen(js_name = signingAlgorithm)] signing_algorithm: &str,
    #[wasm_bindgen(js_name = messageType)] message_type: Option<String>,
) -> Result<bool, JsValue> {
    let key = pk::PublicKey::from_spki_der(spki_der).map_err(from_envelope)?;
    verify_with(&key, message, signature, signing_algorithm, message_type)
}

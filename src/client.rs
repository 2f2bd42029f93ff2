//! `KmsClient`: the KMS operations a browser or Node client needs, over `fetch` with SigV4.

use std::sync::Arc;

use js_sys::{Object, Promise};
use kms_api::client::ClientResponse;
use kms_api::json::ObjectWriter;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use zeroize::Zeroizing;

use crate::convert::{
    context_field, field, promise, required_string, set, string_field, strings_field, to_uint8,
    uint_field,
};
use crate::error::invalid;
use crate::handle::{hand_over, Shared};
use crate::public_key::PublicKey;
use crate::transport::{key_request, FetchKmsClient, DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BASE_MS};
use crate::typings::{
    options_or_undefined, GenerateDataKeyOptions, GetPublicKeyOptions, KmsDecryptOptions,
    KmsEncryptOptions,
};

/// A KMS client: `new KmsClient({ endpoint, region, credentials: { accessKeyId,
/// secretAccessKey, sessionToken? }, maxAttempts?, retryBaseDelayMs? })`.
///
/// Requests are signed with SigV4 and sent with the global `fetch`. Failures reject with a
/// `KmsError` whose `code` is the AWS exception name. Throttling and 5xx responses are
/// retried with full jitter (`maxAttempts` tries in all, default 3); nothing else is.
#[wasm_bindgen]
pub struct KmsClient {
    pub(crate) inner: Arc<FetchKmsClient>,
}

#[wasm_bindgen]
impl KmsClient {
    /// Creates a client; throws a `KmsError` (`ValidationException`) for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "KmsClientOptions")] options: JsValue,
    ) -> Result<KmsClient, JsValue> {
        let endpoint = required_string(&options, "endpoint")?;
        let region = required_string(&options, "region")?;
        let creds =
            field(&options, "credentials").ok_or_else(|| invalid("credentials is required"))?;
        let access_key_id = required_string(&creds, "accessKeyId")?;
        let secret = Zeroizing::new(required_string(&creds, "secretAccessKey")?);
        let session_token = string_field(&creds, "sessionToken")?;
        let attempts =
            uint_field(&options, "maxAttempts", 10)?.unwrap_or(DEFAULT_MAX_ATTEMPTS.into());
        let base = uint_field(&options, "retryBaseDelayMs", 60_000)?
            .unwrap_or(DEFAULT_RETRY_BASE_MS.into());
        // Both bounded above by uint_field.
        let inner = FetchKmsClient::new(
            &endpoint,
            region,
            access_key_id,
            secret,
            session_token,
            attempts as u32,
            base as u32,
        )
        .map_err(|e| invalid(&e))?;
        Ok(KmsClient { inner: Arc::new(inner) })
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = "__handle", skip_typescript)]
    pub fn handle(&self) {
        hand_over(Shared::Client(self.inner.clone()));
    }

    /// KMS `GenerateDataKey`: `{ keyId, plaintext, ciphertextBlob }`. Options:
    /// `numberOfBytes` or `keySpec` (`AES_256` by default), `encryptionContext`, `grantTokens`.
    #[wasm_bindgen(
        js_name = generateDataKey,
        unchecked_return_type = "Promise<{ keyId: string, plaintext: Uint8Array, ciphertextBlob: Uint8Array }>"
    )]
    pub fn generate_data_key(
        &self,
        #[wasm_bindgen(js_name = keyId)] key_id: String,
        options: Option<GenerateDataKeyOptions>,
    ) -> Result<Promise, JsValue> {
        let options = options_or_undefined(options);
        let number_of_bytes = uint_field(&options, "numberOfBytes", 1024)?.map(|n| n as i64);
        let key_spec = string_field(&options, "keySpec")?;
        let key_spec = match (number_of_bytes, key_spec) {
            (None, None) => Some("AES_256".to_owned()),
            (_, spec) => spec,
        };
        let mut request = request(Some(&key_id), &options, None)?;
        if let Some(n) = number_of_bytes {
            request.integer("NumberOfBytes", n);
        }
        if let Some(spec) = &key_spec {
            request.string("KeySpec", spec);
        }
        Ok(call_promise(&self.inner, "GenerateDataKey", request, |r| {
            let out = Object::new();
            set(&out, "keyId", &r.key_id.unwrap_or_default().into());
            let plaintext = r.plaintext.unwrap_or_default();
            set(&out, "plaintext", &to_uint8(plaintext.expose_secret()));
            set(&out, "ciphertextBlob", &to_uint8(&r.ciphertext_blob.unwrap_or_default().0));
            Ok(out.into())
        }))
    }

    /// KMS `Encrypt`: `{ keyId, ciphertextBlob, encryptionAlgorithm }`. Options:
    /// `encryptionContext`, `grantTokens`, `encryptionAlgorithm`.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ keyId: string, ciphertextBlob: Uint8Array, encryptionAlgorithm: string }>"
    )]
    pub fn encrypt(
        &self,
        #[wasm_bindgen(js_name = keyId)] key_id: String,
        plaintext: Vec<u8>,
        options: Option<KmsEncryptOptions>,
    ) -> Result<Promise, JsValue> {
        let options = options_or_undefined(options);
        let plaintext = Zeroizing::new(plaintext);
        let request = request(Some(&key_id), &options, Some(("Plaintext", &plaintext)))?;
        Ok(call_promise(&self.inner, "Encrypt", request, |r| {
            let out = Object::new();
            set(&out, "keyId", &r.key_id.unwrap_or_default().into());
            set(&out, "ciphertextBlob", &to_uint8(&r.ciphertext_blob.unwrap_or_default().0));
            set(&out, "encryptionAlgorithm", &r.encryption_algorithm.unwrap_or_default().into());
            Ok(out.into())
        }))
    }

    /// KMS `Decrypt`: `{ keyId, plaintext, encryptionAlgorithm }`. Options: `keyId`,
    /// `encryptionContext`, `grantTokens`, `encryptionAlgorithm`.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ keyId: string, plaintext: Uint8Array, encryptionAlgorithm: string }>"
    )]
    pub fn decrypt(
        &self,
        #[wasm_bindgen(js_name = ciphertextBlob)] ciphertext_blob: Vec<u8>,
        options: Option<KmsDecryptOptions>,
    ) -> Result<Promise, JsValue> {
        let options = options_or_undefined(options);
        let key_id = string_field(&options, "keyId")?;
        let blob = Some(("CiphertextBlob", &ciphertext_blob[..]));
        let request = request(key_id.as_deref(), &options, blob)?;
        Ok(call_promise(&self.inner, "Decrypt", request, |r| {
            let out = Object::new();
            set(&out, "keyId", &r.key_id.unwrap_or_default().into());
            let plaintext = r.plaintext.unwrap_or_default();
            set(&out, "plaintext", &to_uint8(plaintext.expose_secret()));
            set(&out, "encryptionAlgorithm", &r.encryption_algorithm.unwrap_or_default().into());
            Ok(out.into())
        }))
    }

    /// KMS `GetPublicKey`: a {@link PublicKey} holding the SPKI and the key's allowed
    /// algorithms. Keep it to verify and encrypt without further calls.
    #[wasm_bindgen(js_name = getPublicKey, unchecked_return_type = "Promise<PublicKey>")]
    pub fn get_public_key(
        &self,
        #[wasm_bindgen(js_name = keyId)] key_id: String,
        options: Option<GetPublicKeyOptions>,
    ) -> Result<Promise, JsValue> {
        let options = options_or_undefined(options);
        let request = key_request(Some(&key_id), &Default::default(), &tokens(&options)?);
        Ok(call_promise(&self.inner, "GetPublicKey", request, |r| {
            let spki = r.public_key.ok_or_else(|| invalid("the response has no PublicKey"))?;
            let key = PublicKey::from_kms(
                &spki.0,
                r.key_id,
                r.key_spec,
                r.key_usage,
                r.encryption_algorithms,
                r.signing_algorithms,
            )?;
            Ok(key.into())
        }))
    }

    /// KMS `GenerateRandom`: `numberOfBytes` (1 to 1024) random bytes.
    #[wasm_bindgen(js_name = generateRandom, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn generate_random(
        &self,
        #[wasm_bindgen(js_name = numberOfBytes)] number_of_bytes: u32,
    ) -> Promise {
        let mut request = ObjectWriter::new();
        request.integer("NumberOfBytes", i64::from(number_of_bytes));
        call_promise(&self.inner, "GenerateRandom", request, |r| {
            Ok(to_uint8(r.plaintext.unwrap_or_default().expose_secret()).into())
        })
    }
}

/// A promise of `operation`'s response, turned into the promise's value by `to_js`. Every
/// method goes through this one async body: each async block is a state machine of its own
/// in the wasm module.
fn call_promise(
    inner: &Arc<FetchKmsClient>,
    operation: &'static str,
    request: ObjectWriter,
    to_js: fn(ClientResponse) -> Result<JsValue, JsValue>,
) -> Promise {
    let inner = inner.clone();
    promise(async move {
        let response = inner.call(operation, request).await.map_err(|e| e.to_js())?;
        to_js(response)
    })
}

/// The request of `GenerateDataKey` (no `blob`), `Encrypt` or `Decrypt`: `KeyId`, then
/// `EncryptionContext` and `GrantTokens` from `options`; with a `blob` (`Plaintext` or
/// `CiphertextBlob`), that member in base64 and `EncryptionAlgorithm` from `options`. One
/// body for the three methods.
fn request(
    key_id: Option<&str>,
    options: &JsValue,
    blob: Option<(&str, &[u8])>,
) -> Result<ObjectWriter, JsValue> {
    let context = context_field(options, "encryptionContext")?;
    let mut request = key_request(key_id, &context, &tokens(options)?);
    if let Some((member, bytes)) = blob {
        request.base64(member, bytes);
        if let Some(algorithm) = string_field(options, "encryptionAlgorithm")? {
            request.string("EncryptionAlgorithm", &algorithm);
        }
    }
    Ok(request)
}

fn tokens(options: &JsValue) -> Result<Vec<String>, JsValue> {
    strings_field(options, "grantTokens")
}

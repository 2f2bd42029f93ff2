//! The fetch implementation of kms-envelope's `KmsClient`: AWS JSON 1.1 requests signed with
//! SigV4 (kms-api), sent through the global `fetch` (browsers and Node 20+), retried with
//! full jitter on throttling and 5xx responses only.

use async_trait::async_trait;
use js_sys::{Function, Object, Promise, Uint8Array};
use kms_api::sigv4::{self, Credentials};
use kms_api::types as api;
use kms_api::{Blob, SecretBlob};
use kms_envelope::kms::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyRequest,
    GenerateDataKeyResponse, KmsClient, KmsClientError,
};
use kms_envelope::materials::PlaintextDataKey;
use rand_core::{OsRng, RngCore};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use crate::convert::{set, to_uint8};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;

    /// The fetch `Response` (only what is used here).
    type FetchResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;
    #[wasm_bindgen(method, js_name = arrayBuffer)]
    fn array_buffer(this: &FetchResponse) -> Promise;
}

/// Default number of attempts per call (the first try plus retries).
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default base of the exponential backoff, in milliseconds.
pub(crate) const DEFAULT_RETRY_BASE_MS: u32 = 100;
/// Longest wait between attempts, in milliseconds.
const RETRY_CAP_MS: u32 = 5_000;

/// A failed call: the AWS exception name (or a transport code), the message, the HTTP
/// status (0 without a response).
#[derive(Debug, Clone)]
pub(crate) struct CallError {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) status: u16,
}

impl CallError {
    fn new(code: &str, message: impl Into<String>, status: u16) -> Self {
        Self { code: code.to_owned(), message: message.into(), status }
    }

    /// Throttling and server errors are worth another try; nothing else is.
    fn is_retryable(&self) -> bool {
        self.status >= 500 || self.status == 429 || self.code == "ThrottlingException"
    }

    /// The JS `KmsError`.
    pub(crate) fn to_js(&self) -> JsValue {
        crate::error::kms_error(&self.code, &self.message, self.status)
    }
}

impl From<CallError> for KmsClientError {
    fn from(e: CallError) -> Self {
        KmsClientError { code: e.code, message: e.message }
    }
}

/// Where and as whom to call KMS.
pub(crate) struct FetchKmsClient {
    url: String,
    host: String,
    path: String,
    region: String,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<String>,
    max_attempts: u32,
    retry_base_ms: u32,
}

/// The parts of an endpoint URL that SigV4 signs.
fn split_endpoint(endpoint: &str) -> Result<(String, String, String), String> {
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| format!("endpoint {endpoint:?} must start with http:// or https://"))?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(format!("endpoint {endpoint:?} must start with http:// or https://")),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], &rest[i..]),
        Some(_) => return Err("the endpoint must not have a query or fragment".into()),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.contains(['?', '#']) {
        return Err(format!("endpoint {endpoint:?} is not a plain http(s) URL"));
    }
    // fetch sends the Host header without the scheme's default port.
    let host = authority.strip_suffix(default_port).unwrap_or(authority).to_ascii_lowercase();
    Ok((format!("{scheme}://{authority}{path}"), host, path.to_owned()))
}

impl FetchKmsClient {
    /// A client for `endpoint` (e.g. `http://127.0.0.1:7080`) in `region`.
    #[allow(clippy::too_many_arguments)] // One flat constructor, called once from the JS options.
    pub(crate) fn new(
        endpoint: &str,
        region: String,
        access_key_id: String,
        secret_access_key: Zeroizing<String>,
        session_token: Option<String>,
        max_attempts: u32,
        retry_base_ms: u32,
    ) -> Result<Self, String> {
        let (url, host, path) = split_endpoint(endpoint)?;
        if region.is_empty() || access_key_id.is_empty() || secret_access_key.is_empty() {
            return Err("region and credentials must not be empty".into());
        }
        Ok(Self {
            url,
            host,
            path,
            region,
            access_key_id,
            secret_access_key,
            session_token,
            max_attempts: max_attempts.max(1),
            retry_base_ms,
        })
    }

    /// Calls `operation` with `request`, retrying throttling and 5xx responses.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        operation: &str,
        request: &Req,
    ) -> Result<Resp, CallError> {
        let body = Zeroizing::new(
            serde_json::to_vec(request)
                .map_err(|e| CallError::new("SerializationException", e.to_string(), 0))?,
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(operation, &body).await {
                Ok(bytes) => {
                    // Operations without output (CreateAlias, ...) send an empty body.
                    let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
                    return serde_json::from_slice(bytes).map_err(|e| {
                        CallError::new("SerializationException", format!("bad response: {e}"), 0)
                    });
                }
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    sleep_ms(self.backoff_ms(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Full jitter: a random wait in `[0, min(cap, base * 2^(attempt-1))]`.
    fn backoff_ms(&self, attempt: u32) -> u32 {
        let ceiling =
            self.retry_base_ms.saturating_mul(1 << (attempt - 1).min(16)).min(RETRY_CAP_MS);
        if ceiling == 0 {
            return 0;
        }
        OsRng.next_u32() % (ceiling + 1)
    }

    async fn send_once(
        &self,
        operation: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CallError> {
        let target = format!("{}{operation}", kms_api::TARGET_PREFIX);
        let headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
            ("x-amz-target".to_owned(), target),
        ];
        let creds = Credentials {
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            session_token: self.session_token.as_deref(),
        };
        let now_seconds = (js_sys::Date::now() / 1000.0) as i64;
        let signed = sigv4::sign(
            "POST",
            &self.path,
            "",
            &headers,
            body,
            &creds,
            &self.region,
            kms_api::SERVICE,
            now_seconds,
        )
        .map_err(|e| CallError::new("InvalidSignatureException", e.to_string(), 0))?;
        let header_object = Object::new();
        for (name, value) in signed.iter().filter(|(n, _)| n != "host") {
            set(&header_object, name, &value.as_str().into());
        }
        let init = Object::new();
        set(&init, "method", &"POST".into());
        set(&init, "headers", &header_object);
        let body_array = to_uint8(body);
        set(&init, "body", &body_array);
        let network = |e: JsValue| {
            let detail = js_sys::Error::from(e).message();
            CallError::new("NetworkError", format!("fetch failed: {detail}"), 0)
        };
        let promise = global_fetch(&self.url, &init).map_err(network)?;
        let response: FetchResponse =
            JsFuture::from(promise).await.map_err(network)?.unchecked_into();
        // The request body held a data key for Encrypt; clear the JS copy.
        body_array.fill(0, 0, body_array.length());
        let status = response.status();
        let buffer = JsFuture::from(response.array_buffer()).await.map_err(network)?;
        let array = Uint8Array::new(&buffer);
        let bytes = Zeroizing::new(array.to_vec());
        array.fill(0, 0, array.length());
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(parse_error(&bytes, status))
    }
}

/// `{"__type": "...", "message": "..."}`, or a generic error for anything else.
fn parse_error(body: &[u8], status: u16) -> CallError {
    match serde_json::from_slice::<kms_api::error::ErrorBody>(body) {
        Ok(b) => {
            let code = b.error_type.rsplit('#').next().unwrap_or(&b.error_type);
            let code = code.split(':').next().unwrap_or(code);
            CallError::new(code, b.message.unwrap_or_default(), status)
        }
        Err(_) => {
            let code = if status >= 500 { "KMSInternalException" } else { "UnknownError" };
            CallError::new(code, format!("HTTP {status}"), status)
        }
    }
}

/// Waits `ms` milliseconds (`setTimeout`, in browsers and Node).
async fn sleep_ms(ms: u32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, f64::from(ms));
    });
    // A promise resolved by a timer never rejects.
    let _ = JsFuture::from(promise).await;
}

fn context_option(
    context: &kms_envelope::materials::EncryptionContext,
) -> Option<api::EncryptionContext> {
    (!context.is_empty()).then(|| context.clone())
}

fn tokens_option(tokens: &[String]) -> Option<Vec<String>> {
    (!tokens.is_empty()).then(|| tokens.to_vec())
}

fn missing(member: &str) -> KmsClientError {
    KmsClientError {
        code: "SerializationException".into(),
        message: format!("the response has no {member}"),
    }
}

#[async_trait(?Send)]
impl KmsClient for FetchKmsClient {
    async fn generate_data_key(
        &self,
        request: GenerateDataKeyRequest<'_>,
    ) -> Result<GenerateDataKeyResponse, KmsClientError> {
        let body = api::GenerateDataKeyRequest {
            key_id: Some(request.key_id.to_owned()),
            number_of_bytes: Some(request.number_of_bytes as i64),
            encryption_context: context_option(request.encryption_context),
            grant_tokens: tokens_option(request.grant_tokens),
            ..Default::default()
        };
        let r: api::GenerateDataKeyResponse = self.call("GenerateDataKey", &body).await?;
        let plaintext: SecretBlob = r.plaintext.ok_or_else(|| missing("Plaintext"))?;
        Ok(GenerateDataKeyResponse {
            key_id: r.key_id.ok_or_else(|| missing("KeyId"))?,
            plaintext: PlaintextDataKey::new(plaintext.expose_secret().to_vec()),
            ciphertext_blob: r.ciphertext_blob.ok_or_else(|| missing("CiphertextBlob"))?.0,
        })
    }

    async fn encrypt(
        &self,
        request: EncryptRequest<'_>,
    ) -> Result<EncryptResponse, KmsClientError> {
        let body = api::EncryptRequest {
            key_id: Some(request.key_id.to_owned()),
            plaintext: Some(SecretBlob::new(request.plaintext.to_vec())),
            encryption_context: context_option(request.encryption_context),
            grant_tokens: tokens_option(request.grant_tokens),
            ..Default::default()
        };
        let r: api::EncryptResponse = self.call("Encrypt", &body).await?;
        Ok(EncryptResponse {
            key_id: r.key_id.ok_or_else(|| missing("KeyId"))?,
            ciphertext_blob: r.ciphertext_blob.ok_or_else(|| missing("CiphertextBlob"))?.0,
        })
    }

    async fn decrypt(
        &self,
        request: DecryptRequest<'_>,
    ) -> Result<DecryptResponse, KmsClientError> {
        let body = api::DecryptRequest {
            key_id: request.key_id.map(str::to_owned),
            ciphertext_blob: Some(Blob(request.ciphertext_blob.to_vec())),
            encryption_context: context_option(request.encryption_context),
            grant_tokens: tokens_option(request.grant_tokens),
            encryption_algorithm: request.encryption_algorithm.map(str::to_owned),
            ..Default::default()
        };
        let r: api::DecryptResponse = self.call("Decrypt", &body).await?;
        let plaintext: SecretBlob = r.plaintext.ok_or_else(|| missing("Plaintext"))?;
        Ok(DecryptResponse {
            key_id: r.key_id.ok_or_else(|| missing("KeyId"))?,
            plaintext: PlaintextDataKey::new(plaintext.expose_secret().to_vec()),
        })
    }
}

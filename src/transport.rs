//! The fetch implementation of kms-envelope's `KmsClient`: AWS JSON 1.1 requests signed with
//! SigV4 (kms-api), sent through the global `fetch` (browsers and Node 20+), retried with
//! full jitter on throttling and 5xx responses only.

use async_trait::async_trait;
use js_sys::{Function, Object, Promise, Uint8Array};
use kms_api::client::{parse_error_body, parse_response, ClientResponse};
use kms_api::json::ObjectWriter;
use kms_api::sigv4::{self, Credentials, SigV4Error};
use kms_envelope::kms::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyRequest,
    GenerateDataKeyResponse, KmsClient, KmsClientError,
};
use kms_envelope::materials::PlaintextDataKey;
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
        KmsClientError { code: e.code.into_boxed_str(), message: e.message, status: e.status }
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
    // Prefixes and single characters rather than str indexing or a str pattern search, whose
    // panic path would pull the formatting code into the wasm client.
    let (scheme, default_port, rest) = if let Some(rest) = endpoint.strip_prefix("http://") {
        ("http", ":80", rest)
    } else if let Some(rest) = endpoint.strip_prefix("https://") {
        ("https", ":443", rest)
    } else {
        return Err(format!("endpoint \"{endpoint}\" must start with http:// or https://"));
    };
    let (authority, path) = match rest.split_once('/') {
        Some((authority, tail)) => (authority, format!("/{tail}")),
        None => (rest, "/".to_owned()),
    };
    if authority.contains(['?', '#']) {
        return Err("the endpoint must not have a query or fragment".into());
    }
    if authority.is_empty() || authority.contains('@') || path.contains(['?', '#']) {
        return Err(format!("endpoint \"{endpoint}\" is not a plain http(s) URL"));
    }
    // fetch sends the Host header without the scheme's default port.
    let host = authority.strip_suffix(default_port).unwrap_or(authority).to_ascii_lowercase();
    Ok((format!("{scheme}://{authority}{path}"), host, path))
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

    /// Calls `operation` with the JSON `body`, retrying throttling and 5xx responses;
    /// returns the response body.
    pub(crate) async fn call_raw(
        &self,
        operation: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CallError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(operation, body).await {
                Ok(bytes) => return Ok(bytes),
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    sleep_ms(self.backoff_ms(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Calls `operation` with the request in `body`; decodes the members a client reads.
    pub(crate) async fn call(
        &self,
        operation: &str,
        body: ObjectWriter,
    ) -> Result<ClientResponse, CallError> {
        let bytes = self.call_raw(operation, &body.finish()).await?;
        parse_response(&bytes)
            .map_err(|e| CallError::new("SerializationException", format!("bad response: {e}"), 0))
    }

    /// Full jitter: a random wait in `[0, min(cap, base * 2^(attempt-1))]`.
    fn backoff_ms(&self, attempt: u32) -> u32 {
        let ceiling =
            self.retry_base_ms.saturating_mul(1 << (attempt - 1).min(16)).min(RETRY_CAP_MS);
        if ceiling == 0 {
            return 0;
        }
        let mut random = [0u8; 4];
        // Without randomness, wait the whole ceiling rather than fail the call.
        if kms_envelope::crypto::fill_random(&mut random).is_err() {
            return ceiling;
        }
        u32::from_le_bytes(random) % (ceiling + 1)
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
        .map_err(|e| CallError::new("InvalidSignatureException", sign_failure(&e), 0))?;
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

/// Why `sigv4::sign` refused the request. Only these errors can come from it with the
/// client's fixed headers; matching them here rather than using `SigV4Error`'s `Display`
/// keeps the server-side verification messages out of the wasm client.
fn sign_failure(error: &SigV4Error) -> String {
    match error {
        SigV4Error::MalformedCredential => {
            "the access key id and region must not contain '/', ',' or whitespace".into()
        }
        SigV4Error::InvalidDate => "the clock is outside the years 0000 to 9999".into(),
        _ => "the request could not be signed".into(),
    }
}

/// `{"__type": "...", "message": "..."}`, or a generic error for anything else.
fn parse_error(body: &[u8], status: u16) -> CallError {
    match parse_error_body(body) {
        Ok(b) => {
            let code = kms_api::error::exception_name(&b.error_type);
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

/// The members every data-key request shares: key, context and grant tokens.
pub(crate) fn key_request(
    key_id: Option<&str>,
    context: &kms_envelope::materials::EncryptionContext,
    grant_tokens: &[String],
) -> ObjectWriter {
    let mut body = ObjectWriter::new();
    if let Some(key_id) = key_id {
        body.string("KeyId", key_id);
    }
    if !context.is_empty() {
        body.string_map("EncryptionContext", context);
    }
    if !grant_tokens.is_empty() {
        body.strings("GrantTokens", grant_tokens);
    }
    body
}

/// A response without a member the call needs: status 0, as for a response that is not
/// JSON (`FetchKmsClient::call`).
fn missing(member: &str) -> KmsClientError {
    KmsClientError {
        code: "SerializationException".into(),
        message: format!("the response has no {member}"),
        status: 0,
    }
}

/// What the data-key operations read from KMS's answer (a member not asked for is empty).
struct KeyAnswer {
    key_id: String,
    plaintext: PlaintextDataKey,
    ciphertext_blob: Vec<u8>,
}

/// Takes the members a data-key operation must answer with from KMS's response:
/// `Plaintext` when `plaintext`, then `KeyId`, then `CiphertextBlob` when `blob`. The three
/// trait methods share this one plain function after awaiting [`FetchKmsClient::call`]
/// themselves (another async body between them would be one more state machine in wasm).
fn key_answer(r: ClientResponse, plaintext: bool, blob: bool) -> Result<KeyAnswer, KmsClientError> {
    let plaintext = match (plaintext, r.plaintext) {
        (false, _) => PlaintextDataKey::new(Vec::new()),
        (true, Some(p)) => PlaintextDataKey::new(p.expose_secret().to_vec()),
        (true, None) => return Err(missing("Plaintext")),
    };
    let key_id = r.key_id.ok_or_else(|| missing("KeyId"))?;
    let ciphertext_blob = match (blob, r.ciphertext_blob) {
        (false, _) => Vec::new(),
        (true, Some(b)) => b.0,
        (true, None) => return Err(missing("CiphertextBlob")),
    };
    Ok(KeyAnswer { key_id, plaintext, ciphertext_blob })
}

#[async_trait(?Send)]
impl KmsClient for FetchKmsClient {
    async fn generate_data_key(
        &self,
        request: GenerateDataKeyRequest<'_>,
    ) -> Result<GenerateDataKeyResponse, KmsClientError> {
        let mut body =
            key_request(Some(request.key_id), request.encryption_context, request.grant_tokens);
        body.integer("NumberOfBytes", request.number_of_bytes as i64);
        let a = key_answer(self.call("GenerateDataKey", body).await?, true, true)?;
        Ok(GenerateDataKeyResponse {
            key_id: a.key_id,
            plaintext: a.plaintext,
            ciphertext_blob: a.ciphertext_blob,
        })
    }

    async fn encrypt(
        &self,
        request: EncryptRequest<'_>,
    ) -> Result<EncryptResponse, KmsClientError> {
        let mut body =
            key_request(Some(request.key_id), request.encryption_context, request.grant_tokens);
        body.base64("Plaintext", request.plaintext);
        let a = key_answer(self.call("Encrypt", body).await?, false, true)?;
        Ok(EncryptResponse { key_id: a.key_id, ciphertext_blob: a.ciphertext_blob })
    }

    async fn decrypt(
        &self,
        request: DecryptRequest<'_>,
    ) -> Result<DecryptResponse, KmsClientError> {
        let mut body =
            key_request(request.key_id, request.encryption_context, request.grant_tokens);
        body.base64("CiphertextBlob", request.ciphertext_blob);
        if let Some(algorithm) = request.encryption_algorithm {
            body.string("EncryptionAlgorithm", algorithm);
        }
        let a = key_answer(self.call("Decrypt", body).await?, true, false)?;
        Ok(DecryptResponse { key_id: a.key_id, plaintext: a.plaintext })
    }
}

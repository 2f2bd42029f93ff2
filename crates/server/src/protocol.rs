//! The AWS JSON 1.1 front: `POST /` with `X-Amz-Target: TrentService.<Operation>`.
//!
//! Order of checks: body size, SigV4 authentication, operation name, JSON decoding,
//! then the operation. Every response carries `x-amzn-RequestId`; errors are
//! `{"__type", "message"}` with AWS's HTTP status.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use kms_api::{ErrorCode, KmsError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::ops::{self, Ctx};
use crate::state::AppState;

/// Largest request body accepted (the largest legitimate one, a 32 KB policy, is far smaller).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The request id header.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";

/// The router: the KMS endpoint, CORS preflight, and a health check.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(handle))
        .route("/healthz", get(|| async { "ok" }))
        .layer(cors())
        .with_state(state)
}

fn cors() -> CorsLayer {
    let allowed = [
        "authorization",
        "content-type",
        "x-amz-date",
        "x-amz-target",
        "x-amz-security-token",
        "x-amz-user-agent",
        "x-amz-content-sha256",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    ]
    .map(HeaderName::from_static);
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(allowed)
        .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
        .max_age(std::time::Duration::from_secs(86_400))
}

fn error_response(error: &KmsError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
    with_headers(status, body, request_id)
}

fn with_headers(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kms_api::CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
    }
    response
}

async fn handle(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let operation =
        headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let source_ip = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let outcome = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        // IAM and STS speak the query protocol on the same endpoint.
        Ok(bytes) if crate::iam::query::is_query_request(&headers) => {
            return crate::iam::query::serve(
                &state,
                source_ip,
                &uri,
                &headers,
                &bytes,
                &request_id,
            )
            .await;
        }
        Ok(bytes) => serve(&state, source_ip, &uri, &headers, &operation, &bytes).await,
        Err(_) => Err(KmsError::new(
            ErrorCode::RequestEntityTooLargeException,
            format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
        )),
    };
    match outcome {
        Ok(body) => {
            tracing::info!(request_id, operation, status = 200, "request");
            with_headers(StatusCode::OK, body, &request_id)
        }
        Err(error) => {
            tracing::info!(
                request_id,
                operation,
                status = error.code.http_status(),
                error = error.code.as_str(),
                "request"
            );
            error_response(&error, &request_id)
        }
    }
}

async fn serve(
    state: &AppState,
    source_ip: Option<IpAddr>,
    uri: &Uri,
    headers: &HeaderMap,
    target: &str,
    body: &Bytes,
) -> Result<Vec<u8>, KmsError> {
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut auth = state.accounts.authenticate(
        state.clock.now_ms(),
        "POST",
        uri.path(),
        uri.query().unwrap_or_default(),
        &header_list,
        body,
    )?;
    // aws:SourceIp; this server speaks plain HTTP, so aws:SecureTransport stays false.
    auth.principal.env.source_ip = source_ip;
    auth.principal.env.region.clone_from(&auth.region);
    let ctx = Ctx { state, caller: &auth.principal, region: &auth.region };
    if target == crate::authz::explain::TARGET {
        let request = decode(body)?;
        return encode(&crate::authz::explain::explain_access(&ctx, request).await?);
    }
    let operation = target.strip_prefix(kms_api::TARGET_PREFIX).unwrap_or_default();
    dispatch(&ctx, operation, body).await.map_err(|e| match e {
        Dispatch::Unknown if NOT_YET_SUPPORTED.contains(&operation) => KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{operation} is not supported by this server yet"),
        ),
        Dispatch::Unknown => KmsError::bare(ErrorCode::UnknownOperationException),
        Dispatch::Failed(e) => e,
    })
}

/// AWS KMS operations this server does not implement yet: they get a clear
/// `UnsupportedOperationException` rather than `UnknownOperationException`.
const NOT_YET_SUPPORTED: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "CreateGrant",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "GetKeyLastUsage",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListGrants",
    "ListRetirableGrants",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "Sign",
    "UpdateCustomKeyStore",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

enum Dispatch {
    Unknown,
    Failed(KmsError),
}

impl From<KmsError> for Dispatch {
    fn from(e: KmsError) -> Self {
        Dispatch::Failed(e)
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|e| {
        let message = if e.is_syntax() || e.is_eof() {
            "Request body is not valid JSON".to_owned()
        } else {
            // serde's data errors name the member type, never a secret value: blob
            // members fail with a fixed message.
            format!("Request body does not match the operation's input shape: {e}")
        };
        KmsError::new(ErrorCode::SerializationException, message)
    })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, KmsError> {
    let body = serde_json::to_vec(value).map_err(|e| ops::internal("cannot encode response", e))?;
    // Operations without output send an empty body, as AWS does.
    Ok(if body == b"null" { Vec::new() } else { body })
}

macro_rules! operations {
    ($ctx:ident, $name:ident, $body:ident; $( $op:literal => $handler:expr ),+ $(,)?) => {
        match $name {
            $( $op => encode(&($handler)(decode($body)?).await?)?, )+
            _ => return Err(Dispatch::Unknown),
        }
    };
}

async fn dispatch(ctx: &Ctx<'_>, name: &str, body: &[u8]) -> Result<Vec<u8>, Dispatch> {
    use ops::{aliases, crypto, keys, policy, rotation, tags};
    Ok(operations! { ctx, name, body;
        "CreateKey" => |r| keys::create_key(ctx, r),
        "DescribeKey" => |r| keys::describe_key(ctx, r),
        "ListKeys" => |r| keys::list_keys(ctx, r),
        "EnableKey" => |r| keys::enable_key(ctx, r),
        "DisableKey" => |r| keys::disable_key(ctx, r),
        "UpdateKeyDescription" => |r| keys::update_key_description(ctx, r),
        "ScheduleKeyDeletion" => |r| keys::schedule_key_deletion(ctx, r),
        "CancelKeyDeletion" => |r| keys::cancel_key_deletion(ctx, r),
        "CreateAlias" => |r| aliases::create_alias(ctx, r),
        "UpdateAlias" => |r| aliases::update_alias(ctx, r),
        "DeleteAlias" => |r| aliases::delete_alias(ctx, r),
        "ListAliases" => |r| aliases::list_aliases(ctx, r),
        "TagResource" => |r| tags::tag_resource(ctx, r),
        "UntagResource" => |r| tags::untag_resource(ctx, r),
        "ListResourceTags" => |r| tags::list_resource_tags(ctx, r),
        "Encrypt" => |r| crypto::encrypt(ctx, r),
        "Decrypt" => |r| crypto::decrypt(ctx, r),
        "ReEncrypt" => |r| crypto::re_encrypt(ctx, r),
        "GenerateDataKey" => |r| crypto::generate_data_key(ctx, r, true),
        "GenerateDataKeyWithoutPlaintext" => |r| crypto::generate_data_key(ctx, r, false),
        "GenerateRandom" => |r| crypto::generate_random(ctx, r),
        "EnableKeyRotation" => |r| rotation::enable_key_rotation(ctx, r),
        "DisableKeyRotation" => |r| rotation::disable_key_rotation(ctx, r),
        "GetKeyRotationStatus" => |r| rotation::get_key_rotation_status(ctx, r),
        "RotateKeyOnDemand" => |r| rotation::rotate_key_on_demand(ctx, r),
        "ListKeyRotations" => |r| rotation::list_key_rotations(ctx, r),
        "GetKeyPolicy" => |r| policy::get_key_policy(ctx, r),
        "PutKeyPolicy" => |r| policy::put_key_policy(ctx, r),
        "ListKeyPolicies" => |r| policy::list_key_policies(ctx, r),
    })
}

//! The AWS JSON 1.1 front: `POST /` with `X-Amz-Target: TrentService.<Operation>`.
//!
//! Order of checks: body size, SigV4 authentication, operation name, JSON decoding,
//! then the operation. Every response carries `x-amzn-RequestId`; errors are
//! `{"__type", "message"}` with AWS's HTTP status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kms_api::{ErrorCode, KmsError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::audit::log::Serving;
use crate::audit::{self, AuditError, AuditLog};
use crate::auth::Principal;
use crate::authz::record::DecisionLog;
use crate::iam::query::QueryCall;
use crate::listener::Peer;
use crate::ops::{self, Ctx};
use crate::state::AppState;

/// Largest request body accepted (the largest legitimate one, a 32 KB policy, is far smaller).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The `eventSource` of the trail's records for this API.
pub const EVENT_SOURCE: &str = "kms.amazonaws.com";
/// The Region recorded for a request that names none.
const DEFAULT_REGION: &str = "us-east-1";
/// The request id header.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";

/// The router: the KMS endpoint, CORS preflight, and a health check.
pub fn router(state: Arc<AppState>) -> Router {
    router_with_site(state, None)
}

/// [`router`], plus the static demo site (`GET /`, `GET /pkg/...`) when one is given.
pub fn router_with_site(state: Arc<AppState>, site: Option<crate::site::StaticSite>) -> Router {
    let mut router =
        Router::new().route("/", post(handle)).route("/healthz", get(|| async { "ok" }));
    if let Some(site) = site {
        router = router.merge(site.routes());
    }
    router.layer(cors()).with_state(state)
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

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // Each call runs in a task of its own: a client that goes away mid-call must not cancel
    // it between a committed change and that change's audit record.
    match tokio::spawn(handle_call(state, request)).await {
        Ok(response) => response,
        Err(failed) => {
            tracing::error!(error = %failed, "a request task failed");
            let error = KmsError::new(ErrorCode::KMSInternalException, "internal error".to_owned());
            error_response(&error, &audit::ids::new_id())
        }
    }
}

async fn handle_call(state: Arc<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = audit::ids::new_id();
    let time_ms = state.clock.now_ms();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let peer = parts.extensions.get::<ConnectInfo<Peer>>().map(|c| c.0);
    let mut seen = Seen::default();
    let body = tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES))
        .await
        .map_err(|_| BodyUnread::TimedOut)
        .and_then(|read| read.map_err(|_| BodyUnread::TooLarge));
    // The trail, and this call's note that its record is coming (the writer waits a little
    // for records of calls being served, so that one sync covers them). Taken once the body
    // is in, so a client that sends it slowly holds no batch open.
    let audit = state.audit.as_deref().map(|log| (log, log.serving()));
    let (bytes, outcome) = match body {
        // IAM and STS speak the query protocol on the same endpoint.
        Ok(bytes) if crate::iam::query::is_query_request(&parts.headers) => {
            let mut call = QueryCall::default();
            let response = crate::iam::query::serve(
                &state,
                peer,
                &parts.uri,
                &parts.headers,
                &bytes,
                &request_id,
                &mut call,
            )
            .await;
            if let Some((log, serving)) = audit {
                let recorded =
                    record_query(log, serving, &call, time_ms, &parts.headers, peer, &request_id);
                if let Err(error) = recorded.await {
                    tracing::error!(%error, "cannot write the audit trail");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "audit trail unavailable")
                        .into_response();
                }
            }
            return response;
        }
        // CloudTrail's LookupEvents reads the audit trail on the same endpoint.
        Ok(bytes) if audit::lookup_api::is_cloudtrail(&operation) => {
            return serve_cloudtrail(
                &state,
                audit,
                &parts,
                peer,
                &operation,
                &bytes,
                &request_id,
                time_ms,
            )
            .await;
        }
        Ok(bytes) => {
            let outcome =
                serve(&state, peer, &parts.uri, &parts.headers, &operation, &bytes, &mut seen)
                    .await;
            (bytes, outcome)
        }
        Err(BodyUnread::TooLarge) => (
            Bytes::new(),
            Err(KmsError::new(
                ErrorCode::RequestEntityTooLargeException,
                format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
            )),
        ),
        Err(BodyUnread::TimedOut) => (
            Bytes::new(),
            Err(KmsError::new(
                ErrorCode::RequestTimeoutException,
                format!(
                    "The request body did not arrive within {} seconds",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )),
        ),
    };
    let outcome = match audit {
        Some((log, serving)) => {
            let source_ip = source_ip(peer);
            let operation = operation.rsplit('.').next().unwrap_or_default();
            let call = AuditedCall {
                time_ms,
                operation,
                event_source: EVENT_SOURCE,
                headers: &parts.headers,
                source_ip: &source_ip,
                seen: &seen,
                request: &bytes,
                outcome: match &outcome {
                    Ok(body) => Ok(body),
                    Err(e) => Err((e.code.as_str(), e.message.as_deref().unwrap_or_default())),
                },
                request_id: &request_id,
                tls: tls_details(peer, &parts.headers),
            };
            match record(log, serving, &call).await {
                Ok(()) => outcome,
                Err(e) => Err(ops::internal("cannot write the audit trail", e)),
            }
        }
        None => outcome,
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

/// Serves a CloudTrail call and records it like any other call.
#[allow(clippy::too_many_arguments)] // the parts of one request, as `handle` has them
async fn serve_cloudtrail(
    state: &AppState,
    audit: Option<(&AuditLog, Serving)>,
    parts: &axum::http::request::Parts,
    peer: Option<Peer>,
    target: &str,
    bytes: &Bytes,
    request_id: &str,
    time_ms: i64,
) -> Response {
    let mut seen = Seen::default();
    let served = audit::lookup_api::serve(
        state,
        peer,
        &parts.uri,
        &parts.headers,
        target,
        bytes,
        &seen.decisions,
    )
    .await;
    seen.principal = served.principal;
    seen.region = served.region;
    if let Some((log, serving)) = audit {
        let source_ip = source_ip(peer);
        let call = AuditedCall {
            time_ms,
            operation: &served.operation,
            event_source: audit::lookup_api::EVENT_SOURCE,
            headers: &parts.headers,
            source_ip: &source_ip,
            seen: &seen,
            request: bytes,
            outcome: match &served.outcome {
                Ok(body) => Ok(body),
                Err(e) => Err((e.code, &e.message)),
            },
            request_id,
            tls: tls_details(peer, &parts.headers),
        };
        if let Err(error) = record(log, serving, &call).await {
            tracing::error!(%error, "cannot write the audit trail");
            let failed = audit::lookup_api::ApiError::internal("cannot write the audit trail");
            return with_headers(StatusCode::INTERNAL_SERVER_ERROR, failed.body(), request_id);
        }
    }
    match served.outcome {
        Ok(body) => with_headers(StatusCode::OK, body, request_id),
        Err(e) => with_headers(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.body(),
            request_id,
        ),
    }
}

/// What authentication learnt about a request, for its audit record.
#[derive(Debug, Default)]
struct Seen {
    principal: Option<Principal>,
    region: Option<String>,
    /// The authorization decisions made while serving it.
    decisions: DecisionLog,
}

/// One finished call, as the audit trail needs it.
struct AuditedCall<'a> {
    time_ms: i64,
    /// The operation's name, e.g. `Encrypt`.
    operation: &'a str,
    event_source: &'a str,
    headers: &'a HeaderMap,
    source_ip: &'a str,
    seen: &'a Seen,
    request: &'a [u8],
    /// The response body, or the error's code and message.
    outcome: Result<&'a [u8], (&'a str, &'a str)>,
    request_id: &'a str,
    tls: Option<audit::event::TlsDetails<'a>>,
}

/// The client address an audit record names (loopback when the router runs without a socket).
fn source_ip(peer: Option<Peer>) -> String {
    peer.map_or_else(|| "127.0.0.1".to_owned(), |p| p.addr.ip().to_string())
}

/// The record's `tlsDetails` of a call that came over TLS.
pub(crate) fn tls_details(
    peer: Option<Peer>,
    headers: &HeaderMap,
) -> Option<audit::event::TlsDetails<'_>> {
    let session = peer?.tls?;
    Some(audit::event::TlsDetails {
        tls_version: session.version,
        cipher_suite: session.cipher_suite,
        key_exchange: session.key_exchange,
        client_provided_host_header: headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|host| capped(host, HOST_RECORDED_MAX_BYTES)),
    })
}

/// How long a client has to send a request's body once its headers are in.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a request's body could not be read.
enum BodyUnread {
    /// Longer than [`MAX_BODY_BYTES`] (or the connection failed while sending it).
    TooLarge,
    /// Not complete within [`BODY_READ_TIMEOUT`].
    TimedOut,
}

/// Most bytes of a request's `Host` header an audit record keeps (a host name and port fit).
const HOST_RECORDED_MAX_BYTES: usize = 255;
/// Most bytes of a request's `User-Agent` header an audit record keeps.
const USER_AGENT_RECORDED_MAX_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes (at a character boundary): headers are the caller's to
/// choose, even unauthenticated, and must not make records of hundreds of kilobytes.
fn capped(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    &text[..end]
}

/// Who called and from where, as an audit record names them: the authenticated principal, else
/// what the request's (unverified) `Authorization` header claims.
struct Caller<'a> {
    principal: Option<&'a Principal>,
    access_key_id: String,
    region: String,
    user_agent: &'a str,
}

impl<'a> Caller<'a> {
    fn of(headers: &'a HeaderMap, principal: Option<&'a Principal>, region: Option<&str>) -> Self {
        let header =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let user_agent = capped(header("user-agent"), USER_AGENT_RECORDED_MAX_BYTES);
        if let (Some(p), Some(region)) = (principal, region) {
            return Self {
                principal,
                access_key_id: p.access_key_id.clone(),
                region: region.to_owned(),
                user_agent,
            };
        }
        // Authentication failed: name what the request claimed.
        let claimed = kms_api::sigv4::Authorization::parse(header("authorization")).ok();
        Self {
            principal,
            access_key_id: principal
                .map(|p| p.access_key_id.clone())
                .or_else(|| claimed.as_ref().map(|c| c.access_key_id.clone()))
                .unwrap_or_default(),
            region: region
                .map(str::to_owned)
                .or_else(|| claimed.map(|c| c.region))
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            user_agent,
        }
    }
}

/// Appends the call's record to the trail; returns once it is durable.
async fn record(
    audit: &AuditLog,
    serving: Serving,
    call: &AuditedCall<'_>,
) -> Result<(), AuditError> {
    let (response, error) = match call.outcome {
        Ok(body) => (Some(body), None),
        Err(error) => (None, Some(error)),
    };
    let caller =
        Caller::of(call.headers, call.seen.principal.as_ref(), call.seen.region.as_deref());
    let event_id = audit::ids::new_id();
    let event = audit::event::build(&audit::Call {
        time_ms: call.time_ms,
        operation: call.operation,
        event_source: call.event_source,
        region: &caller.region,
        source_ip: call.source_ip,
        user_agent: caller.user_agent,
        principal: caller.principal,
        access_key_id: &caller.access_key_id,
        request: Some(call.request),
        response,
        error,
        authorization: &call.seen.decisions.take(),
        request_id: call.request_id,
        event_id: &event_id,
        tls: call.tls,
    });
    audit.append_served(serving, event, call.time_ms).await
}

/// Appends an IAM or STS call's record to the trail; returns once it is durable.
async fn record_query(
    audit: &AuditLog,
    serving: Serving,
    call: &QueryCall,
    time_ms: i64,
    headers: &HeaderMap,
    peer: Option<Peer>,
    request_id: &str,
) -> Result<(), AuditError> {
    let parameters: serde_json::Map<String, serde_json::Value> =
        call.parameters.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
    let request = serde_json::to_vec(&parameters).unwrap_or_default();
    let caller = Caller::of(headers, call.principal.as_ref(), call.region.as_deref());
    let event_id = audit::ids::new_id();
    let event_source = format!("{}.amazonaws.com", call.service);
    let event = audit::event::build(&audit::Call {
        time_ms,
        operation: &call.action,
        event_source: &event_source,
        region: &caller.region,
        source_ip: &source_ip(peer),
        user_agent: caller.user_agent,
        principal: caller.principal,
        access_key_id: &caller.access_key_id,
        request: Some(&request),
        response: None,
        error: call.error.as_ref().map(|(code, message)| (code.as_str(), message.as_str())),
        authorization: &[],
        request_id,
        event_id: &event_id,
        tls: tls_details(peer, headers),
    });
    audit.append_served(serving, event, time_ms).await
}

async fn serve(
    state: &AppState,
    peer: Option<Peer>,
    uri: &Uri,
    headers: &HeaderMap,
    target: &str,
    body: &Bytes,
    seen: &mut Seen,
) -> Result<Vec<u8>, KmsError> {
    let now_ms = state.clock.now_ms();
    let auth =
        state.accounts.authenticate_post(now_ms, uri, headers, body, kms_api::SERVICE, peer)?;
    seen.principal = Some(auth.principal.clone());
    seen.region = Some(auth.region.clone());
    if !state.serves_region(&auth.region) {
        return Err(KmsError::new(
            ErrorCode::InvalidSignatureException,
            format!("Credential should be scoped to a valid region, not '{}'. ", auth.region),
        ));
    }
    let ctx =
        Ctx { state, caller: &auth.principal, region: &auth.region, decisions: &seen.decisions };
    if let Some(operation) = target.strip_prefix(crate::replication::send::INTERNAL_TARGET_PREFIX) {
        return crate::replication::apply::handle(&ctx, operation, headers, body).await;
    }
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
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "GetKeyLastUsage",
    "UpdateCustomKeyStore",
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
    use ops::{asymmetric, data_key_pairs, grants, import, key_agreement, mac, multi_region};
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
        "GetPublicKey" => |r| asymmetric::get_public_key(ctx, r),
        "Sign" => |r| asymmetric::sign(ctx, r),
        "Verify" => |r| asymmetric::verify(ctx, r),
        "GenerateMac" => |r| mac::generate_mac(ctx, r),
        "VerifyMac" => |r| mac::verify_mac(ctx, r),
        "GenerateDataKeyPair" => |r| data_key_pairs::generate_data_key_pair(ctx, r, true),
        "GenerateDataKeyPairWithoutPlaintext" =>
            |r| data_key_pairs::generate_data_key_pair(ctx, r, false),
        "DeriveSharedSecret" => |r| key_agreement::derive_shared_secret(ctx, r),
        "GetParametersForImport" => |r| import::get_parameters_for_import(ctx, r),
        "ImportKeyMaterial" => |r| import::import_key_material(ctx, r),
        "DeleteImportedKeyMaterial" => |r| import::delete_imported_key_material(ctx, r),
        "CreateGrant" => |r| grants::create_grant(ctx, r),
        "ListGrants" => |r| grants::list_grants(ctx, r),
        "ListRetirableGrants" => |r| grants::list_retirable_grants(ctx, r),
        "RetireGrant" => |r| grants::retire_grant(ctx, r),
        "RevokeGrant" => |r| grants::revoke_grant(ctx, r),
        "ReplicateKey" => |r| multi_region::replicate_key(ctx, r),
        "UpdatePrimaryRegion" => |r| multi_region::update_primary_region(ctx, r),
    })
}

#[cfg(test)]
mod tests {
    use super::capped;

    #[test]
    fn recorded_headers_are_capped_at_a_character_boundary() {
        assert_eq!(capped("host:443", 255), "host:443");
        assert_eq!(capped(&"h".repeat(400_000), 255).len(), 255);
        // "é" is two bytes: a cut inside it moves back before it.
        assert_eq!(capped("aé", 2), "a");
        assert_eq!(capped("aé", 3), "aé");
    }
}

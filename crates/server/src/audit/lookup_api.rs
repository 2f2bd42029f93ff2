//! CloudTrail's `LookupEvents` on the KMS endpoint, so `aws cloudtrail lookup-events
//! --endpoint-url ...` and boto3's `cloudtrail` client read the trail.
//!
//! JSON 1.1 with `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.
//! LookupEvents`, signed with SigV4 for the service `cloudtrail`. The caller needs
//! `cloudtrail:LookupEvents` from its identity policies (account roots have it) and sees only
//! events of its own account: those its account received (its keys, or its own calls) or
//! that a principal of its account made. As in CloudTrail, at most one lookup attribute,
//! `MaxResults` 1 to 50 (default 50), newest first, and a `NextToken` that is valid only with
//! the same parameters. The calls are themselves recorded (CloudTrail records them as
//! management read events), after the look-up, so an answer never contains its own call.

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use kms_api::base64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lookup::{Filter, FoundEvent};
use crate::auth::Principal;
use crate::authz::context::RequestFacts;
use crate::authz::evaluate::evaluate_named;
use crate::authz::record::DecisionLog;
use crate::listener::Peer;
use crate::state::AppState;

/// Every CloudTrail target starts with this.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
/// The `eventSource` of the records of these calls.
pub const EVENT_SOURCE: &str = "cloudtrail.amazonaws.com";
/// The SigV4 service name.
const SERVICE: &str = "cloudtrail";
/// The IAM action.
const ACTION: &str = "cloudtrail:LookupEvents";
/// The most events one call returns.
const MAX_RESULTS: u32 = 50;
/// The longest attribute value CloudTrail accepts.
const MAX_ATTRIBUTE_VALUE_CHARS: usize = 2000;

/// Whether `target` (the `X-Amz-Target` header) is a CloudTrail operation.
pub fn is_cloudtrail(target: &str) -> bool {
    target.starts_with(TARGET_PREFIX)
}

/// A failed call, as CloudTrail names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The exception name, e.g. `InvalidLookupAttributesException`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, status: 400, message: message.into() }
    }

    /// A server-side failure (`InternalFailure`, HTTP 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self { code: "InternalFailure", status: 500, message: message.into() }
    }

    /// The JSON 1.1 error body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "__type": self.code, "message": self.message }))
            .unwrap_or_default()
    }
}

impl From<kms_api::KmsError> for ApiError {
    fn from(e: kms_api::KmsError) -> Self {
        Self {
            code: e.code.as_str(),
            status: e.code.http_status(),
            message: e.message.unwrap_or_default(),
        }
    }
}

/// What serving one call learnt, for its response and its audit record.
#[derive(Debug)]
pub struct Served {
    /// The operation name, e.g. `LookupEvents`.
    pub operation: String,
    /// The authenticated caller.
    pub principal: Option<Principal>,
    /// The Region of the credential scope.
    pub region: Option<String>,
    /// The response body, or the error.
    pub outcome: Result<Vec<u8>, ApiError>,
}

/// Serves one CloudTrail call.
pub async fn serve(
    state: &AppState,
    peer: Option<Peer>,
    uri: &Uri,
    headers: &HeaderMap,
    target: &str,
    body: &Bytes,
    decisions: &DecisionLog,
) -> Served {
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or_default().to_owned();
    let now_ms = state.clock.now_ms();
    let auth = match state.accounts.authenticate_post(now_ms, uri, headers, body, SERVICE, peer) {
        Ok(auth) => auth,
        Err(e) => {
            return Served { operation, principal: None, region: None, outcome: Err(e.into()) }
        }
    };
    let outcome = match operation.as_str() {
        "LookupEvents" => lookup_events(state, &auth.principal, body, decisions).await,
        _ => Err(ApiError::new(
            "UnknownOperationException",
            format!("{operation} is not supported by this server"),
        )),
    };
    Served { operation, principal: Some(auth.principal), region: Some(auth.region), outcome }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsRequest {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<Value>,
    end_time: Option<Value>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsResponse {
    events: Vec<EventOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventOut {
    event_id: String,
    event_name: String,
    read_only: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    event_time: i64,
    event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<ResourceOut>,
    cloud_trail_event: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceOut {
    resource_type: String,
    resource_name: String,
}

async fn lookup_events(
    state: &AppState,
    caller: &Principal,
    body: &[u8],
    decisions: &DecisionLog,
) -> Result<Vec<u8>, ApiError> {
    let decision = evaluate_named(caller, ACTION, "*", None, None, &RequestFacts::default());
    decisions.note_named(ACTION.to_owned(), "*", &decision);
    if !decision.allowed {
        return Err(ApiError::new(
            "AccessDeniedException",
            decision.denial_message_named(caller, ACTION, "*"),
        ));
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    let request: LookupEventsRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "SerializationException",
            format!("Request body is not a valid LookupEvents input: {e}"),
        )
    })?;
    let (filter, limit, insights_only) = parse(&request, &caller.account)?;
    let Some(log) = state.audit.clone() else {
        return Err(ApiError::new(
            "UnsupportedOperationException",
            "This server keeps no audit trail (it was started for a benchmark without one)",
        ));
    };
    let found = if insights_only {
        Vec::new()
    } else {
        // One more than asked for tells whether there is a next page.
        let wanted = filter.clone();
        tokio::task::spawn_blocking(move || log.lookup(&wanted, limit + 1))
            .await
            .map_err(|e| ApiError::internal(format!("look-up failed: {e}")))?
            .map_err(|e| {
                // The detail (file names) stays in the server log.
                tracing::error!(error = %e, "LookupEvents cannot read the audit trail");
                ApiError::internal("The audit trail cannot be read")
            })?
    };
    let more = found.len() > limit;
    let page: Vec<FoundEvent> = found.into_iter().take(limit).collect();
    let next_token = more
        .then(|| page.last().map(|last| next_token(last.seq, &request, &caller.account)))
        .flatten();
    let response =
        LookupEventsResponse { events: page.into_iter().map(event_out).collect(), next_token };
    serde_json::to_vec(&response)
        .map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))
}

fn event_out(found: FoundEvent) -> EventOut {
    let s = found.summary;
    EventOut {
        event_id: s.event_id,
        event_name: s.event_name,
        read_only: if s.read_only { "true" } else { "false" },
        access_key_id: s.access_key_id.filter(|k| !k.is_empty()),
        event_time: s.event_time_secs,
        event_source: s.event_source,
        username: s.username,
        resources: s
            .resources
            .into_iter()
            .map(|(kind, arn)| ResourceOut { resource_type: kind, resource_name: arn })
            .collect(),
        cloud_trail_event: found.body,
    }
}

/// The filter, page size and whether only Insights events were asked for.
fn parse(request: &LookupEventsRequest, account: &str) -> Result<(Filter, usize, bool), ApiError> {
    let mut filter = Filter { account: account.to_owned(), ..Filter::default() };
    let invalid_attributes = |m: String| ApiError::new("InvalidLookupAttributesException", m);
    if request.lookup_attributes.len() > 1 {
        return Err(invalid_attributes("You can specify at most one lookup attribute".to_owned()));
    }
    if let Some(attribute) = request.lookup_attributes.first() {
        let value = attribute.attribute_value.clone();
        let chars = value.chars().count();
        if chars == 0 || chars > MAX_ATTRIBUTE_VALUE_CHARS {
            return Err(invalid_attributes(format!(
                "AttributeValue must be between 1 and {MAX_ATTRIBUTE_VALUE_CHARS} characters long"
            )));
        }
        match attribute.attribute_key.as_str() {
            "EventId" => filter.event_id = Some(value),
            "EventName" => filter.event_name = Some(value),
            "Username" => filter.username = Some(value),
            "ResourceType" => filter.resource_type = Some(value),
            "ResourceName" => filter.key_arn = Some(value),
            "EventSource" => filter.event_source = Some(value),
            "AccessKeyId" => filter.access_key_id = Some(value),
            "ReadOnly" => {
                filter.read_only = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(invalid_attributes(
                            "The value of the ReadOnly attribute must be true or false".to_owned(),
                        ))
                    }
                });
            }
            other => {
                return Err(invalid_attributes(format!(
                    "Invalid AttributeKey {other}: must be one of EventId, EventName, ReadOnly, \
                     Username, ResourceType, ResourceName, EventSource, AccessKeyId"
                )))
            }
        }
    }
    filter.start_ms = request.start_time.as_ref().map(timestamp_ms).transpose()?;
    filter.end_ms = request.end_time.as_ref().map(timestamp_ms).transpose()?;
    if let (Some(start), Some(end)) = (filter.start_ms, filter.end_ms) {
        if start > end {
            return Err(ApiError::new(
                "InvalidTimeRangeException",
                "Start time must be earlier than or equal to the end time",
            ));
        }
    }
    let limit = match request.max_results {
        None => MAX_RESULTS,
        Some(n) => {
            u32::try_from(n).ok().filter(|n| (1..=MAX_RESULTS).contains(n)).ok_or_else(|| {
                ApiError::new(
                    "InvalidMaxResultsException",
                    format!("MaxResults must be between 1 and {MAX_RESULTS}"),
                )
            })?
        }
    };
    let insights_only = match request.event_category.as_deref() {
        None => false,
        Some("insight") => true,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidEventCategoryException",
                format!("Invalid EventCategory {other}: the only value is insight"),
            ))
        }
    };
    if let Some(token) = &request.next_token {
        filter.before_seq = Some(read_next_token(token, request, account)?);
    }
    Ok((filter, limit as usize, insights_only))
}

/// A JSON 1.1 timestamp: epoch seconds (a number, or a number in a string), or RFC 3339.
fn timestamp_ms(value: &Value) -> Result<i64, ApiError> {
    let invalid =
        || ApiError::new("InvalidTimeRangeException", format!("Invalid timestamp {value}"));
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp() as f64)
        }),
        _ => None,
    }
    .filter(|s| s.is_finite() && s.abs() < 1e13)
    .ok_or_else(invalid)?;
    // Bounded above, so the product fits an i64.
    #[allow(clippy::cast_possible_truncation)]
    Ok((seconds * 1000.0).floor() as i64)
}

/// What a page's parameters are, so a token only works with the parameters it came from.
fn fingerprint(request: &LookupEventsRequest, account: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut field = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    field(account.as_bytes());
    for attribute in &request.lookup_attributes {
        field(attribute.attribute_key.as_bytes());
        field(attribute.attribute_value.as_bytes());
    }
    for time in [&request.start_time, &request.end_time] {
        field(time.as_ref().map(Value::to_string).unwrap_or_default().as_bytes());
    }
    field(request.event_category.as_deref().unwrap_or_default().as_bytes());
    hex::encode(&ctx.finish().as_ref()[..12])
}

fn next_token(last_seq: u64, request: &LookupEventsRequest, account: &str) -> String {
    let text = format!("v1:{last_seq}:{}", fingerprint(request, account));
    base64::encode(text)
}

fn read_next_token(
    token: &str,
    request: &LookupEventsRequest,
    account: &str,
) -> Result<u64, ApiError> {
    let invalid = || {
        ApiError::new(
            "InvalidNextTokenException",
            "The NextToken is not valid, or was returned for different parameters",
        )
    };
    let text = base64::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    match (parts.next(), parts.next().and_then(|s| s.parse().ok()), parts.next(), parts.next()) {
        (Some("v1"), Some(seq), Some(print), None) if print == fingerprint(request, account) => {
            Ok(seq)
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: Value) -> LookupEventsRequest {
        serde_json::from_value(json).unwrap()
    }

    fn code(json: Value) -> &'static str {
        parse(&request(json), "111122223333").unwrap_err().code
    }

    #[test]
    fn parameters_are_checked_as_cloudtrail_does() {
        let two = serde_json::json!({"LookupAttributes": [
            {"AttributeKey": "EventName", "AttributeValue": "Decrypt"},
            {"AttributeKey": "Username", "AttributeValue": "root"}]});
        assert_eq!(code(two), "InvalidLookupAttributesException");
        let bad_key = serde_json::json!({"LookupAttributes": [
            {"AttributeKey": "Colour", "AttributeValue": "x"}]});
        assert_eq!(code(bad_key), "InvalidLookupAttributesException");
        let bad_read_only = serde_json::json!({"LookupAttributes": [
            {"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]});
        assert_eq!(code(bad_read_only), "InvalidLookupAttributesException");
        assert_eq!(
            code(serde_json::json!({"StartTime": 200, "EndTime": 100})),
            "InvalidTimeRangeException"
        );
        assert_eq!(code(serde_json::json!({"MaxResults": 51})), "InvalidMaxResultsException");
        assert_eq!(code(serde_json::json!({"MaxResults": 0})), "InvalidMaxResultsException");
        assert_eq!(code(serde_json::json!({"NextToken": "bm9wZQ=="})), "InvalidNextTokenException");
        assert_eq!(
            code(serde_json::json!({"EventCategory": "data"})),
            "InvalidEventCategoryException"
        );
    }

    #[test]
    fn attributes_and_times_become_a_filter() {
        let (filter, limit, insights) = parse(
            &request(serde_json::json!({
                "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "k1"}],
                "StartTime": 1.5, "EndTime": "1970-01-01T00:00:03Z", "MaxResults": 7,
            })),
            "111122223333",
        )
        .unwrap();
        assert_eq!(filter.key_arn.as_deref(), Some("k1"));
        assert_eq!((filter.start_ms, filter.end_ms), (Some(1500), Some(3000)));
        assert_eq!(filter.account, "111122223333");
        assert_eq!((limit, insights), (7, false));
    }

    #[test]
    fn a_next_token_only_works_with_the_parameters_it_came_from() {
        let first = request(serde_json::json!({"MaxResults": 2}));
        let token = next_token(41, &first, "111122223333");
        let same = request(serde_json::json!({"MaxResults": 2, "NextToken": token}));
        assert_eq!(parse(&same, "111122223333").unwrap().0.before_seq, Some(41));
        assert_eq!(parse(&same, "444455556666").unwrap_err().code, "InvalidNextTokenException");
        let other = request(serde_json::json!({
            "NextToken": token,
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}],
        }));
        assert_eq!(parse(&other, "111122223333").unwrap_err().code, "InvalidNextTokenException");
    }
}

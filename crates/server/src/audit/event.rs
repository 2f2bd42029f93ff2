//! One audit record in CloudTrail's event shape.
//!
//! Request and response members are copied only from an allowlist of names that never carry
//! secrets: plaintext, ciphertext, signatures, MACs, private keys, shared secrets, tokens and
//! imported key material are never written, whatever operation carries them. Member names
//! become lowerCamelCase as CloudTrail writes them; encryption-context maps keep their keys.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::ciphertext::BlobHeader;

/// CloudTrail's event version for records of this shape.
pub const EVENT_VERSION: &str = "1.08";

/// Request and response members that may be recorded (AWS KMS names).
const RECORDED_MEMBERS: &[&str] = &[
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomerMasterKeySpec",
    "DeletionDate",
    "Description",
    "DestinationEncryptionAlgorithm",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "DryRun",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "ExpirationModel",
    "GrantId",
    "GranteePrincipal",
    "KeyAgreementAlgorithm",
    "KeyId",
    "KeyMetadata",
    "KeyPairSpec",
    "KeyRotationEnabled",
    "KeySpec",
    "KeyState",
    "KeyUsage",
    "Limit",
    "MacAlgorithm",
    "Marker",
    "MessageType",
    "MultiRegion",
    "Name",
    "NumberOfBytes",
    "OnDemandRotationStartDate",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "PrimaryRegion",
    "ReplicaRegion",
    "RetiringPrincipal",
    "RotationPeriodInDays",
    "SignatureValid",
    "SigningAlgorithm",
    "SourceEncryptionAlgorithm",
    "SourceEncryptionContext",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
    "ValidTo",
    "MacValid",
    "WrappingAlgorithm",
    "WrappingKeySpec",
    // IAM and STS (query parameters, already filtered by `iam::query`).
    "AccessKeyId",
    "AssumeRolePolicyDocument",
    "DurationSeconds",
    "MaxItems",
    "MaxSessionDuration",
    "Path",
    "PolicyDocument",
    "RoleArn",
    "RoleName",
    "RoleSessionName",
    "Status",
    "UserName",
];

/// Everything known about one call when it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// When the request arrived, milliseconds since the epoch.
    pub time_ms: i64,
    /// The operation, e.g. `Encrypt` (empty if the request named none).
    pub operation: &'a str,
    /// `kms.amazonaws.com` (or the service of another API the server speaks).
    pub event_source: &'a str,
    /// The Region the request was signed for, or the server's default.
    pub region: &'a str,
    /// The peer address.
    pub source_ip: &'a str,
    /// The `User-Agent` header.
    pub user_agent: &'a str,
    /// The authenticated caller, if authentication succeeded.
    pub principal: Option<&'a Principal>,
    /// The access key the request claimed, even if authentication failed.
    pub access_key_id: &'a str,
    /// The request body as JSON, if it parsed.
    pub request: Option<&'a Value>,
    /// The response body as JSON, for a successful call.
    pub response: Option<&'a Value>,
    /// The error code and message of a failed call.
    pub error: Option<(&'a str, &'a str)>,
    /// The authorization decisions made for the call: why it was allowed or denied.
    pub authorization: &'a [Value],
    /// The request id returned to the caller.
    pub request_id: &'a str,
    /// This record's own id.
    pub event_id: &'a str,
}

/// The columns a record is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIndex {
    /// When, milliseconds since the epoch.
    pub time_ms: i64,
    /// The operation.
    pub event_name: String,
    /// The key the call was about, if known.
    pub key_arn: Option<String>,
    /// The caller's ARN, if authenticated.
    pub principal_arn: Option<String>,
    /// The account the key or caller belongs to.
    pub account: Option<String>,
    /// The event id.
    pub event_id: String,
    /// The access key that signed the request.
    pub access_key_id: String,
    /// Whether the call only reads.
    pub read_only: bool,
}

/// One record as CloudTrail writes it, serialised in this field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: Value,
    response_elements: Value,
    #[serde(skip_serializing_if = "Map::is_empty")]
    additional_event_data: Map<String, Value>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    resources: Vec<Resource<'a>>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: Option<&'a str>,
    event_category: &'static str,
}

/// An entry of `resources`.
#[derive(Serialize)]
struct Resource<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "ARN")]
    arn: &'a str,
}

/// Builds the CloudTrail-shaped event (as JSON text) and its index columns.
pub fn build(call: &Call<'_>) -> (String, EventIndex) {
    let key_arn = key_arn(call);
    let account = key_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .map(str::to_owned)
        .or_else(|| call.principal.map(|p| p.account.clone()));
    let read_only = is_read_only(call.operation);
    let event = Event {
        event_version: EVENT_VERSION,
        user_identity: user_identity(call),
        event_time: rfc3339(call.time_ms),
        event_source: call.event_source,
        event_name: call.operation,
        aws_region: call.region,
        source_ip_address: call.source_ip,
        user_agent: call.user_agent,
        error_code: call.error.map(|(code, _)| code),
        error_message: call.error.map(|(_, message)| message),
        request_parameters: call.request.map_or(Value::Null, recorded),
        response_elements: call.response.map_or(Value::Null, recorded),
        additional_event_data: additional_event_data(call),
        request_id: call.request_id,
        event_id: call.event_id,
        read_only,
        resources: key_arn
            .as_deref()
            .map(|arn| Resource {
                account_id: arn.split(':').nth(4).unwrap_or_default(),
                kind: "AWS::KMS::Key",
                arn,
            })
            .into_iter()
            .collect(),
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: account.as_deref(),
        event_category: "Management",
    };
    // A struct of strings, numbers and JSON values always serialises.
    let text = serde_json::to_string(&event).unwrap_or_default();
    let index = EventIndex {
        time_ms: call.time_ms,
        event_name: call.operation.to_owned(),
        key_arn,
        principal_arn: call.principal.map(|p| p.arn.clone()),
        account,
        event_id: call.event_id.to_owned(),
        access_key_id: call.access_key_id.to_owned(),
        read_only,
    };
    (text, index)
}

fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "List"].iter().any(|prefix| operation.starts_with(prefix))
}

/// `userIdentity`: who called, from the principal's ARN.
fn user_identity(call: &Call<'_>) -> Value {
    let Some(p) = call.principal else {
        return json!({ "type": "Unknown", "accessKeyId": call.access_key_id });
    };
    let resource = p.arn.split(':').nth(5).unwrap_or_default();
    let kind = if resource == "root" {
        "Root"
    } else if resource.starts_with("user/") {
        "IAMUser"
    } else if resource.starts_with("assumed-role/") {
        "AssumedRole"
    } else if resource.starts_with("federated-user/") {
        "FederatedUser"
    } else {
        "Unknown"
    };
    let mut identity = json!({
        "type": kind,
        "principalId": if kind == "Root" { p.account.clone() } else { resource.to_owned() },
        "arn": p.arn,
        "accountId": p.account,
        "accessKeyId": p.access_key_id,
    });
    if let Some(name) = resource.strip_prefix("user/") {
        identity["userName"] = json!(name.rsplit('/').next().unwrap_or(name));
    }
    if kind == "AssumedRole" {
        identity["sessionContext"] = json!({ "attributes": { "mfaAuthenticated": "false" } });
    }
    identity
}

/// The key the call concerned: the ARN the response names, else an ARN in the request.
fn key_arn(call: &Call<'_>) -> Option<String> {
    let is_key_arn = |v: &&str| v.starts_with("arn:") && v.contains(":key/");
    let from = |body: Option<&Value>, path: &[&str]| {
        let mut v = body?;
        for step in path {
            v = v.get(*step)?;
        }
        v.as_str().filter(is_key_arn).map(str::to_owned)
    };
    from(call.response, &["KeyId"])
        .or_else(|| from(call.response, &["KeyMetadata", "Arn"]))
        .or_else(|| from(call.request, &["KeyId"]))
        .or_else(|| from(call.request, &["TargetKeyId"]))
        .or_else(|| {
            // A failed Decrypt names no key, but its ciphertext does.
            let blob = call.request?.get("CiphertextBlob")?.as_str()?;
            let header = decode_blob_header(blob)?;
            Some(format!("arn:aws:kms:{}:{}:key/{}", call.region, header.account, header.key_id))
        })
}

/// The key material version of the KMS ciphertext the call read or wrote, if any.
fn additional_event_data(call: &Call<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    let blob = call
        .response
        .and_then(|r| r.get("CiphertextBlob"))
        .or_else(|| call.request.and_then(|r| r.get("CiphertextBlob")))
        .and_then(Value::as_str);
    if let Some(header) = blob.and_then(decode_blob_header) {
        out.insert("keyMaterialVersion".into(), json!(header.material_version));
    }
    if !call.authorization.is_empty() {
        out.insert("authorization".into(), Value::Array(call.authorization.to_vec()));
    }
    out
}

fn decode_blob_header(base64_blob: &str) -> Option<BlobHeader> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_blob).ok()?;
    BlobHeader::decode(&bytes).ok()
}

/// The allowlisted members of a request or response, renamed to lowerCamelCase.
fn recorded(body: &Value) -> Value {
    let Value::Object(members) = body else {
        return Value::Null;
    };
    let kept: Map<String, Value> = members
        .iter()
        .filter(|(name, _)| RECORDED_MEMBERS.contains(&name.as_str()))
        .map(|(name, value)| (lower_camel(name), camel_keys(name, value)))
        .collect();
    if kept.is_empty() {
        Value::Null
    } else {
        Value::Object(kept)
    }
}

/// Renames nested member names too, except inside maps of user data (encryption contexts).
fn camel_keys(name: &str, value: &Value) -> Value {
    if name.contains("EncryptionContext") {
        return value.clone();
    }
    match value {
        Value::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (lower_camel(k), camel_keys(k, v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| camel_keys(name, v)).collect()),
        other => other.clone(),
    }
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `2026-12-05T06:00:00Z`.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            kind: crate::auth::PrincipalKind::User { name: "alice".into() },
            ..Principal::root("111122223333", "AKIAALICE", 0)
        }
    }

    fn call<'a>(p: &'a Principal, request: &'a Value, response: Option<&'a Value>) -> Call<'a> {
        Call {
            time_ms: 1_764_915_000_000,
            operation: "Encrypt",
            event_source: "kms.amazonaws.com",
            region: "us-east-1",
            source_ip: "127.0.0.1",
            user_agent: "aws-cli/2",
            principal: Some(p),
            access_key_id: &p.access_key_id,
            request: Some(request),
            response,
            error: None,
            authorization: &[],
            request_id: "r-1",
            event_id: "e-1",
        }
    }

    #[test]
    fn secrets_are_never_recorded() {
        let p = principal();
        let request = json!({
            "KeyId": "alias/app", "Plaintext": "c2VjcmV0", "EncryptionContext": {"Dept": "x"},
            "GrantTokens": ["tok"], "Message": "bXNn", "Signature": "c2ln",
        });
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let response = json!({
            "KeyId": arn, "CiphertextBlob": "AAAA", "Plaintext": "c2VjcmV0",
            "PrivateKeyPlaintext": "cHJpdg==", "SharedSecret": "c2hhcmVk",
        });
        let (event, index) = build(&call(&p, &request, Some(&response)));
        let event: Value = serde_json::from_str(&event).unwrap();
        let text = event.to_string();
        for secret in ["c2VjcmV0", "tok", "bXNn", "c2ln", "cHJpdg==", "c2hhcmVk", "AAAA"] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        assert_eq!(event["requestParameters"]["keyId"], "alias/app");
        assert_eq!(event["requestParameters"]["encryptionContext"]["Dept"], "x");
        assert_eq!(event["resources"][0]["ARN"], arn);
        assert_eq!(index.key_arn.as_deref(), Some(arn));
        assert_eq!(index.account.as_deref(), Some("111122223333"));
    }

    #[test]
    fn identity_and_errors_take_cloudtrail_names() {
        let p = principal();
        let request = json!({"KeyId": "k"});
        let mut c = call(&p, &request, None);
        c.error = Some(("AccessDeniedException", "denied"));
        let (event, _) = build(&c);
        let event: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(event["userIdentity"]["type"], "IAMUser");
        assert_eq!(event["userIdentity"]["userName"], "alice");
        assert_eq!(event["errorCode"], "AccessDeniedException");
        assert_eq!(event["eventTime"], "2025-12-05T06:10:00Z");
        assert_eq!(event["readOnly"], false);
        c.principal = None;
        let (event, index) = build(&c);
        let event: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(event["userIdentity"]["type"], "Unknown");
        assert_eq!(index.principal_arn, None);
    }

    #[test]
    fn nested_names_become_camel_case_but_context_keys_do_not() {
        let body = json!({
            "Tags": [{"TagKey": "A", "TagValue": "b"}],
            "Constraints": {"EncryptionContextEquals": {"KeyName": "v"}},
        });
        let out = recorded(&body);
        assert_eq!(out["tags"][0]["tagKey"], "A");
        assert_eq!(out["constraints"]["encryptionContextEquals"]["KeyName"], "v");
    }
}

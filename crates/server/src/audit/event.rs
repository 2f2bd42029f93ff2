//! One audit record in CloudTrail's event shape.
//!
//! Request and response members are copied only from an allowlist of names that never carry
//! secrets: plaintext, ciphertext, signatures, MACs, private keys, shared secrets, tokens and
//! imported key material are never written, whatever operation carries them. Member names
//! become lowerCamelCase as CloudTrail writes them; encryption-context maps keep their keys.
//! As in CloudTrail, the cryptographic operations record no `responseElements`.
//!
//! The event is built from the request and response bodies without building JSON trees:
//! their top-level members are read as borrowed raw JSON, scalar and encryption-context
//! members are copied through as they are, and only nested structures whose member names
//! must be renamed (tags, constraints, key metadata) are parsed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::auth::Principal;
use crate::authz::record::Noted;
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

/// Operations whose CloudTrail records carry no `responseElements` (their responses are
/// cryptographic results).
const NO_RESPONSE_ELEMENTS: &[&str] = &[
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
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
    /// The request body (a JSON object), if there was one.
    pub request: Option<&'a [u8]>,
    /// The response body (a JSON object) of a successful call.
    pub response: Option<&'a [u8]>,
    /// The error code and message of a failed call.
    pub error: Option<(&'a str, &'a str)>,
    /// The authorization decisions made for the call: why it was allowed or denied.
    pub authorization: &'a [Noted],
    /// The request id returned to the caller.
    pub request_id: &'a str,
    /// This record's own id.
    pub event_id: &'a str,
}

/// One record as CloudTrail writes it, serialised in this field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    event_version: &'static str,
    user_identity: UserIdentity<'a>,
    event_time: EventTime,
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
    request_parameters: Option<Recorded<'a>>,
    response_elements: Option<Recorded<'a>>,
    #[serde(skip_serializing_if = "AdditionalEventData::is_empty")]
    additional_event_data: AdditionalEventData<'a>,
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

/// `userIdentity`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    access_key_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext>,
}

#[derive(Serialize)]
struct SessionContext {
    attributes: SessionAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    mfa_authenticated: &'static str,
}

/// `additionalEventData`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdditionalEventData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_version: Option<u32>,
    #[serde(skip_serializing_if = "<[Noted]>::is_empty")]
    authorization: &'a [Noted],
}

impl AdditionalEventData<'_> {
    fn is_empty(&self) -> bool {
        self.key_material_version.is_none() && self.authorization.is_empty()
    }
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

/// A typical event's size, to serialise without growing the buffer.
const TYPICAL_EVENT_BYTES: usize = 2048;

/// Builds the CloudTrail-shaped event as one line of JSON text (UTF-8).
pub fn build(call: &Call<'_>) -> Vec<u8> {
    let request = call.request.and_then(Members::parse);
    let response = call.response.and_then(Members::parse);
    let key_arn = key_arn(call, request.as_ref(), response.as_ref());
    let key_account = key_arn.as_deref().and_then(|arn| arn.split(':').nth(4));
    let blob = response
        .as_ref()
        .and_then(|r| r.string("CiphertextBlob"))
        .or_else(|| request.as_ref().and_then(|r| r.string("CiphertextBlob")));
    let event = Event {
        event_version: EVENT_VERSION,
        user_identity: user_identity(call),
        event_time: EventTime(call.time_ms),
        event_source: call.event_source,
        event_name: call.operation,
        aws_region: call.region,
        source_ip_address: call.source_ip,
        user_agent: call.user_agent,
        error_code: call.error.map(|(code, _)| code),
        error_message: call.error.map(|(_, message)| message),
        request_parameters: request.as_ref().and_then(Members::recorded),
        response_elements: if NO_RESPONSE_ELEMENTS.contains(&call.operation) {
            None
        } else {
            response.as_ref().and_then(Members::recorded)
        },
        additional_event_data: AdditionalEventData {
            key_material_version: blob
                .and_then(|b| decode_blob_header(&b))
                .map(|h| h.material_version),
            authorization: call.authorization,
        },
        request_id: call.request_id,
        event_id: call.event_id,
        read_only: is_read_only(call.operation),
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
        recipient_account_id: key_account.or(call.principal.map(|p| p.account.as_str())),
        event_category: "Management",
    };
    let mut out = Vec::with_capacity(TYPICAL_EVENT_BYTES);
    // A struct of strings, numbers and JSON values always serialises into a Vec.
    let _ = serde_json::to_writer(&mut out, &event);
    out
}

/// Whether an operation only reads (CloudTrail's `readOnly`).
pub fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "List", "Lookup"].iter().any(|prefix| operation.starts_with(prefix))
}

/// `userIdentity`: who called, from the principal's ARN.
fn user_identity<'a>(call: &Call<'a>) -> UserIdentity<'a> {
    let Some(p) = call.principal else {
        return UserIdentity {
            kind: "Unknown",
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: call.access_key_id,
            user_name: None,
            session_context: None,
        };
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
    UserIdentity {
        kind,
        principal_id: Some(if kind == "Root" { &p.account } else { resource }),
        arn: Some(&p.arn),
        account_id: Some(&p.account),
        access_key_id: &p.access_key_id,
        user_name: resource
            .strip_prefix("user/")
            .map(|name| name.rsplit('/').next().unwrap_or(name)),
        session_context: (kind == "AssumedRole").then_some(SessionContext {
            attributes: SessionAttributes { mfa_authenticated: "false" },
        }),
    }
}

/// The key the call concerned: the ARN the response names, else an ARN in the request.
fn key_arn(
    call: &Call<'_>,
    request: Option<&Members<'_>>,
    response: Option<&Members<'_>>,
) -> Option<String> {
    let is_key_arn = |v: &Cow<'_, str>| v.starts_with("arn:") && v.contains(":key/");
    let from = |body: Option<&Members<'_>>, name: &str| {
        body?.string(name).filter(is_key_arn).map(Cow::into_owned)
    };
    from(response, "KeyId")
        .or_else(|| {
            // CreateKey and DescribeKey name the key inside KeyMetadata.
            let metadata = response?.raw("KeyMetadata")?;
            let metadata: KeyMetadataArn<'_> = serde_json::from_str(metadata.get()).ok()?;
            Some(metadata.arn?.into_owned()).filter(|a| is_key_arn(&Cow::Borrowed(a)))
        })
        .or_else(|| from(request, "KeyId"))
        .or_else(|| from(request, "TargetKeyId"))
        .or_else(|| {
            // A failed Decrypt names no key, but its ciphertext does.
            let blob = request?.string("CiphertextBlob")?;
            let header = decode_blob_header(&blob)?;
            Some(format!("arn:aws:kms:{}:{}:key/{}", call.region, header.account, header.key_id))
        })
}

#[derive(Deserialize)]
struct KeyMetadataArn<'a> {
    #[serde(borrow, rename = "Arn")]
    arn: Option<Cow<'a, str>>,
}

fn decode_blob_header(base64_blob: &str) -> Option<BlobHeader> {
    use base64::Engine as _;
    // Only the header is needed: decode the whole base64 groups that cover it.
    const PREFIX_CHARS: usize = crate::ciphertext::HEADER_LEN_BYTES.div_ceil(3) * 4;
    let prefix = base64_blob.get(..PREFIX_CHARS.min(base64_blob.len()))?;
    let mut bytes = [0u8; PREFIX_CHARS / 4 * 3];
    let n = base64::engine::general_purpose::STANDARD.decode_slice(prefix, &mut bytes).ok()?;
    BlobHeader::decode(&bytes[..n]).ok()
}

/// The top-level members of a JSON object body, each kept as borrowed raw JSON.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// The members of `body`, or `None` if it is not a JSON object.
    fn parse(body: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }

    fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// A string member's value.
    fn string(&self, name: &str) -> Option<Cow<'a, str>> {
        let raw = self.raw(name)?;
        let text = raw.get();
        // Strings without escapes (every id, ARN and base64 blob) are borrowed as they are.
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
            _ => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
        }
    }

    /// The allowlisted members, or `None` if none is.
    fn recorded(&self) -> Option<Recorded<'a>> {
        let kept: Vec<(Cow<'a, str>, Member<'a>)> = self
            .0
            .iter()
            .filter(|(name, _)| RECORDED_MEMBERS.contains(&name.as_ref()))
            .map(|(name, value)| (name.clone(), Member::of(name, value)))
            .collect();
        (!kept.is_empty()).then_some(Recorded(kept))
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(Name(name)) = map.next_key()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// A member name, borrowed from the body unless it holds escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// Recorded members, in the order the body had them, under their AWS names.
struct Recorded<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

/// A member name written in lowerCamelCase straight into the output.
struct LowerCamel<'a>(&'a str);

impl fmt::Display for LowerCamel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        if let Some(first) = chars.next() {
            fmt::Write::write_char(f, first.to_ascii_lowercase())?;
        }
        f.write_str(chars.as_str())
    }
}

impl Serialize for LowerCamel<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A recorded member's value: copied through, or rebuilt with lowerCamelCase names.
enum Member<'a> {
    Raw(&'a RawValue),
    Renamed(Value),
}

impl<'a> Member<'a> {
    fn of(name: &str, value: &'a RawValue) -> Self {
        // Only objects have member names to rename; encryption contexts keep their keys.
        if name.contains("EncryptionContext") || !value.get().contains('{') {
            return Member::Raw(value);
        }
        match serde_json::from_str::<Value>(value.get()) {
            Ok(tree) => Member::Renamed(camel_keys(name, &tree)),
            Err(_) => Member::Raw(value),
        }
    }
}

impl Serialize for Recorded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, member) in &self.0 {
            let name = LowerCamel(name);
            match member {
                Member::Raw(raw) => map.serialize_entry(&name, raw)?,
                Member::Renamed(tree) => map.serialize_entry(&name, tree)?,
            }
        }
        map.end()
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
    LowerCamel(name).to_string()
}

/// `2026-12-05T06:00:00Z`.
pub fn rfc3339(ms: i64) -> String {
    EventTime(ms).to_string()
}

/// A time (milliseconds since the epoch) written as CloudTrail's `eventTime`, to the second,
/// straight into the output.
struct EventTime(i64);

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = time::OffsetDateTime::from_unix_timestamp(self.0.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let (year, month, day) = t.to_calendar_date();
        let (hour, minute, second) = t.to_hms();
        let month = u8::from(month);
        write!(f, "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn principal() -> Principal {
        Principal {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            kind: crate::auth::PrincipalKind::User { name: "alice".into() },
            ..Principal::root("111122223333", "AKIAALICE", 0)
        }
    }

    fn call<'a>(p: &'a Principal, request: &'a [u8], response: Option<&'a [u8]>) -> Call<'a> {
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

    fn event_of(c: &Call<'_>) -> Value {
        let text = build(c);
        assert!(!text.contains(&b'\n'), "an event is one line");
        serde_json::from_slice(&text).unwrap()
    }

    #[test]
    fn secrets_are_never_recorded() {
        let p = principal();
        let request = json!({
            "KeyId": "alias/app", "Plaintext": "c2VjcmV0", "EncryptionContext": {"Dept": "x\ny"},
            "GrantTokens": ["tok"], "Message": "bXNn", "Signature": "c2ln",
        })
        .to_string();
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let response = json!({
            "KeyId": arn, "CiphertextBlob": "AAAA", "Plaintext": "c2VjcmV0",
            "PrivateKeyPlaintext": "cHJpdg==", "SharedSecret": "c2hhcmVk",
        })
        .to_string();
        for operation in ["Encrypt", "CreateKey"] {
            let mut c = call(&p, request.as_bytes(), Some(response.as_bytes()));
            c.operation = operation;
            let event = event_of(&c);
            let text = event.to_string();
            for secret in ["c2VjcmV0", "tok", "bXNn", "c2ln", "cHJpdg==", "c2hhcmVk", "AAAA"] {
                assert!(!text.contains(secret), "{secret} leaked into {text}");
            }
            assert_eq!(event["requestParameters"]["keyId"], "alias/app");
            assert_eq!(event["requestParameters"]["encryptionContext"]["Dept"], "x\ny");
            assert_eq!(event["resources"][0]["ARN"], arn);
            assert_eq!(event["recipientAccountId"], "111122223333");
        }
    }

    #[test]
    fn cryptographic_operations_record_no_response_elements() {
        let p = principal();
        let response =
            br#"{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/k","KeyMetadata":{"KeyId":"k"}}"#;
        let mut c = call(&p, b"{}", Some(response));
        assert_eq!(event_of(&c)["responseElements"], Value::Null);
        c.operation = "DescribeKey";
        let event = event_of(&c);
        assert_eq!(event["responseElements"]["keyMetadata"]["keyId"], "k");
        assert_eq!(event["readOnly"], true);
        assert_eq!(event["requestParameters"], Value::Null);
    }

    #[test]
    fn identity_and_errors_take_cloudtrail_names() {
        let p = principal();
        let request = br#"{"KeyId": "k"}"#;
        let mut c = call(&p, request, None);
        c.error = Some(("AccessDeniedException", "denied"));
        let event = event_of(&c);
        assert_eq!(event["userIdentity"]["type"], "IAMUser");
        assert_eq!(event["userIdentity"]["userName"], "alice");
        assert_eq!(event["errorCode"], "AccessDeniedException");
        assert_eq!(event["eventTime"], "2025-12-05T06:10:00Z");
        assert_eq!(event["readOnly"], false);
        c.principal = None;
        let event = event_of(&c);
        assert_eq!(event["userIdentity"]["type"], "Unknown");
        assert_eq!(event["userIdentity"]["accessKeyId"], "AKIAALICE");
        c.request = Some(b"not json");
        assert_eq!(event_of(&c)["requestParameters"], Value::Null);
    }

    #[test]
    fn nested_names_become_camel_case_but_context_keys_do_not() {
        let body = json!({
            "Tags": [{"TagKey": "A", "TagValue": "b"}],
            "Constraints": {"EncryptionContextEquals": {"KeyName": "v"}},
            "Operations": ["Decrypt"],
        })
        .to_string();
        let members = Members::parse(body.as_bytes()).unwrap();
        let out = serde_json::to_value(members.recorded().unwrap()).unwrap();
        assert_eq!(out["tags"][0]["tagKey"], "A");
        assert_eq!(out["constraints"]["encryptionContextEquals"]["KeyName"], "v");
        assert_eq!(out["operations"][0], "Decrypt");
    }
}

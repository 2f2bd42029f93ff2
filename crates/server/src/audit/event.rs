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
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::json_out::{self, Object};
use crate::auth::Principal;
use crate::authz::record::{Noted, NotedStatement};
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
    /// The TLS connection the call came on; `None` for plain HTTP.
    pub tls: Option<TlsDetails<'a>>,
}

/// CloudTrail's `tlsDetails` of a call that came over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsDetails<'a> {
    /// `TLSv1.2` or `TLSv1.3`.
    pub tls_version: &'a str,
    /// The cipher suite as CloudTrail names it (OpenSSL's names: `ECDHE-RSA-AES128-GCM-SHA256`,
    /// `TLS_AES_128_GCM_SHA256`).
    pub cipher_suite: &'a str,
    /// The key exchange group, e.g. `X25519MLKEM768`.
    pub key_exchange: Option<&'a str>,
    /// The request's `Host` header.
    pub client_provided_host_header: Option<&'a str>,
}

/// A typical event's size, to write without growing the buffer.
const TYPICAL_EVENT_BYTES: usize = 2048;

/// Builds the CloudTrail-shaped event as one line of JSON text (UTF-8), members in
/// CloudTrail's order.
pub fn build(call: &Call<'_>) -> Vec<u8> {
    let request = call.request.and_then(Members::parse);
    let response = call.response.and_then(Members::parse);
    let key_arn = key_arn(call, request.as_ref(), response.as_ref());
    let key_account = key_arn.as_deref().and_then(|arn| arn.split(':').nth(4));
    let blob = response
        .as_ref()
        .and_then(|r| r.string("CiphertextBlob"))
        .or_else(|| request.as_ref().and_then(|r| r.string("CiphertextBlob")));
    let key_material_version =
        blob.and_then(|b| decode_blob_header(&b)).map(|h| h.material_version);
    let request_parameters = request.as_ref().and_then(Members::recorded);
    let response_elements = if NO_RESPONSE_ELEMENTS.contains(&call.operation) {
        None
    } else {
        response.as_ref().and_then(Members::recorded)
    };

    let mut out = Vec::with_capacity(TYPICAL_EVENT_BYTES);
    let mut event = Object::open(&mut out);
    event.str("eventVersion", EVENT_VERSION);
    event.object("userIdentity", |identity| user_identity(identity, call));
    event.with("eventTime", |out| json_out::event_time(out, call.time_ms));
    event.str("eventSource", call.event_source);
    event.str("eventName", call.operation);
    event.str("awsRegion", call.region);
    event.str("sourceIPAddress", call.source_ip);
    event.str("userAgent", call.user_agent);
    event.opt_str("errorCode", call.error.map(|(code, _)| code));
    event.opt_str("errorMessage", call.error.map(|(_, message)| message));
    event.with("requestParameters", |out| recorded_or_null(out, request_parameters.as_ref()));
    event.with("responseElements", |out| recorded_or_null(out, response_elements.as_ref()));
    if key_material_version.is_some() || !call.authorization.is_empty() {
        event.object("additionalEventData", |data| {
            if let Some(version) = key_material_version {
                data.u64("keyMaterialVersion", u64::from(version));
            }
            if !call.authorization.is_empty() {
                data.with("authorization", |out| decisions(out, call.authorization));
            }
        });
    }
    event.str("requestID", call.request_id);
    event.str("eventID", call.event_id);
    event.bool("readOnly", is_read_only(call.operation));
    event.with("resources", |out| {
        out.push(b'[');
        if let Some(arn) = key_arn.as_deref() {
            let mut resource = Object::open(out);
            resource.str("accountId", arn.split(':').nth(4).unwrap_or_default());
            resource.str("type", "AWS::KMS::Key");
            resource.str("ARN", arn);
            resource.close();
        }
        out.push(b']');
    });
    event.str("eventType", "AwsApiCall");
    event.bool("managementEvent", true);
    event.str_or_null(
        "recipientAccountId",
        key_account.or(call.principal.map(|p| p.account.as_str())),
    );
    event.str("eventCategory", "Management");
    if let Some(tls) = &call.tls {
        event.object("tlsDetails", |details| tls_details(details, tls));
    }
    event.close();
    out
}

/// `tlsDetails`' members, in CloudTrail's order.
fn tls_details(details: &mut Object<'_>, tls: &TlsDetails<'_>) {
    details.str("tlsVersion", tls.tls_version);
    details.str("cipherSuite", tls.cipher_suite);
    details.opt_str("clientProvidedHostHeader", tls.client_provided_host_header);
    details.opt_str("keyExchange", tls.key_exchange);
}

/// Whether an operation only reads (CloudTrail's `readOnly`): descriptions and lists, and,
/// as CloudTrail records them, the cryptographic operations.
pub fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "List", "Lookup"].iter().any(|prefix| operation.starts_with(prefix))
        || NO_RESPONSE_ELEMENTS.contains(&operation)
}

/// `userIdentity`'s members: who called, from the principal's ARN.
fn user_identity(identity: &mut Object<'_>, call: &Call<'_>) {
    let Some(p) = call.principal else {
        identity.str("type", "Unknown");
        identity.str("accessKeyId", call.access_key_id);
        return;
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
    identity.str("type", kind);
    identity.str("principalId", if kind == "Root" { &p.account } else { resource });
    identity.str("arn", &p.arn);
    identity.str("accountId", &p.account);
    identity.str("accessKeyId", &p.access_key_id);
    identity.opt_str(
        "userName",
        resource.strip_prefix("user/").map(|name| name.rsplit('/').next().unwrap_or(name)),
    );
    if kind == "AssumedRole" {
        identity.object("sessionContext", |context| {
            context.object("attributes", |attributes| {
                attributes.str("mfaAuthenticated", "false");
            });
        });
    }
    if let Some(host) = p.integrated_service() {
        identity.str("invokedBy", &format!("{host}.amazonaws.com"));
    }
}

/// `additionalEventData.authorization`: why the call was allowed or denied.
fn decisions(out: &mut Vec<u8>, noted: &[Noted]) {
    json_out::array(out, noted, |out, decision| {
        let mut d = Object::open(out);
        d.str("action", &decision.action);
        d.str("resource", &decision.resource);
        d.bool("allowed", decision.allowed);
        d.str("reason", &decision.reason);
        d.with("decidingStatements", |out| statements(out, &decision.deciding_statements));
        if !decision.statements_with_failed_conditions.is_empty() {
            d.with("statementsWithFailedConditions", |out| {
                statements(out, &decision.statements_with_failed_conditions);
            });
        }
        d.opt_str("grantId", decision.grant_id.as_deref());
        d.close();
    });
}

fn statements(out: &mut Vec<u8>, statements: &[NotedStatement]) {
    json_out::array(out, statements, |out, statement| {
        let mut s = Object::open(out);
        s.str("policy", &statement.policy);
        s.u64("index", statement.index as u64);
        s.str("effect", statement.effect);
        s.opt_str("sid", statement.sid.as_deref());
        s.opt_str("failedCondition", statement.failed_condition.as_deref());
        s.close();
    });
}

/// Recorded members as an object, or `null` if there are none.
fn recorded_or_null(out: &mut Vec<u8>, recorded: Option<&Recorded<'_>>) {
    let Some(recorded) = recorded else {
        out.extend_from_slice(b"null");
        return;
    };
    let mut object = Object::open(out);
    for (name, member) in &recorded.0 {
        object.with(&lower_camel(name), |out| match member {
            Member::Raw(raw) => one_line(out, raw.get()),
            // Serialising a JSON tree into a Vec cannot fail.
            Member::Renamed(tree) => {
                let _ = serde_json::to_writer(&mut *out, tree);
            }
            Member::Unreadable => out.extend_from_slice(b"null"),
        });
    }
    object.close();
}

/// Copies JSON text without its line breaks and tabs. In valid JSON these appear only as
/// whitespace between tokens (inside strings they must be escaped), so the value is
/// unchanged, and a record stays one line whatever the request's layout.
fn one_line(out: &mut Vec<u8>, json: &str) {
    let bytes = json.as_bytes();
    if bytes.iter().any(|&b| matches!(b, b'\n' | b'\r' | b'\t')) {
        out.extend(bytes.iter().filter(|&&b| !matches!(b, b'\n' | b'\r' | b'\t')));
    } else {
        out.extend_from_slice(bytes);
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
    // Only the header is needed: decode the whole base64 groups that cover it.
    const PREFIX_CHARS: usize = crate::ciphertext::HEADER_LEN_BYTES.div_ceil(3) * 4;
    let prefix = base64_blob.get(..PREFIX_CHARS.min(base64_blob.len()))?;
    let bytes = kms_api::base64::decode(prefix).ok()?;
    BlobHeader::decode(&bytes).ok()
}

/// The contents of `json` if it is a string literal without escapes.
fn unescaped_string(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
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
        match unescaped_string(text) {
            Some(inner) => Some(Cow::Borrowed(inner)),
            None => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
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

/// A recorded member's value: copied through, or rebuilt with lowerCamelCase names.
enum Member<'a> {
    Raw(&'a RawValue),
    Renamed(Value),
    /// Not JSON every reader accepts: recorded as `null`.
    Unreadable,
}

impl<'a> Member<'a> {
    fn of(name: &str, value: &'a RawValue) -> Self {
        let text = value.get();
        // Strings without escapes (ids, names, specs) are copied as they are.
        if unescaped_string(text).is_some() {
            return Member::Raw(value);
        }
        // Anything else is read in full first, so that what is copied is JSON that every
        // reader accepts: serde_json refuses lone surrogates, numbers out of range and nesting
        // deeper than 128, which a raw copy would carry into the record.
        match serde_json::from_str::<Value>(text) {
            // Encryption contexts keep their keys; scalars have none to rename.
            Ok(_) if name.contains("EncryptionContext") || !text.contains('{') => {
                Member::Raw(value)
            }
            Ok(tree) => Member::Renamed(camel_keys(name, &tree)),
            Err(_) => Member::Unreadable,
        }
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
    chars.next().map_or_else(String::new, |first| {
        let mut camel = String::with_capacity(name.len());
        camel.push(first.to_ascii_lowercase());
        camel.push_str(chars.as_str());
        camel
    })
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
            tls: None,
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
    fn tls_details_follow_event_category_only_for_tls_calls() {
        let p = principal();
        let mut c = call(&p, b"{}", None);
        let plain = String::from_utf8(build(&c)).unwrap();
        assert!(!plain.contains("tlsDetails"), "{plain}");
        c.tls = Some(TlsDetails {
            tls_version: "TLSv1.3",
            cipher_suite: "TLS_AES_256_GCM_SHA384",
            key_exchange: Some("X25519MLKEM768"),
            client_provided_host_header: Some("kms.example:8443\""),
        });
        let text = String::from_utf8(build(&c)).unwrap();
        assert!(
            text.contains(r#""eventCategory":"Management","tlsDetails":{"tlsVersion""#),
            "{text}"
        );
        let event: Value = serde_json::from_str(&text).unwrap();
        let details = &event["tlsDetails"];
        assert_eq!(details["tlsVersion"], "TLSv1.3");
        assert_eq!(details["cipherSuite"], "TLS_AES_256_GCM_SHA384");
        assert_eq!(details["clientProvidedHostHeader"], "kms.example:8443\"");
        assert_eq!(details["keyExchange"], "X25519MLKEM768");
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
        // CloudTrail marks the cryptographic operations read-only, key changes not.
        assert_eq!(event["readOnly"], true);
        c.operation = "ScheduleKeyDeletion";
        assert_eq!(event_of(&c)["readOnly"], false);
        c.operation = "Encrypt";
        c.principal = None;
        let event = event_of(&c);
        assert_eq!(event["userIdentity"]["type"], "Unknown");
        assert_eq!(event["userIdentity"]["accessKeyId"], "AKIAALICE");
        c.request = Some(b"not json");
        assert_eq!(event_of(&c)["requestParameters"], Value::Null);
    }

    #[test]
    fn calls_by_an_integrated_service_name_it_in_invoked_by() {
        let mut p = principal();
        let request = br#"{"KeyId": "k"}"#;
        assert!(event_of(&call(&p, request, None))["userIdentity"].get("invokedBy").is_none());
        p.identity = std::sync::Arc::new(crate::authz::context::IdentityInfo {
            tags: vec![("kms-server:aws-service".into(), "ec2.amazonaws.com".into())],
            ..Default::default()
        });
        let event = event_of(&call(&p, request, None));
        assert_eq!(event["userIdentity"]["invokedBy"], "ec2.amazonaws.com");
    }

    #[test]
    fn a_record_is_one_line_whatever_the_request_layout() {
        let p = principal();
        let request = b"{\n\t\"KeyId\": \"k\",\r\n \"EncryptionContext\": {\n  \"a b\": \"c\\nd\"\n },\n \"Tags\": [\n {\"TagKey\": \"t\",\n \"TagValue\": \"v\"}\n]\n}";
        let mut c = call(&p, request, None);
        c.operation = "CreateKey";
        let event = event_of(&c);
        assert_eq!(event["requestParameters"]["encryptionContext"]["a b"], "c\nd");
        assert_eq!(event["requestParameters"]["tags"][0]["tagKey"], "t");
    }

    #[test]
    fn members_strict_readers_refuse_are_recorded_as_null() {
        let p = principal();
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let request = format!(
            r#"{{"KeyId":"\ud800","Description":1e999999,"Tags":{deep},"KeySpec":"AES_256","Limit":7}}"#
        );
        let mut c = call(&p, request.as_bytes(), None);
        c.operation = "CreateKey";
        let event = event_of(&c);
        let recorded = &event["requestParameters"];
        assert_eq!(recorded["keyId"], Value::Null);
        assert_eq!(recorded["description"], Value::Null);
        assert_eq!(recorded["tags"], Value::Null);
        assert_eq!(recorded["keySpec"], "AES_256");
        assert_eq!(recorded["limit"], 7);
    }

    #[test]
    fn every_event_member_is_written_in_cloudtrail_order() {
        let p = Principal {
            arn: "arn:aws:sts::111122223333:assumed-role/app/s1".into(),
            ..principal()
        };
        let statement = NotedStatement {
            policy: "key policy".into(),
            index: 2,
            effect: "Deny",
            sid: Some("No \"quotes\"".into()),
            failed_condition: Some("StringEquals kms:ViaService".into()),
        };
        let noted = [Noted {
            action: "kms:Decrypt".into(),
            resource: "*".into(),
            allowed: false,
            reason: "ExplicitDeny".into(),
            deciding_statements: vec![statement.clone()],
            statements_with_failed_conditions: vec![statement],
            grant_id: Some("g1".into()),
        }];
        let mut c = call(&p, br#"{"KeyId":"arn:aws:kms:us-east-1:444455556666:key/k"}"#, None);
        c.authorization = &noted;
        c.error = Some(("AccessDeniedException", "line\nbreak"));
        let text = String::from_utf8(build(&c)).unwrap();
        let names: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut in_text: Vec<(usize, &String)> =
            names.iter().map(|n| (text.find(&format!("\"{n}\":")).unwrap(), n)).collect();
        in_text.sort();
        let order: Vec<&str> = in_text.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            order,
            [
                "eventVersion",
                "userIdentity",
                "eventTime",
                "eventSource",
                "eventName",
                "awsRegion",
                "sourceIPAddress",
                "userAgent",
                "errorCode",
                "errorMessage",
                "requestParameters",
                "responseElements",
                "additionalEventData",
                "requestID",
                "eventID",
                "readOnly",
                "resources",
                "eventType",
                "managementEvent",
                "recipientAccountId",
                "eventCategory",
            ]
        );
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["userIdentity"]["type"], "AssumedRole");
        assert_eq!(event["userIdentity"]["principalId"], "assumed-role/app/s1");
        assert_eq!(
            event["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"],
            "false"
        );
        assert_eq!(event["errorMessage"], "line\nbreak");
        let decision = &event["additionalEventData"]["authorization"][0];
        assert_eq!(decision["allowed"], false);
        assert_eq!(decision["grantId"], "g1");
        assert_eq!(decision["decidingStatements"][0]["sid"], "No \"quotes\"");
        assert_eq!(decision["decidingStatements"][0]["index"], 2);
        assert_eq!(
            decision["statementsWithFailedConditions"][0]["failedCondition"],
            "StringEquals kms:ViaService"
        );
        assert_eq!(event["resources"][0]["accountId"], "444455556666");
        assert_eq!(event["recipientAccountId"], "444455556666");
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
        let mut text = Vec::new();
        recorded_or_null(&mut text, members.recorded().as_ref());
        let out: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(out["tags"][0]["tagKey"], "A");
        assert_eq!(out["constraints"]["encryptionContextEquals"]["KeyName"], "v");
        assert_eq!(out["operations"][0], "Decrypt");
    }
}

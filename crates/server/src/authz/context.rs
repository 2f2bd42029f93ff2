//! The request context: the values condition keys take for one request, drawn from the
//! caller, the request's environment, the key and the operation's parameters.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use kms_api::types::EncryptionContext;

use super::condition::format_date;
use super::policy::Policy;
use crate::auth::{Principal, PrincipalKind};
use crate::model::KeyRecord;

/// The value of a condition key in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue<'a> {
    /// A single-valued key.
    One(Cow<'a, str>),
    /// A multivalued key (`ArrayOfString`).
    Many(Vec<Cow<'a, str>>),
}

/// Where and when a request was made (the `aws:` environment keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestEnv {
    /// When the request arrived, milliseconds since the epoch (`aws:CurrentTime`).
    pub now_ms: i64,
    /// The client's address (`aws:SourceIp`), when known.
    pub source_ip: Option<IpAddr>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The Region of the request's credential scope (`aws:RequestedRegion`).
    pub region: String,
}

/// A principal's IAM side: its identity policies and tags (empty for account roots).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityInfo {
    /// The user's or role's unique id (`AIDA…` / `AROA…`), for `aws:userid`.
    pub unique_id: String,
    /// Identity-based policies attached to the user or role, with their names.
    pub policies: Vec<(String, Arc<Policy>)>,
    /// Principal tags (`aws:PrincipalTag/<k>`).
    pub tags: Vec<(String, String)>,
}

/// A grant that authorises the request (computed by the grants module, which evaluation
/// trusts for the grant's operations and constraints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantMatch {
    /// The grant's id.
    pub grant_id: String,
    /// The grant names the caller's account rather than the caller, so an identity
    /// policy of the caller must allow the operation too (the account delegates via IAM).
    pub through_account: bool,
}

/// The parameters of a CreateGrant request (or, for RetireGrant, the grant's constraint
/// type only), for the `kms:Grant*` condition keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrantRequest<'a> {
    /// `kms:GrantOperations`.
    pub operations: Option<&'a [String]>,
    /// `kms:GranteePrincipal`.
    pub grantee: Option<&'a str>,
    /// `kms:RetiringPrincipal`.
    pub retiring: Option<&'a str>,
    /// `kms:GrantConstraintType`.
    pub constraint_type: Option<&'static str>,
}

/// Operation parameters that condition keys read. Every field is optional: an operation
/// fills in what it has, and absent values make conditions on them behave as AWS
/// documents for missing keys.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'a> {
    /// `kms:EncryptionContext:<k>` and `kms:EncryptionContextKeys`.
    pub encryption_context: Option<&'a EncryptionContext>,
    /// `kms:EncryptionAlgorithm`.
    pub encryption_algorithm: Option<&'a str>,
    /// `kms:SigningAlgorithm` (Sign, Verify).
    pub signing_algorithm: Option<&'a str>,
    /// `kms:MessageType` (Sign, Verify).
    pub message_type: Option<&'a str>,
    /// `kms:MacAlgorithm` (GenerateMac, VerifyMac).
    pub mac_algorithm: Option<&'a str>,
    /// `kms:KeyAgreementAlgorithm` (DeriveSharedSecret).
    pub key_agreement_algorithm: Option<&'a str>,
    /// `kms:DataKeyPairSpec` (GenerateDataKeyPair*).
    pub data_key_pair_spec: Option<&'a str>,
    /// `kms:ReEncryptOnSameKey` (ReEncrypt).
    pub reencrypt_on_same_key: Option<bool>,
    /// `kms:RequestAlias`: the alias name the request used to name the key.
    pub request_alias: Option<String>,
    /// `kms:ResourceAliases`: the key's aliases (filled in when a policy asks for them).
    pub resource_aliases: Option<Vec<String>>,
    /// `kms:RotationPeriodInDays` (EnableKeyRotation).
    pub rotation_period_days: Option<i64>,
    /// `kms:ScheduleKeyDeletionPendingWindowInDays` (ScheduleKeyDeletion).
    pub pending_window_days: Option<i64>,
    /// `aws:RequestTag/<k>` (CreateKey, TagResource).
    pub request_tags: Option<&'a [(String, String)]>,
    /// `aws:TagKeys` (CreateKey, TagResource, UntagResource).
    pub tag_keys: Option<Vec<&'a str>>,
    /// `kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion` of a key being
    /// created (other operations read them from the key).
    pub new_key: Option<NewKey<'a>>,
    /// `kms:BypassPolicyLockoutSafetyCheck`.
    pub bypass_lockout: Option<bool>,
    /// `kms:MultiRegionKeyType` of a key being created (`PRIMARY` for CreateKey with
    /// `MultiRegion`, `REPLICA` for the replica ReplicateKey creates).
    pub new_key_type: Option<&'a str>,
    /// `kms:ReplicaRegion` (ReplicateKey).
    pub replica_region: Option<&'a str>,
    /// `kms:PrimaryRegion` (UpdatePrimaryRegion).
    pub primary_region: Option<&'a str>,
    /// `kms:ViaService`: the integrated service calling on the principal's behalf.
    pub via_service: Option<&'a str>,
    /// A grant that allows this request, if the grants module found one.
    pub grant: Option<GrantMatch>,
    /// CreateGrant's parameters (`kms:GrantOperations`, `kms:GranteePrincipal`, …).
    pub grant_request: Option<GrantRequest<'a>>,
    /// `kms:GrantIsForAWSResource` (CreateGrant, ListGrants, RevokeGrant).
    pub grant_is_for_aws_resource: Option<bool>,
    /// `sts:ExternalId` (AssumeRole).
    pub external_id: Option<&'a str>,
    /// `kms:WrappingAlgorithm` (GetParametersForImport).
    pub wrapping_algorithm: Option<&'a str>,
    /// `kms:WrappingKeySpec` (GetParametersForImport).
    pub wrapping_key_spec: Option<&'a str>,
    /// `kms:ExpirationModel` (ImportKeyMaterial).
    pub expiration_model: Option<&'a str>,
    /// `kms:ValidTo`, epoch seconds (ImportKeyMaterial with an expiring material).
    pub valid_to_s: Option<i64>,
    /// `sts:RoleSessionName` (AssumeRole).
    pub role_session_name: Option<&'a str>,
    /// `sts:TransitiveTagKeys` (AssumeRole with session tags).
    pub transitive_tag_keys: Option<Vec<&'a str>>,
}

/// The properties of a key in a CreateKey request.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// KeySpec.
    pub key_spec: &'a str,
    /// KeyUsage.
    pub key_usage: &'a str,
    /// Origin.
    pub origin: &'a str,
    /// MultiRegion.
    pub multi_region: bool,
}

fn one(s: &str) -> Option<ContextValue<'_>> {
    Some(ContextValue::One(Cow::Borrowed(s)))
}

fn owned(s: String) -> Option<ContextValue<'static>> {
    Some(ContextValue::One(Cow::Owned(s)))
}

fn tag<'a>(tags: &'a [(String, String)], name: &str) -> Option<ContextValue<'a>> {
    tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| one(v))
}

/// Everything a condition can be evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The caller.
    pub caller: &'a Principal,
    /// The key, for key-resource operations.
    pub key: Option<&'a KeyRecord>,
    /// The operation's parameters.
    pub facts: &'a RequestFacts<'a>,
}

impl<'a> Context<'a> {
    /// The value of a condition key (lowercase name), or `None` if the request has none.
    pub fn lookup(&self, key: &str) -> Option<ContextValue<'a>> {
        let caller = self.caller;
        let facts = self.facts;
        if let Some(name) = key.strip_prefix("kms:encryptioncontext:") {
            let ec = facts.encryption_context?;
            return ec.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| one(v));
        }
        if let Some(name) = key.strip_prefix("aws:resourcetag/") {
            return tag(&self.key?.tags, name);
        }
        if let Some(name) = key.strip_prefix("aws:requesttag/") {
            return tag(facts.request_tags?, name);
        }
        if let Some(name) = key.strip_prefix("aws:principaltag/") {
            return tag(&caller.identity.tags, name);
        }
        let key_record = self.key;
        let new_key = facts.new_key;
        match key {
            "kms:calleraccount" | "aws:principalaccount" => one(&caller.account),
            "aws:principalarn" => match &caller.kind {
                PrincipalKind::AssumedRole { role_arn, .. } => one(role_arn),
                _ => one(&caller.arn),
            },
            "aws:principaltype" => one(match caller.kind {
                PrincipalKind::Root => "Account",
                PrincipalKind::User { .. } => "User",
                PrincipalKind::AssumedRole { .. } => "AssumedRole",
            }),
            "aws:username" => match &caller.kind {
                PrincipalKind::User { name } => one(name),
                _ => None,
            },
            // AWS: the account id for a root, the user's unique id, or
            // `<role id>:<session name>` for an assumed-role session.
            "aws:userid" => match &caller.kind {
                PrincipalKind::Root => one(&caller.account),
                PrincipalKind::User { .. } if !caller.identity.unique_id.is_empty() => {
                    one(&caller.identity.unique_id)
                }
                PrincipalKind::AssumedRole { session_name, .. }
                    if !caller.identity.unique_id.is_empty() =>
                {
                    owned(format!("{}:{session_name}", caller.identity.unique_id))
                }
                _ => None,
            },
            "aws:sourceip" => caller.env.source_ip.map(|ip| owned(ip.to_string()))?,
            "aws:securetransport" => {
                one(if caller.env.secure_transport { "true" } else { "false" })
            }
            "aws:currenttime" => owned(format_date(caller.env.now_ms)),
            "aws:epochtime" => owned(caller.env.now_ms.div_euclid(1000).to_string()),
            "aws:requestedregion" => match key_record {
                Some(r) => one(&r.key.region),
                None if !caller.env.region.is_empty() => one(&caller.env.region),
                None => None,
            },
            "aws:tagkeys" => facts
                .tag_keys
                .as_ref()
                .map(|keys| ContextValue::Many(keys.iter().map(|k| Cow::Borrowed(*k)).collect())),
            "kms:encryptioncontextkeys" => {
                let ec = facts.encryption_context.filter(|ec| !ec.is_empty())?;
                Some(ContextValue::Many(ec.keys().map(|k| Cow::Borrowed(k.as_str())).collect()))
            }
            "kms:encryptionalgorithm" => facts.encryption_algorithm.and_then(one),
            "kms:signingalgorithm" => facts.signing_algorithm.and_then(one),
            "kms:messagetype" => facts.message_type.and_then(one),
            "kms:macalgorithm" => facts.mac_algorithm.and_then(one),
            "kms:keyagreementalgorithm" => facts.key_agreement_algorithm.and_then(one),
            "kms:datakeypairspec" => facts.data_key_pair_spec.and_then(one),
            "kms:reencryptonsamekey" => {
                facts.reencrypt_on_same_key.map(|b| one(if b { "true" } else { "false" }))?
            }
            "kms:requestalias" => facts.request_alias.clone().and_then(owned),
            "kms:resourcealiases" => facts
                .resource_aliases
                .as_ref()
                .map(|a| ContextValue::Many(a.iter().map(|s| Cow::Owned(s.clone())).collect())),
            "kms:rotationperiodindays" => {
                facts.rotation_period_days.map(|d| owned(d.to_string()))?
            }
            "kms:schedulekeydeletionpendingwindowindays" => {
                facts.pending_window_days.map(|d| owned(d.to_string()))?
            }
            "kms:bypasspolicylockoutsafetycheck" => {
                facts.bypass_lockout.map(|b| one(if b { "true" } else { "false" }))?
            }
            // Given by the operation (ExplainAccess), else the caller's integrated service
            // in the Region of the key (or of the request).
            "kms:viaservice" => match facts.via_service {
                Some(service) => one(service),
                None => {
                    let host = caller.integrated_service()?;
                    let region = key_record.map_or(caller.env.region.as_str(), |r| &r.key.region);
                    (!region.is_empty())
                        .then(|| format!("{host}.{region}.amazonaws.com"))
                        .and_then(owned)
                }
            },
            "kms:wrappingalgorithm" => facts.wrapping_algorithm.and_then(one),
            "kms:wrappingkeyspec" => facts.wrapping_key_spec.and_then(one),
            "kms:expirationmodel" => facts.expiration_model.and_then(one),
            "kms:validto" => facts.valid_to_s.map(|s| owned(s.to_string()))?,
            "kms:grantoperations" => facts.grant_request.and_then(|g| g.operations).map(|ops| {
                ContextValue::Many(ops.iter().map(|o| Cow::Borrowed(o.as_str())).collect())
            }),
            "kms:granteeprincipal" => facts.grant_request.and_then(|g| g.grantee).and_then(one),
            "kms:retiringprincipal" => facts.grant_request.and_then(|g| g.retiring).and_then(one),
            "kms:grantconstrainttype" => {
                facts.grant_request.and_then(|g| g.constraint_type).and_then(one)
            }
            "kms:grantisforawsresource" => {
                facts.grant_is_for_aws_resource.map(|b| one(if b { "true" } else { "false" }))?
            }
            "sts:externalid" => facts.external_id.and_then(one),
            "sts:rolesessionname" => facts.role_session_name.and_then(one),
            "sts:transitivetagkeys" => facts
                .transitive_tag_keys
                .as_ref()
                .map(|keys| ContextValue::Many(keys.iter().map(|k| Cow::Borrowed(*k)).collect())),
            "kms:keyspec" | "kms:customermasterkeyspec" => match (new_key, key_record) {
                (Some(n), _) => one(n.key_spec),
                (None, Some(r)) => one(&r.key_spec),
                _ => None,
            },
            "kms:keyusage" | "kms:customermasterkeyusage" => match (new_key, key_record) {
                (Some(n), _) => one(n.key_usage),
                (None, Some(r)) => one(&r.key_usage),
                _ => None,
            },
            "kms:keyorigin" => match (new_key, key_record) {
                (Some(n), _) => one(n.origin),
                (None, Some(r)) => one(&r.origin),
                _ => None,
            },
            "kms:multiregion" => match (new_key, key_record) {
                (Some(n), _) => one(if n.multi_region { "true" } else { "false" }),
                (None, Some(r)) => one(if r.multi_region.is_some() { "true" } else { "false" }),
                _ => None,
            },
            "kms:multiregionkeytype" => match (new_key, key_record) {
                (Some(_), _) => facts.new_key_type.and_then(one),
                (None, Some(r)) => r.multi_region.as_ref().and_then(|m| one(m.key_type.as_str())),
                _ => None,
            },
            "kms:replicaregion" => facts.replica_region.and_then(one),
            "kms:primaryregion" => facts.primary_region.and_then(one),
            _ => None,
        }
    }
}

//! Grants as AWS KMS defines them: the stored record, the operations a grant may name
//! for each kind of key, its encryption context constraints, whom it covers, and grant
//! tokens. Pure logic; the in-memory index lives in [`crate::grants`].
//!
//! A grant allows (never denies) its operations on one key for one grantee principal:
//! - grantee a user, role or session ARN: exactly that principal (a role ARN also covers
//!   the sessions of that role, as it does in a key policy); no IAM policy is needed, in
//!   the key's account or any other;
//! - grantee an account (`arn:aws:iam::<acct>:root`): that account's root directly, and
//!   its IAM principals only when an identity policy of theirs allows the operation on the
//!   key (the account delegates through IAM, as with an account principal in a policy).
//!
//! Encryption context constraints apply only to operations that take an encryption
//! context; the constraint's keys match case-insensitively, its values case-sensitively.

use std::collections::BTreeMap;

use kms_api::types::{EncryptionContext, GrantConstraints};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, PrincipalKind};
use crate::model::KeyRef;

/// Every grant operation AWS defines (the `GrantOperation` enum).
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Operations every key accepts in a grant.
const COMMON_OPERATIONS: &[&str] = &["CreateGrant", "DescribeKey", "RetireGrant"];

/// The grant operations that take an encryption context, where constraints apply.
pub const CONTEXT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
];

/// Most pairs in one encryption context constraint.
pub const CONSTRAINT_MAX_PAIRS: usize = 8;
/// Longest value in an encryption context constraint (characters).
pub const CONSTRAINT_MAX_VALUE_CHARS: usize = 384;

/// The grant operations a key of this spec and usage supports, besides the common
/// CreateGrant, DescribeKey and RetireGrant (AWS's "Grant operations" table).
pub fn key_operations(key_spec: &str, key_usage: &str) -> &'static [&'static str] {
    match (key_spec, key_usage) {
        // A symmetric encryption key supports exactly the operations that take a context.
        ("SYMMETRIC_DEFAULT", _) => CONTEXT_OPERATIONS,
        (_, "ENCRYPT_DECRYPT") => {
            &["Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"]
        }
        (_, "SIGN_VERIFY") => &["Sign", "Verify", "GetPublicKey"],
        (_, "GENERATE_VERIFY_MAC") => &["GenerateMac", "VerifyMac"],
        (_, "KEY_AGREEMENT") => &["DeriveSharedSecret", "GetPublicKey"],
        _ => &[],
    }
}

/// Whether a key of this spec and usage accepts `operation` in a grant.
pub fn key_supports(key_spec: &str, key_usage: &str, operation: &str) -> bool {
    COMMON_OPERATIONS.contains(&operation)
        || key_operations(key_spec, key_usage).contains(&operation)
}

/// A grant's encryption context constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Constraint {
    /// The request's context must contain these pairs (more are allowed).
    Subset(BTreeMap<String, String>),
    /// The request's context must be exactly these pairs.
    Equals(BTreeMap<String, String>),
}

impl Constraint {
    /// The constraint of a `Constraints` member; an empty map counts as none.
    ///
    /// Returns `Err` with a message when both kinds are given.
    pub fn from_api(constraints: Option<&GrantConstraints>) -> Result<Option<Self>, String> {
        let Some(c) = constraints else { return Ok(None) };
        let subset = c.encryption_context_subset.clone().filter(|m| !m.is_empty());
        let equals = c.encryption_context_equals.clone().filter(|m| !m.is_empty());
        match (subset, equals) {
            (Some(_), Some(_)) => Err(
                "Only one of EncryptionContextEquals or EncryptionContextSubset may be specified"
                    .to_owned(),
            ),
            (Some(s), None) => Ok(Some(Self::Subset(s))),
            (None, Some(e)) => Ok(Some(Self::Equals(e))),
            (None, None) => Ok(None),
        }
    }

    /// The `Constraints` member as ListGrants shows it.
    pub fn to_api(&self) -> GrantConstraints {
        match self {
            Self::Subset(m) => GrantConstraints {
                encryption_context_subset: Some(m.clone()),
                encryption_context_equals: None,
            },
            Self::Equals(m) => GrantConstraints {
                encryption_context_subset: None,
                encryption_context_equals: Some(m.clone()),
            },
        }
    }

    /// `EncryptionContextSubset` or `EncryptionContextEquals` (`kms:GrantConstraintType`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Subset(_) => "EncryptionContextSubset",
            Self::Equals(_) => "EncryptionContextEquals",
        }
    }

    fn pairs(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Subset(m) | Self::Equals(m) => m,
        }
    }

    /// Whether a request's encryption context satisfies the constraint (keys compared
    /// without regard to case, values exactly).
    pub fn holds(&self, context: Option<&EncryptionContext>) -> bool {
        let empty = EncryptionContext::new();
        let context = context.unwrap_or(&empty);
        let contains =
            |k: &str, v: &str| context.iter().any(|(ck, cv)| ck.eq_ignore_ascii_case(k) && cv == v);
        let all_present = self.pairs().iter().all(|(k, v)| contains(k, v));
        match self {
            Self::Subset(_) => all_present,
            // Every request pair must be one of the constraint's too: with two constraint
            // keys that differ only by case, a count alone would admit an unrelated pair.
            Self::Equals(m) => {
                let listed = |ck: &str, cv: &str| {
                    m.iter().any(|(k, v)| k.eq_ignore_ascii_case(ck) && v == cv)
                };
                all_present
                    && context.len() == m.len()
                    && context.iter().all(|(ck, cv)| listed(ck, cv))
            }
        }
    }

    /// Whether every context that satisfies `self` also satisfies `parent`: a child grant's
    /// constraint must be as strict as its parent's or stricter (a Subset may gain pairs or
    /// become Equals; an Equals stays the same Equals).
    pub fn at_least_as_strict_as(&self, parent: &Self) -> bool {
        match (self, parent) {
            (Self::Equals(_), _) => parent.holds(Some(self.pairs())),
            (Self::Subset(child), Self::Subset(_)) => parent.holds(Some(child)),
            (Self::Subset(_), Self::Equals(_)) => false,
        }
    }
}

/// One grant, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// 64 lowercase hex characters.
    pub grant_id: String,
    /// The key it applies to.
    pub key: KeyRef,
    /// The name given at creation (idempotency), if any.
    pub name: Option<String>,
    /// The grantee principal's ARN.
    pub grantee: String,
    /// The retiring principal's ARN, if any.
    pub retiring: Option<String>,
    /// The grant operations, as given (deduplicated, in AWS's enum order).
    pub operations: Vec<String>,
    /// The encryption context constraint, if any.
    pub constraint: Option<Constraint>,
    /// The account whose principal created the grant.
    pub issuing_account: String,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
}

/// How a grant's grantee relates to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GranteeMatch {
    /// The grant names someone else.
    No,
    /// The grant names the caller (or its role, or the caller is the grantee account's root).
    Direct,
    /// The grant names the caller's account: an identity policy must allow too.
    ThroughAccount,
}

/// How `grantee` (a grant's grantee or retiring principal ARN) relates to `caller`.
pub fn principal_match(grantee: &str, caller: &Principal) -> GranteeMatch {
    if grantee == caller.arn {
        return GranteeMatch::Direct;
    }
    if let PrincipalKind::AssumedRole { role_arn, .. } = &caller.kind {
        if grantee == role_arn {
            return GranteeMatch::Direct;
        }
    }
    let account = grantee.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root"));
    if account == Some(caller.account.as_str()) {
        return GranteeMatch::ThroughAccount;
    }
    GranteeMatch::No
}

impl GrantRecord {
    /// Whether the grant names `operation`.
    pub fn allows_operation(&self, operation: &str) -> bool {
        self.operations.iter().any(|o| o == operation)
    }

    /// Whether this grant covers `caller` performing `operation` (an IAM action name
    /// without `kms:`) with encryption context `context`. Constraints apply only to
    /// operations that take an encryption context.
    pub fn covers(
        &self,
        caller: &Principal,
        operation: &str,
        context: Option<&EncryptionContext>,
    ) -> GranteeMatch {
        let grantee = principal_match(&self.grantee, caller);
        if grantee == GranteeMatch::No || !self.allows_operation(operation) {
            return GranteeMatch::No;
        }
        if let Some(constraint) = &self.constraint {
            if CONTEXT_OPERATIONS.contains(&operation) && !constraint.holds(context) {
                return GranteeMatch::No;
            }
        }
        grantee
    }

    /// A new token for this grant (each call gives a different one; all are equivalent).
    pub fn new_token(&self) -> String {
        token::encode(&self.grant_id)
    }
}

/// Whether `text` is a grant id as this server makes them: 64 lowercase hex characters.
pub fn is_grant_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A fresh random grant id.
///
/// # Errors
/// When the system random generator fails.
pub fn new_grant_id() -> Result<String, aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Grant tokens: opaque, non-secret strings that name a grant. A token carries the grant
/// id, a random nonce (so each CreateGrant call returns a new token) and a checksum, so a
/// mangled token is told apart from a token of a grant that no longer exists.
///
/// A token confers nothing by itself: whoever presents it is still checked against the
/// grant's grantee, and grants here are consistent at once, so a token is only validated.
pub mod token {

    use super::is_grant_id;
    use kms_api::base64;

    const VERSION: u8 = 1;
    const NONCE_BYTES: usize = 16;
    const CHECK_BYTES: usize = 8;
    const PAYLOAD_BYTES: usize = 1 + 32 + NONCE_BYTES;

    fn check(payload: &[u8]) -> [u8; CHECK_BYTES] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, payload);
        let mut out = [0u8; CHECK_BYTES];
        out.copy_from_slice(&digest.as_ref()[..CHECK_BYTES]);
        out
    }

    /// A token naming `grant_id` (64 hex characters).
    pub fn encode(grant_id: &str) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_BYTES + CHECK_BYTES);
        payload.push(VERSION);
        payload.extend(hex::decode(grant_id).unwrap_or_default());
        let mut nonce = [0u8; NONCE_BYTES];
        // A failed random fill leaves a zero nonce: the token stays valid, only less varied.
        let _ = aws_lc_rs::rand::fill(&mut nonce);
        payload.extend_from_slice(&nonce);
        let check = check(&payload);
        payload.extend_from_slice(&check);
        base64::encode_url(payload)
    }

    /// The grant id a token names, or `None` if it is not a token this server made.
    pub fn decode(token: &str) -> Option<String> {
        let bytes = base64::decode_url(token).ok()?;
        if bytes.len() != PAYLOAD_BYTES + CHECK_BYTES || bytes[0] != VERSION {
            return None;
        }
        let (payload, sum) = bytes.split_at(PAYLOAD_BYTES);
        if check(payload) != sum {
            return None;
        }
        let id = hex::encode(&payload[1..33]);
        is_grant_id(&id).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn user(account: &str, name: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            kind: PrincipalKind::User { name: name.to_owned() },
            ..Principal::root(account, "AKID", 0)
        }
    }

    #[test]
    fn subset_needs_every_pair_and_allows_extras() {
        let c = Constraint::Subset(ec(&[("Dept", "IT")]));
        assert!(c.holds(Some(&ec(&[("Dept", "IT"), ("x", "y")]))));
        assert!(c.holds(Some(&ec(&[("dept", "IT")]))), "keys compare without case");
        assert!(!c.holds(Some(&ec(&[("Dept", "it")]))), "values compare exactly");
        assert!(!c.holds(None));
    }

    #[test]
    fn equals_needs_exactly_the_pairs() {
        let c = Constraint::Equals(ec(&[("a", "1"), ("b", "2")]));
        assert!(c.holds(Some(&ec(&[("b", "2"), ("a", "1")]))));
        assert!(!c.holds(Some(&ec(&[("a", "1")]))));
        assert!(!c.holds(Some(&ec(&[("a", "1"), ("b", "2"), ("c", "3")]))));
    }

    #[test]
    fn equals_with_keys_differing_only_by_case_admits_no_other_pair() {
        let c = Constraint::Equals(ec(&[("dept", "IT"), ("Dept", "IT")]));
        assert!(c.holds(Some(&ec(&[("dept", "IT"), ("Dept", "IT")]))));
        assert!(!c.holds(Some(&ec(&[("dept", "IT"), ("anything", "else")]))));
    }

    #[test]
    fn child_constraints_must_be_equally_strict_or_stricter() {
        let parent = Constraint::Subset(ec(&[("a", "1")]));
        assert!(Constraint::Subset(ec(&[("a", "1"), ("b", "2")])).at_least_as_strict_as(&parent));
        assert!(Constraint::Equals(ec(&[("a", "1"), ("b", "2")])).at_least_as_strict_as(&parent));
        assert!(!Constraint::Subset(ec(&[("b", "2")])).at_least_as_strict_as(&parent));
        let equals = Constraint::Equals(ec(&[("a", "1")]));
        assert!(!Constraint::Subset(ec(&[("a", "1")])).at_least_as_strict_as(&equals));
        assert!(Constraint::Equals(ec(&[("a", "1")])).at_least_as_strict_as(&equals));
        assert!(!Constraint::Equals(ec(&[("a", "1"), ("b", "2")])).at_least_as_strict_as(&equals));
    }

    #[test]
    fn grantee_matching_is_exact_or_through_the_account() {
        let alice = user("111122223333", "alice");
        assert_eq!(principal_match(&alice.arn, &alice), GranteeMatch::Direct);
        assert_eq!(
            principal_match("arn:aws:iam::111122223333:root", &alice),
            GranteeMatch::ThroughAccount
        );
        assert_eq!(principal_match("arn:aws:iam::111122223333:user/bob", &alice), GranteeMatch::No);
        assert_eq!(principal_match("arn:aws:iam::444455556666:root", &alice), GranteeMatch::No);
        let session = Principal {
            arn: "arn:aws:sts::111122223333:assumed-role/app/s1".into(),
            kind: PrincipalKind::AssumedRole {
                role_arn: "arn:aws:iam::111122223333:role/app".into(),
                session_name: "s1".into(),
            },
            ..Principal::root("111122223333", "ASIA", 0)
        };
        assert_eq!(
            principal_match("arn:aws:iam::111122223333:role/app", &session),
            GranteeMatch::Direct
        );
    }

    #[test]
    fn key_types_limit_grant_operations() {
        assert!(key_supports("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "GenerateDataKey"));
        assert!(!key_supports("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Sign"));
        assert!(!key_supports("RSA_2048", "ENCRYPT_DECRYPT", "GenerateDataKey"));
        assert!(key_supports("RSA_2048", "SIGN_VERIFY", "GetPublicKey"));
        assert!(key_supports("HMAC_256", "GENERATE_VERIFY_MAC", "VerifyMac"));
        assert!(key_supports("ECC_NIST_P256", "KEY_AGREEMENT", "DeriveSharedSecret"));
        assert!(key_supports("HMAC_256", "GENERATE_VERIFY_MAC", "DescribeKey"));
    }

    #[test]
    fn tokens_name_their_grant_and_differ_each_time() {
        let id = "ab".repeat(32);
        let (t1, t2) = (token::encode(&id), token::encode(&id));
        assert_ne!(t1, t2);
        assert_eq!(token::decode(&t1).as_deref(), Some(id.as_str()));
        assert_eq!(token::decode(&t2).as_deref(), Some(id.as_str()));
    }

    #[test]
    fn mangled_tokens_are_refused() {
        let token = token::encode(&"cd".repeat(32));
        let mut bytes = token.clone().into_bytes();
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(token::decode(&String::from_utf8(bytes).unwrap()), None);
        assert_eq!(token::decode("not a token"), None);
        assert_eq!(token::decode(""), None);
        assert_eq!(token::decode(&token[..token.len() - 2]), None);
    }

    #[test]
    fn tokens_are_url_safe_base64_without_padding_only() {
        let id = "ef".repeat(32);
        // The random nonce varies the token: find one using the URL-safe characters.
        let token = (0..1000).map(|_| token::encode(&id)).find(|t| t.contains(['-', '_'])).unwrap();
        assert_eq!(token::decode(&token).as_deref(), Some(id.as_str()));
        let standard = token.replace('-', "+").replace('_', "/");
        assert_eq!(token::decode(&standard), None, "the standard alphabet is refused");
        for padded in [format!("{token}="), format!("{token}==")] {
            assert_eq!(token::decode(&padded), None, "padding is refused");
        }
    }
}

//! Grant scenarios from AWS's KMS documentation ("Grants in AWS KMS", "Grant constraints",
//! "Controlling access to grants"), one test per behaviour, plus a property test that a
//! grant never allows an operation it does not list.

use std::collections::BTreeMap;
use std::sync::Arc;

use kms_api::types::EncryptionContext;
use proptest::prelude::*;

use super::context::{GrantRequest, IdentityInfo, RequestFacts};
use super::evaluate::{evaluate, Decision, Reason};
use super::grant::{Constraint, GrantRecord, GRANT_OPERATIONS};
use super::policy::{Policy, PolicyKind};
use super::Action;
use crate::auth::{Principal, PrincipalKind};
use crate::grants::GrantIndex;
use crate::model::{KeyRecord, KeyRef};
use crate::ops::policy::default_policy;

const A: &str = "111122223333";
const B: &str = "444455556666";

fn key(policy: &str) -> KeyRecord {
    let key = KeyRef {
        account: A.into(),
        region: "us-east-1".into(),
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
    };
    KeyRecord::new_symmetric(key, 0, policy.into())
}

fn user(account: &str, name: &str, policies: &[&str]) -> Principal {
    let policies = policies
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("p{i}"), Arc::new(Policy::parse(p, PolicyKind::Identity).unwrap())))
        .collect();
    Principal {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        kind: PrincipalKind::User { name: name.into() },
        identity: Arc::new(IdentityInfo { unique_id: String::new(), policies, tags: vec![] }),
        ..Principal::root(account, "AKID", 0)
    }
}

fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn grant(grantee: &str, ops: &[&str], constraint: Option<Constraint>) -> Arc<GrantRecord> {
    Arc::new(GrantRecord {
        grant_id: "g".repeat(64),
        key: key("").key,
        name: None,
        grantee: grantee.into(),
        retiring: None,
        operations: ops.iter().map(|o| (*o).to_owned()).collect(),
        constraint,
        issuing_account: A.into(),
        created_ms: 0,
    })
}

/// Decides `action` as the server does: the grants index finds a covering grant, then
/// the policies and the grant are evaluated together.
fn decide(
    grants: &GrantIndex,
    caller: &Principal,
    action: Action,
    record: &KeyRecord,
    context: Option<&EncryptionContext>,
) -> Decision {
    let policy = Policy::parse(&record.policy, PolicyKind::Key).unwrap();
    let grant =
        action.grant_operation().and_then(|op| grants.matching(caller, op, &record.key, context));
    let facts = RequestFacts { encryption_context: context, grant, ..RequestFacts::default() };
    evaluate(caller, action, Some((record, &policy)), &facts)
}

fn iam(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

#[test]
fn a_grant_with_encryption_context_subset_allows_decrypt_only_with_a_matching_context() {
    let grants = GrantIndex::default();
    let alice = user(A, "alice", &[]);
    let subset = Constraint::Subset(ec(&[("Department", "IT")]));
    grants.insert(grant(&alice.arn, &["Decrypt"], Some(subset)));
    let k = key(&default_policy(A));
    let d = decide(&grants, &alice, Action::Decrypt, &k, Some(&ec(&[("Department", "IT")])));
    assert_eq!((d.allowed, d.reason), (true, Reason::Grant));
    assert_eq!(d.grant_id.as_deref(), Some("g".repeat(64).as_str()));
    let extra = ec(&[("Department", "IT"), ("Purpose", "Test")]);
    assert!(decide(&grants, &alice, Action::Decrypt, &k, Some(&extra)).allowed);
    let other = ec(&[("Department", "HR")]);
    assert!(!decide(&grants, &alice, Action::Decrypt, &k, Some(&other)).allowed);
    assert!(!decide(&grants, &alice, Action::Decrypt, &k, None).allowed);
}

#[test]
fn a_grant_with_encryption_context_equals_needs_the_exact_context() {
    let grants = GrantIndex::default();
    let alice = user(A, "alice", &[]);
    let equals = Constraint::Equals(ec(&[("Department", "IT")]));
    grants.insert(grant(&alice.arn, &["Encrypt"], Some(equals)));
    let k = key(&default_policy(A));
    assert!(
        decide(&grants, &alice, Action::Encrypt, &k, Some(&ec(&[("Department", "IT")]))).allowed
    );
    let extra = ec(&[("Department", "IT"), ("Purpose", "Test")]);
    assert!(!decide(&grants, &alice, Action::Encrypt, &k, Some(&extra)).allowed);
}

#[test]
fn grant_constraints_do_not_apply_to_describe_key() {
    let grants = GrantIndex::default();
    let alice = user(A, "alice", &[]);
    let subset = Constraint::Subset(ec(&[("Department", "IT")]));
    grants.insert(grant(&alice.arn, &["DescribeKey", "Decrypt"], Some(subset)));
    let k = key(&default_policy(A));
    assert!(decide(&grants, &alice, Action::DescribeKey, &k, None).allowed);
}

#[test]
fn an_explicit_deny_overrides_a_grant() {
    let grants = GrantIndex::default();
    let deny_iam = iam(r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#);
    let alice = user(A, "alice", &[&deny_iam]);
    grants.insert(grant(&alice.arn, &["Decrypt"], None));
    let k = key(&default_policy(A));
    let d = decide(&grants, &alice, Action::Decrypt, &k, None);
    assert_eq!((d.allowed, d.reason), (false, Reason::ExplicitDenyInIdentityPolicy));

    let bob = user(A, "bob", &[]);
    grants.insert(Arc::new(GrantRecord {
        grant_id: "b".repeat(64),
        ..(*grant(&bob.arn, &["Decrypt"], None)).clone()
    }));
    let deny_key_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"NoBob","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{A}:user/bob"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let d = decide(&grants, &bob, Action::Decrypt, &key(&deny_key_policy), None);
    assert_eq!((d.allowed, d.reason), (false, Reason::ExplicitDenyInKeyPolicy));
}

#[test]
fn a_grant_to_another_accounts_user_works_without_any_iam_policy() {
    let grants = GrantIndex::default();
    let bob = user(B, "bob", &[]);
    grants.insert(grant(&bob.arn, &["Decrypt"], None));
    let d = decide(&grants, &bob, Action::Decrypt, &key(&default_policy(A)), None);
    assert_eq!((d.allowed, d.reason), (true, Reason::Grant));
}

#[test]
fn a_grant_to_an_account_covers_its_users_only_where_iam_allows() {
    let grants = GrantIndex::default();
    grants.insert(grant(&format!("arn:aws:iam::{B}:root"), &["Decrypt"], None));
    let k = key(&default_policy(A));
    assert!(decide(&grants, &Principal::root(B, "AKID", 0), Action::Decrypt, &k, None).allowed);
    let carl = user(B, "carl", &[]);
    assert!(!decide(&grants, &carl, Action::Decrypt, &k, None).allowed);
    let allow = iam(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}"#);
    let dana = user(B, "dana", &[&allow]);
    let d = decide(&grants, &dana, Action::Decrypt, &k, None);
    assert_eq!((d.allowed, d.reason), (true, Reason::Grant));
}

#[test]
fn a_grant_for_a_role_covers_its_sessions() {
    let grants = GrantIndex::default();
    grants.insert(grant(&format!("arn:aws:iam::{A}:role/app"), &["Encrypt"], None));
    let session = Principal {
        arn: format!("arn:aws:sts::{A}:assumed-role/app/s1"),
        kind: PrincipalKind::AssumedRole {
            role_arn: format!("arn:aws:iam::{A}:role/app"),
            session_name: "s1".into(),
        },
        ..Principal::root(A, "ASIA", 0)
    };
    assert!(decide(&grants, &session, Action::Encrypt, &key(&default_policy(A)), None).allowed);
}

#[test]
fn a_grant_does_not_cover_operations_on_other_keys() {
    let grants = GrantIndex::default();
    let alice = user(A, "alice", &[]);
    grants.insert(grant(&alice.arn, &["Decrypt"], None));
    let mut other = key(&default_policy(A));
    other.key.key_id = "ffffffff-12ab-34cd-56ef-1234567890ab".into();
    assert!(!decide(&grants, &alice, Action::Decrypt, &other, None).allowed);
}

/// A key policy that lets user `admin` create grants only under the `kms:Grant*` conditions.
fn create_grant_facts<'a>(
    operations: &'a [String],
    grantee: &'a str,
    constraint: Option<&'static str>,
    for_aws: bool,
) -> RequestFacts<'a> {
    RequestFacts {
        grant_request: Some(GrantRequest {
            operations: Some(operations),
            grantee: Some(grantee),
            retiring: None,
            constraint_type: constraint,
        }),
        grant_is_for_aws_resource: Some(for_aws),
        ..RequestFacts::default()
    }
}

#[test]
fn grant_condition_keys_limit_create_grant() {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Sid":"Grants","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/admin"}},
          "Action":"kms:CreateGrant","Resource":"*","Condition":{{
            "ForAllValues:StringEquals":{{"kms:GrantOperations":["Decrypt","Encrypt"]}},
            "StringEquals":{{"kms:GranteePrincipal":"arn:aws:iam::{A}:role/app",
                             "kms:GrantConstraintType":"EncryptionContextEquals"}},
            "Bool":{{"kms:GrantIsForAWSResource":"true"}}}}}}]}}"#
    );
    let k = key(&policy);
    let parsed = Policy::parse(&policy, PolicyKind::Key).unwrap();
    let admin = user(A, "admin", &[]);
    let role = format!("arn:aws:iam::{A}:role/app");
    let ops = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let allowed = |facts: &RequestFacts<'_>| {
        evaluate(&admin, Action::CreateGrant, Some((&k, &parsed)), facts).allowed
    };
    let decrypt = ops(&["Decrypt"]);
    let eq = Some("EncryptionContextEquals");
    assert!(allowed(&create_grant_facts(&decrypt, &role, eq, true)));
    let wider = ops(&["Decrypt", "CreateGrant"]);
    assert!(!allowed(&create_grant_facts(&wider, &role, eq, true)));
    assert!(!allowed(&create_grant_facts(&decrypt, "arn:aws:iam::111122223333:user/x", eq, true)));
    assert!(!allowed(&create_grant_facts(&decrypt, &role, Some("EncryptionContextSubset"), true)));
    assert!(!allowed(&create_grant_facts(&decrypt, &role, None, true)));
    assert!(!allowed(&create_grant_facts(&decrypt, &role, eq, false)));
}

/// Every action a grant can name, with its grant operation.
const GRANTABLE: &[Action] = &[
    Action::Decrypt,
    Action::Encrypt,
    Action::GenerateDataKey,
    Action::GenerateDataKeyWithoutPlaintext,
    Action::ReEncryptFrom,
    Action::ReEncryptTo,
    Action::Sign,
    Action::Verify,
    Action::GetPublicKey,
    Action::CreateGrant,
    Action::RetireGrant,
    Action::DescribeKey,
    Action::GenerateDataKeyPair,
    Action::GenerateDataKeyPairWithoutPlaintext,
    Action::GenerateMac,
    Action::VerifyMac,
    Action::DeriveSharedSecret,
    Action::ListGrants,
    Action::RevokeGrant,
    Action::DisableKey,
    Action::PutKeyPolicy,
];

fn small_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[ab]", "[xy]", 0..3)
}

proptest! {
    /// Whatever its operations and constraint, a grant never allows an operation it does
    /// not list, nor one whose encryption context breaks its constraint.
    #[test]
    fn a_grant_never_allows_an_operation_not_in_its_operations(
        ops in prop::sample::subsequence(GRANT_OPERATIONS.to_vec(), 1..6),
        action in prop::sample::select(GRANTABLE.to_vec()),
        constraint in prop::option::of(prop_oneof![
            small_map().prop_map(Constraint::Subset),
            small_map().prop_map(Constraint::Equals),
        ]),
        context in small_map(),
    ) {
        let grants = GrantIndex::default();
        let alice = user(A, "alice", &[]);
        grants.insert(grant(&alice.arn, &ops, constraint.clone()));
        // Alice has no IAM policy and the key policy delegates only to IAM: any allow is the grant's.
        let d = decide(&grants, &alice, action, &key(&default_policy(A)), Some(&context));
        if d.allowed {
            let op = action.grant_operation().unwrap_or("none");
            prop_assert!(ops.contains(&op), "{op:?} allowed by a grant of {ops:?}");
            prop_assert_eq!(d.reason, Reason::Grant);
            if let (Some(c), true) = (&constraint, super::grant::CONTEXT_OPERATIONS.contains(&op)) {
                prop_assert!(c.holds(Some(&context)));
            }
        }
    }
}

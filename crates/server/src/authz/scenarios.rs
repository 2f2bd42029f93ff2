//! Policy scenarios from AWS's KMS documentation, one test per behaviour, plus property
//! tests of the evaluation logic.

use std::sync::Arc;

use kms_api::types::EncryptionContext;
use kms_api::ErrorCode;
use proptest::prelude::*;

use super::context::{GrantMatch, IdentityInfo, RequestEnv, RequestFacts};
use super::evaluate::{evaluate, Reason};
use super::policy::{Policy, PolicyKind};
use super::{authorize, authorize_with, check_lockout, Action};
use crate::auth::{Principal, PrincipalKind};
use crate::model::{KeyRecord, KeyRef};
use crate::ops::policy::default_policy;

const A: &str = "111122223333";
const B: &str = "444455556666";
/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;

fn key(account: &str, policy: &str) -> KeyRecord {
    let key = KeyRef {
        account: account.into(),
        region: "us-east-1".into(),
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
    };
    KeyRecord {
        tags: vec![("team".into(), "blue".into())],
        ..KeyRecord::new_symmetric(key, 0, policy.into())
    }
}

fn key_arn(account: &str) -> String {
    key(account, "").key.arn()
}

fn identity(policies: &[&str]) -> Arc<IdentityInfo> {
    Arc::new(IdentityInfo {
        unique_id: String::new(),
        policies: policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (format!("policy{i}"), Arc::new(Policy::parse(p, PolicyKind::Identity).unwrap()))
            })
            .collect(),
        tags: vec![("dept".into(), "finance".into())],
    })
}

fn env() -> RequestEnv {
    RequestEnv {
        now_ms: NOW_MS,
        source_ip: Some("10.1.2.3".parse().unwrap()),
        secure_transport: true,
        region: "us-east-1".into(),
    }
}

fn root(account: &str) -> Principal {
    Principal::root(account, "AKIDROOT", NOW_MS)
}

fn user(account: &str, name: &str, policies: &[&str]) -> Principal {
    Principal {
        account: account.into(),
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        access_key_id: "AKIDUSER".into(),
        kind: PrincipalKind::User { name: name.into() },
        identity: identity(policies),
        env: env(),
    }
}

fn session(account: &str, role: &str, policies: &[&str]) -> Principal {
    Principal {
        account: account.into(),
        arn: format!("arn:aws:sts::{account}:assumed-role/{role}/s1"),
        access_key_id: "ASIASESSION".into(),
        kind: PrincipalKind::AssumedRole {
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            session_name: "s1".into(),
        },
        identity: identity(policies),
        env: env(),
    }
}

fn key_policy(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

fn iam(statements: &str) -> String {
    key_policy(statements)
}

const IAM_ALLOW_KMS: &str = r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#;

fn decide(
    caller: &Principal,
    action: Action,
    record: &KeyRecord,
    facts: &RequestFacts<'_>,
) -> (bool, Reason) {
    let policy = Policy::parse(&record.policy, PolicyKind::Key).unwrap();
    let d = evaluate(caller, action, Some((record, &policy)), facts);
    (d.allowed, d.reason)
}

fn allowed(caller: &Principal, action: Action, record: &KeyRecord) -> bool {
    decide(caller, action, record, &RequestFacts::default()).0
}

#[test]
fn default_key_policy_gives_the_account_root_every_kms_action() {
    let k = key(A, &default_policy(A));
    for action in [Action::Encrypt, Action::PutKeyPolicy, Action::ScheduleKeyDeletion] {
        assert!(allowed(&root(A), action, &k));
    }
}

#[test]
fn default_key_policy_denies_a_user_with_no_iam_policy_alice() {
    let k = key(A, &default_policy(A));
    let alice = user(A, "alice", &[]);
    assert_eq!(
        decide(&alice, Action::Encrypt, &k, &RequestFacts::default()),
        (false, Reason::NoIdentityPolicyAllow)
    );
    let err = authorize(&alice, Action::Encrypt, &k).unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDeniedException);
    assert_eq!(
        err.message.unwrap(),
        format!(
            "User: arn:aws:iam::{A}:user/alice is not authorized to perform: kms:Encrypt on resource: {} because no identity-based policy allows the kms:Encrypt action",
            key_arn(A)
        )
    );
}

#[test]
fn default_key_policy_allows_a_user_once_an_iam_policy_allows_alice() {
    let k = key(A, &default_policy(A));
    let alice = user(
        A,
        "alice",
        &[&iam(r#"{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#)],
    );
    assert!(allowed(&alice, Action::Encrypt, &k));
    assert!(!allowed(&alice, Action::ScheduleKeyDeletion, &k));
}

#[test]
fn key_policy_naming_the_user_allows_without_iam_policy() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/bob"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    assert_eq!(
        decide(&user(A, "bob", &[]), Action::Decrypt, &k, &RequestFacts::default()),
        (true, Reason::KeyPolicyAllowsPrincipal)
    );
    assert!(!allowed(&user(A, "carol", &[]), Action::Decrypt, &k));
    assert!(!allowed(&user(A, "bob", &[]), Action::Encrypt, &k));
}

#[test]
fn key_policy_without_account_statement_makes_iam_policies_ineffective() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/bob"}},"Action":"kms:*","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    let admin = user(A, "admin", &[&iam(IAM_ALLOW_KMS)]);
    assert_eq!(
        decide(&admin, Action::Encrypt, &k, &RequestFacts::default()),
        (false, Reason::NoKeyPolicyAllow)
    );
    assert!(!allowed(&root(A), Action::Encrypt, &k), "even the root needs the key policy");
}

#[test]
fn explicit_deny_in_key_policy_wins_over_allows() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"kms:*","Resource":"*"}},
           {{"Sid":"NoEncrypt","Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    let (ok, reason) = decide(&root(A), Action::Encrypt, &k, &RequestFacts::default());
    assert_eq!((ok, reason), (false, Reason::ExplicitDenyInKeyPolicy));
    let err = authorize(&root(A), Action::Encrypt, &k).unwrap_err();
    assert!(err.message.unwrap().ends_with("with an explicit deny in a resource-based policy"));
    assert!(allowed(&root(A), Action::Decrypt, &k));
}

#[test]
fn explicit_deny_in_identity_policy_wins_over_key_policy_allow() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/bob"}},"Action":"kms:*","Resource":"*"}}"#
    ));
    let bob = user(A, "bob", &[&iam(r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#)]);
    let k = key(A, &policy);
    assert_eq!(
        decide(&bob, Action::Decrypt, &k, &RequestFacts::default()),
        (false, Reason::ExplicitDenyInIdentityPolicy)
    );
    assert!(allowed(&bob, Action::Encrypt, &k));
}

fn cross_account_policy() -> String {
    key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"kms:*","Resource":"*"}},
           {{"Sid":"External","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},
             "Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey","kms:GenerateDataKey*"],"Resource":"*"}}"#
    ))
}

#[test]
fn cross_account_use_is_allowed_with_key_policy_and_iam_policy() {
    let k = key(A, &cross_account_policy());
    let iam_allow =
        iam(&format!(r#"{{"Effect":"Allow","Action":"kms:Encrypt","Resource":"{}"}}"#, key_arn(A)));
    let bob = user(B, "bob", &[&iam_allow]);
    assert_eq!(
        decide(&bob, Action::Encrypt, &k, &RequestFacts::default()),
        (true, Reason::KeyPolicyAndIdentityPolicyAllow)
    );
    assert!(authorize(&bob, Action::Encrypt, &k).is_ok());
}

#[test]
fn cross_account_use_is_denied_without_iam_policy() {
    let k = key(A, &cross_account_policy());
    assert_eq!(
        decide(&user(B, "bob", &[]), Action::Encrypt, &k, &RequestFacts::default()),
        (false, Reason::NoIdentityPolicyAllow)
    );
}

#[test]
fn cross_account_use_is_denied_without_key_policy_statement() {
    let k = key(A, &default_policy(A));
    let bob = user(B, "bob", &[&iam(IAM_ALLOW_KMS)]);
    assert_eq!(
        decide(&bob, Action::Encrypt, &k, &RequestFacts::default()),
        (false, Reason::NoKeyPolicyAllow)
    );
    let err = authorize(&bob, Action::Encrypt, &k).unwrap_err();
    assert!(err
        .message
        .unwrap()
        .ends_with("because no resource-based policy allows the kms:Encrypt action"));
}

#[test]
fn cross_account_key_policy_naming_the_user_still_needs_iam() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:user/bob"}},"Action":"kms:Encrypt","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    assert!(!allowed(&user(B, "bob", &[]), Action::Encrypt, &k));
    assert!(allowed(&user(B, "bob", &[&iam(IAM_ALLOW_KMS)]), Action::Encrypt, &k));
}

#[test]
fn cross_account_root_is_allowed_when_key_policy_names_its_account() {
    let k = key(A, &cross_account_policy());
    assert!(allowed(&root(B), Action::Encrypt, &k));
    assert!(!allowed(&root(B), Action::Decrypt, &key(A, &default_policy(A))));
}

#[test]
fn cross_account_management_operations_see_no_key() {
    let k = key(A, &cross_account_policy());
    let err = authorize(&root(B), Action::ScheduleKeyDeletion, &k).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFoundException);
}

#[test]
fn role_principal_covers_its_assumed_role_sessions() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/app"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    assert!(allowed(&session(A, "app", &[]), Action::Decrypt, &k));
    assert!(!allowed(&session(A, "other", &[]), Action::Decrypt, &k));
    let exact = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:sts::{A}:assumed-role/app/s1"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
    assert!(allowed(&session(A, "app", &[]), Action::Decrypt, &key(A, &exact)));
}

#[test]
fn via_service_condition_refuses_direct_calls() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:Decrypt","Resource":"*",
             "Condition":{{"StringEquals":{{"kms:ViaService":"ec2.us-east-1.amazonaws.com","kms:CallerAccount":"{A}"}}}}}}"#
    ));
    let k = key(A, &policy);
    let alice = user(A, "alice", &[]);
    assert!(!allowed(&alice, Action::Decrypt, &k), "a direct call carries no kms:ViaService");
    let via_ec2 =
        RequestFacts { via_service: Some("ec2.us-east-1.amazonaws.com"), ..Default::default() };
    assert!(decide(&alice, Action::Decrypt, &k, &via_ec2).0);
    assert!(!decide(&user(B, "mallory", &[&iam(IAM_ALLOW_KMS)]), Action::Decrypt, &k, &via_ec2).0);
}

#[test]
fn via_service_comes_from_a_principal_tagged_as_an_integrated_service() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:Decrypt","Resource":"*",
             "Condition":{{"StringEquals":{{"kms:ViaService":"ec2.us-east-1.amazonaws.com","kms:CallerAccount":"{A}"}}}}}}"#
    ));
    let k = key(A, &policy);
    let tagged = |account: &str, value: &str| {
        let mut p = user(account, "ebs-service", &[]);
        p.identity = Arc::new(IdentityInfo {
            tags: vec![("kms-server:aws-service".into(), value.into())],
            ..IdentityInfo::clone(&p.identity)
        });
        p
    };
    assert!(allowed(&tagged(A, "ec2.amazonaws.com"), Action::Decrypt, &k));
    assert!(!allowed(&tagged(A, "s3.amazonaws.com"), Action::Decrypt, &k), "another service");
    assert!(!allowed(&tagged(A, ""), Action::Decrypt, &k), "no service named");
    assert!(!allowed(&tagged(A, "EC2..x"), Action::Decrypt, &k), "not a host name");
    assert!(!allowed(&tagged(B, "ec2.amazonaws.com"), Action::Decrypt, &k), "another account");
    assert!(!allowed(&user(A, "alice", &[]), Action::Decrypt, &k), "untagged");
    // The Region is the key's: a key in eu-west-1 is used through ec2.eu-west-1.
    let mut eu = key(A, &policy);
    eu.key.region = "eu-west-1".into();
    assert!(!allowed(&tagged(A, "ec2.amazonaws.com"), Action::Decrypt, &eu));
}

#[test]
fn caller_account_condition_limits_a_wildcard_principal() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*",
             "Condition":{{"StringEquals":{{"kms:CallerAccount":"{A}"}}}}}}"#
    ));
    let k = key(A, &policy);
    assert!(allowed(&user(A, "alice", &[]), Action::Encrypt, &k));
    assert!(!allowed(&user(B, "bob", &[&iam(IAM_ALLOW_KMS)]), Action::Encrypt, &k));
}

#[test]
fn encryption_context_condition_requires_the_pair() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
             "Condition":{{"StringEquals":{{"kms:EncryptionContext:Department":"IT"}}}}}}"#
    ));
    let k = key(A, &policy);
    let alice = user(A, "alice", &[]);
    let ec = |k: &str, v: &str| EncryptionContext::from([(k.to_owned(), v.to_owned())]);
    let it = ec("department", "IT");
    let hr = ec("Department", "HR");
    assert!(
        decide(
            &alice,
            Action::Encrypt,
            &k,
            &RequestFacts { encryption_context: Some(&it), ..Default::default() }
        )
        .0,
        "the context key name is case-insensitive"
    );
    assert!(
        !decide(
            &alice,
            Action::Encrypt,
            &k,
            &RequestFacts { encryption_context: Some(&hr), ..Default::default() }
        )
        .0
    );
    assert!(!allowed(&alice, Action::Encrypt, &k), "no encryption context: denied");
}

#[test]
fn encryption_context_keys_for_all_values_allows_only_listed_keys() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":"kms:Encrypt","Resource":"*",
             "Condition":{{"ForAllValues:StringEquals":{{"kms:EncryptionContextKeys":["app","env"]}},
                           "Null":{{"kms:EncryptionContextKeys":"false"}}}}}}"#
    ));
    let k = key(A, &policy);
    let alice = user(A, "alice", &[]);
    let ok = EncryptionContext::from([("app".into(), "x".into())]);
    let extra = EncryptionContext::from([("app".into(), "x".into()), ("other".into(), "y".into())]);
    let facts = |ec| RequestFacts { encryption_context: Some(ec), ..Default::default() };
    assert!(decide(&alice, Action::Encrypt, &k, &facts(&ok)).0);
    assert!(!decide(&alice, Action::Encrypt, &k, &facts(&extra)).0);
    assert!(!allowed(&alice, Action::Encrypt, &k), "Null: false requires a context");
}

#[test]
fn identity_policy_resource_must_name_the_key() {
    let k = key(A, &default_policy(A));
    let other = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000";
    let narrow = user(
        A,
        "alice",
        &[&iam(&format!(r#"{{"Effect":"Allow","Action":"kms:*","Resource":"{other}"}}"#))],
    );
    assert!(!allowed(&narrow, Action::Encrypt, &k));
    let wild = user(
        A,
        "alice",
        &[&iam(
            r#"{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}"#,
        )],
    );
    assert!(allowed(&wild, Action::Encrypt, &k));
}

#[test]
fn not_action_deny_leaves_only_listed_actions() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"kms:*","Resource":"*"}},
           {{"Effect":"Deny","Principal":"*","NotAction":["kms:Describe*","kms:Get*"],"Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    assert!(allowed(&root(A), Action::DescribeKey, &k));
    assert!(allowed(&root(A), Action::GetKeyPolicy, &k));
    assert!(!allowed(&root(A), Action::Encrypt, &k));
}

#[test]
fn not_principal_deny_spares_the_named_principal() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalAccount":"{A}"}}}}}},
           {{"Effect":"Deny","NotPrincipal":{{"AWS":"arn:aws:iam::{A}:user/admin"}},"Action":"kms:ScheduleKeyDeletion","Resource":"*"}}"#
    ));
    let k = key(A, &policy);
    assert!(allowed(&user(A, "admin", &[]), Action::ScheduleKeyDeletion, &k));
    assert!(!allowed(&user(A, "alice", &[]), Action::ScheduleKeyDeletion, &k));
}

#[test]
fn resource_and_principal_tags_drive_abac() {
    let k = key(A, &default_policy(A));
    let abac = iam(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
        "Condition":{"StringEquals":{"aws:ResourceTag/Team":"blue","aws:PrincipalTag/dept":"finance"}}}"#);
    assert!(allowed(&user(A, "alice", &[&abac]), Action::Decrypt, &k));
    let mut red = k.clone();
    red.tags = vec![("team".into(), "red".into())];
    assert!(!allowed(&user(A, "alice", &[&abac]), Action::Decrypt, &red));
}

#[test]
fn policy_variables_tie_keys_to_their_owner() {
    let owner_only = |version: &str| {
        format!(
            r#"{{"Version":"{version}","Statement":{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:${{aws:PrincipalAccount}}:key/*",
            "Condition":{{"StringEquals":{{"aws:ResourceTag/owner":"${{aws:username}}"}}}}}}}}"#
        )
    };
    let mut k = key(A, &default_policy(A));
    k.tags = vec![("owner".into(), "alice".into())];
    let modern = owner_only("2012-10-17");
    assert!(allowed(&user(A, "alice", &[&modern]), Action::Decrypt, &k));
    assert!(!allowed(&user(A, "bob", &[&modern]), Action::Decrypt, &k));
    assert!(
        !allowed(&session(A, "alice", &[&modern]), Action::Decrypt, &k),
        "sessions have no aws:username"
    );
    let legacy = owner_only("2008-10-17");
    assert!(
        !allowed(&user(A, "alice", &[&legacy]), Action::Decrypt, &k),
        "no variables before 2012-10-17"
    );
    let defaulted = iam(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
        "Condition":{"StringEquals":{"aws:ResourceTag/owner":"${aws:username, 'alice'}"}}}"#);
    assert!(allowed(&session(A, "x", &[&defaulted]), Action::Decrypt, &k));
}

#[test]
fn source_ip_and_secure_transport_conditions() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"kms:*","Resource":"*"}},
           {{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"NotIpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}},
           {{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}"#
    ));
    let k = key(A, &policy);
    let mut alice = user(A, "alice", &[&iam(IAM_ALLOW_KMS)]);
    assert!(allowed(&alice, Action::Decrypt, &k));
    alice.env.secure_transport = false;
    assert!(!allowed(&alice, Action::Decrypt, &k));
    assert!(allowed(&alice, Action::Encrypt, &k));
    alice.env.source_ip = Some("192.168.1.1".parse().unwrap());
    assert!(!allowed(&alice, Action::Encrypt, &k));
}

#[test]
fn current_time_and_numeric_conditions() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"kms:*","Resource":"*"}},
           {{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*",
             "Condition":{{"NumericLessThan":{{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"}}}}}},
           {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*",
             "Condition":{{"DateGreaterThan":{{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}}}}"#
    ));
    let k = key(A, &policy);
    let window = |d| RequestFacts { pending_window_days: Some(d), ..Default::default() };
    assert!(!decide(&root(A), Action::ScheduleKeyDeletion, &k, &window(7)).0);
    assert!(decide(&root(A), Action::ScheduleKeyDeletion, &k, &window(30)).0);
    assert!(allowed(&root(A), Action::Encrypt, &k));
    let mut later = root(A);
    later.env.now_ms = NOW_MS + 400 * 86_400_000;
    assert!(!allowed(&later, Action::Encrypt, &k));
}

#[test]
fn request_alias_condition() {
    let abac = iam(
        r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringLike":{"kms:RequestAlias":"alias/app-*"}}}"#,
    );
    let k = key(A, &default_policy(A));
    let alice = user(A, "alice", &[&abac]);
    let via = |a: &str| RequestFacts { request_alias: Some(a.into()), ..Default::default() };
    assert!(decide(&alice, Action::Encrypt, &k, &via("alias/app-1")).0);
    assert!(!decide(&alice, Action::Encrypt, &k, &via("alias/other")).0);
    assert!(!allowed(&alice, Action::Encrypt, &k), "key id instead of alias");
}

#[test]
fn a_grant_allows_what_policies_do_not_but_never_beats_a_deny() {
    let k = key(A, &default_policy(A));
    let alice = user(A, "alice", &[]);
    let grant = RequestFacts {
        grant: Some(GrantMatch { grant_id: "g1".into(), through_account: false }),
        ..Default::default()
    };
    assert_eq!(decide(&alice, Action::Decrypt, &k, &grant), (true, Reason::Grant));
    let denied = user(A, "alice", &[&iam(r#"{"Effect":"Deny","Action":"kms:*","Resource":"*"}"#)]);
    assert_eq!(
        decide(&denied, Action::Decrypt, &k, &grant),
        (false, Reason::ExplicitDenyInIdentityPolicy)
    );
}

#[test]
fn operations_without_a_key_need_an_identity_policy() {
    let facts = RequestFacts::default();
    assert!(evaluate(&root(A), Action::CreateKey, None, &facts).allowed);
    let alice = user(A, "alice", &[]);
    let d = evaluate(&alice, Action::CreateKey, None, &facts);
    assert!(!d.allowed);
    assert_eq!(
        d.denial_message(&alice, Action::CreateKey, "*"),
        format!("User: arn:aws:iam::{A}:user/alice is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action")
    );
    let creator =
        user(A, "c", &[&iam(r#"{"Effect":"Allow","Action":"kms:Create*","Resource":"*"}"#)]);
    assert!(evaluate(&creator, Action::CreateKey, None, &facts).allowed);
}

#[test]
fn requested_region_and_key_spec_limit_create_key() {
    let only_east = iam(r#"{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*",
        "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1","kms:KeySpec":"SYMMETRIC_DEFAULT"}}}"#);
    let mut alice = user(A, "alice", &[&only_east]);
    let new_key = |spec| RequestFacts {
        new_key: Some(super::context::NewKey {
            key_spec: spec,
            key_usage: "ENCRYPT_DECRYPT",
            origin: "AWS_KMS",
            multi_region: false,
        }),
        ..Default::default()
    };
    assert!(evaluate(&alice, Action::CreateKey, None, &new_key("SYMMETRIC_DEFAULT")).allowed);
    assert!(!evaluate(&alice, Action::CreateKey, None, &new_key("RSA_2048")).allowed);
    alice.env.region = "eu-west-1".into();
    assert!(!evaluate(&alice, Action::CreateKey, None, &new_key("SYMMETRIC_DEFAULT")).allowed);
}

#[test]
fn lockout_check_refuses_a_policy_the_caller_cannot_update() {
    let k = key(A, "");
    let parse = |s: &str| Policy::parse(s, PolicyKind::Key).unwrap();
    let locked = parse(&key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}}"#
    )));
    let err = check_lockout(&root(A), &k, &locked).unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedPolicyDocumentException);
    assert_eq!(
        err.message.unwrap(),
        "The new key policy will not allow you to update the key policy in the future."
    );
    assert!(check_lockout(&root(A), &k, &parse(&default_policy(A))).is_ok());
    // Through the account principal, the caller's IAM policy must allow PutKeyPolicy too.
    assert!(check_lockout(&user(A, "alice", &[]), &k, &parse(&default_policy(A))).is_err());
    assert!(check_lockout(
        &user(A, "alice", &[&iam(IAM_ALLOW_KMS)]),
        &k,
        &parse(&default_policy(A))
    )
    .is_ok());
}

#[test]
fn near_misses_name_the_failed_condition() {
    let policy = key_policy(&format!(
        r#"{{"Sid":"AppOnly","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":"kms:Encrypt","Resource":"*",
             "Condition":{{"StringEquals":{{"kms:EncryptionContext:app":"x"}}}}}}"#
    ));
    let k = key(A, &policy);
    let parsed = Policy::parse(&policy, PolicyKind::Key).unwrap();
    let d = evaluate(
        &user(A, "alice", &[]),
        Action::Encrypt,
        Some((&k, &parsed)),
        &RequestFacts::default(),
    );
    let lines = d.explain().join("\n");
    assert!(
        lines.contains("Sid \"AppOnly\"") && lines.contains("kms:EncryptionContext:app"),
        "{lines}"
    );
}

#[test]
fn authorize_with_passes_request_facts() {
    let policy = key_policy(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"kms:*","Resource":"*"}},
           {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{{"StringNotEquals":{{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}}}}}"#
    ));
    let k = key(A, &policy);
    let sym =
        RequestFacts { encryption_algorithm: Some("SYMMETRIC_DEFAULT"), ..Default::default() };
    assert!(authorize_with(&root(A), Action::Encrypt, &k, &sym).is_ok());
    let rsa =
        RequestFacts { encryption_algorithm: Some("RSAES_OAEP_SHA_256"), ..Default::default() };
    assert!(authorize_with(&root(A), Action::Encrypt, &k, &rsa).is_err());
}

// ---------------------------------------------------------------------------------------
// Property tests.

/// A pool of statement shapes over a small universe of principals, actions and conditions.
fn statement() -> impl Strategy<Value = String> {
    let effect = prop_oneof![Just("Allow"), Just("Deny")];
    let principal = prop_oneof![
        Just(r#""*""#.to_owned()),
        Just(format!(r#"{{"AWS":"{A}"}}"#)),
        Just(format!(r#"{{"AWS":"arn:aws:iam::{B}:root"}}"#)),
        Just(format!(r#"{{"AWS":"arn:aws:iam::{A}:user/alice"}}"#)),
        Just(format!(r#"{{"AWS":"arn:aws:iam::{B}:user/bob"}}"#)),
    ];
    let negate_principal = any::<bool>();
    let action = prop_oneof![
        Just(r#""Action":"kms:*""#),
        Just(r#""Action":"kms:Encrypt""#),
        Just(r#""Action":["kms:Decrypt","kms:Describe*"]"#),
        Just(r#""NotAction":"kms:Encrypt""#),
    ];
    let condition = prop_oneof![
        Just(""),
        Just(r#","Condition":{"StringEquals":{"kms:EncryptionContext:app":"x"}}"#),
        Just(r#","Condition":{"StringNotEquals":{"kms:CallerAccount":"111122223333"}}"#),
        Just(r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#),
        Just(r#","Condition":{"ForAnyValue:StringLike":{"kms:EncryptionContextKeys":"a*"}}"#),
    ];
    (effect, principal, negate_principal, action, condition).prop_map(|(e, p, neg, a, c)| {
        let p_key = if neg && p != r#""*""# { "NotPrincipal" } else { "Principal" };
        format!(r#"{{"Effect":"{e}","{p_key}":{p},{a},"Resource":"*"{c}}}"#)
    })
}

fn iam_statement() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("Allow"), Just("Deny")],
        prop_oneof![Just("kms:*"), Just("kms:Encrypt"), Just("kms:Decrypt")],
    )
        .prop_map(|(e, a)| format!(r#"{{"Effect":"{e}","Action":"{a}","Resource":"*"}}"#))
}

fn caller(index: usize, iam_statements: &[String]) -> Principal {
    let docs: Vec<String> = iam_statements.iter().map(|s| iam(s)).collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    match index % 4 {
        0 => root(A),
        1 => user(A, "alice", &refs),
        2 => user(B, "bob", &refs),
        _ => root(B),
    }
}

fn actions() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Encrypt), Just(Action::Decrypt), Just(Action::DescribeKey)]
}

proptest! {
    #[test]
    fn adding_a_deny_never_widens_access(
        statements in proptest::collection::vec(statement(), 1..5),
        extra in statement(),
        iam_statements in proptest::collection::vec(iam_statement(), 0..3),
        who in 0usize..4,
        action in actions(),
        with_context in any::<bool>(),
    ) {
        let ec = EncryptionContext::from([("app".to_owned(), "x".to_owned())]);
        let facts = RequestFacts { encryption_context: with_context.then_some(&ec), ..Default::default() };
        let caller = caller(who, &iam_statements);
        let before = key(A, &key_policy(&statements.join(",")));
        let deny = extra.replace(r#""Effect":"Allow""#, r#""Effect":"Deny""#);
        let mut more = statements.clone();
        more.push(deny);
        let after = key(A, &key_policy(&more.join(",")));
        let (was, _) = decide(&caller, action, &before, &facts);
        let (now, _) = decide(&caller, action, &after, &facts);
        prop_assert!(was || !now, "a Deny turned a denial into an allow");
    }

    #[test]
    fn statement_order_never_matters(
        statements in proptest::collection::vec(statement(), 1..6),
        iam_statements in proptest::collection::vec(iam_statement(), 0..3),
        rotate in 0usize..6,
        who in 0usize..4,
        action in actions(),
    ) {
        let caller = caller(who, &iam_statements);
        let mut shuffled = statements.clone();
        shuffled.reverse();
        let n = shuffled.len();
        shuffled.rotate_left(rotate % n);
        let a = decide(&caller, action, &key(A, &key_policy(&statements.join(","))), &RequestFacts::default());
        let b = decide(&caller, action, &key(A, &key_policy(&shuffled.join(","))), &RequestFacts::default());
        prop_assert_eq!(a, b);
    }
}

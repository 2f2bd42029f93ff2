//! Measures the cost of one authorization decision (the work `authz::authorize_with`
//! adds to every KMS request) for typical policy setups, and for decisions a grant makes
//! (the grant lookup in the in-memory index included).
//!
//! `cargo run --release -p kms-server --example authz_overhead`

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use kms_api::types::EncryptionContext;
use kms_server::auth::{Principal, PrincipalKind};
use kms_server::authz::context::{IdentityInfo, RequestEnv, RequestFacts};
use kms_server::authz::evaluate::Reason;
use kms_server::authz::grant::{Constraint, GrantRecord};
use kms_server::authz::policy::{Policy, PolicyKind};
use kms_server::authz::{authorize_with, Action};
use kms_server::grants::GrantIndex;
use kms_server::model::{KeyRecord, KeyRef};
use kms_server::ops::policy::default_policy;

const A: &str = "111122223333";
const ITERATIONS: u32 = 200_000;

fn key(policy: String) -> KeyRecord {
    let key = KeyRef {
        account: A.into(),
        region: "us-east-1".into(),
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
    };
    KeyRecord {
        tags: vec![("team".into(), "blue".into())],
        ..KeyRecord::new_symmetric(key, 0, policy)
    }
}

fn user(policies: &[&str]) -> Principal {
    Principal {
        account: A.into(),
        arn: format!("arn:aws:iam::{A}:user/alice"),
        access_key_id: "AKID".into(),
        kind: PrincipalKind::User { name: "alice".into() },
        identity: Arc::new(IdentityInfo {
            unique_id: String::new(),
            policies: policies
                .iter()
                .map(|p| {
                    ("p".to_owned(), Arc::new(Policy::parse(p, PolicyKind::Identity).unwrap()))
                })
                .collect(),
            tags: vec![],
        }),
        env: RequestEnv { now_ms: 1_767_225_600_000, ..RequestEnv::default() },
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so other load on a
/// shared machine does not inflate the figure; `None` elsewhere.
fn cpu_ns() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn measure(name: &str, caller: &Principal, record: &KeyRecord, facts: &RequestFacts<'_>) {
    measure_with(name, || {
        authorize_with(black_box(caller), Action::GenerateDataKey, record, facts).unwrap().reason
    });
}

/// Times `decide` (one whole decision) over [`ITERATIONS`] runs.
fn measure_with(name: &str, mut decide: impl FnMut() -> Reason) {
    black_box(decide());
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    for _ in 0..ITERATIONS {
        black_box(decide());
    }
    let wall = start.elapsed().as_nanos() / u128::from(ITERATIONS);
    let cpu = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) => format!("{:>6} ns on CPU", (b - a) / u128::from(ITERATIONS)),
        _ => String::new(),
    };
    println!("{name:<58} {wall:>6} ns wall {cpu}");
}

/// A grant for `grantee` on `record`'s key.
fn grant(
    id: usize,
    record: &KeyRecord,
    grantee: &str,
    constraint: Option<Constraint>,
) -> GrantRecord {
    GrantRecord {
        grant_id: format!("{id:064x}"),
        key: record.key.clone(),
        name: None,
        grantee: grantee.to_owned(),
        retiring: None,
        operations: vec!["Encrypt".into(), "Decrypt".into(), "GenerateDataKey".into()],
        constraint,
        issuing_account: A.into(),
        created_ms: 0,
    }
}

/// One decision as the server makes it when a grant may apply: look the grant up, then
/// evaluate policies and grant together.
fn measure_grant(
    name: &str,
    grants: &GrantIndex,
    caller: &Principal,
    record: &KeyRecord,
    facts: &RequestFacts<'_>,
) {
    measure_with(name, || {
        let grant =
            grants.matching(caller, "GenerateDataKey", &record.key, facts.encryption_context);
        let facts = RequestFacts { grant, ..facts.clone() };
        let decision = authorize_with(black_box(caller), Action::GenerateDataKey, record, &facts);
        let reason = decision.unwrap().reason;
        assert_eq!(reason, Reason::Grant);
        reason
    });
}

fn main() {
    let ec = EncryptionContext::from([("app".to_owned(), "payroll".to_owned())]);
    let facts = RequestFacts {
        encryption_context: Some(&ec),
        encryption_algorithm: Some("SYMMETRIC_DEFAULT"),
        ..RequestFacts::default()
    };
    let default_key = key(default_policy(A));
    measure("root, default key policy", &Principal::root(A, "AKID", 0), &default_key, &facts);
    let iam_allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"arn:aws:kms:*:111122223333:key/*"}}"#;
    measure("user + IAM policy, default key policy", &user(&[iam_allow]), &default_key, &facts);
    let conditions = key(format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*",
          "Condition":{{"StringEquals":{{"kms:EncryptionContext:app":"payroll","kms:CallerAccount":"{A}"}},"ForAllValues:StringLike":{{"kms:EncryptionContextKeys":["app","env*"]}}}}}},
        {{"Sid":"NoHttp","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:ResourceTag/team":"blue"}}}}}}]}}"#
    ));
    measure("user, key policy with 3 statements and 5 conditions", &user(&[]), &conditions, &facts);
    measure(
        "user + IAM policy, key policy with conditions",
        &user(&[iam_allow]),
        &conditions,
        &facts,
    );

    let alice = user(&[]);
    let grants = GrantIndex::default();
    grants.insert(Arc::new(grant(0, &default_key, &alice.arn, None)));
    measure_grant(
        "user allowed by a grant, default key policy",
        &grants,
        &alice,
        &default_key,
        &facts,
    );
    let constrained = GrantIndex::default();
    let subset =
        Constraint::Subset(EncryptionContext::from([("app".to_owned(), "payroll".to_owned())]));
    constrained.insert(Arc::new(grant(0, &default_key, &alice.arn, Some(subset.clone()))));
    measure_grant(
        "user allowed by a grant with EncryptionContextSubset",
        &constrained,
        &alice,
        &default_key,
        &facts,
    );
    let crowded = GrantIndex::default();
    for i in 1..100 {
        let other = format!("arn:aws:iam::{A}:user/u{i}");
        crowded.insert(Arc::new(grant(i, &default_key, &other, Some(subset.clone()))));
    }
    crowded.insert(Arc::new(grant(100, &default_key, &alice.arn, Some(subset))));
    measure_grant("... the 100th of 100 grants on the key", &crowded, &alice, &default_key, &facts);
    // Grants exist, but not on this key: the cost every other request pays.
    let other_key =
        KeyRef { key_id: "ffffffff-12ab-34cd-56ef-1234567890ab".into(), ..default_key.key.clone() };
    measure_with("grant lookup on a key without grants (every request)", || {
        black_box(grants.matching(&alice, "GenerateDataKey", &other_key, facts.encryption_context));
        Reason::Grant
    });
}

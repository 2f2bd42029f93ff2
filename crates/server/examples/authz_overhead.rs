//! Measures the cost of one authorization decision (the work `authz::authorize_with`
//! adds to every KMS request) for typical policy setups.
//!
//! `cargo run --release -p kms-server --example authz_overhead`

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use kms_api::types::EncryptionContext;
use kms_server::auth::{Principal, PrincipalKind};
use kms_server::authz::context::{IdentityInfo, RequestEnv, RequestFacts};
use kms_server::authz::policy::{Policy, PolicyKind};
use kms_server::authz::{authorize_with, Action};
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
    authorize_with(caller, Action::GenerateDataKey, record, facts).unwrap();
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    for _ in 0..ITERATIONS {
        let decision = authorize_with(black_box(caller), Action::GenerateDataKey, record, facts);
        black_box(decision.unwrap());
    }
    let wall = start.elapsed().as_nanos() / u128::from(ITERATIONS);
    let cpu = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) => format!("{:>6} ns on CPU", (b - a) / u128::from(ITERATIONS)),
        _ => String::new(),
    };
    println!("{name:<58} {wall:>6} ns wall {cpu}");
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
}

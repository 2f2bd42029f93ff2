//! Measures what the audit trail adds to a request: building one GenerateDataKey record,
//! extending the hash chain, and the durable group-committed append (on the disk that holds
//! the temporary directory) with many requests in flight.
//!
//! `cargo run --release -p kms-server --example audit_overhead`

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use kms_api::base64;
use kms_server::audit::chain::{record_hash, DigestSigner, GENESIS_HASH};
use kms_server::audit::{event, AuditLog, Call};
use kms_server::auth::Principal;
use kms_server::authz::record::{Noted, NotedStatement};
use kms_server::ciphertext::BlobHeader;

const ITERATIONS: u32 = 100_000;
const IN_FLIGHT: usize = 64;
const APPENDS_PER_TASK: usize = 500;

fn main() {
    let key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key_id}");
    let header = BlobHeader {
        key_id: key_id.into(),
        account: "111122223333".into(),
        material_version: 1,
        iv: [7; 12],
    };
    let mut blob = header.encode().unwrap().to_vec();
    blob.extend_from_slice(&[9; 48]);
    let b64 = |b: &[u8]| base64::encode(b);
    let request = format!(r#"{{"KeyId":"{key_id}","KeySpec":"AES_256"}}"#).into_bytes();
    let response = format!(
        r#"{{"CiphertextBlob":"{}","KeyId":"{arn}","Plaintext":"{}"}}"#,
        b64(&blob),
        b64(&[1; 32])
    )
    .into_bytes();
    let principal = Principal::root("111122223333", "AKIAEXAMPLE", 0);
    let decisions = [Noted {
        action: "kms:GenerateDataKey".into(),
        resource: arn.clone(),
        allowed: true,
        reason: "KeyPolicyAndIdentityPolicyAllow".into(),
        deciding_statements: vec![NotedStatement {
            policy: "key policy".into(),
            index: 0,
            effect: "Allow",
            sid: Some("Enable IAM User Permissions".into()),
            failed_condition: None,
        }],
        statements_with_failed_conditions: Vec::new(),
        grant_id: None,
    }];
    let call = Call {
        time_ms: 1_767_225_600_000,
        operation: "GenerateDataKey",
        event_source: "kms.amazonaws.com",
        region: "us-east-1",
        source_ip: "127.0.0.1",
        user_agent: "aws-sdk-rust/1.0 os/linux lang/rust/1.90",
        principal: Some(&principal),
        access_key_id: "AKIAEXAMPLE",
        request: Some(&request),
        response: Some(&response),
        error: None,
        authorization: &decisions,
        request_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
        event_id: "0f8fad5b-d9cb-469f-a165-70867728950f",
        tls: None,
    };
    let sample = event::build(&call);

    let started = Instant::now();
    for _ in 0..ITERATIONS {
        black_box(event::build(black_box(&call)));
    }
    let build_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS);

    let started = Instant::now();
    let mut hash = GENESIS_HASH;
    for seq in 0..u64::from(ITERATIONS) {
        hash = record_hash(black_box(&hash), seq, black_box(&sample));
    }
    let hash_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS);

    let started = Instant::now();
    for _ in 0..ITERATIONS {
        black_box(kms_server::audit::ids::new_id());
    }
    let id_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS);

    println!("record of a GenerateDataKey call: {} bytes", sample.len());
    println!("build the event (from the raw request/response): {build_us:.2} us");
    println!("chain hash (SHA-256 over the record):           {hash_us:.2} us");
    println!("one request/event id:                           {id_us:.3} us");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (records_per_s, appended) = runtime.block_on(async {
        let dir = tempfile::tempdir_in(".").unwrap();
        let log = Arc::new(
            AuditLog::open(dir.path(), DigestSigner::from_seed(&[5; 32]).unwrap()).unwrap(),
        );
        let started = Instant::now();
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let log = Arc::clone(&log);
                let body = sample.clone();
                tokio::spawn(async move {
                    for _ in 0..APPENDS_PER_TASK {
                        log.append(body.clone(), 0).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let appended = IN_FLIGHT * APPENDS_PER_TASK;
        #[allow(clippy::cast_precision_loss)]
        let rate = appended as f64 / started.elapsed().as_secs_f64();
        (rate, appended)
    });
    println!(
        "durable appends, {IN_FLIGHT} in flight: {records_per_s:.0} records/s ({appended} records, \
         each answered after its batch's fdatasync)"
    );
}

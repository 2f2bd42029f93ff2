//! CloudTrail's LookupEvents over the router: what it finds, paging, time ranges, isolation
//! between accounts, CloudTrail's error names, and that it is itself recorded.

use serde_json::{json, Value};

use crate::common::{send_signed, two_accounts, Client, Harness, Reply, START_MS};

const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// Sends LookupEvents signed for `service` (`cloudtrail` unless testing the scope).
async fn lookup_signed_for(client: &Client, service: &str, input: Value) -> Reply {
    let body = serde_json::to_vec(&input).unwrap();
    let base = vec![
        ("host".to_owned(), "cloudtrail.local".to_owned()),
        ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
        ("x-amz-target".to_owned(), TARGET.to_owned()),
    ];
    let creds = (client.access_key.as_str(), client.secret.as_str(), None);
    let at_s = kms_server::clock::Clock::now_ms(&*client.clock) / 1000;
    let (status, _, bytes) =
        send_signed(&client.state, &base, body, creds, &client.region, service, at_s).await;
    Reply { status, body: serde_json::from_slice(&bytes).unwrap() }
}

async fn lookup(client: &Client, input: Value) -> Reply {
    lookup_signed_for(client, "cloudtrail", input).await
}

fn names(out: &Value) -> Vec<&str> {
    out["Events"].as_array().unwrap().iter().map(|e| e["EventName"].as_str().unwrap()).collect()
}

fn by_name(name: &str) -> Value {
    json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}]})
}

#[tokio::test]
async fn lookup_events_finds_calls_newest_first_with_cloudtrail_members() {
    let h = Harness::with_config(two_accounts()).await;
    let alice = h.client_as("AKIDALICE", "alice-secret", "us-east-1");
    let key = alice.create_key().await;
    let blob = alice.encrypt(&key, b"secret", json!({"app": "x"})).await;
    h.clock.advance_ms(5_000);
    alice.decrypt(&blob, json!({"app": "x"})).await.ok();
    let out = lookup(&alice, by_name("Decrypt")).await.ok();
    assert_eq!(names(&out), ["Decrypt"]);
    let event = &out["Events"][0];
    assert_eq!(event["EventSource"], "kms.amazonaws.com");
    // CloudTrail marks the cryptographic operations read-only.
    assert_eq!(event["ReadOnly"], "true");
    assert_eq!(event["AccessKeyId"], "AKIDALICE");
    assert_eq!(event["Username"], "root");
    assert_eq!(event["EventTime"], START_MS / 1000 + 5);
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key}");
    assert_eq!(event["Resources"], json!([{"ResourceType": "AWS::KMS::Key", "ResourceName": arn}]));
    let record: Value = serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(record["eventID"], event["EventId"]);
    assert_eq!(record["requestParameters"]["encryptionContext"]["app"], "x");
    assert!(!event["CloudTrailEvent"].as_str().unwrap().contains(&common_b64(b"secret")));

    let all = lookup(&alice, json!({})).await.ok();
    // Its own previous LookupEvents call is recorded too (CloudTrail records them).
    assert_eq!(names(&all), ["LookupEvents", "Decrypt", "Encrypt", "CreateKey"]);
    let lookups = lookup(&alice, by_name("LookupEvents")).await.ok();
    assert_eq!(lookups["Events"][0]["EventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(lookups["Events"][0]["ReadOnly"], "true");
}

fn common_b64(bytes: &[u8]) -> String {
    crate::common::b64(bytes)
}

#[tokio::test]
async fn pages_time_ranges_and_accounts() {
    let h = Harness::with_config(two_accounts()).await;
    let alice = h.client_as("AKIDALICE", "alice-secret", "us-east-1");
    let bob = h.client_as("AKIDBOB", "bob-secret", "us-east-1");
    let key = alice.create_key().await;
    for _ in 0..5 {
        h.clock.advance_ms(1_000);
        alice.encrypt(&key, b"x", json!({})).await;
    }
    bob.call("ListKeys", json!({})).await.ok();

    let mut seen = Vec::new();
    let mut input = json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": key}], "MaxResults": 2});
    loop {
        let page = lookup(&alice, input.clone()).await.ok();
        seen.extend(page["Events"].as_array().unwrap().iter().map(|e| e["EventId"].clone()));
        match page.get("NextToken") {
            Some(token) => input["NextToken"] = token.clone(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6); // CreateKey + 5 Encrypt, each once
    let start = START_MS / 1000 + 2;
    let window = json!({"StartTime": start, "EndTime": start + 2, "LookupAttributes": [
        {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}]});
    assert_eq!(names(&lookup(&alice, window).await.ok()), ["Encrypt"; 3]);

    let bobs = lookup(&bob, json!({})).await.ok();
    assert_eq!(names(&bobs), ["ListKeys"]);
    // A page token cannot be replayed by another account.
    let token = lookup(&alice, json!({"MaxResults": 1})).await.ok()["NextToken"].clone();
    lookup(&bob, json!({"MaxResults": 1, "NextToken": token}))
        .await
        .err("InvalidNextTokenException");
}

#[tokio::test]
async fn bad_parameters_get_cloudtrail_error_names() {
    let h = Harness::new().await;
    let c = h.client();
    let two = json!({"LookupAttributes": [
        {"AttributeKey": "EventName", "AttributeValue": "Decrypt"},
        {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}]});
    lookup(&c, two).await.err("InvalidLookupAttributesException");
    lookup(&c, json!({"StartTime": 20, "EndTime": 10})).await.err("InvalidTimeRangeException");
    lookup(&c, json!({"MaxResults": 60})).await.err("InvalidMaxResultsException");
    lookup(&c, json!({"NextToken": "garbage"})).await.err("InvalidNextTokenException");
    lookup(&c, json!({"MaxResults": "ten"})).await.err("SerializationException");
    lookup_signed_for(&c, "kms", json!({})).await.err("InvalidSignatureException");
}

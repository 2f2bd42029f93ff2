use kms_server::clock::DAY_MS;
use kms_server::jobs::{run_due, JobReport};
use serde_json::json;

use crate::common::{unb64, Harness, START_MS};

#[tokio::test]
async fn scheduled_key_is_deleted_when_the_window_ends() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    c.call("CreateAlias", json!({"AliasName": "alias/doomed", "TargetKeyId": id})).await.ok();
    let blob = c.encrypt(&id, b"x", json!({})).await;
    let out =
        c.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await.ok();
    assert_eq!(out["KeyState"], "PendingDeletion");
    assert_eq!(out["PendingWindowInDays"], 7);
    assert_eq!(out["DeletionDate"].as_f64().unwrap(), (START_MS + 7 * DAY_MS) as f64 / 1000.0);
    let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok();
    assert_eq!(meta["KeyMetadata"]["KeyState"], "PendingDeletion");
    assert_eq!(meta["KeyMetadata"]["Enabled"], false);
    assert!(meta["KeyMetadata"]["DeletionDate"].is_number());
    let r = c.decrypt(&blob, json!({})).await.err("KMSInvalidStateException");
    assert_eq!(
        r.message(),
        format!("arn:aws:kms:us-east-1:000000000000:key/{id} is pending deletion.")
    );
    c.call("ScheduleKeyDeletion", json!({"KeyId": id})).await.err("KMSInvalidStateException");
    c.call("EnableKey", json!({"KeyId": id})).await.err("KMSInvalidStateException");
    c.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "a", "TagValue": "b"}]}))
        .await
        .err("KMSInvalidStateException");
    // Policies stay readable and writable in every state.
    c.call("GetKeyPolicy", json!({"KeyId": id})).await.ok();

    h.clock.advance_ms(7 * DAY_MS - 1);
    assert_eq!(run_due(&h.state).await.unwrap(), JobReport::default());
    assert_eq!(c.state_of(&id).await, "PendingDeletion");
    h.clock.advance_ms(1);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 1);
    c.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    c.decrypt(&blob, json!({})).await.err("NotFoundException");
    assert_eq!(c.call("ListAliases", json!({})).await.ok()["Aliases"], json!([]));
    assert_eq!(c.call("ListKeys", json!({})).await.ok()["Keys"], json!([]));
}

#[tokio::test]
async fn cancelled_deletion_returns_the_key_disabled() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let r = c.call("CancelKeyDeletion", json!({"KeyId": id})).await.err("KMSInvalidStateException");
    assert!(r.message().ends_with("is not pending deletion (or pending replica deletion)."));
    c.call("ScheduleKeyDeletion", json!({"KeyId": id})).await.ok();
    let out = c.call("CancelKeyDeletion", json!({"KeyId": id})).await.ok();
    assert_eq!(out["KeyId"], format!("arn:aws:kms:us-east-1:000000000000:key/{id}"));
    assert_eq!(c.state_of(&id).await, "Disabled");
    h.clock.advance_ms(31 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 0);
    assert_eq!(c.state_of(&id).await, "Disabled");
}

#[tokio::test]
async fn pending_window_must_be_7_to_30_days() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let r = c
        .call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 6}))
        .await
        .err("ValidationException");
    assert!(r.message().contains("Member must have value greater than or equal to 7"));
    c.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 31}))
        .await
        .err("ValidationException");
    let out = c.call("ScheduleKeyDeletion", json!({"KeyId": id})).await.ok();
    assert_eq!(out["PendingWindowInDays"], 30);
}

#[tokio::test]
async fn automatic_rotation_keeps_old_ciphertexts_decryptable() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let old_blob = c.encrypt(&id, b"before", json!({})).await;
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], false);
    c.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 90})).await.ok();
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["RotationPeriodInDays"], 90);
    assert_eq!(
        status["NextRotationDate"].as_f64().unwrap(),
        (START_MS + 90 * DAY_MS) as f64 / 1000.0
    );

    h.clock.advance_ms(90 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().rotated, 1);
    assert_eq!(run_due(&h.state).await.unwrap().rotated, 0, "a rotation happens once per period");
    let rotations = c.call("ListKeyRotations", json!({"KeyId": id})).await.ok();
    let list = rotations["Rotations"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["RotationType"], "AUTOMATIC");
    assert_eq!(list[0]["KeyMaterialState"], "CURRENT");
    let all = c
        .call("ListKeyRotations", json!({"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}))
        .await
        .ok();
    assert_eq!(all["Rotations"].as_array().unwrap().len(), 2);
    assert_eq!(all["Rotations"][0]["KeyMaterialState"], "NON_CURRENT");

    let new_blob = c.encrypt(&id, b"after", json!({})).await;
    let old = c.decrypt(&old_blob, json!({})).await.ok();
    let new = c.decrypt(&new_blob, json!({})).await.ok();
    assert_eq!(unb64(old["Plaintext"].as_str().unwrap()), b"before");
    assert_eq!(unb64(new["Plaintext"].as_str().unwrap()), b"after");
    assert_ne!(old["KeyMaterialId"], new["KeyMaterialId"]);
    let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok();
    assert_eq!(meta["KeyMetadata"]["CurrentKeyMaterialId"], new["KeyMaterialId"]);
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(
        status["NextRotationDate"].as_f64().unwrap(),
        (START_MS + 180 * DAY_MS) as f64 / 1000.0
    );
}

#[tokio::test]
async fn rotation_is_skipped_while_disabled_and_reported_off_while_pending_deletion() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    c.call("EnableKeyRotation", json!({"KeyId": id})).await.ok();
    c.call("DisableKey", json!({"KeyId": id})).await.ok();
    h.clock.advance_ms(366 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().rotated, 0);
    c.call("EnableKeyRotation", json!({"KeyId": id})).await.err("DisabledException");
    c.call("RotateKeyOnDemand", json!({"KeyId": id})).await.err("DisabledException");
    c.call("EnableKey", json!({"KeyId": id})).await.ok();
    assert_eq!(
        run_due(&h.state).await.unwrap().rotated,
        1,
        "an overdue rotation runs once re-enabled"
    );
    c.call("ScheduleKeyDeletion", json!({"KeyId": id})).await.ok();
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], false);
    c.call("CancelKeyDeletion", json!({"KeyId": id})).await.ok();
    c.call("EnableKey", json!({"KeyId": id})).await.ok();
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], true);
    c.call("DisableKeyRotation", json!({"KeyId": id})).await.ok();
    let status = c.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], false);
}

#[tokio::test]
async fn rotation_period_bounds_and_on_demand_limit() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    c.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 89}))
        .await
        .err("ValidationException");
    c.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 2561}))
        .await
        .err("ValidationException");
    let mut blobs = vec![c.encrypt(&id, b"v1", json!({})).await];
    for i in 0..25 {
        let out = c.call("RotateKeyOnDemand", json!({"KeyId": id})).await.ok();
        assert_eq!(out["KeyId"], id.as_str());
        blobs.push(c.encrypt(&id, format!("v{}", i + 2).as_bytes(), json!({})).await);
    }
    let r = c.call("RotateKeyOnDemand", json!({"KeyId": id})).await.err("LimitExceededException");
    assert!(r.message().starts_with("The on-demand rotations limit has been reached"));
    for (i, blob) in blobs.iter().enumerate() {
        let out = c.decrypt(blob, json!({})).await.ok();
        assert_eq!(unb64(out["Plaintext"].as_str().unwrap()), format!("v{}", i + 1).as_bytes());
    }
    let page = c.call("ListKeyRotations", json!({"KeyId": id, "Limit": 10})).await.ok();
    assert_eq!(page["Rotations"].as_array().unwrap().len(), 10);
    assert_eq!(page["Truncated"], true);
    let mut total = 10;
    let mut marker = page["NextMarker"].clone();
    loop {
        let next = c
            .call("ListKeyRotations", json!({"KeyId": id, "Limit": 10, "Marker": marker}))
            .await
            .ok();
        total += next["Rotations"].as_array().unwrap().len();
        if next["Truncated"] == false {
            break;
        }
        marker = next["NextMarker"].clone();
    }
    assert_eq!(total, 25);
}

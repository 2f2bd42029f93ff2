use serde_json::json;

use crate::common::{two_accounts, Harness, START_MS};

#[tokio::test]
async fn create_key_defaults_match_aws() {
    let h = Harness::new().await;
    let c = h.client();
    let meta = c.call("CreateKey", json!({})).await.ok()["KeyMetadata"].clone();
    let id = meta["KeyId"].as_str().unwrap();
    assert_eq!(meta["Arn"], format!("arn:aws:kms:us-east-1:000000000000:key/{id}"));
    assert_eq!(meta["AWSAccountId"], "000000000000");
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["Enabled"], true);
    assert_eq!(meta["KeyUsage"], "ENCRYPT_DECRYPT");
    assert_eq!(meta["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(meta["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(meta["Origin"], "AWS_KMS");
    assert_eq!(meta["KeyManager"], "CUSTOMER");
    assert_eq!(meta["Description"], "");
    assert_eq!(meta["MultiRegion"], false);
    assert_eq!(meta["EncryptionAlgorithms"], json!(["SYMMETRIC_DEFAULT"]));
    assert_eq!(meta["CreationDate"].as_f64().unwrap(), START_MS as f64 / 1000.0);
    assert_eq!(meta["CurrentKeyMaterialId"].as_str().unwrap().len(), 64);
    assert!(meta.get("DeletionDate").is_none());
}

#[tokio::test]
async fn create_key_rejects_what_this_server_does_not_offer() {
    let h = Harness::new().await;
    let c = h.client();
    let r = c.call("CreateKey", json!({"KeySpec": "RSA_2048"})).await.err("ValidationException");
    assert_eq!(
        r.message(),
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    );
    c.call("CreateKey", json!({"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"}))
        .await
        .err("UnsupportedOperationException");
    c.call("CreateKey", json!({"KeySpec": "ML_DSA_44", "KeyUsage": "ENCRYPT_DECRYPT"}))
        .await
        .err("ValidationException");
    c.call("CreateKey", json!({"KeyUsage": "SIGN_VERIFY"})).await.err("ValidationException");
    c.call("CreateKey", json!({"Origin": "AWS_CLOUDHSM"}))
        .await
        .err("UnsupportedOperationException");
    c.call("CreateKey", json!({"MultiRegion": true, "Origin": "AWS_CLOUDHSM"}))
        .await
        .err("UnsupportedOperationException");
    let r = c.call("CreateKey", json!({"KeySpec": "AES_256"})).await.err("ValidationException");
    assert!(r.message().contains("Member must satisfy enum value set"));
    c.call("CreateKey", json!({"Description": "x".repeat(8193)})).await.err("ValidationException");
    c.call("CreateKey", json!({"Policy": "{"})).await.err("MalformedPolicyDocumentException");
    c.call("CreateKey", json!({"Tags": [{"TagKey": "aws:x", "TagValue": "y"}]}))
        .await
        .err("TagException");
    // Nothing was created by the failed calls.
    let keys = c.call("ListKeys", json!({})).await.ok();
    assert_eq!(keys["Keys"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn describe_key_accepts_every_identifier_form() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    c.call("CreateAlias", json!({"AliasName": "alias/app", "TargetKeyId": id})).await.ok();
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");
    for form in [
        id.clone(),
        arn.clone(),
        "alias/app".into(),
        "arn:aws:kms:us-east-1:000000000000:alias/app".into(),
    ] {
        let meta = c.call("DescribeKey", json!({"KeyId": form})).await.ok();
        assert_eq!(meta["KeyMetadata"]["KeyId"], id.as_str());
    }
    let r = c.call("DescribeKey", json!({"KeyId": "not-a-key"})).await.err("NotFoundException");
    assert_eq!(r.message(), "Invalid keyId 'not-a-key'");
    let missing = "00000000-0000-0000-0000-000000000000";
    let r = c.call("DescribeKey", json!({"KeyId": missing})).await.err("NotFoundException");
    assert_eq!(
        r.message(),
        format!("Key 'arn:aws:kms:us-east-1:000000000000:key/{missing}' does not exist")
    );
    let r = c.call("DescribeKey", json!({"KeyId": "alias/none"})).await.err("NotFoundException");
    assert_eq!(r.message(), "Alias arn:aws:kms:us-east-1:000000000000:alias/none is not found.");
    let other_region = arn.replace("us-east-1", "eu-west-1");
    let r = c.call("DescribeKey", json!({"KeyId": other_region})).await.err("NotFoundException");
    assert_eq!(r.message(), "Invalid arn eu-west-1");
    let r = c.call("DescribeKey", json!({})).await.err("ValidationException");
    assert!(r
        .message()
        .contains("Value null at 'keyId' failed to satisfy constraint: Member must not be null"));
}

#[tokio::test]
async fn keys_live_in_one_region_and_one_account() {
    let h = Harness::with_config(two_accounts()).await;
    let alice = h.client_as("AKIDALICE", "alice-secret", "us-east-1");
    let bob = h.client_as("AKIDBOB", "bob-secret", "us-east-1");
    let alice_west = h.client_as("AKIDALICE", "alice-secret", "us-west-2");
    let id = alice.create_key().await;
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
    // By ARN the key is reachable; the default key policy does not let another account in.
    bob.call("DescribeKey", json!({"KeyId": arn})).await.err("AccessDeniedException");
    bob.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    alice_west.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    let blob = alice.encrypt(&id, b"secret", json!({})).await;
    bob.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    bob.call("DisableKey", json!({"KeyId": arn})).await.err("NotFoundException");
    assert_eq!(bob.call("ListKeys", json!({})).await.ok()["Keys"].as_array().unwrap().len(), 0);
    assert_eq!(
        alice_west.call("ListKeys", json!({})).await.ok()["Keys"].as_array().unwrap().len(),
        0
    );
    assert_eq!(alice.state_of(&id).await, "Enabled");
}

#[tokio::test]
async fn enable_disable_and_description() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    assert!(c.call("DisableKey", json!({"KeyId": id})).await.ok().is_null());
    assert_eq!(c.state_of(&id).await, "Disabled");
    let r = c.encrypt_err(&id).await;
    assert_eq!(r.message(), format!("arn:aws:kms:us-east-1:000000000000:key/{id} is disabled."));
    c.call("EnableKey", json!({"KeyId": id})).await.ok();
    assert_eq!(c.state_of(&id).await, "Enabled");
    c.call("UpdateKeyDescription", json!({"KeyId": id, "Description": "new"})).await.ok();
    let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok();
    assert_eq!(meta["KeyMetadata"]["Description"], "new");
    c.call("CreateAlias", json!({"AliasName": "alias/x", "TargetKeyId": id})).await.ok();
    let r = c.call("DisableKey", json!({"KeyId": "alias/x"})).await.err("InvalidArnException");
    assert_eq!(r.message(), "Key Aliases are not supported for this operation");
}

#[tokio::test]
async fn list_keys_pages_through_every_key() {
    let h = Harness::new().await;
    let c = h.client();
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(c.create_key().await);
    }
    created.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"Limit": 3});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let page = c.call("ListKeys", input).await.ok();
        for k in page["Keys"].as_array().unwrap() {
            seen.push(k["KeyId"].as_str().unwrap().to_owned());
            assert!(k["KeyArn"].as_str().unwrap().ends_with(k["KeyId"].as_str().unwrap()));
        }
        if page["Truncated"] == true {
            marker = Some(page["NextMarker"].as_str().unwrap().to_owned());
        } else {
            assert!(page.get("NextMarker").is_none());
            break;
        }
    }
    assert_eq!(seen, created);
    c.call("ListKeys", json!({"Marker": "garbage!"})).await.err("InvalidMarkerException");
    c.call("ListKeys", json!({"Limit": 0})).await.err("ValidationException");
    c.call("ListKeys", json!({"Limit": 1001})).await.err("ValidationException");
}

#[tokio::test]
async fn policies_default_put_and_list() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let got = c.call("GetKeyPolicy", json!({"KeyId": id, "PolicyName": "default"})).await.ok();
    assert_eq!(got["PolicyName"], "default");
    assert_eq!(
        got["Policy"].as_str().unwrap(),
        kms_server::ops::policy::default_policy("000000000000")
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]}"#;
    c.call("PutKeyPolicy", json!({"KeyId": id, "PolicyName": "default", "Policy": policy}))
        .await
        .ok();
    let got = c.call("GetKeyPolicy", json!({"KeyId": id})).await.ok();
    assert_eq!(got["Policy"], policy);
    c.call("PutKeyPolicy", json!({"KeyId": id, "Policy": "[1]"}))
        .await
        .err("MalformedPolicyDocumentException");
    c.call("PutKeyPolicy", json!({"KeyId": id})).await.err("ValidationException");
    let listed = c.call("ListKeyPolicies", json!({"KeyId": id})).await.ok();
    assert_eq!(listed["PolicyNames"], json!(["default"]));
    assert_eq!(listed["Truncated"], false);
    let with_policy = c.call("CreateKey", json!({"Policy": policy})).await.ok();
    let new_id = with_policy["KeyMetadata"]["KeyId"].as_str().unwrap();
    assert_eq!(c.call("GetKeyPolicy", json!({"KeyId": new_id})).await.ok()["Policy"], policy);
}

impl crate::common::Client {
    async fn encrypt_err(&self, id: &str) -> crate::common::Reply {
        self.call("Encrypt", json!({"KeyId": id, "Plaintext": "aGk="}))
            .await
            .err("DisabledException")
    }
}

//! AWS managed keys (`alias/aws/<service>`): created by DescribeKey on the predefined
//! alias, non-editable policy restricted with kms:ViaService and kms:CallerAccount.

use serde_json::json;

use crate::common::{b64, two_accounts, Client, Harness, Reply};

async fn explain_access(c: &Client, input: serde_json::Value) -> Reply {
    let body = serde_json::to_vec(&input).unwrap();
    c.raw("KmsServerExtensions.ExplainAccess", body, None).await
}

#[tokio::test]
async fn describe_key_on_a_predefined_alias_creates_the_aws_managed_key_once() {
    let h = Harness::new().await;
    let c = h.client();
    let first = c.call("DescribeKey", json!({"KeyId": "alias/aws/s3"})).await.ok();
    let meta = &first["KeyMetadata"];
    assert_eq!(meta["KeyManager"], "AWS");
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["KeySpec"], "SYMMETRIC_DEFAULT");
    let key_id = meta["KeyId"].as_str().unwrap().to_owned();
    let again = c.call("DescribeKey", json!({"KeyId": "alias/aws/s3"})).await.ok();
    assert_eq!(again["KeyMetadata"]["KeyId"], key_id.as_str());
    let aliases = c.call("ListAliases", json!({"KeyId": key_id})).await.ok();
    assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/aws/s3");
    let rotation = c.call("GetKeyRotationStatus", json!({"KeyId": key_id})).await.ok();
    assert_eq!(rotation["KeyRotationEnabled"], true);
    assert_eq!(rotation["RotationPeriodInDays"], 365);
    // A customer key still says CUSTOMER.
    let own = c.create_key().await;
    let out = c.call("DescribeKey", json!({"KeyId": own})).await.ok();
    assert_eq!(out["KeyMetadata"]["KeyManager"], "CUSTOMER");
    // Not every alias/aws/ name is predefined.
    c.call("DescribeKey", json!({"KeyId": "alias/aws/not-a-service"}))
        .await
        .err("NotFoundException");
}

#[tokio::test]
async fn aws_managed_key_policy_cannot_be_changed_and_the_key_cannot_be_managed() {
    let h = Harness::new().await;
    let c = h.client();
    let out = c.call("DescribeKey", json!({"KeyId": "alias/aws/ebs"})).await.ok();
    let key_id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let policy = c.call("GetKeyPolicy", json!({"KeyId": key_id})).await.ok();
    let text = policy["Policy"].as_str().unwrap();
    assert!(text.contains("\"kms:ViaService\" : \"ec2.us-east-1.amazonaws.com\""), "{text}");
    assert!(text.contains("\"kms:CallerAccount\" : \"000000000000\""), "{text}");
    let open = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"}]});
    for (operation, input) in [
        ("PutKeyPolicy", json!({"KeyId": key_id, "Policy": open.to_string()})),
        ("DisableKey", json!({"KeyId": key_id})),
        ("ScheduleKeyDeletion", json!({"KeyId": key_id, "PendingWindowInDays": 7})),
        ("DisableKeyRotation", json!({"KeyId": key_id})),
        ("TagResource", json!({"KeyId": key_id, "Tags": [{"TagKey": "a", "TagValue": "b"}]})),
        ("UpdateKeyDescription", json!({"KeyId": key_id, "Description": "mine"})),
    ] {
        c.call(operation, input).await.err("AccessDeniedException");
    }
    c.call("DeleteAlias", json!({"AliasName": "alias/aws/ebs"}))
        .await
        .err("InvalidAliasNameException");
    c.call("CreateAlias", json!({"AliasName": "alias/aws/mine", "TargetKeyId": key_id}))
        .await
        .err("InvalidAliasNameException");
    assert_eq!(c.state_of(&key_id).await, "Enabled");
}

#[tokio::test]
async fn aws_managed_key_is_usable_only_through_its_service_and_account() {
    let h = Harness::with_config(two_accounts()).await;
    let alice = h.client_as("AKIDALICE", "alice-secret", "us-east-1");
    let bob = h.client_as("AKIDBOB", "bob-secret", "us-east-1");
    let out = alice.call("DescribeKey", json!({"KeyId": "alias/aws/s3"})).await.ok();
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    // A direct call carries no kms:ViaService.
    let r = alice
        .call("Encrypt", json!({"KeyId": "alias/aws/s3", "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    assert!(r.message().contains("kms:Encrypt"), "{}", r.message());
    let explain = |principal: &str, via: Option<&str>| {
        let mut input = json!({"PrincipalArn": principal, "Action": "kms:GenerateDataKey", "KeyId": "alias/aws/s3"});
        if let Some(via) = via {
            input["ViaService"] = json!(via);
        }
        input
    };
    let via_s3 = Some("s3.us-east-1.amazonaws.com");
    let allowed = |reply: &serde_json::Value| reply["Allowed"].as_bool().unwrap();
    let root = "arn:aws:iam::111122223333:root";
    let reply = explain_access(&alice, explain(root, via_s3)).await.ok();
    assert!(allowed(&reply), "{reply}");
    let reply = explain_access(&alice, explain(root, None)).await.ok();
    assert!(!allowed(&reply), "{reply}");
    let reply =
        explain_access(&alice, explain(root, Some("sqs.us-east-1.amazonaws.com"))).await.ok();
    assert!(!allowed(&reply), "another service: {reply}");
    // Another account, even through the service, fails kms:CallerAccount (and its key ARN
    // needs cross-account permission in the first place).
    bob.call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
}

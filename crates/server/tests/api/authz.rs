//! Authorization over the API: key policies enforced on every operation, the lockout
//! safety check, cross-account use by ARN, and condition keys from requests.

use serde_json::{json, Value};

use crate::common::{b64, two_accounts, Harness};

const A: &str = "111122223333";
const B: &str = "444455556666";

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn admin(account: &str) -> Value {
    json!({"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
           "Action": "kms:*", "Resource": "*"})
}

#[tokio::test]
async fn explicit_deny_in_key_policy_is_enforced() {
    let h = Harness::new().await;
    let c = h.client();
    let deny = json!({"Sid": "NoEncrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"});
    let p = policy(json!([admin("000000000000"), deny]));
    let out = c.call("CreateKey", json!({"Policy": p})).await.ok();
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let r = c
        .call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    assert_eq!(
        r.message(),
        format!("User: arn:aws:iam::000000000000:root is not authorized to perform: kms:Encrypt on resource: {arn} with an explicit deny in a resource-based policy")
    );
    c.call("GenerateDataKey", json!({"KeyId": arn, "KeySpec": "AES_256"})).await.ok();
}

#[tokio::test]
async fn lockout_safety_check_and_bypass() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let locked = policy(json!([{"Effect": "Allow", "Principal": {"AWS": "000000000000"},
        "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"}]));
    let message = "The new key policy will not allow you to update the key policy in the future.";
    let r = c
        .call("PutKeyPolicy", json!({"KeyId": id, "PolicyName": "default", "Policy": locked}))
        .await
        .err("MalformedPolicyDocumentException");
    assert_eq!(r.message(), message);
    let r = c
        .call("CreateKey", json!({"Policy": locked}))
        .await
        .err("MalformedPolicyDocumentException");
    assert_eq!(r.message(), message);
    c.call(
        "PutKeyPolicy",
        json!({"KeyId": id, "Policy": locked, "BypassPolicyLockoutSafetyCheck": true}),
    )
    .await
    .ok();
    // Now locked out for good, as AWS warns.
    c.call("PutKeyPolicy", json!({"KeyId": id, "Policy": policy(json!([admin("000000000000")]))}))
        .await
        .err("AccessDeniedException");
    c.call("DescribeKey", json!({"KeyId": id})).await.ok();
    c.call("DisableKey", json!({"KeyId": id})).await.err("AccessDeniedException");
}

#[tokio::test]
async fn malformed_policy_messages_say_what_is_wrong() {
    let h = Harness::new().await;
    let c = h.client();
    let bad = policy(
        json!([{"Sid": "S", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"NumericLessThan": {"kms:RotationPeriodInDays": "soon"}}}]),
    );
    let r =
        c.call("CreateKey", json!({"Policy": bad})).await.err("MalformedPolicyDocumentException");
    assert!(
        r.message().contains("Statement 1 (Sid \"S\")") && r.message().contains("not a number"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn cross_account_use_by_arn_needs_the_key_policy() {
    let h = Harness::with_config(two_accounts()).await;
    let alice = h.client_as("AKIDALICE", "alice-secret", "us-east-1");
    let bob = h.client_as("AKIDBOB", "bob-secret", "us-east-1");
    let id = alice.create_key().await;
    let arn = format!("arn:aws:kms:us-east-1:{A}:key/{id}");
    alice.call("CreateAlias", json!({"AliasName": "alias/shared", "TargetKeyId": id})).await.ok();
    let r = bob
        .call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    assert!(r
        .message()
        .ends_with("because no resource-based policy allows the kms:Encrypt action"));

    let external = json!({"Sid": "External", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{B}:root")},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion"], "Resource": "*"});
    alice
        .call("PutKeyPolicy", json!({"KeyId": id, "Policy": policy(json!([admin(A), external]))}))
        .await
        .ok();
    let out = bob.call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"shared")})).await.ok();
    let blob = out["CiphertextBlob"].as_str().unwrap().to_owned();
    assert_eq!(bob.decrypt(&blob, json!({})).await.ok()["KeyId"], json!(arn));
    let alias_arn = format!("arn:aws:kms:us-east-1:{A}:alias/shared");
    assert_eq!(
        bob.call("DescribeKey", json!({"KeyId": alias_arn})).await.ok()["KeyMetadata"]["Arn"],
        json!(arn)
    );
    // Management operations never work across accounts, whatever the key policy says.
    bob.call("ScheduleKeyDeletion", json!({"KeyId": arn})).await.err("NotFoundException");
    // The key id alone names a key in the caller's own account.
    bob.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
}

#[tokio::test]
async fn encryption_context_condition_is_checked_on_encrypt_and_decrypt() {
    let h = Harness::new().await;
    let c = h.client();
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
        "Condition": {"StringNotEquals": {"kms:EncryptionContext:app": "payroll"}}});
    let out = c
        .call("CreateKey", json!({"Policy": policy(json!([admin("000000000000"), deny]))}))
        .await
        .ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    c.call(
        "Encrypt",
        json!({"KeyId": id, "Plaintext": b64(b"x"), "EncryptionContext": {"app": "hr"}}),
    )
    .await
    .err("AccessDeniedException");
    let blob = c.encrypt(&id, b"x", json!({"App": "payroll"})).await;
    c.decrypt(&blob, json!({"App": "payroll"})).await.ok();
    c.decrypt(&blob, json!({})).await.err("AccessDeniedException");
}

#[tokio::test]
async fn operation_parameters_feed_condition_keys() {
    let h = Harness::new().await;
    let c = h.client();
    let deny = json!([
        {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
         "Condition": {"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": 30}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:TagResource", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "owner"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringNotLike": {"kms:RequestAlias": "alias/ok-*"}}}
    ]);
    let mut statements = vec![admin("000000000000")];
    statements.extend(deny.as_array().unwrap().iter().cloned());
    let out = c.call("CreateKey", json!({"Policy": policy(Value::Array(statements))})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    c.call("CreateAlias", json!({"AliasName": "alias/ok-1", "TargetKeyId": id})).await.ok();
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    c.call("Encrypt", json!({"KeyId": "alias/ok-1", "Plaintext": b64(b"x")})).await.ok();
    c.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "owner", "TagValue": "x"}]}))
        .await
        .err("AccessDeniedException");
    c.call("TagResource", json!({"KeyId": id, "Tags": [{"TagKey": "team", "TagValue": "x"}]}))
        .await
        .ok();
    c.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7}))
        .await
        .err("AccessDeniedException");
    c.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 30})).await.ok();
}

#[tokio::test]
async fn reencrypt_on_same_key_condition() {
    let h = Harness::new().await;
    let c = h.client();
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": ["kms:ReEncryptFrom", "kms:ReEncryptTo"], "Resource": "*",
        "Condition": {"Bool": {"kms:ReEncryptOnSameKey": "true"}}});
    let out = c
        .call("CreateKey", json!({"Policy": policy(json!([admin("000000000000"), deny]))}))
        .await
        .ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let other = c.create_key().await;
    let blob = c.encrypt(&id, b"x", json!({})).await;
    c.call("ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": id}))
        .await
        .err("AccessDeniedException");
    c.call("ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": other})).await.ok();
}

#[tokio::test]
async fn list_aliases_is_authorized_by_identity_policies_only() {
    let h = Harness::new().await;
    let c = h.client();
    // The key policy allows the account nothing but PutKeyPolicy and CreateAlias.
    let narrow = policy(json!([{"Effect": "Allow", "Principal": {"AWS": "000000000000"},
        "Action": ["kms:PutKeyPolicy", "kms:CreateAlias"], "Resource": "*"}]));
    let out = c.call("CreateKey", json!({"Policy": narrow})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    c.call("CreateAlias", json!({"AliasName": "alias/narrow", "TargetKeyId": id})).await.ok();
    c.call("DescribeKey", json!({"KeyId": id})).await.err("AccessDeniedException");
    let listed = c.call("ListAliases", json!({"KeyId": id})).await.ok();
    assert_eq!(listed["Aliases"][0]["AliasName"], "alias/narrow");
    let missing = "00000000-0000-0000-0000-000000000000";
    c.call("ListAliases", json!({"KeyId": missing})).await.err("NotFoundException");
}

/// A key whose policy lets the account root do everything except what `denies` forbid.
async fn key_with_denies(
    c: &crate::common::Client,
    spec: &str,
    usage: &str,
    denies: Value,
) -> String {
    let mut statements = vec![admin("000000000000")];
    statements.extend(denies.as_array().unwrap().iter().cloned());
    let out = c
        .call(
            "CreateKey",
            json!({"KeySpec": spec, "KeyUsage": usage, "Policy": policy(Value::Array(statements))}),
        )
        .await
        .ok();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn signing_and_mac_parameters_feed_condition_keys() {
    let h = Harness::new().await;
    let c = h.client();
    let sign_key = key_with_denies(
        &c,
        "ECC_NIST_P256",
        "SIGN_VERIFY",
        json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:Sign", "Resource": "*",
                "Condition": {"StringEquals": {"kms:MessageType": "DIGEST"}}},
               {"Effect": "Deny", "Principal": "*", "Action": "kms:Verify", "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:SigningAlgorithm": "ECDSA_SHA_256"}}}]),
    )
    .await;
    let sign = |message_type: &str, message: &[u8]| {
        json!({"KeyId": sign_key, "Message": b64(message), "MessageType": message_type,
               "SigningAlgorithm": "ECDSA_SHA_256"})
    };
    c.call("Sign", sign("DIGEST", &[7; 32])).await.err("AccessDeniedException");
    let out = c.call("Sign", sign("RAW", b"hello")).await.ok();
    let mut verify = sign("RAW", b"hello");
    verify["Signature"] = out["Signature"].clone();
    c.call("Verify", verify.clone()).await.ok();
    // The condition is read before the algorithm is checked against the key: a Deny on the
    // algorithm name answers AccessDeniedException, as AWS evaluates policies first.
    verify["SigningAlgorithm"] = json!("ECDSA_SHA_384");
    c.call("Verify", verify).await.err("AccessDeniedException");

    let mac_key = key_with_denies(
        &c,
        "HMAC_256",
        "GENERATE_VERIFY_MAC",
        json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateMac", "Resource": "*",
                "Condition": {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}}]),
    )
    .await;
    c.call(
        "GenerateMac",
        json!({"KeyId": mac_key, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
    )
    .await
    .err("AccessDeniedException");

    let agreement_key = key_with_denies(
        &c,
        "ECC_NIST_P256",
        "KEY_AGREEMENT",
        json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:DeriveSharedSecret", "Resource": "*",
                "Condition": {"StringEquals": {"kms:KeyAgreementAlgorithm": "ECDH"}}}]),
    )
    .await;
    let peer = c.call("GetPublicKey", json!({"KeyId": sign_key})).await.ok();
    c.call(
        "DeriveSharedSecret",
        json!({"KeyId": agreement_key, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer["PublicKey"]}),
    )
    .await
    .err("AccessDeniedException");
}

#[tokio::test]
async fn data_key_pair_requests_feed_context_and_spec_condition_keys() {
    let h = Harness::new().await;
    let c = h.client();
    let key = key_with_denies(
        &c,
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKeyPair*", "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:EncryptionContext:app": "billing"}}},
               {"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKeyPair", "Resource": "*",
                "Condition": {"StringEquals": {"kms:DataKeyPairSpec": "RSA_4096"}}}]),
    )
    .await;
    let request = |spec: &str, app: &str| json!({"KeyId": key, "KeyPairSpec": spec, "EncryptionContext": {"app": app}});
    c.call("GenerateDataKeyPair", request("ECC_NIST_P256", "other"))
        .await
        .err("AccessDeniedException");
    c.call("GenerateDataKeyPairWithoutPlaintext", request("ECC_NIST_P256", "other"))
        .await
        .err("AccessDeniedException");
    c.call("GenerateDataKeyPair", request("RSA_4096", "billing"))
        .await
        .err("AccessDeniedException");
    c.call("GenerateDataKeyPair", request("ECC_NIST_P256", "billing")).await.ok();
    c.call("GenerateDataKeyPairWithoutPlaintext", request("ECC_NIST_P256", "billing")).await.ok();
}

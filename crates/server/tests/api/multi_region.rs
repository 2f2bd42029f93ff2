//! Multi-Region keys on one server serving several Regions: ReplicateKey,
//! UpdatePrimaryRegion, ciphertext across Regions, shared rotation, the deletion states
//! with the injected clock, condition keys, and cross-Region ReEncrypt.

use kms_server::clock::DAY_MS;
use kms_server::config::Config;
use kms_server::jobs::run_due;
use serde_json::{json, Value};

use crate::common::{
    b64, mac_here_verify_there, rotations, sign_here_verify_there, unb64, Client, Harness, START_MS,
};

const EU: &str = "eu-west-1";
const ACCOUNT: &str = "000000000000";

fn arn(region: &str, id: &str) -> String {
    format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}")
}

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn admin() -> Value {
    json!({"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
           "Action": "kms:*", "Resource": "*"})
}

async fn create_mrk(c: &Client, extra: Value) -> String {
    let mut body = json!({"MultiRegion": true});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let out = c.call("CreateKey", body).await.ok();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

async fn replicate(c: &Client, id: &str, region: &str) -> Value {
    c.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": region})).await.ok()
}

async fn describe(c: &Client, id: &str) -> Value {
    c.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone()
}

#[tokio::test]
async fn create_key_multi_region_gives_an_mrk_primary() {
    let h = Harness::new().await;
    let c = h.client();
    let id = create_mrk(&c, json!({})).await;
    assert!(id.starts_with("mrk-") && id.len() == 36, "{id}");
    assert!(id[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let meta = describe(&c, &id).await;
    assert_eq!(meta["MultiRegion"], true);
    assert_eq!(
        meta["MultiRegionConfiguration"],
        json!({"MultiRegionKeyType": "PRIMARY",
               "PrimaryKey": {"Arn": arn("us-east-1", &id), "Region": "us-east-1"},
               "ReplicaKeys": []})
    );
    let single = c.create_key().await;
    let meta = describe(&c, &single).await;
    assert_eq!(meta["MultiRegion"], false);
    assert!(meta.get("MultiRegionConfiguration").is_none());
    // Asymmetric, HMAC and EXTERNAL keys can be multi-Region too.
    for extra in [
        json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
        json!({"Origin": "EXTERNAL"}),
    ] {
        assert!(create_mrk(&c, extra).await.starts_with("mrk-"));
    }
}

#[tokio::test]
async fn replica_shares_id_and_material_and_ciphertext_crosses_regions() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(
        &us,
        json!({"Description": "primary", "Tags": [{"TagKey": "site", "TagValue": "us"}]}),
    )
    .await;
    let before = us.encrypt(&id, b"made before the replica", json!({"app": "x"})).await;
    let replica_policy = policy(json!([admin()]));
    let out = us
        .call(
            "ReplicateKey",
            json!({"KeyId": arn("us-east-1", &id), "ReplicaRegion": EU, "Description": "replica",
                   "Policy": replica_policy, "Tags": [{"TagKey": "site", "TagValue": "eu"}]}),
        )
        .await
        .ok();
    let meta = &out["ReplicaKeyMetadata"];
    assert_eq!(meta["KeyId"], id);
    assert_eq!(meta["Arn"], arn(EU, &id));
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["Description"], "replica");
    assert_eq!(meta["MultiRegionConfiguration"]["MultiRegionKeyType"], "REPLICA");
    assert_eq!(out["ReplicaPolicy"], replica_policy);
    assert_eq!(out["ReplicaTags"], json!([{"TagKey": "site", "TagValue": "eu"}]));

    // Every related key shows the whole configuration.
    let expected_replicas = json!([{"Arn": arn(EU, &id), "Region": EU}]);
    let primary = describe(&us, &id).await;
    assert_eq!(primary["MultiRegionConfiguration"]["ReplicaKeys"], expected_replicas);
    let replica = describe(&eu, &id).await;
    assert_eq!(replica["MultiRegionConfiguration"]["ReplicaKeys"], expected_replicas);
    assert_eq!(replica["MultiRegionConfiguration"]["PrimaryKey"]["Region"], "us-east-1");
    assert_eq!(replica["CurrentKeyMaterialId"], primary["CurrentKeyMaterialId"]);
    assert_eq!(replica["CreationDate"].as_f64().unwrap(), START_MS as f64 / 1000.0);

    // Ciphertext made by either key decrypts with the other.
    let out = eu.decrypt(&before, json!({"app": "x"})).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()), b"made before the replica");
    assert_eq!(out["KeyId"], arn(EU, &id));
    eu.decrypt(&before, json!({"app": "y"})).await.err("InvalidCiphertextException");
    let from_eu = eu.encrypt(&arn(EU, &id), b"made in eu", json!({})).await;
    let out = us.decrypt(&from_eu, json!({})).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()), b"made in eu");
    let data_key =
        eu.call("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_256"})).await.ok();
    let out = us.decrypt(data_key["CiphertextBlob"].as_str().unwrap(), json!({})).await.ok();
    assert_eq!(out["Plaintext"], data_key["Plaintext"]);

    // Tags, description and policy are per key; ListKeys per Region.
    let tags = eu.call("ListResourceTags", json!({"KeyId": id})).await.ok();
    assert_eq!(tags["Tags"], json!([{"TagKey": "site", "TagValue": "eu"}]));
    let tags = us.call("ListResourceTags", json!({"KeyId": id})).await.ok();
    assert_eq!(tags["Tags"], json!([{"TagKey": "site", "TagValue": "us"}]));
    assert_eq!(primary["Description"], "primary");
    let keys = eu.call("ListKeys", json!({})).await.ok();
    assert_eq!(keys["Keys"], json!([{"KeyId": id, "KeyArn": arn(EU, &id)}]));
    // Disabling the replica leaves the primary usable.
    eu.call("DisableKey", json!({"KeyId": id})).await.ok();
    eu.decrypt(&from_eu, json!({})).await.err("DisabledException");
    us.decrypt(&from_eu, json!({})).await.ok();
}

#[tokio::test]
async fn replicate_key_refuses_what_aws_refuses() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let single = us.create_key().await;
    let r = us.call("ReplicateKey", json!({"KeyId": single, "ReplicaRegion": EU})).await;
    let r = r.err("UnsupportedOperationException");
    assert_eq!(r.message(), format!("{} is not a multi-region key.", arn("us-east-1", &single)));
    let id = create_mrk(&us, json!({})).await;
    us.call("ReplicateKey", json!({"KeyId": id})).await.err("ValidationException");
    for bad in ["moon", "us-east-", "US-EAST-1", "cn-north-1", "us-east-1"] {
        us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": bad}))
            .await
            .err("ValidationException");
    }
    us.call("CreateAlias", json!({"AliasName": "alias/m", "TargetKeyId": id})).await.ok();
    us.call("ReplicateKey", json!({"KeyId": "alias/m", "ReplicaRegion": EU}))
        .await
        .err("InvalidArnException");
    replicate(&us, &id, EU).await;
    let r = us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": EU})).await;
    r.err("AlreadyExistsException");
    // A replica is not a primary.
    let r = eu.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "ap-southeast-2"})).await;
    let r = r.err("UnsupportedOperationException");
    assert_eq!(r.message(), format!("{} is not a multi-region primary key.", arn(EU, &id)));
    // The primary must be enabled.
    us.call("DisableKey", json!({"KeyId": id})).await.ok();
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "eu-central-1"}))
        .await
        .err("DisabledException");
    // A replica policy that would lock the caller out is refused.
    us.call("EnableKey", json!({"KeyId": id})).await.ok();
    let lockout = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:Decrypt", "Resource": "*"}]),
    );
    us.call(
        "ReplicateKey",
        json!({"KeyId": id, "ReplicaRegion": "eu-central-1", "Policy": lockout}),
    )
    .await
    .err("MalformedPolicyDocumentException");
    let gone = h.client_as("test", "test", "eu-central-1");
    gone.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
}

#[tokio::test]
async fn asymmetric_and_hmac_replicas_share_their_key_pairs() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let signer =
        create_mrk(&us, json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})).await;
    replicate(&us, &signer, EU).await;
    let message = b64(b"signed in one Region, verified in another");
    sign_here_verify_there(&us, &eu, &signer, &message, "ECDSA_SHA_256").await;

    let mac_key =
        create_mrk(&us, json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"})).await;
    replicate(&us, &mac_key, EU).await;
    mac_here_verify_there(&eu, &us, &mac_key, &message, "HMAC_SHA_256").await;
}

#[tokio::test]
async fn rotation_happens_at_the_primary_and_reaches_every_replica() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(&us, json!({})).await;
    replicate(&us, &id, EU).await;
    for op in ["EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"] {
        let r = eu.call(op, json!({"KeyId": id})).await.err("UnsupportedOperationException");
        assert!(r.message().ends_with("is not a multi-region primary key."), "{op}");
    }
    us.call("EnableKeyRotation", json!({"KeyId": id, "RotationPeriodInDays": 90})).await.ok();
    let status = eu.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["RotationPeriodInDays"], 90);

    us.call("RotateKeyOnDemand", json!({"KeyId": id})).await.ok();
    let listed = rotations(&us, &id).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(rotations(&eu, &id).await, listed);
    assert_eq!(describe(&eu, &id).await["CurrentKeyMaterialId"], listed[1]["KeyMaterialId"]);
    let blob = eu.encrypt(&id, b"after on-demand rotation", json!({})).await;
    us.decrypt(&blob, json!({})).await.ok();

    // Automatic rotation: one rotation of the set, not one per key.
    h.clock.advance_ms(90 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().rotated, 1);
    let listed = rotations(&us, &id).await;
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(listed[2]["RotationType"], "AUTOMATIC");
    assert_eq!(rotations(&eu, &id).await, listed);
    let blob = us.encrypt(&id, b"after automatic rotation", json!({})).await;
    eu.decrypt(&blob, json!({})).await.ok();
    let status = eu.call("GetKeyRotationStatus", json!({"KeyId": id})).await.ok();
    let next = (START_MS + 180 * DAY_MS) as f64 / 1000.0;
    assert_eq!(status["NextRotationDate"].as_f64().unwrap(), next);
    assert_eq!(run_due(&h.state).await.unwrap().rotated, 0);
}

#[tokio::test]
async fn update_primary_region_swaps_roles() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let ap = h.client_as("test", "test", "ap-southeast-2");
    let id = create_mrk(&us, json!({})).await;
    replicate(&us, &id, EU).await;
    us.call("UpdatePrimaryRegion", json!({"KeyId": id})).await.err("ValidationException");
    us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": "ap-southeast-2"}))
        .await
        .err("NotFoundException");
    us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": "us-east-1"}))
        .await
        .err("ValidationException");
    eu.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": "us-east-1"}))
        .await
        .err("UnsupportedOperationException");
    let single = us.create_key().await;
    us.call("UpdatePrimaryRegion", json!({"KeyId": single, "PrimaryRegion": EU}))
        .await
        .err("UnsupportedOperationException");

    let out = us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": EU})).await;
    assert_eq!(out.ok(), Value::Null);
    let config = describe(&us, &id).await["MultiRegionConfiguration"].clone();
    assert_eq!(config["MultiRegionKeyType"], "REPLICA");
    assert_eq!(config["PrimaryKey"], json!({"Arn": arn(EU, &id), "Region": EU}));
    assert_eq!(
        config["ReplicaKeys"],
        json!([{"Arn": arn("us-east-1", &id), "Region": "us-east-1"}])
    );
    assert_eq!(
        describe(&eu, &id).await["MultiRegionConfiguration"]["MultiRegionKeyType"],
        "PRIMARY"
    );
    // Replication and rotation now start from eu-west-1.
    us.call("RotateKeyOnDemand", json!({"KeyId": id})).await.err("UnsupportedOperationException");
    eu.call("RotateKeyOnDemand", json!({"KeyId": id})).await.ok();
    assert_eq!(rotations(&us, &id).await, rotations(&eu, &id).await);
    replicate(&eu, &id, "ap-southeast-2").await;
    let config = describe(&ap, &id).await["MultiRegionConfiguration"].clone();
    assert_eq!(config["PrimaryKey"]["Region"], EU);
    assert_eq!(config["ReplicaKeys"].as_array().unwrap().len(), 2);
    let blob = ap.encrypt(&id, b"third Region", json!({})).await;
    us.decrypt(&blob, json!({})).await.ok();
    eu.decrypt(&blob, json!({})).await.ok();
}

#[tokio::test]
async fn primary_waits_in_pending_replica_deletion_until_its_last_replica_is_gone() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(&us, json!({})).await;
    replicate(&us, &id, EU).await;
    let blob = us.encrypt(&id, b"x", json!({})).await;

    let out =
        us.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 10})).await.ok();
    assert_eq!(out["KeyState"], "PendingReplicaDeletion");
    assert!(out.get("DeletionDate").is_none());
    assert_eq!(out["PendingWindowInDays"], 10);
    let meta = describe(&us, &id).await;
    assert_eq!(meta["KeyState"], "PendingReplicaDeletion");
    assert_eq!(meta["Enabled"], false);
    assert_eq!(meta["PendingDeletionWindowInDays"], 10);
    assert!(meta.get("DeletionDate").is_none());
    us.decrypt(&blob, json!({})).await.err("KMSInvalidStateException");
    eu.decrypt(&blob, json!({})).await.ok();
    for (op, body) in [
        ("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "eu-central-1"})),
        ("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": EU})),
        ("ScheduleKeyDeletion", json!({"KeyId": id})),
        ("EnableKey", json!({"KeyId": id})),
    ] {
        us.call(op, body).await.err("KMSInvalidStateException");
    }
    // Cancelling returns it Disabled, as from PendingDeletion.
    us.call("CancelKeyDeletion", json!({"KeyId": id})).await.ok();
    assert_eq!(us.state_of(&id).await, "Disabled");
    assert!(describe(&us, &id).await.get("PendingDeletionWindowInDays").is_none());
    us.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 10})).await.ok();

    // The replica has an ordinary waiting period.
    let out =
        eu.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await.ok();
    assert_eq!(out["KeyState"], "PendingDeletion");
    assert_eq!(out["DeletionDate"].as_f64().unwrap(), (START_MS + 7 * DAY_MS) as f64 / 1000.0);
    h.clock.advance_ms(7 * DAY_MS - 1);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 0);
    assert_eq!(us.state_of(&id).await, "PendingReplicaDeletion");
    h.clock.advance_ms(1);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 1);
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");

    // The primary's own window starts when the last replica is gone.
    let meta = describe(&us, &id).await;
    assert_eq!(meta["KeyState"], "PendingDeletion");
    let due = START_MS + 17 * DAY_MS;
    assert_eq!(meta["DeletionDate"].as_f64().unwrap(), due as f64 / 1000.0);
    assert_eq!(meta["MultiRegionConfiguration"]["ReplicaKeys"], json!([]));
    h.clock.set_ms(due - 1);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 0);
    h.clock.set_ms(due);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 1);
    us.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
}

#[tokio::test]
async fn promote_a_replica_then_delete_the_old_primary() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(&us, json!({})).await;
    replicate(&us, &id, EU).await;
    let blob = us.encrypt(&id, b"keep me", json!({})).await;
    us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": EU})).await.ok();
    let out =
        us.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await.ok();
    assert_eq!(out["KeyState"], "PendingDeletion");
    h.clock.advance_ms(7 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 1);
    let meta = describe(&eu, &id).await;
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["MultiRegionConfiguration"]["ReplicaKeys"], json!([]));
    eu.decrypt(&blob, json!({})).await.ok();
    // With no replicas left, the primary goes straight to PendingDeletion.
    let out = eu.call("ScheduleKeyDeletion", json!({"KeyId": id})).await.ok();
    assert_eq!(out["KeyState"], "PendingDeletion");
}

#[tokio::test]
async fn external_replicas_need_the_same_material_imported() {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(&us, json!({"Origin": "EXTERNAL"})).await;
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": EU}))
        .await
        .err("KMSInvalidStateException");
    let import = |c: &Client, material: [u8; 32]| {
        let c = c.clone();
        let id = id.clone();
        async move {
            let params = c
                .call("GetParametersForImport", json!({"KeyId": id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}))
                .await
                .ok();
            let public = unb64(params["PublicKey"].as_str().unwrap());
            let key = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&public).unwrap())
                .unwrap();
            let mut out = vec![0u8; key.ciphertext_size()];
            let wrapped = key.encrypt(&OAEP_SHA256_MGF1SHA256, &material, &mut out, None).unwrap();
            c.call("ImportKeyMaterial", json!({"KeyId": id, "ImportToken": params["ImportToken"],
                "EncryptedKeyMaterial": b64(wrapped), "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}))
                .await
        }
    };
    import(&us, [7; 32]).await.ok();
    let out = replicate(&us, &id, EU).await;
    assert_eq!(out["ReplicaKeyMetadata"]["KeyState"], "PendingImport");
    let blob = us.encrypt(&id, b"byok", json!({})).await;
    eu.decrypt(&blob, json!({})).await.err("KMSInvalidStateException");
    import(&eu, [8; 32]).await.err("IncorrectKeyMaterialException");
    import(&eu, [7; 32]).await.ok();
    assert_eq!(eu.state_of(&id).await, "Enabled");
    let out = eu.decrypt(&blob, json!({})).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()), b"byok");
    assert_eq!(
        describe(&eu, &id).await["CurrentKeyMaterialId"],
        describe(&us, &id).await["CurrentKeyMaterialId"]
    );
}

#[tokio::test]
async fn multi_region_condition_keys_and_replica_region_authorization() {
    let h = Harness::new().await;
    let us = h.client();
    // The key policy refuses replicas in one Region (kms:ReplicaRegion).
    let deny_region = json!({"Effect": "Deny", "Principal": "*", "Action": "kms:ReplicateKey", "Resource": "*",
                             "Condition": {"StringEquals": {"kms:ReplicaRegion": "ap-south-1"}}});
    let deny_promote = json!({"Effect": "Deny", "Principal": "*", "Action": "kms:UpdatePrimaryRegion", "Resource": "*",
                              "Condition": {"StringEquals": {"kms:PrimaryRegion": "eu-central-1"}}});
    let id =
        create_mrk(&us, json!({"Policy": policy(json!([admin(), deny_region, deny_promote]))}))
            .await;
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "ap-south-1"}))
        .await
        .err("AccessDeniedException");
    replicate(&us, &id, "eu-central-1").await;
    us.call("UpdatePrimaryRegion", json!({"KeyId": id, "PrimaryRegion": "eu-central-1"}))
        .await
        .err("AccessDeniedException");

    // A user who may do anything except create keys in eu-west-1, or use replicas.
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": EU}}},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:MultiRegionKeyType": "REPLICA"}}},
        {"Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"Bool": {"kms:MultiRegion": "true"}, "StringEquals": {"kms:MultiRegionKeyType": "PRIMARY", "aws:RequestedRegion": "sa-east-1"}}}
    ]});
    let user = h.user_with_policy("mallory", &identity, "us-east-1").await;
    let r = user.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": EU})).await;
    let r = r.err("AccessDeniedException");
    assert!(r.message().contains("kms:CreateKey"), "{}", r.message());
    user.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "eu-north-1"})).await.ok();
    let blob = user.encrypt(&id, b"x", json!({})).await;
    user.decrypt(&blob, json!({})).await.ok();
    let in_replica = h.client_as(&user.access_key, &user.secret, "eu-north-1");
    in_replica.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    let in_sa = h.client_as(&user.access_key, &user.secret, "sa-east-1");
    in_sa.call("CreateKey", json!({"MultiRegion": true})).await.err("AccessDeniedException");
    in_sa.call("CreateKey", json!({})).await.ok();
}

#[tokio::test]
async fn a_replica_made_again_after_deletion_has_none_of_the_old_replicas_grants() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let id = create_mrk(&us, json!({})).await;
    replicate(&us, &id, EU).await;
    let alice = eu.iam_user("alice", None, &[]).await;
    let alice_eu = h.client_as(&alice.access_key, &alice.secret, EU);
    let grant = json!({"KeyId": id, "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
                       "Operations": ["Decrypt", "Encrypt"]});
    eu.call("CreateGrant", grant).await.ok();
    let blob = alice_eu.encrypt(&id, b"x", json!({})).await;
    alice_eu.decrypt(&blob, json!({})).await.ok();
    eu.call("ScheduleKeyDeletion", json!({"KeyId": id, "PendingWindowInDays": 7})).await.ok();
    h.clock.advance_ms(7 * DAY_MS);
    assert_eq!(run_due(&h.state).await.unwrap().deleted, 1);
    // Same Region, same key id: a new key, with no grants.
    replicate(&us, &id, EU).await;
    alice_eu.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    assert_eq!(eu.call("ListGrants", json!({"KeyId": id})).await.ok()["Grants"], json!([]));
}

#[tokio::test]
async fn tags_on_a_replica_need_kms_tag_resource_in_the_replica_region() {
    let h = Harness::new().await;
    let us = h.client();
    let id = create_mrk(&us, json!({})).await;
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:ReplicateKey", "kms:CreateKey", "kms:DescribeKey"], "Resource": "*"}
    ]});
    let user = h.user_with_policy("replicator", &identity, "us-east-1").await;
    let tagged = json!({"KeyId": id, "ReplicaRegion": EU,
                        "Tags": [{"TagKey": "team", "TagValue": "payments"}]});
    let r = user.call("ReplicateKey", tagged).await.err("AccessDeniedException");
    assert!(r.message().contains("kms:TagResource"), "{}", r.message());
    let eu = h.client_as("test", "test", EU);
    eu.call("DescribeKey", json!({"KeyId": id})).await.err("NotFoundException");
    user.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": EU})).await.ok();
    // CreateKey alike.
    let tags = json!([{"TagKey": "team", "TagValue": "payments"}]);
    let r = user.call("CreateKey", json!({"Tags": tags})).await.err("AccessDeniedException");
    assert!(r.message().contains("kms:TagResource"), "{}", r.message());
    user.call("CreateKey", json!({})).await.ok();
}

#[tokio::test]
async fn reencrypt_to_a_key_in_another_region() {
    let h = Harness::new().await;
    let us = h.client();
    let eu = h.client_as("test", "test", EU);
    let source = us.create_key().await;
    let destination = eu.create_key().await;
    eu.call("CreateAlias", json!({"AliasName": "alias/eu", "TargetKeyId": destination})).await.ok();
    let blob = us.encrypt(&source, b"moving house", json!({"from": "us"})).await;
    let out = us
        .call(
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"from": "us"},
                                  "DestinationKeyId": arn(EU, &destination),
                                  "DestinationEncryptionContext": {"to": "eu"}}),
        )
        .await
        .ok();
    assert_eq!(out["KeyId"], arn(EU, &destination));
    assert_eq!(out["SourceKeyId"], arn("us-east-1", &source));
    let moved = out["CiphertextBlob"].as_str().unwrap();
    eu.decrypt(moved, json!({"to": "eu"})).await.ok();
    eu.decrypt(moved, json!({"from": "us"})).await.err("InvalidCiphertextException");
    // The source context must still match.
    us.call(
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "DestinationKeyId": arn(EU, &destination)}),
    )
    .await
    .err("InvalidCiphertextException");
    // Alias ARNs of the other Region work too; a bare id stays in the request's Region.
    us.call(
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"from": "us"},
                               "DestinationKeyId": format!("arn:aws:kms:{EU}:{ACCOUNT}:alias/eu")}),
    )
    .await
    .ok();
    us.call(
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"from": "us"},
                               "DestinationKeyId": destination}),
    )
    .await
    .err("NotFoundException");
    // The destination key's policy decides kms:ReEncryptTo.
    let deny =
        json!({"Effect": "Deny", "Principal": "*", "Action": "kms:ReEncryptTo", "Resource": "*"});
    let out = eu.call("CreateKey", json!({"Policy": policy(json!([admin(), deny]))})).await.ok();
    let locked = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let r = us
        .call(
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"from": "us"},
                                  "DestinationKeyId": locked}),
        )
        .await
        .err("AccessDeniedException");
    assert!(r.message().contains(&locked));
    // Other operations still refuse other Regions' ARNs.
    us.call("Encrypt", json!({"KeyId": arn(EU, &destination), "Plaintext": b64(b"x")}))
        .await
        .err("NotFoundException");
}

#[tokio::test]
async fn a_regions_list_limits_what_is_served() {
    let mut config = Config::default_local();
    config.regions = vec!["us-east-1".into(), EU.into()];
    let h = Harness::with_config(config).await;
    let us = h.client();
    let elsewhere = h.client_as("test", "test", "ap-southeast-2");
    elsewhere.call("ListKeys", json!({})).await.err("InvalidSignatureException");
    let id = create_mrk(&us, json!({})).await;
    us.call("ReplicateKey", json!({"KeyId": id, "ReplicaRegion": "ap-southeast-2"}))
        .await
        .err("ValidationException");
    replicate(&us, &id, EU).await;
    let blob = us.encrypt(&id, b"x", json!({})).await;
    let r = us
        .call(
            "ReEncrypt",
            json!({"CiphertextBlob": blob,
                                  "DestinationKeyId": arn("ap-southeast-2", &id)}),
        )
        .await
        .err("NotFoundException");
    assert_eq!(r.message(), "Invalid arn ap-southeast-2");
}

#[tokio::test]
async fn concurrent_changes_to_one_set_all_land() {
    let h = Harness::new().await;
    let us = h.client();
    let id = create_mrk(&us, json!({})).await;
    let regions = ["eu-west-1", "eu-west-2", "eu-west-3", "ap-south-1"];
    let calls = regions.map(|r| {
        let us = us.clone();
        let id = id.clone();
        tokio::spawn(async move { replicate(&us, &id, r).await })
    });
    let rotate = {
        let us = us.clone();
        let id = id.clone();
        tokio::spawn(async move { us.call("RotateKeyOnDemand", json!({"KeyId": id})).await.ok() })
    };
    for call in calls {
        call.await.unwrap();
    }
    rotate.await.unwrap();
    let mut expected: Vec<String> = regions.iter().map(|r| (*r).to_owned()).collect();
    expected.sort();
    let listed = rotations(&us, &id).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for region in std::iter::once("us-east-1").chain(regions) {
        let c = h.client_as("test", "test", region);
        let config = describe(&c, &id).await["MultiRegionConfiguration"].clone();
        let mut replicas: Vec<String> = config["ReplicaKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["Region"].as_str().unwrap().to_owned())
            .collect();
        replicas.sort();
        assert_eq!(replicas, expected, "{region}");
        // Every key has every material version, whichever order the calls ran in.
        assert_eq!(rotations(&c, &id).await, listed, "{region}");
    }
}

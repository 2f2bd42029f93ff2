//! Grants over the API: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
//! RevokeGrant, their errors, and the authorization a grant gives.

use serde_json::{json, Value};

use crate::common::{b64, two_accounts, Client, Harness, REGION};

const LOCAL: &str = "000000000000";
const A: &str = "111122223333";
const B: &str = "444455556666";

fn user_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

async fn create_grant(c: &Client, input: Value) -> (String, String) {
    let out = c.call("CreateGrant", input).await.ok();
    let id = out["GrantId"].as_str().unwrap().to_owned();
    let token = out["GrantToken"].as_str().unwrap().to_owned();
    (id, token)
}

/// A fresh harness, its root client and a key the root created.
async fn root_with_key() -> (Harness, Client, String) {
    let h = Harness::new().await;
    let root = h.client();
    let key = root.create_key().await;
    (h, root, key)
}

async fn list(c: &Client, key: &str) -> Vec<Value> {
    let out = c.call("ListGrants", json!({"KeyId": key})).await.ok();
    out["Grants"].as_array().unwrap().clone()
}

#[tokio::test]
async fn create_grant_returns_an_id_and_token_and_list_grants_shows_it() {
    let (_h, root, key) = root_with_key().await;
    let alice = user_arn(LOCAL, "alice");
    let (id, token) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": alice, "RetiringPrincipal": user_arn(LOCAL, "ops"),
               "Operations": ["Encrypt", "Decrypt", "Decrypt"], "Name": "app-grant",
               "Constraints": {"EncryptionContextSubset": {"app": "billing"}}}),
    )
    .await;
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!token.is_empty());
    let grants = list(&root, &key).await;
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g["KeyId"], format!("arn:aws:kms:{REGION}:{LOCAL}:key/{key}"));
    assert_eq!(g["GrantId"], id);
    assert_eq!(g["Name"], "app-grant");
    assert_eq!(g["GranteePrincipal"], alice);
    assert_eq!(g["RetiringPrincipal"], user_arn(LOCAL, "ops"));
    assert_eq!(g["IssuingAccount"], format!("arn:aws:iam::{LOCAL}:root"));
    assert_eq!(g["Operations"], json!(["Decrypt", "Encrypt"]));
    assert_eq!(g["Constraints"], json!({"EncryptionContextSubset": {"app": "billing"}}));
    assert_eq!(g["CreationDate"].as_f64().unwrap(), 1_767_225_600.0);
    // Filters.
    let out = root.call("ListGrants", json!({"KeyId": key, "GrantId": id})).await.ok();
    assert_eq!(out["Grants"].as_array().unwrap().len(), 1);
    let out =
        root.call("ListGrants", json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "x")}));
    assert!(out.await.ok()["Grants"].as_array().unwrap().is_empty());
    let other = "ab".repeat(32);
    let out = root.call("ListGrants", json!({"KeyId": key, "GrantId": other})).await.ok();
    assert!(out["Grants"].as_array().unwrap().is_empty());
    root.call("ListGrants", json!({"KeyId": key, "GrantId": "nothex"}))
        .await
        .err("InvalidGrantIdException");
}

#[tokio::test]
async fn list_grants_paginates() {
    let (h, root, key) = root_with_key().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        h.clock.advance_ms(1000);
        let input = json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, &format!("u{i}")),
                           "Operations": ["Decrypt"]});
        ids.push(create_grant(&root, input).await.0);
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"KeyId": key, "Limit": 2});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let out = root.call("ListGrants", input).await.ok();
        seen.extend(out["Grants"].as_array().unwrap().iter().map(|g| g["GrantId"].clone()));
        if out["Truncated"] == json!(false) {
            assert!(out.get("NextMarker").is_none());
            break;
        }
        marker = Some(out["NextMarker"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ids.iter().map(|i| json!(i)).collect::<Vec<_>>());
    root.call("ListGrants", json!({"KeyId": key, "Limit": 101})).await.err("ValidationException");
    root.call("ListGrants", json!({"KeyId": key, "Marker": "bogus"}))
        .await
        .err("InvalidMarkerException");
}

#[tokio::test]
async fn a_grant_lets_a_user_without_any_policy_use_the_key_until_it_is_retired() {
    let (_h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    let blob = root.encrypt(&key, b"secret", json!({})).await;
    alice.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    let (id, token) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"),
               "Operations": ["Decrypt", "RetireGrant"]}),
    )
    .await;
    // Usable at once, with or without the token.
    let out =
        alice.call("Decrypt", json!({"CiphertextBlob": blob, "GrantTokens": [token]})).await.ok();
    assert_eq!(out["Plaintext"], b64(b"secret"));
    alice.decrypt(&blob, json!({})).await.ok();
    // Only the granted operations.
    alice
        .call("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
    alice.call("DescribeKey", json!({"KeyId": key})).await.err("AccessDeniedException");
    // The grantee may retire it, since it lists RetireGrant.
    alice.call("RetireGrant", json!({"GrantToken": token})).await.ok();
    alice.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    assert!(list(&root, &key).await.is_empty());
    root.call("RetireGrant", json!({"KeyId": key, "GrantId": id})).await.err("NotFoundException");
}

#[tokio::test]
async fn malformed_grant_tokens_are_refused_everywhere() {
    let (_h, root, key) = root_with_key().await;
    let r = root
        .call("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x"), "GrantTokens": ["garbage"]}))
        .await
        .err("InvalidGrantTokenException");
    assert_eq!(r.status, 400);
    root.call("DescribeKey", json!({"KeyId": key, "GrantTokens": ["garbage"]}))
        .await
        .err("InvalidGrantTokenException");
    root.call("RetireGrant", json!({"GrantToken": "garbage"}))
        .await
        .err("InvalidGrantTokenException");
    let tokens: Vec<String> = (0..11).map(|_| "t".into()).collect();
    root.call("DescribeKey", json!({"KeyId": key, "GrantTokens": tokens}))
        .await
        .err("ValidationException");
    // A well-formed token of a grant that is gone allows nothing but is accepted.
    let (id, token) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"), "Operations": ["Decrypt"]}),
    )
    .await;
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": id})).await.ok();
    root.call("DescribeKey", json!({"KeyId": key, "GrantTokens": [token]})).await.ok();
    root.call("RetireGrant", json!({"GrantToken": token})).await.err("NotFoundException");
}

#[tokio::test]
async fn encryption_context_constraints_are_enforced() {
    let (_h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    let bob = root.iam_user("bob", None, &[]).await;
    create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"), "Operations": ["Decrypt"],
               "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}}}),
    )
    .await;
    create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "bob"),
               "Operations": ["Encrypt", "GenerateDataKey", "GenerateDataKeyPairWithoutPlaintext"],
               "Constraints": {"EncryptionContextEquals": {"Dept": "IT"}}}),
    )
    .await;
    let it = root.encrypt(&key, b"x", json!({"Dept": "IT", "Project": "P"})).await;
    let hr = root.encrypt(&key, b"x", json!({"Dept": "HR"})).await;
    alice.decrypt(&it, json!({"Dept": "IT", "Project": "P"})).await.ok();
    alice.decrypt(&hr, json!({"Dept": "HR"})).await.err("AccessDeniedException");
    let enc = |context: Value| json!({"KeyId": key, "Plaintext": b64(b"y"), "EncryptionContext": context});
    bob.call("Encrypt", enc(json!({"Dept": "IT"}))).await.ok();
    bob.call("Encrypt", enc(json!({"dept": "IT"}))).await.ok();
    bob.call("Encrypt", enc(json!({"Dept": "IT", "x": "y"}))).await.err("AccessDeniedException");
    bob.call("Encrypt", enc(json!({}))).await.err("AccessDeniedException");
    bob.call(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256",
        "EncryptionContext": {"Dept": "IT"}}),
    )
    .await
    .ok();
    let pair = |context: Value| json!({"KeyId": key, "KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": context});
    bob.call("GenerateDataKeyPairWithoutPlaintext", pair(json!({"Dept": "IT"}))).await.ok();
    bob.call("GenerateDataKeyPairWithoutPlaintext", pair(json!({"Dept": "HR"})))
        .await
        .err("AccessDeniedException");
}

#[tokio::test]
async fn a_name_makes_create_grant_idempotent() {
    let (_h, root, key) = root_with_key().await;
    let input = json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"),
                       "Operations": ["Decrypt"], "Name": "retry-me"});
    let (id1, token1) = create_grant(&root, input.clone()).await;
    let (id2, token2) = create_grant(&root, input.clone()).await;
    assert_eq!(id1, id2);
    assert_ne!(token1, token2);
    let mut different = input;
    different["Operations"] = json!(["Encrypt"]);
    let (id3, _) = create_grant(&root, different).await;
    assert_ne!(id1, id3);
    assert_eq!(list(&root, &key).await.len(), 2);
    // Both tokens of the first grant retire it.
    root.call("RetireGrant", json!({"GrantToken": token2})).await.ok();
    root.call("RetireGrant", json!({"GrantToken": token1})).await.err("NotFoundException");
}

#[tokio::test]
async fn create_grant_validates_its_input_as_aws_does() {
    let (_h, root, key) = root_with_key().await;
    let grantee = user_arn(LOCAL, "a");
    let create = |input: Value| root.call("CreateGrant", input);
    let r = create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Fly"]}))
        .await
        .err("ValidationException");
    assert!(r.message().contains("Value 'Fly' at 'operations.1.member' failed to satisfy constraint: Member must satisfy enum value set: [Decrypt, Encrypt,"), "{}", r.message());
    create(json!({"KeyId": key, "GranteePrincipal": grantee})).await.err("ValidationException");
    create(json!({"KeyId": key, "Operations": ["Decrypt"]})).await.err("ValidationException");
    create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": []}))
        .await
        .err("ValidationException");
    let r =
        create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["CreateGrant"]}))
            .await
            .err("ValidationException");
    assert_eq!(r.message(), "Grants must not contain only the CreateGrant operation.");
    create(json!({"KeyId": key, "GranteePrincipal": "not a principal", "Operations": ["Decrypt"]}))
        .await
        .err("ValidationException");
    create(json!({"KeyId": key, "GranteePrincipal": "arn:aws:iam::000000000000:group/g",
                  "Operations": ["Decrypt"]}))
    .await
    .err("ValidationException");
    create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Decrypt"],
                  "Name": "bad name!"}))
    .await
    .err("ValidationException");
    create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextSubset": {"a": "1"}, "EncryptionContextEquals": {"a": "1"}}}))
    .await
    .err("ValidationException");
    let nine: serde_json::Map<String, Value> =
        (0..9).map(|i| (format!("k{i}"), json!("v"))).collect();
    create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextSubset": nine}}))
    .await
    .err("ValidationException");
    create(json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextEquals": {"a": "v".repeat(385)}}}))
    .await
    .err("ValidationException");
    create(json!({"KeyId": key, "GranteeServicePrincipal": "ebs.amazonaws.com",
                  "Operations": ["Decrypt"]}))
    .await
    .err("UnsupportedOperationException");
    create(json!({"KeyId": "alias/x", "GranteePrincipal": grantee, "Operations": ["Decrypt"]}))
        .await
        .err("InvalidArnException");
    create(json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "GranteePrincipal": grantee,
                  "Operations": ["Decrypt"]}))
    .await
    .err("NotFoundException");
}

#[tokio::test]
async fn grant_operations_must_suit_the_key_type() {
    let h = Harness::new().await;
    let root = h.client();
    let grantee = user_arn(LOCAL, "a");
    let symmetric = root.create_key().await;
    let out = root
        .call("CreateKey", json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}))
        .await
        .ok();
    let signing = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let out = root
        .call("CreateKey", json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}))
        .await
        .ok();
    let hmac = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let create = |key: &str, ops: Value| {
        root.call(
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ops}),
        )
    };
    create(&symmetric, json!(["Sign"])).await.err("ValidationException");
    create(&symmetric, json!(["GenerateDataKeyPair", "DescribeKey"])).await.ok();
    create(&signing, json!(["GenerateDataKey"])).await.err("ValidationException");
    create(&signing, json!(["Sign", "Verify", "GetPublicKey", "RetireGrant"])).await.ok();
    create(&hmac, json!(["Decrypt"])).await.err("ValidationException");
    create(&hmac, json!(["GenerateMac", "VerifyMac"])).await.ok();
    let r = root
        .call(
            "CreateGrant",
            json!({"KeyId": signing, "GranteePrincipal": grantee,
            "Operations": ["Sign"], "Constraints": {"EncryptionContextSubset": {"a": "b"}}}),
        )
        .await
        .err("ValidationException");
    assert!(r.message().contains("symmetric encryption"), "{}", r.message());
}

#[tokio::test]
async fn key_state_and_dry_run() {
    let (_h, root, key) = root_with_key().await;
    let input = json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"),
                       "Operations": ["Decrypt"]});
    let mut dry = input.clone();
    dry["DryRun"] = json!(true);
    root.call("CreateGrant", dry).await.err("DryRunOperationException");
    assert!(list(&root, &key).await.is_empty());
    let (id, token) = create_grant(&root, input.clone()).await;
    root.call("RetireGrant", json!({"GrantToken": token, "DryRun": true}))
        .await
        .err("DryRunOperationException");
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": id, "DryRun": true}))
        .await
        .err("DryRunOperationException");
    assert_eq!(list(&root, &key).await.len(), 1);
    root.call("DisableKey", json!({"KeyId": key})).await.ok();
    root.call("CreateGrant", input).await.err("DisabledException");
    // Listing, revoking and retiring work in any state.
    assert_eq!(list(&root, &key).await.len(), 1);
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": id})).await.ok();
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": id})).await.err("NotFoundException");
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": "zz"}))
        .await
        .err("InvalidGrantIdException");
    root.call("RevokeGrant", json!({"KeyId": key})).await.err("ValidationException");
}

#[tokio::test]
async fn who_may_retire_a_grant() {
    let (_h, root, key) = root_with_key().await;
    let grantee = root.iam_user("grantee", None, &[]).await;
    let retirer = root.iam_user("retirer", None, &[]).await;
    let stranger = root.iam_user("stranger", None, &[]).await;
    let delegated = root
        .iam_user(
            "delegated",
            Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}}"#),
            &[],
        )
        .await;
    let input = json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "grantee"),
                       "RetiringPrincipal": user_arn(LOCAL, "retirer"), "Operations": ["Decrypt"]});
    let (id, token) = create_grant(&root, input.clone()).await;
    // The grantee without RetireGrant in the grant, and a stranger, may not.
    grantee.call("RetireGrant", json!({"GrantToken": token})).await.err("AccessDeniedException");
    let r = stranger
        .call("RetireGrant", json!({"KeyId": key, "GrantId": id}))
        .await
        .err("AccessDeniedException");
    assert!(r.message().contains("kms:RetireGrant"), "{}", r.message());
    // The retiring principal may, by id.
    retirer.call("RetireGrant", json!({"KeyId": key, "GrantId": id})).await.ok();
    // A principal of the issuing account with kms:RetireGrant in IAM may.
    let (_, token) = create_grant(&root, input.clone()).await;
    delegated.call("RetireGrant", json!({"GrantToken": token})).await.ok();
    // So may the issuing account's root.
    let (_, token) = create_grant(&root, input).await;
    root.call("RetireGrant", json!({"GrantToken": token})).await.ok();
    root.call("RetireGrant", json!({"KeyId": key})).await.err("ValidationException");
}

#[tokio::test]
async fn revoke_grant_needs_kms_revoke_grant() {
    let (_h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    let (id, _) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"),
               "Operations": ["Decrypt", "RetireGrant"]}),
    )
    .await;
    let r = alice
        .call("RevokeGrant", json!({"KeyId": key, "GrantId": id}))
        .await
        .err("AccessDeniedException");
    assert!(r.message().contains("kms:RevokeGrant"), "{}", r.message());
    alice.call("ListGrants", json!({"KeyId": key})).await.err("AccessDeniedException");
    root.call("RevokeGrant", json!({"KeyId": key, "GrantId": id})).await.ok();
}

#[tokio::test]
async fn list_retirable_grants_lists_the_principals_grants() {
    let h = Harness::new().await;
    let root = h.client();
    let k1 = root.create_key().await;
    let k2 = root.create_key().await;
    let ops = user_arn(LOCAL, "ops");
    for key in [&k1, &k2, &k1] {
        create_grant(
            &root,
            json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"),
                   "RetiringPrincipal": ops, "Operations": ["Decrypt"]}),
        )
        .await;
    }
    create_grant(
        &root,
        json!({"KeyId": k1, "GranteePrincipal": user_arn(LOCAL, "a"), "Operations": ["Decrypt"]}),
    )
    .await;
    let out = root.call("ListRetirableGrants", json!({"RetiringPrincipal": ops})).await.ok();
    let grants = out["Grants"].as_array().unwrap();
    assert_eq!(grants.len(), 3);
    assert!(grants.iter().all(|g| g["RetiringPrincipal"] == json!(ops)));
    let out =
        root.call("ListRetirableGrants", json!({"RetiringPrincipal": ops, "Limit": 2})).await.ok();
    assert_eq!(out["Truncated"], true);
    let marker = out["NextMarker"].clone();
    let out = root
        .call("ListRetirableGrants", json!({"RetiringPrincipal": ops, "Marker": marker}))
        .await
        .ok();
    assert_eq!(out["Grants"].as_array().unwrap().len(), 1);
    root.call("ListRetirableGrants", json!({})).await.err("ValidationException");
    root.call("ListRetirableGrants", json!({"RetiringPrincipal": user_arn(B, "x")}))
        .await
        .err("AccessDeniedException");
    let alice = root.iam_user("alice", None, &[]).await;
    alice
        .call("ListRetirableGrants", json!({"RetiringPrincipal": ops}))
        .await
        .err("AccessDeniedException");
}

#[tokio::test]
async fn a_constrained_grant_allows_decrypt_and_reencrypt_that_name_the_key() {
    let (_h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"),
               "Operations": ["Decrypt", "ReEncryptFrom", "ReEncryptTo"],
               "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}}}),
    )
    .await;
    let it = root.encrypt(&key, b"x", json!({"Dept": "IT"})).await;
    let named = json!({"CiphertextBlob": it, "KeyId": key, "EncryptionContext": {"Dept": "IT"}});
    alice.call("Decrypt", named).await.ok();
    let wrong = json!({"CiphertextBlob": it, "KeyId": key, "EncryptionContext": {"Dept": "HR"}});
    alice.call("Decrypt", wrong).await.err("AccessDeniedException");
    alice
        .call(
            "ReEncrypt",
            json!({"CiphertextBlob": it, "SourceKeyId": key, "SourceEncryptionContext": {"Dept": "IT"},
                   "DestinationKeyId": key, "DestinationEncryptionContext": {"Dept": "IT"}}),
        )
        .await
        .ok();
}

#[tokio::test]
async fn list_retirable_grants_reads_the_account_from_the_arns_account_field() {
    let h = Harness::with_config(two_accounts()).await;
    let a_root = h.client_as("AKIDALICE", "alice-secret", REGION);
    let b_root = h.client_as("AKIDBOB", "bob-secret", REGION);
    let key = a_root.create_key().await;
    // A principal of account A whose name spells `::<account B>:`.
    let look_alike = format!("arn:aws:iam::{A}:user/x::{B}:");
    create_grant(
        &a_root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(A, "app"),
               "RetiringPrincipal": look_alike, "Operations": ["Decrypt"]}),
    )
    .await;
    let r = b_root.call("ListRetirableGrants", json!({"RetiringPrincipal": look_alike})).await;
    r.err("AccessDeniedException");
    let out = a_root.call("ListRetirableGrants", json!({"RetiringPrincipal": look_alike})).await;
    assert_eq!(out.ok()["Grants"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cross_account_grantees_need_no_iam_policy_but_an_account_grantee_delegates_via_iam() {
    let h = Harness::with_config(two_accounts()).await;
    let a_root = h.client_as("AKIDALICE", "alice-secret", REGION);
    let b_root = h.client_as("AKIDBOB", "bob-secret", REGION);
    let key = a_root.create_key().await;
    let arn = format!("arn:aws:kms:{REGION}:{A}:key/{key}");
    let blob = a_root.encrypt(&key, b"shared", json!({})).await;
    let bob = b_root.iam_user("bob", None, &[]).await;
    let carl = b_root.iam_user("carl", None, &[]).await;
    let dana = b_root
        .iam_user(
            "dana",
            Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#),
            &[],
        )
        .await;
    bob.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    create_grant(
        &a_root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(B, "bob"), "Operations": ["Decrypt", "DescribeKey"]}),
    )
    .await;
    bob.decrypt(&blob, json!({})).await.ok();
    bob.call("DescribeKey", json!({"KeyId": arn})).await.ok();
    // A grant to account B: B's root directly, B's users only where IAM allows.
    create_grant(
        &a_root,
        json!({"KeyId": arn, "GranteePrincipal": format!("arn:aws:iam::{B}:root"), "Operations": ["Decrypt"]}),
    )
    .await;
    b_root.decrypt(&blob, json!({})).await.ok();
    carl.decrypt(&blob, json!({})).await.err("AccessDeniedException");
    dana.decrypt(&blob, json!({})).await.ok();
    // Another account cannot list or revoke the key's grants without the key policy.
    b_root.call("ListGrants", json!({"KeyId": arn})).await.err("AccessDeniedException");
}

#[tokio::test]
async fn a_grant_with_create_grant_may_only_make_narrower_grants() {
    let (_h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"),
               "Operations": ["Decrypt", "Encrypt", "CreateGrant"],
               "Constraints": {"EncryptionContextSubset": {"team": "a"}}}),
    )
    .await;
    let child = |ops: Value, constraints: Value| {
        let mut input =
            json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "bob"), "Operations": ops});
        if !constraints.is_null() {
            input["Constraints"] = constraints;
        }
        alice.call("CreateGrant", input)
    };
    child(json!(["Decrypt"]), json!({"EncryptionContextSubset": {"team": "a", "x": "1"}}))
        .await
        .ok();
    child(json!(["Decrypt"]), json!({"EncryptionContextEquals": {"team": "a"}})).await.ok();
    child(json!(["Decrypt"]), Value::Null).await.err("AccessDeniedException");
    child(json!(["Decrypt"]), json!({"EncryptionContextSubset": {"team": "b"}}))
        .await
        .err("AccessDeniedException");
    child(json!(["Decrypt", "GenerateDataKey"]), json!({"EncryptionContextSubset": {"team": "a"}}))
        .await
        .err("AccessDeniedException");
}

#[tokio::test]
async fn grant_condition_keys_restrict_create_grant() {
    let h = Harness::new().await;
    let root = h.client();
    let allow_grants = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"*",
        "Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","Encrypt"]},
                     "StringLike":{"kms:GranteePrincipal":"arn:aws:iam::000000000000:user/app-*"},
                     "StringEquals":{"kms:GrantConstraintType":"EncryptionContextSubset"}}}}"#;
    let admin = root.iam_user("admin", Some(allow_grants), &[]).await;
    let key = root.create_key().await;
    let good = json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "app-1"), "Operations": ["Decrypt"],
                      "Constraints": {"EncryptionContextSubset": {"a": "b"}}});
    admin.call("CreateGrant", good.clone()).await.ok();
    let mut wider = good.clone();
    wider["Operations"] = json!(["Decrypt", "ReEncryptFrom"]);
    admin.call("CreateGrant", wider).await.err("AccessDeniedException");
    let mut other = good.clone();
    other["GranteePrincipal"] = json!(user_arn(LOCAL, "mallory"));
    admin.call("CreateGrant", other).await.err("AccessDeniedException");
    let mut unconstrained = good;
    unconstrained.as_object_mut().unwrap().remove("Constraints");
    admin.call("CreateGrant", unconstrained).await.err("AccessDeniedException");
}

#[tokio::test]
async fn grant_is_for_aws_resource_comes_from_the_service_tag() {
    let h = Harness::new().await;
    let root = h.client();
    let only_services = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
        "Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*",
        "Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}}"#;
    let service = root
        .iam_user("ebs", Some(only_services), &[("kms-server:aws-service", "ebs.amazonaws.com")])
        .await;
    let person = root.iam_user("person", Some(only_services), &[]).await;
    let key = root.create_key().await;
    let input =
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "x"), "Operations": ["Decrypt"]});
    person.call("CreateGrant", input.clone()).await.err("AccessDeniedException");
    person.call("ListGrants", json!({"KeyId": key})).await.err("AccessDeniedException");
    let (id, _) = create_grant(&service, input).await;
    service.call("ListGrants", json!({"KeyId": key})).await.ok();
    service.call("RevokeGrant", json!({"KeyId": key, "GrantId": id})).await.ok();
}

#[tokio::test]
async fn explain_access_and_the_audit_trail_name_the_grant_but_never_its_token() {
    let (h, root, key) = root_with_key().await;
    let alice = root.iam_user("alice", None, &[]).await;
    let (id, token) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "alice"), "Operations": ["Encrypt"]}),
    )
    .await;
    alice
        .call("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x"), "GrantTokens": [token]}))
        .await
        .ok();
    let out = root
        .raw(
            "KmsServerExtensions.ExplainAccess",
            serde_json::to_vec(&json!({"PrincipalArn": user_arn(LOCAL, "alice"),
                "Action": "kms:Encrypt", "KeyId": key}))
            .unwrap(),
            None,
        )
        .await
        .ok();
    assert_eq!(out["Allowed"], true);
    assert_eq!(out["Reason"], "Grant");
    assert!(out["Explanation"].to_string().contains(&format!("allowed by grant {id}")), "{out}");
    root.call("RetireGrant", json!({"GrantToken": token})).await.ok();
    let mut trail = Vec::new();
    kms_server::audit::export(h.dir.path(), &mut trail).unwrap();
    let trail = String::from_utf8(trail).unwrap();
    assert!(!trail.contains(&token), "a grant token reached the audit trail");
    let grant_events = trail
        .lines()
        .filter(|l| {
            l.contains("\"eventName\":\"CreateGrant\"")
                || l.contains("\"eventName\":\"RetireGrant\"")
        })
        .count();
    assert_eq!(grant_events, 2);
    let encrypt = trail
        .lines()
        .find(|l| l.contains("\"eventName\":\"Encrypt\"") && l.contains("alice"))
        .unwrap();
    assert!(encrypt.contains(&format!("\"grantId\":\"{id}\"")), "{encrypt}");
}

#[tokio::test]
async fn grants_survive_a_restart_and_die_with_their_key() {
    let (h, root, key) = root_with_key().await;
    let (id, _) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"), "Operations": ["Decrypt"]}),
    )
    .await;
    let state = h.reopen().await;
    let reopened = Client { state: state.clone(), ..root.clone() };
    let grants = list(&reopened, &key).await;
    assert_eq!(grants[0]["GrantId"], id);
    reopened
        .call("ScheduleKeyDeletion", json!({"KeyId": key, "PendingWindowInDays": 7}))
        .await
        .ok();
    h.clock.advance_ms(8 * 86_400_000);
    kms_server::jobs::run_due(&state).await.unwrap();
    assert!(state.grants.get(&id).is_none());
    assert!(state.store.list_grants().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_iam_deny_of_retire_grant_wins_and_sees_the_constraint_type() {
    let (_h, root, key) = root_with_key().await;
    let deny_equals = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*",
        "Condition":{"StringEquals":{"kms:GrantConstraintType":"EncryptionContextEquals"}}}}"#;
    let retirer = root.iam_user("retirer", Some(deny_equals), &[]).await;
    let grant = |constraints: Value| {
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"),
               "RetiringPrincipal": user_arn(LOCAL, "retirer"), "Operations": ["Decrypt"],
               "Constraints": constraints})
    };
    let (_, equals) =
        create_grant(&root, grant(json!({"EncryptionContextEquals": {"a": "1"}}))).await;
    let (_, subset) =
        create_grant(&root, grant(json!({"EncryptionContextSubset": {"a": "1"}}))).await;
    let r = retirer
        .call("RetireGrant", json!({"GrantToken": equals}))
        .await
        .err("AccessDeniedException");
    assert!(r.message().contains("explicit deny"), "{}", r.message());
    retirer.call("RetireGrant", json!({"GrantToken": subset})).await.ok();
}

#[tokio::test]
async fn a_key_holds_at_most_50000_grants() {
    let (h, root, key) = root_with_key().await;
    let (id, _) = create_grant(
        &root,
        json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "a"), "Operations": ["Decrypt"]}),
    )
    .await;
    // Fill the key up in memory (storing 50,000 grants one by one would take minutes).
    let first = h.state.grants.get(&id).unwrap();
    for i in 1..50_000_u32 {
        let mut grant = (*first).clone();
        grant.grant_id = format!("{i:064x}");
        h.state.grants.insert(std::sync::Arc::new(grant));
    }
    let r = root
        .call(
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": user_arn(LOCAL, "b"), "Operations": ["Decrypt"]}),
        )
        .await
        .err("LimitExceededException");
    assert!(r.message().contains("50000"), "{}", r.message());
}

#[tokio::test]
async fn another_account_may_create_grants_when_both_policies_allow_and_issues_them() {
    let h = Harness::with_config(two_accounts()).await;
    let a_root = h.client_as("AKIDALICE", "alice-secret", REGION);
    let b_root = h.client_as("AKIDBOB", "bob-secret", REGION);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{B}:root")},
         "Action": ["kms:CreateGrant", "kms:ListGrants"], "Resource": "*"}]});
    let out = a_root.call("CreateKey", json!({"Policy": policy.to_string()})).await.ok();
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"*"}}"#;
    let admin = b_root.iam_user("admin", Some(allow), &[]).await;
    let plain = b_root.iam_user("plain", None, &[]).await;
    let input =
        json!({"KeyId": arn, "GranteePrincipal": user_arn(B, "plain"), "Operations": ["Encrypt"]});
    plain.call("CreateGrant", input.clone()).await.err("AccessDeniedException");
    let (id, _) = create_grant(&admin, input).await;
    plain.call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"x")})).await.ok();
    let grants = b_root.call("ListGrants", json!({"KeyId": arn})).await.ok();
    assert_eq!(grants["Grants"][0]["IssuingAccount"], format!("arn:aws:iam::{B}:root"));
    // The key's account revokes it; the issuing account could have retired it.
    a_root.call("RevokeGrant", json!({"KeyId": arn, "GrantId": id})).await.ok();
    plain
        .call("Encrypt", json!({"KeyId": arn, "Plaintext": b64(b"x")}))
        .await
        .err("AccessDeniedException");
}

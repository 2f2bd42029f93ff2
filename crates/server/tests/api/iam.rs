//! IAM and STS over the query protocol through the router: persistence across a restart,
//! XML shapes, and temporary credentials used against KMS.

use std::sync::Arc;

use axum::http::StatusCode;

use crate::common::{b64, between, query, send_signed, Client, Harness, REGION};

const ROOT: (&str, &str, Option<&str>) = ("test", "test", None);
/// A role trust policy letting the default account assume the role.
const TRUST_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole"}}"#;

#[tokio::test]
async fn iam_users_and_keys_survive_a_restart() {
    let h = Harness::new().await;
    let (status, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[("Action", "CreateUser"), ("Version", "2010-05-08"), ("UserName", "alice")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.starts_with("<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User>"), "{xml}");
    let (_, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[("Action", "CreateAccessKey"), ("UserName", "alice")],
    )
    .await;
    let id = between(&xml, "AccessKeyId").to_owned();
    let secret = between(&xml, "SecretAccessKey").to_owned();
    let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
    let (status, _) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "alice"),
            ("PolicyName", "all"),
            ("PolicyDocument", policy),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Reopen the same data directory: a new state loads the records from the store.
    let state = h.reopen().await;
    let (status, xml) =
        query(&state, &h.clock, (&id, &secret, None), "sts", &[("Action", "GetCallerIdentity")])
            .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(between(&xml, "Arn"), "arn:aws:iam::000000000000:user/alice");
    let alice =
        Client { state, clock: h.clock.clone(), access_key: id, secret, region: REGION.into() };
    let key = alice.create_key().await;
    alice.call("Encrypt", serde_json::json!({"KeyId": key, "Plaintext": b64(b"x")})).await.ok();
}

#[tokio::test]
async fn errors_are_xml_with_iam_codes() {
    let h = Harness::new().await;
    let (status, xml) =
        query(&h.state, &h.clock, ROOT, "iam", &[("Action", "GetUser"), ("UserName", "nobody")])
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        xml.contains("<Code>NoSuchEntity</Code>")
            && xml.contains("The user with name nobody cannot be found."),
        "{xml}"
    );
    let (status, xml) =
        query(&h.state, &h.clock, ("test", "wrong", None), "iam", &[("Action", "ListUsers")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(xml.contains("<Code>SignatureDoesNotMatch</Code>"), "{xml}");
    let (status, xml) = query(&h.state, &h.clock, ROOT, "kms", &[("Action", "ListUsers")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a kms-scoped signature is not valid for IAM: {xml}");
}

/// Session `s1` of role `app` (AssumeRole as the account root with `extra` parameters):
/// access key id, secret access key and session token.
async fn assume_app(h: &Harness, extra: &[(&str, &str)]) -> (String, String, String) {
    let mut params = vec![
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::000000000000:role/app"),
        ("RoleSessionName", "s1"),
    ];
    params.extend_from_slice(extra);
    let (status, xml) = query(&h.state, &h.clock, ROOT, "sts", &params).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    (
        between(&xml, "AccessKeyId").to_owned(),
        between(&xml, "SecretAccessKey").to_owned(),
        between(&xml, "SessionToken").to_owned(),
    )
}

#[tokio::test]
async fn assumed_role_credentials_expire() {
    let h = Harness::new().await;
    let (status, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[
            ("Action", "CreateRole"),
            ("RoleName", "app"),
            ("AssumeRolePolicyDocument", TRUST_ACCOUNT),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let creds = assume_app(&h, &[("DurationSeconds", "900")]).await;
    let who = |clock| {
        let (state, creds) = (Arc::clone(&h.state), creds.clone());
        async move {
            query(
                &state,
                clock,
                (&creds.0, &creds.1, Some(&creds.2)),
                "sts",
                &[("Action", "GetCallerIdentity")],
            )
            .await
        }
    };
    let (status, xml) = who(&h.clock).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(between(&xml, "Arn"), "arn:aws:sts::000000000000:assumed-role/app/s1");
    h.clock.advance_ms(901_000);
    let (status, xml) = who(&h.clock).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(xml.contains("<Code>ExpiredToken</Code>"), "{xml}");
    // The background job removes expired credentials; they are then unknown.
    assert_eq!(kms_server::jobs::run_due(&h.state).await.unwrap().sessions_removed, 1);
    let (status, xml) = who(&h.clock).await;
    assert!(
        status == StatusCode::FORBIDDEN && xml.contains("<Code>InvalidClientTokenId</Code>"),
        "{xml}"
    );
}

#[tokio::test]
async fn session_tags_survive_a_restart() {
    let h = Harness::new().await;
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
    let abac = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"alpha"}}}}"#;
    for params in [
        vec![("Action", "CreateRole"), ("RoleName", "app"), ("AssumeRolePolicyDocument", trust)],
        vec![
            ("Action", "PutRolePolicy"),
            ("RoleName", "app"),
            ("PolicyName", "abac"),
            ("PolicyDocument", abac),
        ],
    ] {
        let (status, xml) = query(&h.state, &h.clock, ROOT, "iam", &params).await;
        assert_eq!(status, StatusCode::OK, "{xml}");
    }
    let key = h.client().create_key().await;
    let (id, secret, token) =
        assume_app(&h, &[("Tags.member.1.Key", "project"), ("Tags.member.1.Value", "alpha")]).await;
    // The session's tag, not the role's (it has none), allows Encrypt, before and after a
    // restart.
    let base = [
        ("host".to_owned(), "kms.local".to_owned()),
        ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
        ("x-amz-target".to_owned(), "TrentService.Encrypt".to_owned()),
    ];
    let body = serde_json::json!({"KeyId": key, "Plaintext": b64(b"x")}).to_string();
    let at_s = kms_server::clock::Clock::now_ms(&*h.clock) / 1000;
    for state in [Arc::clone(&h.state), h.reopen().await] {
        let creds = (id.as_str(), secret.as_str(), Some(token.as_str()));
        let (status, _, out) =
            send_signed(&state, &base, body.clone().into_bytes(), creds, REGION, "kms", at_s).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    }
}

async fn explain(client: &Client, input: serde_json::Value) -> crate::common::Reply {
    client.raw(kms_server::authz::explain::TARGET, serde_json::to_vec(&input).unwrap(), None).await
}

#[tokio::test]
async fn explain_access_says_who_may_do_what_and_why() {
    let h = Harness::new().await;
    let root = h.client();
    for params in [
        vec![("Action", "CreateUser"), ("UserName", "alice")],
        vec![("Action", "CreateUser"), ("UserName", "bob")],
    ] {
        assert_eq!(query(&h.state, &h.clock, ROOT, "iam", &params).await.0, StatusCode::OK);
    }
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "BobWithContext", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bob"},
         "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:app": "x"}}}
    ]})
    .to_string();
    let out = root.call("CreateKey", serde_json::json!({"Policy": policy})).await.ok();
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();

    // The seed's Alice: default path through the account principal, no IAM policy.
    let alice = explain(&root, serde_json::json!({"PrincipalArn": "arn:aws:iam::000000000000:user/alice", "Action": "kms:Encrypt", "KeyId": arn})).await.ok();
    assert_eq!(alice["Allowed"], false);
    assert_eq!(alice["Reason"], "NoIdentityPolicyAllow");
    assert!(alice["Message"]
        .as_str()
        .unwrap()
        .contains("because no identity-based policy allows the kms:Encrypt action"));

    // Bob: allowed with the context, a near miss naming the condition without it.
    let without = explain(&root, serde_json::json!({"PrincipalArn": "arn:aws:iam::000000000000:user/bob", "Action": "kms:Decrypt", "KeyId": arn})).await.ok();
    assert_eq!(without["Allowed"], false);
    assert_eq!(without["NearMisses"][0]["Sid"], "BobWithContext");
    assert!(without["NearMisses"][0]["FailedCondition"]
        .as_str()
        .unwrap()
        .contains("kms:EncryptionContext:app"));
    let with = explain(&root, serde_json::json!({"PrincipalArn": "arn:aws:iam::000000000000:user/bob", "Action": "kms:Decrypt", "KeyId": arn, "EncryptionContext": {"app": "x"}})).await.ok();
    assert_eq!(with["Allowed"], true);
    assert_eq!(with["Reason"], "KeyPolicyAllowsPrincipal");
    assert_eq!(with["DecidingStatements"][0]["Sid"], "BobWithContext");

    // Only an account root may ask.
    let (_, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[("Action", "CreateAccessKey"), ("UserName", "bob")],
    )
    .await;
    let bob = Client {
        access_key: between(&xml, "AccessKeyId").into(),
        secret: between(&xml, "SecretAccessKey").into(),
        ..root.clone()
    };
    explain(&bob, serde_json::json!({"PrincipalArn": "arn:aws:iam::000000000000:user/bob", "Action": "kms:Decrypt", "KeyId": arn})).await.err("AccessDeniedException");
    explain(&root, serde_json::json!({"PrincipalArn": "arn:aws:iam::000000000000:user/nobody", "Action": "kms:Decrypt", "KeyId": arn})).await.err("ValidationException");
}

#[tokio::test]
async fn key_policies_must_name_existing_principals_of_local_accounts() {
    let h = Harness::new().await;
    let root = h.client();
    let id = root.create_key().await;
    let policy = |principal: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:Decrypt", "Resource": "*"}
        ]})
        .to_string()
    };
    for missing in [
        "arn:aws:iam::000000000000:user/ghost",
        "arn:aws:iam::000000000000:role/ghost",
        "arn:aws:sts::000000000000:assumed-role/ghost/s1",
    ] {
        let r = root
            .call("PutKeyPolicy", serde_json::json!({"KeyId": id, "Policy": policy(missing)}))
            .await
            .err("MalformedPolicyDocumentException");
        assert_eq!(r.message(), "Policy contains a statement with one or more invalid principals.");
    }
    // Other accounts' principals cannot be checked here and are accepted.
    root.call(
        "PutKeyPolicy",
        serde_json::json!({"KeyId": id, "Policy": policy("arn:aws:iam::999988887777:user/x")}),
    )
    .await
    .ok();
    let (status, _) =
        query(&h.state, &h.clock, ROOT, "iam", &[("Action", "CreateUser"), ("UserName", "ghost")])
            .await;
    assert_eq!(status, StatusCode::OK);
    root.call(
        "PutKeyPolicy",
        serde_json::json!({"KeyId": id, "Policy": policy("arn:aws:iam::000000000000:user/ghost")}),
    )
    .await
    .ok();
}

#[tokio::test]
async fn alias_operations_need_the_alias_and_the_key() {
    let h = Harness::new().await;
    let root = h.client();
    let key = root.create_key().await;
    root.call(
        "CreateAlias",
        serde_json::json!({"AliasName": "alias/root-made", "TargetKeyId": key}),
    )
    .await
    .ok();
    query(&h.state, &h.clock, ROOT, "iam", &[("Action", "CreateUser"), ("UserName", "dev")]).await;
    let (_, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[("Action", "CreateAccessKey"), ("UserName", "dev")],
    )
    .await;
    let dev = Client {
        access_key: between(&xml, "AccessKeyId").into(),
        secret: between(&xml, "SecretAccessKey").into(),
        ..root.clone()
    };
    let key_arn = format!("arn:aws:kms:us-east-1:000000000000:key/{key}");
    let allow = |resources: serde_json::Value| {
        serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": ["kms:CreateAlias", "kms:DeleteAlias"], "Resource": resources}})
        .to_string()
    };
    let put = |doc: String| {
        let (state, clock) = (Arc::clone(&h.state), Arc::clone(&h.clock));
        async move {
            let params = [
                ("Action", "PutUserPolicy"),
                ("UserName", "dev"),
                ("PolicyName", "aliases"),
                ("PolicyDocument", doc.as_str()),
            ];
            assert_eq!(query(&state, &clock, ROOT, "iam", &params).await.0, StatusCode::OK);
        }
    };
    put(allow(serde_json::json!(key_arn))).await;
    let r = dev
        .call("CreateAlias", serde_json::json!({"AliasName": "alias/dev", "TargetKeyId": key}))
        .await
        .err("AccessDeniedException");
    assert!(
        r.message().contains("on resource: arn:aws:kms:us-east-1:000000000000:alias/dev"),
        "{}",
        r.message()
    );
    dev.call("DeleteAlias", serde_json::json!({"AliasName": "alias/root-made"}))
        .await
        .err("AccessDeniedException");
    put(allow(serde_json::json!([key_arn, "arn:aws:kms:us-east-1:000000000000:alias/*"]))).await;
    dev.call("CreateAlias", serde_json::json!({"AliasName": "alias/dev", "TargetKeyId": key}))
        .await
        .ok();
    dev.call("DeleteAlias", serde_json::json!({"AliasName": "alias/root-made"})).await.ok();
}

#[tokio::test]
async fn aws_userid_is_the_unique_id_of_users_and_role_sessions() {
    let h = Harness::new().await;
    let root = h.client();
    let (_, xml) =
        query(&h.state, &h.clock, ROOT, "iam", &[("Action", "CreateUser"), ("UserName", "carol")])
            .await;
    let user_id = between(&xml, "UserId").to_owned();
    assert!(user_id.starts_with("AIDA"), "{xml}");
    let (_, xml) = query(
        &h.state,
        &h.clock,
        ROOT,
        "iam",
        &[
            ("Action", "CreateRole"),
            ("RoleName", "app"),
            ("AssumeRolePolicyDocument", TRUST_ACCOUNT),
        ],
    )
    .await;
    let role_id = between(&xml, "RoleId").to_owned();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "ByUserId", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:userid": [user_id.clone(), format!("{role_id}:night-batch")]}}}
    ]})
    .to_string();
    let out = root.call("CreateKey", serde_json::json!({"Policy": policy})).await.ok();
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let allowed = |principal: &str| {
        let input =
            serde_json::json!({"PrincipalArn": principal, "Action": "kms:Decrypt", "KeyId": arn});
        let root = root.clone();
        async move { explain(&root, input).await.ok()["Allowed"].as_bool().unwrap() }
    };
    assert!(allowed("arn:aws:iam::000000000000:user/carol").await);
    assert!(allowed("arn:aws:sts::000000000000:assumed-role/app/night-batch").await);
    assert!(!allowed("arn:aws:sts::000000000000:assumed-role/app/day-batch").await);
}

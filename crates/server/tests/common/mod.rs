//! Shared test harness: a server state over a temporary SQLite store with a manual clock,
//! and a client that sends SigV4-signed requests through the router without a socket.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use kms_server::clock::{Clock as _, ManualClock};
use kms_server::config::Config;
use kms_server::keystore::RootKeySource;
use kms_server::state::AppState;
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// 2026-01-01T00:00:00Z.
pub const START_MS: i64 = 1_767_225_600_000;
pub const REGION: &str = "us-east-1";

/// Opens the SQLite-backed state in `dir` with its root key kept in the same directory.
pub async fn open_state(
    dir: &std::path::Path,
    config: &Config,
    clock: &Arc<ManualClock>,
) -> Arc<AppState> {
    let source = RootKeySource::DataDir(dir.to_owned());
    kms_server::open_sqlite_state(dir, config, &source, clock.clone()).await.unwrap()
}

/// SigV4 headers for `POST /` with `base` headers and `body`, signed with
/// `(access key id, secret, session token)` for `region` and `service` at `at_s`.
pub fn sign_post(
    base: &[(String, String)],
    body: &[u8],
    creds: (&str, &str, Option<&str>),
    region: &str,
    service: &str,
    at_s: i64,
) -> Vec<(String, String)> {
    let creds = kms_api::sigv4::Credentials {
        access_key_id: creds.0,
        secret_access_key: creds.1,
        session_token: creds.2,
    };
    kms_api::sigv4::sign("POST", "/", "", base, body, &creds, region, service, at_s).unwrap()
}

/// Signs `POST /` as [`sign_post`] does and sends it through the router; returns the
/// response's status, headers and body.
pub async fn send_signed(
    state: &Arc<AppState>,
    base: &[(String, String)],
    body: Vec<u8>,
    creds: (&str, &str, Option<&str>),
    region: &str,
    service: &str,
    at_s: i64,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let headers = sign_post(base, &body, creds, region, service, at_s);
    let mut request = Request::builder().method("POST").uri("/");
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = kms_server::protocol::router(Arc::clone(state))
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, bytes.to_vec())
}

pub struct Harness {
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
}

pub fn two_accounts() -> Config {
    Config::parse(
        r#"
        [[accounts]]
        id = "111122223333"
        root_access_key_id = "AKIDALICE"
        root_secret_access_key = "alice-secret"

        [[accounts]]
        id = "444455556666"
        root_access_key_id = "AKIDBOB"
        root_secret_access_key = "bob-secret"
        "#,
    )
    .unwrap()
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(Config::default_local()).await
    }

    pub async fn with_config(config: Config) -> Self {
        Self::in_dir(tempfile::tempdir().unwrap(), config).await
    }

    /// A harness whose state lives in `dir`, opened with `config` at [`START_MS`].
    pub async fn in_dir(dir: tempfile::TempDir, config: Config) -> Self {
        let clock = Arc::new(ManualClock::new(START_MS));
        let state = open_state(dir.path(), &config, &clock).await;
        Self { state, clock, dir }
    }

    /// A fresh state over this harness's data directory (the default local config), as a
    /// restarted server would load it.
    pub async fn reopen(&self) -> Arc<AppState> {
        open_state(self.dir.path(), &Config::default_local(), &self.clock).await
    }

    pub fn client(&self) -> Client {
        Client {
            state: Arc::clone(&self.state),
            clock: Arc::clone(&self.clock),
            access_key: "test".into(),
            secret: "test".into(),
            region: REGION.into(),
        }
    }

    pub fn client_as(&self, access_key: &str, secret: &str, region: &str) -> Client {
        Client {
            state: Arc::clone(&self.state),
            clock: Arc::clone(&self.clock),
            access_key: access_key.into(),
            secret: secret.into(),
            region: region.into(),
        }
    }
}

/// A KMS client over the router (no socket).
#[derive(Clone)]
pub struct Client {
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    pub access_key: String,
    pub secret: String,
    pub region: String,
}

/// A response: status, `__type` (errors) and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "expected success, got {:?}", self.body);
        self.body
    }

    #[track_caller]
    pub fn err(self, expected: &str) -> Self {
        assert_eq!(self.error_type(), expected, "unexpected reply {:?}", self.body);
        assert_ne!(self.status, StatusCode::OK);
        self
    }
}

impl Client {
    pub async fn raw(&self, target: &str, body: Vec<u8>, sign_at_ms: Option<i64>) -> Reply {
        self.raw_with(target, body, sign_at_ms, &[]).await
    }

    /// [`Client::raw`] with extra (signed) headers.
    pub async fn raw_with(
        &self,
        target: &str,
        body: Vec<u8>,
        sign_at_ms: Option<i64>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let at_s =
            sign_at_ms.unwrap_or_else(|| kms_server::clock::Clock::now_ms(&*self.clock)) / 1000;
        let mut base = vec![
            ("host".to_owned(), "kms.local".to_owned()),
            ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
            ("x-amz-target".to_owned(), target.to_owned()),
        ];
        base.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let creds = (self.access_key.as_str(), self.secret.as_str(), None);
        let (status, headers, bytes) =
            send_signed(&self.state, &base, body, creds, &self.region, "kms", at_s).await;
        assert!(headers.contains_key("x-amzn-requestid"));
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        Reply { status, body }
    }

    pub async fn call(&self, operation: &str, input: Value) -> Reply {
        self.raw(&format!("TrentService.{operation}"), serde_json::to_vec(&input).unwrap(), None)
            .await
    }

    pub async fn create_key(&self) -> String {
        let out = self.call("CreateKey", json!({})).await.ok();
        out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
    }

    pub async fn encrypt(&self, key_id: &str, plaintext: &[u8], context: Value) -> String {
        let out = self
            .call(
                "Encrypt",
                json!({"KeyId": key_id, "Plaintext": b64(plaintext), "EncryptionContext": context}),
            )
            .await
            .ok();
        out["CiphertextBlob"].as_str().unwrap().to_owned()
    }

    pub async fn decrypt(&self, blob: &str, context: Value) -> Reply {
        self.call("Decrypt", json!({"CiphertextBlob": blob, "EncryptionContext": context})).await
    }

    pub async fn state_of(&self, key_id: &str) -> String {
        let out = self.call("DescribeKey", json!({"KeyId": key_id})).await.ok();
        out["KeyMetadata"]["KeyState"].as_str().unwrap().to_owned()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    kms_api::base64::encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    kms_api::base64::decode(text).unwrap()
}

/// Sends a form-encoded IAM or STS request signed for `service`; returns status and XML.
pub async fn query(
    state: &Arc<AppState>,
    clock: &ManualClock,
    creds: (&str, &str, Option<&str>),
    service: &str,
    params: &[(&str, &str)],
) -> (StatusCode, String) {
    let body: String = params
        .iter()
        .map(|(k, v)| format!("{k}={}", kms_server::iam::query::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let base = vec![
        ("host".to_owned(), "iam.local".to_owned()),
        ("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned()),
    ];
    let at_s = clock.now_ms() / 1000;
    let (status, _, bytes) =
        send_signed(state, &base, body.into_bytes(), creds, REGION, service, at_s).await;
    (status, String::from_utf8(bytes).unwrap())
}

pub fn between<'a>(xml: &'a str, element: &str) -> &'a str {
    let open = format!("<{element}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = xml[start..].find(&format!("</{element}>")).unwrap() + start;
    &xml[start..end]
}

impl Client {
    /// Creates IAM user `name` in this (root) client's account, with an access key, an
    /// optional inline policy and tags, and returns a client signing as that user.
    pub async fn iam_user(
        &self,
        name: &str,
        policy: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Client {
        let root = (self.access_key.as_str(), self.secret.as_str());
        let call = |params: Vec<(&str, &str)>| {
            let (state, clock) = (Arc::clone(&self.state), Arc::clone(&self.clock));
            let params: Vec<(String, String)> =
                params.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            let root = (root.0.to_owned(), root.1.to_owned());
            async move {
                let params: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (status, xml) =
                    query(&state, &clock, (&root.0, &root.1, None), "iam", &params).await;
                assert_eq!(status, StatusCode::OK, "{xml}");
                xml
            }
        };
        call(vec![("Action", "CreateUser"), ("UserName", name)]).await;
        let xml = call(vec![("Action", "CreateAccessKey"), ("UserName", name)]).await;
        if let Some(policy) = policy {
            call(vec![
                ("Action", "PutUserPolicy"),
                ("UserName", name),
                ("PolicyName", "inline"),
                ("PolicyDocument", policy),
            ])
            .await;
        }
        for (k, v) in tags {
            call(vec![
                ("Action", "TagUser"),
                ("UserName", name),
                ("Tags.member.1.Key", k),
                ("Tags.member.1.Value", v),
            ])
            .await;
        }
        Client {
            access_key: between(&xml, "AccessKeyId").to_owned(),
            secret: between(&xml, "SecretAccessKey").to_owned(),
            ..self.clone()
        }
    }
}

impl Harness {
    /// Creates IAM user `name` in the default account with an inline identity policy and
    /// returns a KMS client signing as that user in `region`.
    pub async fn user_with_policy(&self, name: &str, policy: &Value, region: &str) -> Client {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]).await;
        let document = policy.to_string();
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "inline"),
            ("PolicyDocument", &document),
        ])
        .await;
        let xml = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]).await;
        self.client_as(between(&xml, "AccessKeyId"), between(&xml, "SecretAccessKey"), region)
    }

    /// An IAM query-protocol call as the default account's root; panics unless it succeeds.
    pub async fn iam(&self, params: &[(&str, &str)]) -> String {
        let (status, xml) =
            query(&self.state, &self.clock, ("test", "test", None), "iam", params).await;
        assert_eq!(status, StatusCode::OK, "{xml}");
        xml
    }
}

/// Signs `message` (base64) with `key` through `signer`, checks that `verifier` accepts the
/// signature, and that both return the same public key (one key pair across Regions).
pub async fn sign_here_verify_there(
    signer: &Client,
    verifier: &Client,
    key: &str,
    message: &str,
    algorithm: &str,
) {
    let input = json!({"KeyId": key, "Message": message, "SigningAlgorithm": algorithm});
    let signed = signer.call("Sign", input.clone()).await.ok();
    let mut verify = input;
    verify["Signature"] = signed["Signature"].clone();
    verifier.call("Verify", verify).await.ok();
    let here = signer.call("GetPublicKey", json!({"KeyId": key})).await.ok();
    let there = verifier.call("GetPublicKey", json!({"KeyId": key})).await.ok();
    assert_eq!(here["PublicKey"], there["PublicKey"]);
}

/// Makes a MAC of `message` (base64) with `key` through `maker` and checks that `verifier`
/// accepts it.
pub async fn mac_here_verify_there(
    maker: &Client,
    verifier: &Client,
    key: &str,
    message: &str,
    algorithm: &str,
) {
    let input = json!({"KeyId": key, "Message": message, "MacAlgorithm": algorithm});
    let mac = maker.call("GenerateMac", input.clone()).await.ok();
    let mut verify = input;
    verify["Mac"] = mac["Mac"].clone();
    verifier.call("VerifyMac", verify).await.ok();
}

/// ListKeyRotations for `id` with every key material listed; returns the `Rotations`.
pub async fn rotations(c: &Client, id: &str) -> Value {
    c.call("ListKeyRotations", json!({"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}))
        .await
        .ok()["Rotations"]
        .clone()
}

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt as _;

use crate::common::{Harness, START_MS};

#[tokio::test]
async fn unknown_operation_and_malformed_json() {
    let h = Harness::new().await;
    let c = h.client();
    c.raw("TrentService.FlyToTheMoon", b"{}".to_vec(), None).await.err("UnknownOperationException");
    c.raw("SomethingElse.ListKeys", b"{}".to_vec(), None).await.err("UnknownOperationException");
    let r = c
        .raw("TrentService.ConnectCustomKeyStore", b"{}".to_vec(), None)
        .await
        .err("UnsupportedOperationException");
    assert_eq!(r.message(), "ConnectCustomKeyStore is not supported by this server yet");
    let r = c
        .raw("TrentService.ListKeys", b"{not json".to_vec(), None)
        .await
        .err("SerializationException");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    c.raw("TrentService.ListKeys", b"{\"Limit\": \"ten\"}".to_vec(), None)
        .await
        .err("SerializationException");
    c.raw("TrentService.Encrypt", b"{\"KeyId\": \"k\", \"Plaintext\": \"!!\"}".to_vec(), None)
        .await
        .err("SerializationException");
    // An empty body is an empty input, as botocore's `{}`.
    c.raw("TrentService.ListKeys", Vec::new(), None).await.ok();
}

#[tokio::test]
async fn operations_without_output_send_an_empty_body() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let r = c.call("DisableKey", json!({"KeyId": id})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_null());
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = Harness::new().await;
    let c = h.client();
    let big = vec![b' '; kms_server::protocol::MAX_BODY_BYTES + 1];
    let r = c.raw("TrentService.ListKeys", big, None).await.err("RequestEntityTooLargeException");
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn signatures_are_checked_against_the_injected_clock() {
    let h = Harness::new().await;
    let c = h.client();
    c.raw("TrentService.ListKeys", b"{}".to_vec(), Some(START_MS - 6 * 60_000))
        .await
        .err("InvalidSignatureException");
    c.raw("TrentService.ListKeys", b"{}".to_vec(), Some(START_MS + 6 * 60_000))
        .await
        .err("InvalidSignatureException");
    c.raw("TrentService.ListKeys", b"{}".to_vec(), Some(START_MS - 4 * 60_000)).await.ok();
    let mut wrong = c.clone();
    wrong.secret = "nope".into();
    let r = wrong.call("ListKeys", json!({})).await.err("InvalidSignatureException");
    assert!(r.message().starts_with("The request signature we calculated does not match"));
    let mut unknown = c.clone();
    unknown.access_key = "AKIDUNKNOWN".into();
    let r = unknown.call("ListKeys", json!({})).await.err("UnrecognizedClientException");
    assert_eq!(r.message(), "The security token included in the request is invalid.");
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let h = Harness::new().await;
    let request = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", "TrentService.ListKeys")
        .header("content-type", kms_api::CONTENT_TYPE)
        .body(Body::from("{}"))
        .unwrap();
    let response = kms_server::protocol::router(h.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
}

#[tokio::test]
async fn cors_preflight_allows_sdk_headers() {
    let h = Harness::new().await;
    let request = Request::builder()
        .method("OPTIONS")
        .uri("/")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent,amz-sdk-invocation-id")
        .body(Body::empty())
        .unwrap();
    let response = kms_server::protocol::router(h.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "x-amz-date",
        "x-amz-target",
        "x-amz-user-agent",
        "amz-sdk-invocation-id",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
}

#[tokio::test]
async fn the_demo_site_leaves_the_api_and_preflight_alone() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(www.join("index.html"), "<title>demo</title>").unwrap();
    let site = kms_server::site::StaticSite::new(&www, &dir.path().join("pkg")).unwrap();
    let app = kms_server::protocol::router_with_site(h.state.clone(), Some(site));

    let get = Request::builder().method("GET").uri("/").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(get).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");

    // POST / is still the KMS API (unsigned: refused as before).
    let post = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", "TrentService.ListKeys")
        .header("content-type", kms_api::CONTENT_TYPE)
        .body(Body::from("{}"))
        .unwrap();
    let response = app.clone().oneshot(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,x-amz-target")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");

    let health = Request::builder().uri("/healthz").body(Body::empty()).unwrap();
    let response = app.oneshot(health).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

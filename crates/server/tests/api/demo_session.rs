//! `GET /demo/session`: sessions only for requests addressed to a loopback host.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kms_server::demo_session::{DemoSession, PATH};
use tower::ServiceExt as _;

use crate::common::Harness;

async fn get(h: &Harness, host: &str) -> StatusCode {
    let demo = DemoSession::prepare(&h.state, "000000000000").await.unwrap();
    let request = Request::builder().uri(PATH).header("host", host).body(Body::empty()).unwrap();
    demo.router(Arc::clone(&h.state)).oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_page_of_another_host_gets_no_session_even_when_its_name_resolves_to_loopback() {
    let h = Harness::new().await;
    assert_eq!(get(&h, "127.0.0.1:4566").await, StatusCode::OK);
    assert_eq!(get(&h, "localhost:4566").await, StatusCode::OK);
    // DNS rebinding: the attacker's name now points at 127.0.0.1; the browser sends its Host.
    assert_eq!(get(&h, "rebind.evil.example:4566").await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_session_issued_over_tls_is_recorded_with_tls_details() {
    let h = Harness::new().await;
    let demo = DemoSession::prepare(&h.state, "000000000000").await.unwrap();
    let tls = kms_server::tls::TlsSession {
        version: "TLSv1.3",
        cipher_suite: "TLS_AES_128_GCM_SHA256",
        key_exchange: Some("X25519"),
    };
    let peer =
        kms_server::listener::Peer { addr: "127.0.0.1:50000".parse().unwrap(), tls: Some(tls) };
    let request = Request::builder()
        .uri(PATH)
        .header("host", "localhost:4566")
        .extension(axum::extract::ConnectInfo(peer))
        .body(Body::empty())
        .unwrap();
    let response = demo.router(Arc::clone(&h.state)).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut out = Vec::new();
    kms_server::audit::export(h.dir.path(), &mut out).unwrap();
    let records: Vec<serde_json::Value> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let issued: Vec<_> = records.iter().filter(|r| r["eventName"] == "AssumeRole").collect();
    assert_eq!(issued.len(), 1);
    let details = &issued[0]["tlsDetails"];
    assert_eq!(details["tlsVersion"], "TLSv1.3");
    assert_eq!(details["cipherSuite"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(details["clientProvidedHostHeader"], "localhost:4566");
    assert_eq!(details["keyExchange"], "X25519");
}

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

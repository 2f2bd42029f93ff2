use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kms_server::clock::Clock;

use crate::common::{sign_post, Harness};

/// Serves on an ephemeral loopback port, makes signed calls over real TCP, and shuts down.
#[tokio::test]
async fn serves_signed_requests_on_an_ephemeral_port_and_shuts_down() {
    let h = Harness::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kms_server::launch_with_listener(
        listener,
        Arc::clone(&h.state),
        Duration::from_secs(3600),
        async {
            let _ = stopped.await;
        },
    ));
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let call = |target: &'static str, body: &'static str| {
        let client = client.clone();
        let now_s = h.clock.now_ms() / 1000;
        async move {
            let base = vec![
                ("host".to_owned(), addr.to_string()),
                ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
                ("x-amz-target".to_owned(), target.to_owned()),
            ];
            let headers = sign_post(
                &base,
                body.as_bytes(),
                ("test", "test", None),
                "us-east-1",
                "kms",
                now_s,
            );
            let mut request =
                hyper::Request::builder().method("POST").uri(format!("http://{addr}/"));
            for (k, v) in headers {
                if k != "host" {
                    request = request.header(k, v);
                }
            }
            let response =
                client.request(request.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default())
        }
    };
    let (status, created) = call("TrentService.CreateKey", "{}").await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["KeyMetadata"]["KeyState"], "Enabled");
    let (status, listed) = call("TrentService.ListKeys", "{}").await;
    assert_eq!(status, 200);
    assert_eq!(listed["Keys"].as_array().unwrap().len(), 1);
    let (status, err) = call("TrentService.Nope", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "UnknownOperationException");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed after shutdown");
}

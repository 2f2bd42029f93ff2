//! HTTPS on the listener: signed calls over TLS 1.3 and 1.2 with a self-signed certificate,
//! `aws:SecureTransport` from the real connection (KMS key policy and STS trust policy),
//! CloudTrail's `tlsDetails` in the trail, and handshakes that fail or stall without
//! stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kms_server::clock::Clock as _;
use kms_server::state::AppState;
use kms_server::tls::TlsSettings;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

use crate::common::{b64, between, sign_post, Harness, REGION};

/// Bounds every wait on the server, so a broken server fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(30);

/// A self-signed certificate for `localhost`, in PEM, and its DER for the client to trust.
fn certificate() -> (TlsSettings, CertificateDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let settings =
        TlsSettings::from_pem(cert.pem().as_bytes(), signing_key.serialize_pem().as_bytes())
            .unwrap();
    (settings, cert.der().clone())
}

/// A server on an ephemeral loopback port over `state`, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start(state: &Arc<AppState>, tls: Option<TlsSettings>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kms_server::launch_with_site(
            listener,
            tls,
            Arc::clone(state),
            Duration::from_secs(3600),
            async {
                let _ = stopped.await;
            },
            None,
            None,
        ));
        Self { addr, stop: Some(stop), task: Some(task) }
    }

    async fn shutdown(mut self) {
        if let (Some(stop), Some(task)) = (self.stop.take(), self.task.take()) {
            stop.send(()).unwrap();
            task.await.unwrap().unwrap();
        }
    }
}

/// A client that trusts `ca` and speaks only the given TLS versions.
fn tls_client(
    ca: &CertificateDer<'static>,
    versions: &[&'static SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// One signed `POST /` on a fresh connection, over TLS when `tls` is given; returns the status,
/// the request id and the body (`Err` when the HTTP exchange itself fails).
async fn post(
    h: &Harness,
    addr: SocketAddr,
    tls: Option<&TlsConnector>,
    service: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String, Vec<u8>), hyper::Error> {
    let host = format!("localhost:{}", addr.port());
    let mut base = vec![("host".to_owned(), host)];
    base.extend(headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let now_s = h.clock.now_ms() / 1000;
    let signed = sign_post(&base, body.as_bytes(), ("test", "test", None), REGION, service, now_s);
    let mut request = hyper::Request::builder().method("POST").uri("/");
    for (k, v) in signed {
        request = request.header(k, v);
    }
    let request = request.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let response = match tls {
        Some(connector) => {
            let name = ServerName::try_from("localhost").unwrap();
            let stream = connector.connect(name, tcp).await.unwrap();
            exchange(stream, request).await?
        }
        None => exchange(tcp, request).await?,
    };
    Ok(response)
}

async fn exchange<S>(
    stream: S,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(u16, String, Vec<u8>), hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = tokio::time::timeout(GUARD, sender.send_request(request)).await.unwrap()?;
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, request_id, body))
}

/// A KMS call; returns the status, the request id and the JSON body.
async fn kms(
    h: &Harness,
    addr: SocketAddr,
    tls: Option<&TlsConnector>,
    operation: &str,
    input: &Value,
) -> (u16, String, Value) {
    let target = format!("TrentService.{operation}");
    let headers = [("content-type", kms_api::CONTENT_TYPE), ("x-amz-target", target.as_str())];
    let (status, id, body) = post(h, addr, tls, "kms", &headers, &input.to_string()).await.unwrap();
    (status, id, serde_json::from_slice(&body).unwrap_or_default())
}

/// An STS query-protocol call; returns the status, the request id and the XML.
async fn sts(
    h: &Harness,
    addr: SocketAddr,
    tls: Option<&TlsConnector>,
    params: &[(&str, &str)],
) -> (u16, String, String) {
    let body: String = params
        .iter()
        .map(|(k, v)| format!("{k}={}", kms_server::iam::query::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
    let (status, id, xml) = post(h, addr, tls, "sts", &headers, &body).await.unwrap();
    (status, id, String::from_utf8(xml).unwrap())
}

/// The trail's record of the call with `request_id`.
fn record(h: &Harness, request_id: &str) -> Value {
    let mut out = Vec::new();
    kms_server::audit::export(h.dir.path(), &mut out).unwrap();
    let records: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let found: Vec<&Value> = records.iter().filter(|r| r["requestID"] == request_id).collect();
    assert_eq!(found.len(), 1, "one record for {request_id}");
    found[0].clone()
}

/// A key policy that lets the account use and manage the key but denies its cryptographic
/// use over plain HTTP (AWS's documented `aws:SecureTransport` example).
fn tls_only_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*",
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]
    })
    .to_string()
}

#[tokio::test]
async fn secure_transport_deny_refuses_plain_http_and_allows_tls() {
    let h = Harness::new().await;
    let key = h.client().call("CreateKey", json!({"Policy": tls_only_policy()})).await.ok();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let (settings, ca) = certificate();
    let plain = Server::start(&h.state, None).await;
    let secure = Server::start(&h.state, Some(settings)).await;
    let tls13 = tls_client(&ca, &[&rustls::version::TLS13]);
    let tls12 = tls_client(&ca, &[&rustls::version::TLS12]);
    let encrypt = json!({"KeyId": key_id, "Plaintext": b64(b"over the wire")});

    let (status, denied_id, denied) = kms(&h, plain.addr, None, "Encrypt", &encrypt).await;
    assert_eq!((status, denied["__type"].as_str()), (400, Some("AccessDeniedException")));
    let (status, ok_id, encrypted) = kms(&h, secure.addr, Some(&tls13), "Encrypt", &encrypt).await;
    assert_eq!(status, 200, "{encrypted}");
    let decrypt = json!({"CiphertextBlob": encrypted["CiphertextBlob"]});
    let (status, _, decrypted) = kms(&h, secure.addr, Some(&tls13), "Decrypt", &decrypt).await;
    assert_eq!(
        (status, decrypted["Plaintext"].as_str()),
        (200, Some(b64(b"over the wire").as_str()))
    );
    let (status, _, denied) = kms(&h, plain.addr, None, "Decrypt", &decrypt).await;
    assert_eq!((status, denied["__type"].as_str()), (400, Some("AccessDeniedException")));
    let data_key = json!({"KeyId": key_id, "KeySpec": "AES_256"});
    let (status, tls12_id, _) =
        kms(&h, secure.addr, Some(&tls12), "GenerateDataKey", &data_key).await;
    assert_eq!(status, 200);

    let plain_record = record(&h, &denied_id);
    assert_eq!(plain_record["errorCode"], "AccessDeniedException");
    assert!(plain_record.get("tlsDetails").is_none(), "{plain_record}");
    let tls_record = record(&h, &ok_id);
    assert!(tls_record.get("errorCode").is_none(), "{tls_record}");
    let details = &tls_record["tlsDetails"];
    assert_eq!(details["tlsVersion"], "TLSv1.3");
    assert!(details["cipherSuite"].as_str().unwrap().starts_with("TLS_AES_"), "{details}");
    assert_eq!(details["clientProvidedHostHeader"], format!("localhost:{}", secure.addr.port()));
    assert_eq!(tls_record["sourceIPAddress"], "127.0.0.1");
    let details = &record(&h, &tls12_id)["tlsDetails"];
    assert_eq!(details["tlsVersion"], "TLSv1.2");
    // rcgen's default key is ECDSA P-256.
    assert!(details["cipherSuite"].as_str().unwrap().starts_with("ECDHE-ECDSA-AES"), "{details}");

    plain.shutdown().await;
    secure.shutdown().await;
}

#[tokio::test]
async fn sts_on_the_tls_listener_sees_secure_transport() {
    let h = Harness::new().await;
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": {"AWS": "000000000000"},
                      "Action": "sts:AssumeRole",
                      "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    })
    .to_string();
    h.iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "tls-only"),
        ("AssumeRolePolicyDocument", &trust),
    ])
    .await;
    let (settings, ca) = certificate();
    let plain = Server::start(&h.state, None).await;
    let secure = Server::start(&h.state, Some(settings)).await;
    let tls = tls_client(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12]);
    let assume = [
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::000000000000:role/tls-only"),
        ("RoleSessionName", "s1"),
    ];

    let (status, _, xml) = sts(&h, plain.addr, None, &assume).await;
    assert_eq!(status, 403, "{xml}");
    assert!(xml.contains("AccessDenied"), "{xml}");
    let (status, id, xml) = sts(&h, secure.addr, Some(&tls), &assume).await;
    assert_eq!(status, 200, "{xml}");
    assert!(between(&xml, "AccessKeyId").starts_with("ASIA"), "{xml}");
    let assumed = record(&h, &id);
    assert_eq!(assumed["eventSource"], "sts.amazonaws.com");
    assert_eq!(assumed["tlsDetails"]["tlsVersion"], "TLSv1.3");

    plain.shutdown().await;
    secure.shutdown().await;
}

/// Reads until the server closes the connection; `true` if it did within [`GUARD`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut sink)).await.is_ok()
}

#[tokio::test]
async fn failed_and_stalled_handshakes_close_only_their_connection() {
    let h = Harness::new().await;
    let (settings, ca) = certificate();
    let secure =
        Server::start(&h.state, Some(settings.with_handshake_timeout(Duration::from_millis(200))))
            .await;
    let tls = tls_client(&ca, &[&rustls::version::TLS13]);
    // A client that connects and says nothing holds only its own handshake.
    let mut stalled = TcpStream::connect(secure.addr).await.unwrap();
    let garbage: [&[u8]; 4] = [
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        &[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0xff],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01],
        &[0x00; 64],
    ];
    for bytes in garbage {
        let mut stream = TcpStream::connect(secure.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        if bytes.len() < 10 {
            // A truncated record: end the stream so the server sees it is all there is.
            stream.shutdown().await.unwrap();
        }
        assert!(closed_by_server(&mut stream).await, "server closes a bad handshake");
    }
    // Plain HTTP to the TLS port fails cleanly on the client's side.
    let listed =
        post(&h, secure.addr, None, "kms", &[("x-amz-target", "TrentService.ListKeys")], "{}");
    assert!(listed.await.is_err(), "plain HTTP gets no HTTP answer from the TLS port");
    // The server still serves, while the stalled handshake is pending.
    let (status, _, listed) = kms(&h, secure.addr, Some(&tls), "ListKeys", &json!({})).await;
    assert_eq!(status, 200, "{listed}");
    assert!(closed_by_server(&mut stalled).await, "a stalled handshake times out");
    let (status, _, _) = kms(&h, secure.addr, Some(&tls), "ListKeys", &json!({})).await;
    assert_eq!(status, 200);
    secure.shutdown().await;
}

#[tokio::test]
async fn handshakes_beyond_the_cap_wait_for_a_free_slot() {
    let h = Harness::new().await;
    let (settings, ca) = certificate();
    let secure = Server::start(&h.state, Some(settings.with_max_handshakes(1))).await;
    let tls = tls_client(&ca, &[&rustls::version::TLS13]);
    // A client that connects and says nothing holds the only handshake slot ...
    let mut stalled = TcpStream::connect(secure.addr).await.unwrap();
    stalled.write_all(&[0x16]).await.unwrap();
    let input = json!({});
    let waiting = kms(&h, secure.addr, Some(&tls), "ListKeys", &input);
    tokio::pin!(waiting);
    // ... so a real client's handshake does not start (checked for a while: a broken cap
    // would let it finish at once) ...
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut waiting).await.is_err(),
        "a handshake started beyond the cap"
    );
    // ... until the slot is free again.
    drop(stalled);
    let (status, _, _) = tokio::time::timeout(GUARD, waiting).await.expect("served");
    assert_eq!(status, 200);
    secure.shutdown().await;
}

/// With the clock paused, tokio jumps to the next timer whenever every task waits: the
/// server's time limits expire without the test waiting for them in real time.
#[tokio::test(start_paused = true)]
async fn connections_that_stall_before_a_request_are_closed() {
    let h = Harness::new().await;
    let (settings, ca) = certificate();
    let (plain, secure) =
        (Server::start(&h.state, None).await, Server::start(&h.state, Some(settings)).await);
    // Half a request line, over plain TCP: closed once the header time limit passes.
    let mut half = TcpStream::connect(plain.addr).await.unwrap();
    half.write_all(b"POST / HT").await.unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(GUARD * 4, half.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "stalled headers are cut off");
    // A finished TLS handshake and then nothing: the same.
    let tls = tls_client(&ca, &[&rustls::version::TLS13]);
    let tcp = TcpStream::connect(secure.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut idle = tls.connect(name, tcp).await.unwrap();
    sink.clear();
    let read = tokio::time::timeout(GUARD * 4, idle.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "an idle TLS connection is closed");
    plain.shutdown().await;
    secure.shutdown().await;
}

#[tokio::test]
async fn explain_access_takes_secure_transport_as_an_input() {
    let h = Harness::new().await;
    let c = h.client();
    let key = c.call("CreateKey", json!({"Policy": tls_only_policy()})).await.ok();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let explain = |secure: Option<bool>| {
        let mut input = json!({
            "PrincipalArn": "arn:aws:iam::000000000000:root",
            "Action": "kms:Decrypt",
            "KeyId": key_id,
        });
        if let Some(secure) = secure {
            input["SecureTransport"] = json!(secure);
        }
        let body = serde_json::to_vec(&input).unwrap();
        let c = c.clone();
        async move { c.raw("KmsServerExtensions.ExplainAccess", body, None).await.ok() }
    };
    let over_tls = explain(Some(true)).await;
    assert_eq!(over_tls["Allowed"], true, "{over_tls}");
    for plain in [explain(Some(false)).await, explain(None).await] {
        assert_eq!(plain["Allowed"], false, "{plain}");
        assert!(plain.to_string().contains("DenyPlainHttp"), "{plain}");
    }
}

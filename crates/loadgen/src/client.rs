//! One keep-alive HTTP/1.1 connection to a KMS endpoint, over TLS for an `https://` one, and
//! SigV4-signed `TrentService` calls over it. Every call is signed afresh, as an AWS SDK does.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::CONNECTION;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kms_api::sigv4::{self, Credentials};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where requests go and who signs them; shared read-only by every worker.
pub(crate) struct Target {
    /// `host:port`, used both to connect and as the signed `host` header.
    pub(crate) authority: String,
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) region: String,
    /// For an `https://` endpoint: the TLS client and the name the certificate must carry.
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl core::fmt::Debug for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Target")
            .field("authority", &self.authority)
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a call did not yield a response.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Building or signing the request failed (bad credentials or header); not retryable.
    Sign(String),
    /// The connection failed or closed mid-call; the caller reconnects.
    Transport(String),
}

impl core::fmt::Display for CallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sign(m) => write!(f, "cannot sign the request: {m}"),
            Self::Transport(m) => write!(f, "transport error: {m}"),
        }
    }
}

/// A response: status and the whole body (always read, so the connection can be reused).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// A parsed `http://host:port` or `https://host:port` endpoint: the authority, and whether
/// it is `https`.
///
/// # Errors
/// A message when the endpoint is not `http://` or `https://` followed by a non-empty
/// authority.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<(String, bool), String> {
    let (rest, https) = match endpoint.strip_prefix("https://") {
        Some(rest) => (rest, true),
        None => (
            endpoint.strip_prefix("http://").ok_or_else(|| {
                format!("endpoint {endpoint:?} must start with http:// or https://")
            })?,
            false,
        ),
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(format!("endpoint {endpoint:?} must be http(s)://host:port with no path"));
    }
    Ok((authority.to_owned(), https))
}

/// A TLS client (aws-lc-rs, TLS 1.2 and 1.3, ALPN `http/1.1`) that trusts only the PEM
/// certificates in `ca_file`, for a server named `host` (the endpoint's host).
///
/// # Errors
/// A message when the file cannot be read or holds no certificate, or `host` is not a name.
pub(crate) fn tls_client(
    ca_file: &std::path::Path,
    host: &str,
) -> Result<(TlsConnector, ServerName<'static>), String> {
    let cas = CertificateDer::pem_file_iter(ca_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read CA certificates from {}: {e}", ca_file.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(cas);
    if added == 0 {
        return Err(format!("no usable CA certificate in {}", ca_file.display()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .map_err(|e| format!("{host} is not a server name: {e}"))?;
    Ok((TlsConnector::from(Arc::new(config)), name))
}

/// An open HTTP/1.1 connection; requests on it go one at a time.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// Cleared when a response says `Connection: close` (moto_server says it on every one).
    reusable: bool,
}

impl Connection {
    /// Connects with `TCP_NODELAY` and spawns the connection driver on the current runtime.
    ///
    /// # Errors
    /// [`CallError::Transport`] when the TCP connect or the HTTP handshake fails.
    pub(crate) async fn open(target: &Target) -> Result<Self, CallError> {
        let stream = TcpStream::connect(&target.authority)
            .await
            .map_err(|e| CallError::Transport(format!("connect {}: {e}", target.authority)))?;
        stream.set_nodelay(true).map_err(|e| CallError::Transport(e.to_string()))?;
        let sender = match &target.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| CallError::Transport(format!("TLS handshake: {e}")))?;
                Self::drive(stream).await?
            }
            None => Self::drive(stream).await?,
        };
        Ok(Self { sender, reusable: true })
    }

    /// The HTTP/1.1 handshake over `stream`, with its driver spawned on the current runtime.
    async fn drive<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, CallError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            // A closed or failed connection surfaces to the caller through `sender`.
            let _ = driver.await;
        });
        Ok(sender)
    }

    /// Whether the connection is closed or closing: the peer said `Connection: close`, or
    /// the driver saw it go away. Checking the header too avoids racing the driver task.
    pub(crate) fn is_closed(&self) -> bool {
        !self.reusable || self.sender.is_closed()
    }

    /// Sends `TrentService.<operation>` with `body`, signed now, and reads the whole reply.
    ///
    /// # Errors
    /// [`CallError::Sign`] if signing fails, [`CallError::Transport`] if the connection fails.
    pub(crate) async fn call(
        &mut self,
        target: &Target,
        operation: &str,
        body: &Bytes,
    ) -> Result<Reply, CallError> {
        let request = signed_request(target, operation, body)?;
        self.sender.ready().await.map_err(|e| CallError::Transport(e.to_string()))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = response.status();
        if response
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
        {
            self.reusable = false;
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?
            .to_bytes();
        Ok(Reply { status, body })
    }
}

/// Builds `POST /` with the JSON 1.1 headers and a fresh SigV4 signature over them and `body`.
fn signed_request(
    target: &Target,
    operation: &str,
    body: &Bytes,
) -> Result<Request<Full<Bytes>>, CallError> {
    let unsigned = [
        ("host".to_owned(), target.authority.clone()),
        ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
        ("x-amz-target".to_owned(), format!("TrentService.{operation}")),
    ];
    let creds = Credentials {
        access_key_id: &target.access_key_id,
        secret_access_key: &target.secret_access_key,
        session_token: None,
    };
    let signed = sigv4::sign(
        "POST",
        "/",
        "",
        &unsigned,
        body,
        &creds,
        &target.region,
        "kms",
        epoch_seconds(),
    )
    .map_err(|e| CallError::Sign(e.to_string()))?;
    let mut builder = Request::builder().method(Method::POST).uri("/");
    for (name, value) in &signed {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(body.clone())).map_err(|e| CallError::Sign(e.to_string()))
}

/// Seconds since the Unix epoch by the wall clock (0 if the clock is before 1970, which the
/// signer then rejects).
fn epoch_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_endpoint_accepts_http_or_https_host_port_only() {
        assert_eq!(parse_endpoint("http://127.0.0.1:7080/"), Ok(("127.0.0.1:7080".into(), false)));
        assert_eq!(parse_endpoint("https://localhost:7443"), Ok(("localhost:7443".into(), true)));
        assert!(parse_endpoint("ftp://127.0.0.1:7080").is_err());
        assert!(parse_endpoint("http://127.0.0.1:7080/kms").is_err());
        assert!(parse_endpoint("https://").is_err());
    }
}

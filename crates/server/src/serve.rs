//! Serving HTTP/1.1 on the listener's connections (plain TCP or TLS), with the time limits
//! `axum::serve` leaves out: without a timer, hyper sets no header read timeout, so a client
//! that connects and sends nothing (or half a request line) would hold its connection, and
//! its memory, for ever.
//!
//! - [`HEADER_READ_TIMEOUT`]: a request's headers must arrive within it. The clock also
//!   runs while a kept-alive connection waits for its next request, so it is the idle limit
//!   too (clients reconnect, as they do for any server that closes idle connections).
//! - The request body has its own limit (`protocol::BODY_READ_TIMEOUT`).
//!
//! Each connection runs in a task of its own and learns its [`Peer`] (address, TLS
//! session) as the router's `ConnectInfo`. On shutdown the server stops accepting, lets
//! every connection finish the request it is serving, and returns once all have closed.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::listener::{ConnectionPeer, Peer};

/// How long a client has to send a request's headers, and the longest a kept-alive
/// connection stays open without a request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves `router` on every connection `listener` accepts, until `shutdown` completes and
/// the connections open then have closed.
///
/// # Errors
/// None so far: accept errors are retried by the listener; the signature leaves room.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: ConnectionPeer,
{
    let (closing_tx, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (io, addr) = listener.accept() => {
                let peer = io.peer(addr);
                connections.spawn(serve_connection(io, peer, router.clone(), closing.clone()));
            }
            // Reap finished connections as they go.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Every receiver was made before this, so each sees the change.
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection until the client closes it, a time limit expires, or the server
/// shuts down (then after the request being served, if any).
async fn serve_connection<I>(io: I, peer: Peer, router: Router, mut closing: watch::Receiver<bool>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // The only change is to closing (and a dropped sender means the same).
        _ = closing.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(peer = %peer.addr, %error, "connection ended with an error");
    }
}

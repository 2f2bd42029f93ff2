//! The connections the server accepts: plain TCP, or TLS through [`TlsListener`], and what
//! each request learns about its connection ([`Peer`]).
//!
//! A TLS handshake runs in a task of its own per connection, under a time limit, so a client
//! that stalls or sends garbage never holds up the accept loop or another client. A failed
//! handshake is logged at debug level and only closes that connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::tls::{TlsSession, TlsSettings};

/// Finished handshakes waiting for the server to take them (backpressure beyond that: the
/// handshake tasks wait).
const HANDSHAKED_QUEUE: usize = 64;
/// Most handshakes in progress at once. Beyond it the listener stops accepting, and new
/// connections wait in the kernel's backlog, so that clients which connect and stall cannot
/// take every file descriptor or all the CPU (each handshake is a key exchange and a
/// signature).
pub const MAX_HANDSHAKES_IN_PROGRESS: usize = 512;

/// The client end of a request's connection (the router's connect info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The TLS session, when the connection is TLS (`aws:SecureTransport` is then true).
    pub tls: Option<TlsSession>,
}

impl Peer {
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub fn secure_transport(&self) -> bool {
        self.tls.is_some()
    }
}

/// What a connection tells about its client, as a [`Peer`].
pub trait ConnectionPeer {
    /// The peer at `addr` on this connection.
    fn peer(&self, addr: SocketAddr) -> Peer;
}

impl ConnectionPeer for TcpStream {
    fn peer(&self, addr: SocketAddr) -> Peer {
        Peer { addr, tls: None }
    }
}

impl ConnectionPeer for TlsStream<TcpStream> {
    fn peer(&self, addr: SocketAddr) -> Peer {
        let (_, connection) = self.get_ref();
        Peer { addr, tls: Some(TlsSession::of(connection)) }
    }
}

/// A TCP listener that hands out connections once their TLS handshake is done.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    handshaked_tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    handshaked: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// One permit per handshake in progress.
    handshakes: Arc<Semaphore>,
    /// The permit for the next connection, taken before accepting it.
    next_permit: Option<OwnedSemaphorePermit>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("tcp", &self.tcp).finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Serves TLS with `settings` on a bound TCP listener.
    pub fn new(tcp: TcpListener, settings: &TlsSettings) -> Self {
        let (handshaked_tx, handshaked) = mpsc::channel(HANDSHAKED_QUEUE);
        Self {
            tcp,
            acceptor: TlsAcceptor::from(settings.config()),
            handshake_timeout: settings.handshake_timeout(),
            handshaked_tx,
            handshaked,
            handshakes: Arc::new(Semaphore::new(settings.max_handshakes())),
            next_permit: None,
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Every branch is cancel-safe: a permit taken is kept in `next_permit`, a
            // connection accepted is handed to its own handshake task at once, and a finished
            // one waits in the queue.
            if self.next_permit.is_none() {
                tokio::select! {
                    Some(done) = self.handshaked.recv() => return done,
                    // The semaphore is never closed.
                    permit = Arc::clone(&self.handshakes).acquire_owned() => {
                        self.next_permit = permit.ok();
                    }
                }
                continue;
            }
            tokio::select! {
                Some(done) = self.handshaked.recv() => return done,
                (tcp, addr) = Listener::accept(&mut self.tcp) => handshake(
                    self.acceptor.clone(),
                    self.handshake_timeout,
                    self.handshaked_tx.clone(),
                    (tcp, addr),
                    self.next_permit.take(),
                ),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Runs one connection's handshake in a task of its own, holding its permit, and queues the
/// connection when done.
fn handshake(
    acceptor: TlsAcceptor,
    timeout: Duration,
    done: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    (tcp, addr): (TcpStream, SocketAddr),
    permit: Option<OwnedSemaphorePermit>,
) {
    tokio::spawn(async move {
        let _permit = permit;
        match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            // The send fails only when the server has stopped: the connection just closes.
            Ok(Ok(stream)) => drop(done.send((stream, addr)).await),
            Ok(Err(error)) => tracing::debug!(peer = %addr, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %addr, ?timeout, "TLS handshake timed out"),
        }
    });
}

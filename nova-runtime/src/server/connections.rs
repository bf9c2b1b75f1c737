//! Accepting connections and serving HTTP/2 (gRPC) on them, with the two ways they end:
//! gracefully (GOAWAY, in-flight streams finish, then the connection closes) and abruptly
//! (aborted when even the grace period is over). With mutual TLS, a connection is served only
//! once its client proved who it is; every call on it carries that proof
//! ([`ConnectionInfo`]).

use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::calls::Calls;
use crate::identity::Peer;
use crate::tls::TlsAcceptor;

/// After a failed `accept` (e.g. out of file descriptors), wait this long before the next
/// one instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What the transport proved about one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    /// From the client certificate; `None` in plaintext mode (nothing proven).
    pub(crate) peer: Option<Peer>,
    pub(crate) remote: Option<SocketAddr>,
}

/// The connections of one server.
#[derive(Debug)]
pub(crate) struct Connections {
    tasks: JoinSet<()>,
    goaway: watch::Sender<bool>,
    /// `None`: plaintext.
    tls: Option<TlsAcceptor>,
    max_concurrent_streams: u32,
}

impl Connections {
    pub(crate) fn new(tls: Option<TlsAcceptor>, max_concurrent_streams: u32) -> Self {
        Connections { tasks: JoinSet::new(), goaway: watch::channel(false).0, tls, max_concurrent_streams }
    }

    /// Accepts connections on `listener` and serves `calls` on each, until the future is
    /// dropped (which stops accepting; connections already accepted go on).
    pub(crate) async fn accept(&mut self, listener: &TcpListener, calls: &Calls) {
        loop {
            match listener.accept().await {
                Ok((stream, remote)) => {
                    // Reap finished connections so the set does not grow with every one.
                    while self.tasks.try_join_next().is_some() {}
                    // gRPC messages are small and latency-bound: never wait to coalesce them.
                    let _ = stream.set_nodelay(true);
                    let (goaway, streams) = (self.goaway.subscribe(), self.max_concurrent_streams);
                    let calls = calls.clone();
                    match self.tls.clone() {
                        None => {
                            let info = ConnectionInfo { peer: None, remote: Some(remote) };
                            self.tasks.spawn(serve_connection(stream, calls.on(info), goaway, streams));
                        }
                        // The handshake runs in the connection's task: a slow client never
                        // holds up the accept loop.
                        Some(tls) => {
                            self.tasks.spawn(async move {
                                match tls.accept(stream).await {
                                    Ok(accepted) => {
                                        let info = ConnectionInfo { peer: Some(accepted.peer), remote: Some(remote) };
                                        serve_connection(accepted.stream, calls.on(info), goaway, streams).await;
                                    }
                                    Err(why) => tracing::info!(remote = %remote, why, "connection refused"),
                                }
                            });
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// Asks every connection to finish: GOAWAY, no new streams, close once the streams in
    /// flight are done.
    pub(crate) fn finish(&self) {
        self.goaway.send_replace(true);
    }

    /// Completes when every connection has closed.
    pub(crate) async fn closed(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    /// Closes every connection now, whatever it was doing.
    pub(crate) async fn abort(&mut self) {
        self.tasks.shutdown().await;
    }
}

async fn serve_connection<S>(stream: S, calls: Calls, mut goaway: watch::Receiver<bool>, max_concurrent_streams: u32)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    // A client multiplexes all its calls to a service over one connection, so the cap is
    // generous; without one, a single client could hold every task of the server.
    http2.max_concurrent_streams(Some(max_concurrent_streams));
    let connection = http2.serve_connection(TokioIo::new(stream), calls);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            return;
        }
        // A closed channel means the server is gone: finish as well.
        _ = goaway.wait_for(|finish| *finish) => {}
    }
    connection.as_mut().graceful_shutdown();
    if let Err(error) = connection.await {
        tracing::debug!(error = %error, "connection ended with an error while finishing");
    }
}

//! Accepting connections and serving HTTP/2 (gRPC) on them, with the two ways they end:
//! gracefully (GOAWAY, in-flight streams finish, then the connection closes) and abruptly
//! (aborted when even the grace period is over).

use std::time::Duration;

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::calls::Calls;

/// After a failed `accept` (e.g. out of file descriptors), wait this long before the next
/// one instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The connections of one server.
#[derive(Debug)]
pub(crate) struct Connections {
    tasks: JoinSet<()>,
    goaway: watch::Sender<bool>,
}

impl Connections {
    pub(crate) fn new() -> Self {
        Connections { tasks: JoinSet::new(), goaway: watch::channel(false).0 }
    }

    /// Accepts connections on `listener` and serves `calls` on each, until the future is
    /// dropped (which stops accepting; connections already accepted go on).
    pub(crate) async fn accept(&mut self, listener: &TcpListener, calls: &Calls) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    // Reap finished connections so the set does not grow with every one.
                    while self.tasks.try_join_next().is_some() {}
                    self.tasks.spawn(serve_connection(stream, calls.clone(), self.goaway.subscribe()));
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

async fn serve_connection(stream: TcpStream, calls: Calls, mut goaway: watch::Receiver<bool>) {
    // gRPC messages are small and latency-bound: never wait to coalesce them.
    let _ = stream.set_nodelay(true);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    // As tonic's server: no limit of hyper's own (200) on concurrent calls per connection;
    // a client multiplexes all its calls to a service over one connection.
    http2.max_concurrent_streams(None);
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

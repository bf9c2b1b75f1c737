//! A TCP proxy in front of a real server, to inject network faults: forward, reset every
//! connection, hold connections open without forwarding (a black hole), or freeze the open
//! connections (a partition: nothing moves and nothing closes).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Accept and close at once: the client sees its connection drop.
    Reset,
    /// Accept and never answer.
    Blackhole,
    /// Open connections stay open but nothing passes in either direction (nor for new ones).
    Freeze,
}

#[derive(Debug, Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    connections: Arc<AtomicU64>,
}

/// Where a proxy forwards to.
#[derive(Debug, Clone)]
pub enum Upstream {
    Tcp(SocketAddr),
    /// A Unix socket, e.g. a private Redis ([`crate::private_redis::PrivateRedis::socket`]).
    Unix(PathBuf),
}

impl Proxy {
    /// A proxy to a TCP address.
    pub async fn start(target: SocketAddr) -> Self {
        Self::start_to(Upstream::Tcp(target)).await
    }

    pub async fn start_to(target: Upstream) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        let (mode, _) = watch::channel(Mode::Forward);
        let proxy = Proxy { addr, mode: Arc::new(mode), connections: Arc::new(AtomicU64::new(0)) };
        let (mode, connections) = (proxy.mode.clone(), proxy.connections.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let mut changes = mode.subscribe();
                let current = *changes.borrow_and_update();
                match current {
                    Mode::Forward => {
                        let target = target.clone();
                        tokio::spawn(async move {
                            match target {
                                Upstream::Tcp(addr) => {
                                    if let Ok(outbound) = TcpStream::connect(addr).await {
                                        forward(inbound, outbound, changes).await;
                                    }
                                }
                                Upstream::Unix(path) => {
                                    if let Ok(outbound) = UnixStream::connect(path).await {
                                        forward(inbound, outbound, changes).await;
                                    }
                                }
                            }
                        });
                    }
                    Mode::Reset => drop(inbound),
                    Mode::Blackhole | Mode::Freeze => {
                        tokio::spawn(async move {
                            let _held = inbound;
                            let _ = changes.changed().await;
                        });
                    }
                }
            }
        });
        proxy
    }

    /// Switches mode; connections already open are cut (frozen, for `Freeze`). Setting the
    /// current mode again cuts them too (`set(Mode::Forward)`: cut, then forward new ones).
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Forwards until the mode changes: then both sides are cut, unless frozen: then both stay
/// open, silent, until the next change.
async fn forward<S>(mut inbound: TcpStream, mut outbound: S, mut changes: watch::Receiver<Mode>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = changes.changed() => {}
    }
    if *changes.borrow_and_update() == Mode::Freeze {
        let _ = changes.changed().await;
    }
}

/// A loopback address nothing listens on (connections are refused).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    drop(listener);
    addr
}

//! A TCP proxy in front of a real server, to inject network faults: forward, reset every
//! connection, or hold connections open without forwarding (a black hole).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Accept and close at once: the client sees its connection drop.
    Reset,
    /// Accept and never answer.
    Blackhole,
}

#[derive(Debug, Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    connections: Arc<AtomicU64>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        let (mode, _) = watch::channel(Mode::Forward);
        let proxy = Proxy { addr, mode: Arc::new(mode), connections: Arc::new(AtomicU64::new(0)) };
        let (mode, connections) = (proxy.mode.clone(), proxy.connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let mut changes = mode.subscribe();
                let current = *changes.borrow_and_update();
                match current {
                    Mode::Forward => {
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                            // Forward until the mode changes: then both sides are cut.
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = changes.changed() => {}
                            }
                        });
                    }
                    Mode::Reset => drop(inbound),
                    Mode::Blackhole => {
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

    /// Switches mode; connections already open are cut.
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

/// A loopback address nothing listens on (connections are refused).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    drop(listener);
    addr
}

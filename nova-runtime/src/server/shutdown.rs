//! Requests to stop a server: SIGTERM/SIGINT for a binary, a trigger for tests and embedders.
//!
//! The first request starts the shutdown sequence (NOT_SERVING, drain delay, stop accepting,
//! drain); a second one skips what is left of the drain delay, for an operator who presses
//! Ctrl-C twice, and for tests that want the sequence without waiting.

use tokio::sync::watch;

/// How many times a stop was requested, as a server sees it.
#[derive(Debug)]
pub struct Shutdown {
    requests: watch::Receiver<u32>,
}

/// Requests stops of the [`Shutdown`] it was created with.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    requests: watch::Sender<u32>,
}

impl Shutdown {
    /// A shutdown requested by SIGTERM (how orchestrators stop pods) or SIGINT (Ctrl-C).
    ///
    /// The signal handlers are installed before this returns, so a signal that arrives
    /// while the service is still binding or connecting is a request to stop, not a kill.
    /// Call it first, inside the runtime. Fails only when the handlers cannot be installed.
    ///
    /// # Errors
    ///
    /// The I/O error of installing a handler.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        let (trigger, shutdown) = Shutdown::manual();
        let mut signals = Signals::install()?;
        tokio::spawn(async move {
            while signals.next().await {
                trigger.request();
            }
        });
        Ok(shutdown)
    }

    /// A shutdown requested through the returned trigger.
    pub fn manual() -> (ShutdownTrigger, Shutdown) {
        let (requests, receiver) = watch::channel(0);
        (ShutdownTrigger { requests }, Shutdown { requests: receiver })
    }

    /// Completes once `count` stops have been requested. Never completes when nobody can
    /// request one any more (the trigger was dropped without requesting).
    pub(crate) async fn requested(&mut self, count: u32) {
        if self.requests.wait_for(|n| *n >= count).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl ShutdownTrigger {
    /// Requests a stop (the first starts the sequence, the second hurries it).
    pub fn request(&self) {
        self.requests.send_modify(|n| *n = n.saturating_add(1));
    }
}

/// The process signals that mean "stop".
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    /// The next signal; `false` when no more can arrive.
    #[cfg(unix)]
    async fn next(&mut self) -> bool {
        tokio::select! {
            received = self.terminate.recv() => received.is_some(),
            received = self.interrupt.recv() => received.is_some(),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

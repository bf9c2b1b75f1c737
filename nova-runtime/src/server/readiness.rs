//! What the server tells load balancers (`grpc.health.v1`) and how it admits calls.
//!
//! Two facts decide everything: whether the service's database answers, and whether the
//! server is shutting down. Calls are admitted while the database answers (also while
//! draining: a load balancer needs time to notice NOT_SERVING). Health is SERVING only when
//! the database answers and the server is not shutting down.

use std::sync::atomic::{AtomicBool, Ordering};

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

#[derive(Debug)]
pub(crate) struct Readiness {
    proto_service: &'static str,
    database_up: AtomicBool,
    draining: AtomicBool,
    reporter: HealthReporter,
    /// Serialises publications, so that the last one reflects the latest facts.
    publishing: tokio::sync::Mutex<()>,
}

impl Readiness {
    /// Not serving until [`Readiness::set_database`] says the database answers, unless the
    /// service has none (`database_up`).
    pub(crate) async fn new(proto_service: &'static str, reporter: HealthReporter, database_up: bool) -> Self {
        let readiness = Readiness {
            proto_service,
            database_up: AtomicBool::new(database_up),
            draining: AtomicBool::new(false),
            reporter,
            publishing: tokio::sync::Mutex::new(()),
        };
        readiness.publish().await;
        readiness
    }

    /// Whether a call may run now.
    pub(crate) fn admits_calls(&self) -> bool {
        self.database_up.load(Ordering::SeqCst)
    }

    pub(crate) fn serving(&self) -> bool {
        self.admits_calls() && !self.draining.load(Ordering::SeqCst)
    }

    /// Records whether the database answers. Calls are admitted or refused from this
    /// moment, before health reports it: a watcher that sees NOT_SERVING can rely on calls
    /// being refused already.
    pub(crate) async fn set_database(&self, up: bool) {
        if self.database_up.swap(up, Ordering::SeqCst) != up {
            if up {
                tracing::info!(service = self.proto_service, "the database answers: SERVING");
            } else {
                tracing::warn!(service = self.proto_service, "the database does not answer: NOT_SERVING, calls fail with UNAVAILABLE");
            }
            self.publish().await;
        }
    }

    /// The server is shutting down: NOT_SERVING from now on, whatever the database does.
    pub(crate) async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.publish().await;
    }

    async fn publish(&self) {
        let _turn = self.publishing.lock().await;
        let status = if self.serving() { ServingStatus::Serving } else { ServingStatus::NotServing };
        self.reporter.set_service_status(self.proto_service, status).await;
        self.reporter.set_service_status("", status).await;
    }
}

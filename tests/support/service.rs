//! Running a service under test on a loopback port, the way its binary runs it, and
//! following its health the way a load balancer does.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use nova_runtime::server::{Listeners, Shutdown, ShutdownTrigger, StartError};

/// Turns a hang into a failure; never a bound on how fast something must happen.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(60);

/// A service task, its addresses and the switch that shuts it down.
pub struct RunningService {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), StartError>>,
}

impl RunningService {
    /// Binds free loopback ports (gRPC and metrics) and runs `start(listeners, shutdown)` in a
    /// task.
    pub async fn start<F, Fut>(start: F) -> Self
    where
        F: FnOnce(Listeners, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        let grpc = loopback().await;
        let metrics = loopback().await;
        let addr = grpc.local_addr().unwrap_or_else(|e| panic!("no local address: {e}"));
        let metrics_addr = metrics.local_addr().unwrap_or_else(|e| panic!("no local address: {e}"));
        let (trigger, shutdown) = Shutdown::manual();
        let task = tokio::spawn(start(Listeners { grpc, metrics: Some(metrics) }, shutdown));
        RunningService { addr, metrics_addr, trigger, task }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What SIGTERM does: starts the shutdown sequence (NOT_SERVING, drain delay, drain).
    pub fn request_stop(&self) {
        self.trigger.request();
    }

    /// Stops the service without its drain delay (asking twice) and waits for it to drain
    /// and return.
    pub async fn stop(self) -> Result<(), StartError> {
        self.trigger.request();
        self.trigger.request();
        self.finished().await
    }

    /// Waits for the service to return by itself (after [`RunningService::request_stop`], or
    /// when it gives up).
    pub async fn finished(mut self) -> Result<(), StartError> {
        match tokio::time::timeout(SAFETY_TIMEOUT, &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => panic!("service task failed: {join}"),
            Err(_) => panic!("service did not stop within {SAFETY_TIMEOUT:?}"),
        }
    }
}

async fn loopback() -> TcpListener {
    match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("cannot bind a loopback port: {error}"),
    }
}

/// A `grpc.health.v1` Watch on `service`: every status the server reports, in order.
pub struct HealthWatch {
    stream: tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
}

impl HealthWatch {
    /// Over plaintext (servers started with `ServeOptions::insecure_local`).
    pub async fn start(addr: SocketAddr, service: &str) -> Self {
        let channel = nova_runtime::client::channel(&format!("http://{addr}")).unwrap_or_else(|e| panic!("bad address {addr}: {e}"));
        Self::over(channel, addr, service).await
    }

    /// Over mutual TLS as the edge, to the nova service `description` describes.
    pub async fn start_tls(addr: SocketAddr, description: &nova_runtime::server::ServiceDescription) -> Self {
        let material = crate::pki::material(&nova_runtime::identity::Peer::Client("edge".to_string()));
        let channel = nova_runtime::client::tls_channel(&format!("http://{addr}"), &material, description.name)
            .unwrap_or_else(|e| panic!("bad address {addr}: {e}"));
        Self::over(channel, addr, description.proto_service).await
    }

    async fn over(channel: tonic::transport::Channel, addr: SocketAddr, service: &str) -> Self {
        let mut health = HealthClient::new(channel);
        let request = HealthCheckRequest { service: service.to_string() };
        let watch = tokio::time::timeout(SAFETY_TIMEOUT, health.watch(request)).await;
        let stream = match watch {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => panic!("health watch on {addr} failed: {status:?}"),
            Err(_) => panic!("health watch on {addr} did not start within {SAFETY_TIMEOUT:?}"),
        };
        HealthWatch { stream }
    }

    /// The next status reported; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<ServingStatus> {
        match tokio::time::timeout(SAFETY_TIMEOUT, self.stream.message()).await {
            Ok(Ok(Some(response))) => Some(ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown)),
            Ok(Ok(None) | Err(_)) => None,
            Err(_) => panic!("no health update within {SAFETY_TIMEOUT:?}"),
        }
    }

    /// Waits until the server reports `wanted`; panics if the stream ends first.
    pub async fn until(&mut self, wanted: ServingStatus) {
        loop {
            match self.next().await {
                Some(status) if status == wanted => return,
                Some(_) => {}
                None => panic!("health stream ended before {wanted:?}"),
            }
        }
    }
}

/// [`wait_until_serving`] over mutual TLS, for a service of the test system.
pub async fn wait_until_serving_tls(addr: SocketAddr, description: &nova_runtime::server::ServiceDescription, safety: Duration) {
    let serving = async { HealthWatch::start_tls(addr, description).await.until(ServingStatus::Serving).await };
    if tokio::time::timeout(safety, serving).await.is_err() {
        panic!("{} at {addr} did not become SERVING within {safety:?}", description.proto_service);
    }
}

/// Waits until `service` at `addr` reports SERVING (the service waits for its database and
/// applies its migrations first); `safety` only turns a hang into a failure.
pub async fn wait_until_serving(addr: SocketAddr, service: &str, safety: Duration) {
    let serving = async { HealthWatch::start(addr, service).await.until(ServingStatus::Serving).await };
    if tokio::time::timeout(safety, serving).await.is_err() {
        panic!("{service} at {addr} did not become SERVING within {safety:?}");
    }
}

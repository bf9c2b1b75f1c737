//! Running a service under test on a loopback port, the way its binary runs it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use nova_runtime::server::{Listeners, StartError};

/// A service task, its addresses and the switch that shuts it down.
pub struct RunningService {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), StartError>>,
}

impl RunningService {
    /// Binds free loopback ports (gRPC and metrics) and runs `start(listeners, shutdown)` in a
    /// task.
    pub async fn start<F, Fut>(start: F) -> Self
    where
        F: FnOnce(Listeners, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
        Fut: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        let grpc = loopback().await;
        let metrics = loopback().await;
        let addr = grpc.local_addr().unwrap_or_else(|e| panic!("no local address: {e}"));
        let metrics_addr = metrics.local_addr().unwrap_or_else(|e| panic!("no local address: {e}"));
        let (shutdown, signal) = oneshot::channel::<()>();
        let signal = Box::pin(async move {
            let _ = signal.await;
        });
        let task = tokio::spawn(start(Listeners { grpc, metrics: Some(metrics) }, signal));
        RunningService { addr, metrics_addr, shutdown: Some(shutdown), task }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the service to stop and waits for it to drain and return.
    pub async fn stop(mut self) -> Result<(), StartError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => panic!("service task failed: {join}"),
            Err(_) => panic!("service did not stop within 10 s of shutdown"),
        }
    }
}

async fn loopback() -> TcpListener {
    match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("cannot bind a loopback port: {error}"),
    }
}

/// Polls `grpc.health.v1` until `service` reports SERVING (the service applies its migrations
/// before it serves), or fails after `timeout`.
pub async fn wait_until_serving(addr: SocketAddr, service: &str, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let channel = match nova_runtime::client::channel(&format!("http://{addr}")) {
        Ok(channel) => channel,
        Err(error) => panic!("bad address {addr}: {error}"),
    };
    let mut health = HealthClient::new(channel);
    loop {
        let request = HealthCheckRequest { service: service.to_string() };
        // Until the server serves, the kernel accepts the connection but nobody answers.
        if let Ok(Ok(response)) = tokio::time::timeout(Duration::from_millis(500), health.check(request)).await
            && response.into_inner().status == ServingStatus::Serving as i32
        {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{service} at {addr} did not become SERVING within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

//! Phase 3b: when is a service SERVING? Asked the way a load balancer asks: `grpc.health.v1`
//! `Check` on the whole server (service name ""), over loopback, with the edge's certificate
//! (the services accept mutual TLS only).

use std::time::Duration;

use tokio::time::Instant;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Between checks: the start-to-SERVING figures are measured to this resolution.
const POLL: Duration = Duration::from_millis(10);
/// One check may take this long (a service that is listening answers health at once).
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// Waits until the service `service` on `port` reports SERVING, or `deadline` passes (`false`).
pub async fn wait_serving(service: &str, port: u16, edge: &nova_runtime::tls::TlsMaterial, deadline: Instant) -> bool {
    let Ok(channel) = nova_runtime::client::tls_channel(&format!("http://127.0.0.1:{port}"), edge, service) else {
        return false;
    };
    let mut client = HealthClient::new(channel);
    while Instant::now() < deadline {
        let request = HealthCheckRequest { service: String::new() };
        if let Ok(Ok(response)) = tokio::time::timeout(CHECK_TIMEOUT, client.check(request)).await
            && response.into_inner().status == ServingStatus::Serving as i32
        {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

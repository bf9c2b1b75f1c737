//! Latency of the services through their generated clients, as another service calls them:
//! all four foundation services running together (real gRPC on loopback, each with its own
//! PostgreSQL database, clients with L1 + L2 in the real Redis), one read and one write per
//! service. A read is measured cold (every call a different entity: a miss that reaches the
//! service and its database) and warm (the same entities again: served by the caller's cache).
//!
//!     cargo bench -p nova-tests --bench service_latency
//!
//! Calls are sequential from one client (latency, not throughput). Prints P50/P95/P99 per row;
//! BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::future::Future;
use std::time::Instant;

use nova_tests::TestSystem;

/// Calls per row.
const CALLS: usize = 400;

struct Row {
    service: &'static str,
    rpc: &'static str,
    kind: &'static str,
    micros: Vec<f64>,
}

impl Row {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

/// Runs `call(i)` for `i` in `0..CALLS`, one at a time, timing each.
async fn measure<F, Fut>(service: &'static str, rpc: &'static str, kind: &'static str, mut call: F) -> Row
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut micros = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let started = Instant::now();
        call(i).await;
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    Row { service, rpc, kind, micros }
}

#[tokio::main]
async fn main() {
    let mut system = TestSystem::new();
    system.start_with_callees("content").await;
    let mut rows = Vec::new();
    rows.extend(auth::rows(&system).await);
    println!("\n{:<8} {:<24} {:<12} {:>9} {:>9} {:>9}", "service", "rpc", "kind", "p50 ms", "p95 ms", "p99 ms");
    for row in &rows {
        println!(
            "{:<8} {:<24} {:<12} {:>9.2} {:>9.2} {:>9.2}",
            row.service,
            row.rpc,
            row.kind,
            row.percentile(0.50) / 1e3,
            row.percentile(0.95) / 1e3,
            row.percentile(0.99) / 1e3
        );
    }
    system.stop().await;
}

mod auth {
    use nova_auth::{AuthClient, pb};

    use super::*;

    pub async fn rows(system: &TestSystem) -> Vec<Row> {
        let client = system.client(AuthClient::from_peers);
        let mut ids = Vec::with_capacity(CALLS);
        for i in 0..CALLS {
            let request = pb::RegisterRequest { email: format!("bench{i}@example.com"), username: format!("bench{i}"), password: "correct horse battery".into() };
            ids.push(client.register(request).await.unwrap().user.unwrap().id);
        }
        let cold = measure("auth", "GetUser", "read cold", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.get_user(pb::GetUserRequest { user_id: id }).await.unwrap();
            }
        })
        .await;
        let warm = measure("auth", "GetUser", "read warm", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.get_user(pb::GetUserRequest { user_id: id }).await.unwrap();
            }
        })
        .await;
        let write = measure("auth", "GrantPermission", "write", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.grant_permission(pb::GrantPermissionRequest { user_id: id, permission: "content.moderate".into() }).await.unwrap();
            }
        })
        .await;
        vec![cold, warm, write]
    }
}

//! How long a revocation takes to reach every service: all eight services with production's
//! identity settings (auth's keys and revocations polled every second), a user signed in, then
//! Logout (or DeleteUser); every other service is asked, every 5 ms, with the user's token,
//! until it refuses it. Reported from the moment the revoking call returned.
//!
//!     cargo bench -p nova-tests --bench revocation_latency
//!
//! BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::time::{Duration, Instant};

use nova_auth::{AuthClient, pb as auth};
use nova_runtime::identity::{Access, Peer, VerifierSettings};
use nova_tests::{RawGrpc, TestSystem};
use tonic::Code;

const RUNS: usize = 10;
const PROBE_EVERY: Duration = Duration::from_millis(5);

/// A public or user RPC of each service but auth, and a connection to it as the edge.
async fn probes(system: &TestSystem) -> Vec<(&'static str, String, RawGrpc)> {
    let mut probes = Vec::new();
    for service in nova_services::SERVICES.iter().filter(|s| s.name != "auth") {
        let rpc = service.description.rpcs.iter().find(|rpc| matches!(rpc.access.access, Access::Public | Access::User)).unwrap();
        let raw = RawGrpc::connect_tls(system.member(service.name).service.addr, service.name, &Peer::Client("edge".into())).await;
        probes.push((service.name, rpc.path(), raw));
    }
    probes
}

/// Per service, the time from `since` until it refused `token`.
async fn until_refused(probes: &mut [(&'static str, String, RawGrpc)], token: &str, since: Instant) -> Vec<(&'static str, Duration)> {
    let header = format!("Bearer {token}");
    let waits = probes.iter_mut().map(|(name, path, raw)| {
        let header = header.clone();
        async move {
            loop {
                if raw.unary(path, &[], &[("authorization", header.as_str())]).await.code == Code::Unauthenticated {
                    return (*name, since.elapsed());
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        }
    });
    futures_util::future::join_all(waits).await
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let mut system = TestSystem::new();
    system.verifier = VerifierSettings::default();
    system.start_all().await;
    let mut probes = probes(&system).await;
    println!("identity settings: refresh {:?}, max staleness {:?}", system.verifier.refresh, system.verifier.max_staleness);
    println!("| revocation | runs | every service refuses: median ms | P95 ms | max ms | slowest service (max) |");
    println!("|---|---:|---:|---:|---:|---|");
    for trigger in ["Logout", "DeleteUser"] {
        let mut everywhere = Vec::new();
        let mut slowest: (&str, f64) = ("", 0.0);
        for run in 0..RUNS {
            let user = system.sign_up(&format!("{}{run}", trigger.to_lowercase())).await;
            let auth = system.client(AuthClient::from_peers).with_token(&user.token);
            // Every service has verified the token (and remembers it) before it is revoked.
            for (name, path, raw) in &mut probes {
                let reply = raw.unary(path, &[], &[("authorization", &format!("Bearer {}", user.token))]).await;
                assert_ne!(reply.code, Code::Unauthenticated, "{name} refuses a good token");
            }
            match trigger {
                "Logout" => drop(auth.logout(auth::LogoutRequest { session_id: user.session_id.clone() }).await.unwrap()),
                _ => drop(auth.delete_user(auth::DeleteUserRequest { user_id: user.id.clone() }).await.unwrap()),
            }
            let returned = Instant::now();
            let refused = until_refused(&mut probes, &user.token, returned).await;
            let last = refused.iter().map(|(_, d)| d.as_secs_f64() * 1e3).fold(0.0, f64::max);
            everywhere.push(last);
            for (name, waited) in refused {
                if waited.as_secs_f64() * 1e3 > slowest.1 {
                    slowest = (name, waited.as_secs_f64() * 1e3);
                }
            }
        }
        let (median, p95) = (percentile(&mut everywhere, 0.5), percentile(&mut everywhere, 0.95));
        let max = everywhere.iter().copied().fold(0.0, f64::max);
        println!("| {trigger} | {RUNS} | {median:.0} | {p95:.0} | {max:.0} | {} ({:.0} ms) |", slowest.0, slowest.1);
    }
    system.stop().await;
}

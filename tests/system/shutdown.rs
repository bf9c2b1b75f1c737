//! The shutdown sequence as a load balancer and an orchestrator see it: NOT_SERVING first,
//! calls still served (on new connections too) during the drain delay, then connections
//! refused, calls in flight completed within the grace period, calls outliving it cut off
//! and reported in the exit status. Checked by the order of events, never by elapsed time:
//! a call "in flight" is one the handler has entered (a gate the test opens), and the drain
//! delay of the ordering test is an hour, ended by a second stop request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::net::SocketAddr;
use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::testing::Double;
use nova_runtime::server::{ServeOptions, ShutdownConfig, StartError};
use nova_tests::{Gated, HealthWatch, RunningService, SAFETY_TIMEOUT, wait_until_serving};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const HOUR: Duration = Duration::from_secs(3600);

async fn start_gated(gated: &Gated, shutdown: ShutdownConfig) -> RunningService {
    let logic = gated.clone();
    let options = ServeOptions::insecure_local(shutdown);
    let service = RunningService::start(move |listeners, stop| nova_auth::server::serve_with(Double(logic), options, listeners, stop)).await;
    wait_until_serving(service.addr, nova_auth::PROTO_SERVICE, SAFETY_TIMEOUT).await;
    service
}

/// A client on a connection of its own.
fn new_client(addr: SocketAddr) -> AuthServiceClient<tonic::transport::Channel> {
    AuthServiceClient::new(nova_runtime::client::channel(&format!("http://{addr}")).unwrap())
}

fn register() -> pb::RegisterRequest {
    pb::RegisterRequest { username: "in_flight".into(), ..pb::RegisterRequest::default() }
}

/// Waits until connecting to `addr` is refused: the listener is closed. (Polls the
/// condition; the pause only keeps the loop from spinning.)
async fn until_refused(addr: SocketAddr) {
    let refused = async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(SAFETY_TIMEOUT, refused).await.unwrap_or_else(|_| panic!("{addr} still accepts connections"));
}

#[tokio::test]
async fn not_serving_comes_first_calls_are_served_through_the_drain_delay_then_connections_are_refused() {
    let gated = Gated::default();
    let service = start_gated(&gated, ShutdownConfig { drain_delay: HOUR, grace: HOUR }).await;
    let mut watch = HealthWatch::start(service.addr, nova_auth::PROTO_SERVICE).await;
    assert_eq!(watch.next().await, Some(ServingStatus::Serving));
    let mut early = new_client(service.addr);
    let in_flight = tokio::spawn(async move { early.register(register()).await });
    gated.entered(1).await;

    service.request_stop();
    assert_eq!(watch.next().await, Some(ServingStatus::NotServing), "the first thing a stop does is report NOT_SERVING");
    // Still serving during the drain delay, even on a connection opened after NOT_SERVING.
    let late = new_client(service.addr).get_user(pb::GetUserRequest { user_id: "late".into() }).await.unwrap();
    assert_eq!(late.into_inner().user.unwrap().id, "late");

    // A second request ends the drain delay: the listener closes.
    service.request_stop();
    until_refused(service.addr).await;
    assert!(!in_flight.is_finished(), "the call in flight waits at its gate");
    gated.open();
    let completed = in_flight.await.unwrap().unwrap().into_inner();
    assert_eq!(completed.user.unwrap().username, "in_flight", "the call in flight at shutdown completed");
    // The health stream ends with the server instead of holding it open.
    assert_eq!(watch.next().await, None);
    service.finished().await.unwrap();
}

#[tokio::test]
async fn the_drain_delay_ends_by_itself() {
    let service = start_gated(&Gated::default(), ShutdownConfig { drain_delay: Duration::from_millis(100), grace: HOUR }).await;
    let mut watch = HealthWatch::start(service.addr, nova_auth::PROTO_SERVICE).await;
    assert_eq!(watch.next().await, Some(ServingStatus::Serving));
    service.request_stop();
    assert_eq!(watch.next().await, Some(ServingStatus::NotServing));
    until_refused(service.addr).await;
    service.finished().await.unwrap();
}

#[tokio::test]
async fn calls_outliving_the_grace_period_are_cut_off_and_the_exit_status_says_so() {
    let gated = Gated::default();
    let service = start_gated(&gated, ShutdownConfig { drain_delay: Duration::ZERO, grace: Duration::from_millis(200) }).await;
    let mut stuck = new_client(service.addr);
    let in_flight = tokio::spawn(async move { stuck.register(register()).await });
    gated.entered(1).await;
    service.request_stop();
    // The gate never opens: only the end of the grace period ends the call.
    let result = service.finished().await;
    let Err(StartError::CallsCutOff { calls, grace }) = &result else { panic!("expected calls cut off, got {result:?}") };
    assert_eq!((*calls, *grace), (1, Duration::from_millis(200)));
    assert_eq!(nova_runtime::service::exit_code(&result), 3);
    assert_eq!(nova_runtime::service::exit_code(&Ok(())), 0);
    let cut = in_flight.await.unwrap().unwrap_err();
    assert!(matches!(cut.code(), Code::Unavailable | Code::Unknown | Code::Cancelled), "{cut:?}");
}

#[tokio::test]
async fn a_stop_requested_before_the_server_runs_is_honoured() {
    let gated = Gated::default();
    let logic = gated.clone();
    let options = ServeOptions::insecure_local(ShutdownConfig { drain_delay: HOUR, grace: HOUR });
    let service = RunningService::start(move |listeners, stop| nova_auth::server::serve_with(Double(logic), options, listeners, stop)).await;
    // Asked twice before it even served: it still stops, cleanly, without the drain delay.
    service.stop().await.unwrap();
}

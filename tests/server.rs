//! What every generated server provides: health, reflection, `/metrics`, panic isolation and
//! graceful shutdown — checked on the real auth server over loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::{AuthClient, pb};
use nova_tests::metrics::{scrape, sum};
use nova_tests::{Script, Scripted, start_scripted};
use tonic::Code;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_service() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in [nova_auth::PROTO_SERVICE, ""] {
        let status = health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status;
        assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{service:?}");
    }
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
    let mut responses = reflection.server_reflection_info(futures_util::stream::iter([request])).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else { panic!("unexpected reflection answer") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&nova_auth::PROTO_SERVICE.to_string()), "{names:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_expose_server_and_client_families_after_calls() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let client = AuthClient::connect_lazy(&server.uri()).unwrap();
    client.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap();
    client.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap();
    scripted.set(Script { fail_with: Some(Code::NotFound), fail_ratio: 1.0, ..Script::default() });
    assert_eq!(client.check_user_exists(pb::CheckUserExistsRequest { user_id: "u2".into() }).await.unwrap_err().code(), Code::NotFound);

    let text = scrape(server.metrics_addr).await;
    let service = ("grpc_service", nova_auth::PROTO_SERVICE);
    assert!(sum(&text, "grpc_server_handled_total", &[service, ("grpc_method", "GetUser"), ("grpc_code", "OK")]) >= 1.0, "{text}");
    assert!(sum(&text, "grpc_server_handled_total", &[service, ("grpc_method", "CheckUserExists"), ("grpc_code", "NotFound")]) >= 1.0);
    // Buckets that answer "is P95 above 100 ms?" exist for every method.
    assert!(text.contains("grpc_server_handling_seconds_bucket{") && text.contains("le=\"0.1\""), "{text}");
    assert!(sum(&text, "grpc_server_handling_seconds_count", &[service, ("grpc_method", "GetUser")]) >= 1.0);
    assert!(sum(&text, "grpc_client_handled_total", &[service, ("grpc_method", "GetUser"), ("grpc_code", "OK")]) >= 2.0);
    assert!(sum(&text, "grpc_client_handling_seconds_count", &[service, ("grpc_method", "GetUser")]) >= 2.0);
    assert!(sum(&text, "grpc_client_cache_requests_total", &[service, ("grpc_method", "GetUser"), ("result", "hit")]) >= 1.0);
    assert!(sum(&text, "grpc_client_cache_requests_total", &[service, ("grpc_method", "GetUser"), ("result", "miss")]) >= 1.0);
    assert!(text.contains("grpc_client_circuit_breaker_state{target=\"auth\"}"), "{text}");
    assert!(sum(&text, "grpc_client_attempts_total", &[service, ("grpc_method", "GetUser")]) >= 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
    let scripted = Scripted::default();
    scripted.set(Script { panic: true, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let client = AuthClient::connect_lazy(&server.uri()).unwrap();
    let status = client.register(pb::RegisterRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains("request id"), "{}", status.message());
    scripted.set(Script::default());
    client.register(pb::RegisterRequest::default()).await.unwrap();
    let text = scrape(server.metrics_addr).await;
    assert!(sum(&text, "grpc_server_handled_total", &[("grpc_method", "Register"), ("grpc_code", "Internal")]) >= 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_drains_in_flight_calls_then_stops() {
    let scripted = Scripted::default();
    scripted.set(Script { delay: Duration::from_millis(400), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let uri = server.uri();
    let client = AuthClient::connect_lazy(&uri).unwrap();
    let in_flight = tokio::spawn(async move { client.register(pb::RegisterRequest::default()).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(scripted.calls(), 1);
    server.stop().await.unwrap();
    assert!(in_flight.await.unwrap().is_ok(), "the call in flight at SIGTERM completed");
    let after = AuthClient::connect_lazy(&uri).unwrap();
    assert_eq!(after.register(pb::RegisterRequest::default()).await.unwrap_err().code(), Code::Unavailable, "nothing serves after shutdown");
}

#[tokio::test]
async fn an_expired_call_is_cut_by_the_server_and_counted_as_deadline_exceeded() {
    let scripted = Scripted::default();
    scripted.set(Script { delay: Duration::from_secs(2), ..Script::default() });
    let server = start_scripted(&scripted).await;
    // A raw tonic call: only the server's enforcement of grpc-timeout can end it early.
    let mut raw = nova_auth::pb::auth_service_client::AuthServiceClient::new(nova_runtime::client::channel(&server.uri()).unwrap());
    let mut request = tonic::Request::new(pb::RecordFailedLoginRequest::default());
    request.set_timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let status = raw.record_failed_login(request).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500), "the server did not hold the call past its deadline");
    assert!(matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded), "{status:?}");
    let text = scrape(server.metrics_addr).await;
    assert!(sum(&text, "grpc_server_handled_total", &[("grpc_method", "RecordFailedLogin"), ("grpc_code", "DeadlineExceeded")]) >= 1.0, "{text}");
    server.stop().await.unwrap();
}

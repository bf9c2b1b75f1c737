//! What every generated server provides: health, both reflection versions, `/metrics` counted
//! per server, panic isolation, deadlines answered `DEADLINE_EXCEEDED` and undecodable
//! requests answered `INVALID_ARGUMENT` — checked on the real auth server over loopback.
//!
//! Metric assertions are exact: each server has its own registry, so no other test in this
//! process can move the numbers read here. (The shutdown sequence is in shutdown.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::codegen::prost::Message as _;
use nova_tests::metrics::{sample, scrape};
use nova_tests::{RawGrpc, Script, Scripted, start_scripted};
use tonic::Code;

const SERVICE: (&str, &str) = ("grpc_service", nova_auth::PROTO_SERVICE);

fn raw_client(uri: &str) -> AuthServiceClient<tonic::transport::Channel> {
    AuthServiceClient::new(nova_runtime::client::channel(uri).unwrap())
}

#[tokio::test]
async fn health_reports_serving_for_the_service_and_the_server() {
    let server = start_scripted(&Scripted::default()).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(nova_runtime::client::channel(&server.uri()).unwrap());
    for service in [nova_auth::PROTO_SERVICE, ""] {
        let status = health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status;
        assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{service:?}");
    }
    server.stop().await.unwrap();
}

/// A `Logic` double answers UNIMPLEMENTED, over real gRPC, for every RPC it does not override:
/// here one that overrides nothing, and `Scripted` (which scripts GetUser but not Login).
#[tokio::test]
async fn a_doubles_unoverridden_rpcs_answer_unimplemented() {
    struct Nothing;
    impl nova_auth::testing::LogicDouble for Nothing {}
    let options = nova_runtime::server::ServeOptions::insecure_local(nova_runtime::server::ShutdownConfig::default());
    let bare = nova_tests::RunningService::start(move |listeners, stop| {
        nova_auth::server::serve_with(nova_auth::testing::Double(Nothing), options, listeners, stop)
    })
    .await;
    nova_tests::wait_until_serving(bare.addr, nova_auth::PROTO_SERVICE, Duration::from_secs(10)).await;
    let scripted = start_scripted(&Scripted::default()).await;
    for server in [&bare, &scripted] {
        let mut client = raw_client(&server.uri());
        let status = client.login(pb::LoginRequest::default()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        assert_eq!(status.message(), "Login is not implemented");
    }
    let status = raw_client(&bare.uri()).get_user(pb::GetUserRequest { user_id: "u".into() }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    raw_client(&scripted.uri()).get_user(pb::GetUserRequest { user_id: "u".into() }).await.unwrap();
    bare.stop().await.unwrap();
    scripted.stop().await.unwrap();
}

/// `grpc.reflection.v1` and `v1alpha` (what grpcurl falls back to and Python's
/// grpcio-reflection speaks) both list the service and resolve each method and its types.
mod reflection {
    use nova_runtime::codegen::prost::Message as _;
    use nova_runtime::codegen::prost_types::FileDescriptorProto;

    macro_rules! reflect {
        ($version:ident, $channel:expr, $request:expr) => {{
            use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$version::{ServerReflectionRequest, ServerReflectionResponse};
            let request: Request = $request;
            let message_request = match request {
                Request::List => MessageRequest::ListServices(String::new()),
                Request::Symbol(symbol) => MessageRequest::FileContainingSymbol(symbol),
            };
            let request = ServerReflectionRequest { host: String::new(), message_request: Some(message_request) };
            let mut client = ServerReflectionClient::new($channel);
            let mut responses = client.server_reflection_info(futures_util::stream::iter([request])).await.unwrap().into_inner();
            let response: ServerReflectionResponse = responses.message().await.unwrap().unwrap();
            match response.message_response.unwrap() {
                MessageResponse::ListServicesResponse(list) => Answer::Services(list.service.into_iter().map(|s| s.name).collect()),
                MessageResponse::FileDescriptorResponse(files) => {
                    Answer::Files(files.file_descriptor_proto.iter().map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).unwrap()).collect())
                }
                other => panic!("unexpected reflection answer {other:?}"),
            }
        }};
    }

    pub enum Request {
        List,
        Symbol(String),
    }

    pub enum Answer {
        Services(Vec<String>),
        Files(Vec<FileDescriptorProto>),
    }

    pub async fn v1(channel: tonic::transport::Channel, request: Request) -> Answer {
        reflect!(v1, channel, request)
    }

    pub async fn v1alpha(channel: tonic::transport::Channel, request: Request) -> Answer {
        reflect!(v1alpha, channel, request)
    }
}

#[tokio::test]
async fn both_reflection_versions_list_the_service_and_resolve_every_method() {
    use reflection::{Answer, Request};
    let server = start_scripted(&Scripted::default()).await;
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    for version in ["v1", "v1alpha"] {
        let ask = |request| {
            let channel = channel.clone();
            async move { if version == "v1" { reflection::v1(channel, request).await } else { reflection::v1alpha(channel, request).await } }
        };
        let Answer::Services(names) = ask(Request::List).await else { panic!("{version}: no service list") };
        assert!(names.contains(&nova_auth::PROTO_SERVICE.to_string()), "{version}: {names:?}");
        assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{version}: {names:?}");
        let Answer::Files(files) = ask(Request::Symbol(nova_auth::PROTO_SERVICE.into())).await else { panic!("{version}: no file") };
        let service = files.iter().flat_map(|f| &f.service).find(|s| nova_auth::PROTO_SERVICE.ends_with(s.name())).unwrap();
        assert_eq!(service.method.len(), nova_auth::rpc::ALL.len(), "{version}: every RPC is described");
        for method in &service.method {
            let symbol = format!("{}.{}", nova_auth::PROTO_SERVICE, method.name());
            let Answer::Files(files) = ask(Request::Symbol(symbol.clone())).await else { panic!("{version}: {symbol} unresolved") };
            assert!(files.iter().flat_map(|f| &f.service).any(|s| s.method.iter().any(|m| m.name() == method.name())), "{version}: {symbol}");
            for message in [method.input_type(), method.output_type()] {
                let Answer::Files(files) = ask(Request::Symbol(message.trim_start_matches('.').to_string())).await else {
                    panic!("{version}: {message} unresolved")
                };
                let short = message.rsplit('.').next().unwrap();
                assert!(files.iter().flat_map(|f| &f.message_type).any(|m| m.name() == short), "{version}: {message}");
            }
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn each_call_is_counted_once_by_the_server_that_served_it() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let other = start_scripted(&Scripted::default()).await;
    let mut client = raw_client(&server.uri());
    client.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap();
    client.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap();
    scripted.set(Script { fail_with: Some(Code::NotFound), fail_ratio: 1.0, ..Script::default() });
    assert_eq!(client.check_user_exists(pb::CheckUserExistsRequest { user_id: "u2".into() }).await.unwrap_err().code(), Code::NotFound);

    let text = scrape(server.metrics_addr).await;
    let get_user = [SERVICE, ("grpc_method", "GetUser")];
    assert_eq!(sample(&text, "grpc_server_started_total", &get_user), 2.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[SERVICE, ("grpc_method", "GetUser"), ("grpc_code", "OK")]), 2.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[SERVICE, ("grpc_method", "CheckUserExists"), ("grpc_code", "NotFound")]), 1.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[SERVICE, ("grpc_method", "CheckUserExists"), ("grpc_code", "OK")]), 0.0);
    assert_eq!(sample(&text, "grpc_server_handling_seconds_count", &get_user), 2.0);
    // Buckets that answer "is P95 above 100 ms?" exist for every method.
    assert_eq!(sample(&text, "grpc_server_handling_seconds_bucket", &[SERVICE, ("grpc_method", "GetUser"), ("le", "+Inf")]), 2.0);
    assert!(text.contains("le=\"0.1\""), "{text}");
    // Another server in the same process counted nothing.
    let untouched = scrape(other.metrics_addr).await;
    assert_eq!(sample(&untouched, "grpc_server_started_total", &get_user), 0.0);
    server.stop().await.unwrap();
    other.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
    let scripted = Scripted::default();
    scripted.set(Script { panic: true, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let mut client = raw_client(&server.uri());
    let status = client.register(pb::RegisterRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains("request id"), "{}", status.message());
    scripted.set(Script::default());
    client.register(pb::RegisterRequest::default()).await.unwrap();
    let text = scrape(server.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_server_handled_total", &[("grpc_method", "Register"), ("grpc_code", "Internal")]), 1.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[("grpc_method", "Register"), ("grpc_code", "OK")]), 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_expired_call_is_answered_deadline_exceeded_and_counted_before_the_answer_leaves() {
    let scripted = Scripted::default();
    // Longer than any test: only the server's deadline can end the call.
    scripted.set(Script { delay: Duration::from_secs(3600), ..Script::default() });
    let server = start_scripted(&scripted).await;
    // A raw HTTP/2 client with no deadline of its own: what it reads is what the server sent.
    let mut raw = RawGrpc::connect(server.addr).await;
    let request = pb::RecordFailedLoginRequest::default().encode_to_vec();
    // In plaintext (the scripted server), a service is whoever x-nova-service says.
    let reply = raw.unary("/nova.auth.v1.AuthService/RecordFailedLogin", &request, &[("grpc-timeout", "100m"), ("x-nova-service", "user")]).await;
    assert_eq!(reply.code, Code::DeadlineExceeded, "{reply:?}");
    // On a loaded machine the deadline can pass before the handler is first polled; either way
    // the answer is DEADLINE_EXCEEDED, and the handler never runs twice.
    assert!(scripted.calls() <= 1, "the handler ran {} times", scripted.calls());
    // Counted before the answer was sent: no waiting needed.
    let text = scrape(server.metrics_addr).await;
    let method = [SERVICE, ("grpc_method", "RecordFailedLogin")];
    assert_eq!(sample(&text, "grpc_server_handled_total", &[method[0], method[1], ("grpc_code", "DeadlineExceeded")]), 1.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[method[0], method[1], ("grpc_code", "Canceled")]), 0.0);
    assert_eq!(sample(&text, "grpc_server_started_total", &method), 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn undecodable_requests_are_invalid_argument_counted_and_never_reach_the_handler() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let mut raw = RawGrpc::connect(server.addr).await;
    // Field 1 as a varint of ten 0xff bytes: no valid protobuf.
    let junk = raw.unary("/nova.auth.v1.AuthService/Register", &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &[]).await;
    assert_eq!(junk.code, Code::InvalidArgument, "{junk:?}");
    assert!(junk.message.contains("Register") && junk.message.len() < 200, "{junk:?}");
    // A string field holding bytes that are not UTF-8.
    let not_utf8 = raw.unary("/nova.auth.v1.AuthService/Register", &[0x0a, 0x02, 0xc3, 0x28], &[]).await;
    assert_eq!(not_utf8.code, Code::InvalidArgument, "{not_utf8:?}");
    assert_eq!(scripted.calls(), 0, "the handler never saw them");
    // A well-formed call still works on the same connection.
    let fine = raw.unary("/nova.auth.v1.AuthService/Register", &pb::RegisterRequest::default().encode_to_vec(), &[]).await;
    assert_eq!(fine.code, Code::Ok, "{fine:?}");
    let text = scrape(server.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_server_handled_total", &[SERVICE, ("grpc_method", "Register"), ("grpc_code", "InvalidArgument")]), 2.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[SERVICE, ("grpc_method", "Register"), ("grpc_code", "Internal")]), 0.0);
    assert_eq!(sample(&text, "grpc_server_started_total", &[SERVICE, ("grpc_method", "Register")]), 3.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_methods_are_unimplemented_and_create_no_series() {
    let server = start_scripted(&Scripted::default()).await;
    let mut raw = RawGrpc::connect(server.addr).await;
    let reply = raw.unary("/nova.auth.v1.AuthService/NoSuchMethod", &[], &[]).await;
    assert_eq!(reply.code, Code::Unimplemented, "{reply:?}");
    let text = scrape(server.metrics_addr).await;
    assert!(!text.contains("NoSuchMethod"), "{text}");
    server.stop().await.unwrap();
}

/// The kubelet cannot speak mutual TLS to the gRPC port, so probes ask the metrics port:
/// `/readyz` follows health (503 once the server drains), `/livez` answers while it runs.
#[tokio::test]
async fn probes_on_the_metrics_port_follow_health() {
    use nova_tests::metrics::get;
    let server = start_scripted(&Scripted::default()).await;
    assert_eq!(get(server.metrics_addr, "/readyz").await, (200, "SERVING\n".to_string()));
    assert_eq!(get(server.metrics_addr, "/livez").await.0, 200);
    assert_eq!(get(server.metrics_addr, "/nothing").await.0, 404);
    let mut watch = nova_tests::HealthWatch::start(server.addr, nova_auth::PROTO_SERVICE).await;
    watch.until(tonic_health::pb::health_check_response::ServingStatus::Serving).await;
    // SIGTERM: NOT_SERVING for the drain delay (5 s by default), still running.
    server.request_stop();
    watch.until(tonic_health::pb::health_check_response::ServingStatus::NotServing).await;
    assert_eq!(get(server.metrics_addr, "/readyz").await, (503, "NOT_SERVING\n".to_string()));
    assert_eq!(get(server.metrics_addr, "/livez").await.0, 200);
    server.stop().await.unwrap();
}

/// One connection cannot hold every task of a server: the server announces a cap on
/// concurrent calls per connection in its HTTP/2 SETTINGS (read here off the wire).
#[tokio::test]
async fn the_server_caps_concurrent_calls_per_connection() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start_scripted(&Scripted::default()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // The client preface and an empty SETTINGS frame.
    stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.unwrap();
    let announced = loop {
        let mut header = [0u8; 9];
        stream.read_exact(&mut header).await.unwrap();
        let length = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).await.unwrap();
        // A SETTINGS frame that is not an acknowledgement: six bytes per setting.
        if header[3] == 0x4 && header[4] & 0x1 == 0 {
            let max_streams =
                payload.chunks(6).find(|s| u16::from_be_bytes([s[0], s[1]]) == 0x3).map(|s| u32::from_be_bytes([s[2], s[3], s[4], s[5]]));
            break max_streams;
        }
    };
    assert_eq!(announced, Some(nova_runtime::server::DEFAULT_MAX_CONCURRENT_STREAMS));
    server.stop().await.unwrap();
}

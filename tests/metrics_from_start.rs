//! `/metrics` from the first moment: every server family, for every method and (handled)
//! every code, present at zero before any call; and no `grpc_client_*` series for calls a
//! server served, only for clients that exist.
//!
//! Alone in its test binary: it asserts on the process-wide client families, which another
//! test in the same process would create.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_tests::metrics::{sample, scrape};
use nova_tests::{Scripted, start_scripted};

const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

#[tokio::test]
async fn every_family_is_there_at_zero_from_the_start_and_served_calls_make_no_client_series() {
    let scripted = Scripted::default();
    scripted.put_user("u2", "bob");
    let server = start_scripted(&scripted).await;
    let text = scrape(server.metrics_addr).await;
    for rpc in nova_auth::rpc::ALL {
        let method = [("grpc_service", rpc.service), ("grpc_method", rpc.method)];
        assert_eq!(sample(&text, "grpc_server_started_total", &method), 0.0, "{}", rpc.method);
        for code in CODES {
            assert_eq!(sample(&text, "grpc_server_handled_total", &[method[0], method[1], ("grpc_code", code)]), 0.0, "{} {code}", rpc.method);
        }
        assert_eq!(sample(&text, "grpc_server_handling_seconds_count", &method), 0.0);
        assert_eq!(sample(&text, "grpc_server_handling_seconds_bucket", &[method[0], method[1], ("le", "0.1")]), 0.0);
    }
    assert!(!text.contains("grpc_client_"), "no client exists in this process yet:\n{text}");

    let mut raw = AuthServiceClient::new(nova_runtime::client::channel(&server.uri()).unwrap());
    raw.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap();
    let text = scrape(server.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_server_handled_total", &[("grpc_method", "GetUser"), ("grpc_code", "OK")]), 1.0);
    assert!(!text.contains("grpc_client_"), "a served call is not a client call:\n{text}");

    // What a client registers when it is created: its families, at zero, before any call.
    nova_runtime::metrics::register_client(nova_auth::rpc::ALL);
    let text = scrape(server.metrics_addr).await;
    for rpc in nova_auth::rpc::ALL {
        for code in CODES {
            let labels = [("grpc_service", rpc.service), ("grpc_method", rpc.method), ("grpc_code", code)];
            assert_eq!(sample(&text, "grpc_client_handled_total", &labels), 0.0, "{} {code}", rpc.method);
        }
        assert_eq!(sample(&text, "grpc_client_started_total", &[("grpc_service", rpc.service), ("grpc_method", rpc.method)]), 0.0);
    }

    // A call through the generated client: started once, handled once.
    let client = nova_auth::AuthClient::connect_lazy(&server.uri()).unwrap();
    client.get_user(pb::GetUserRequest { user_id: "u2".into() }).await.unwrap();
    let text = scrape(server.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_client_started_total", &[("grpc_method", "GetUser")]), 1.0);
    assert_eq!(sample(&text, "grpc_client_handled_total", &[("grpc_method", "GetUser"), ("grpc_code", "OK")]), 1.0);
    assert_eq!(sample(&text, "grpc_client_started_total", &[("grpc_method", "Login")]), 0.0);
    server.stop().await.unwrap();
}

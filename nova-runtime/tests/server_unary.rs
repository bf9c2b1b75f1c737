//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::LogicError;
use nova_runtime::context;
use nova_runtime::rpc::RpcDescriptor;
use nova_runtime::server::{parse_grpc_timeout, unary};
use tonic::{Request, Response, Status};
#[test]
fn grpc_timeouts_parse_all_units() {
    assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
    assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
    assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
    assert_eq!(parse_grpc_timeout("10u"), Some(Duration::from_micros(10)));
    assert_eq!(parse_grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
    assert_eq!(parse_grpc_timeout("123456789S"), None);
    assert_eq!(parse_grpc_timeout("5x"), None);
    assert_eq!(parse_grpc_timeout("S"), None);
}

static RPC: RpcDescriptor = RpcDescriptor {
    service: "test.v1.Test",
    method: "Do",
    owner: "test",
    idempotency: nova_runtime::rpc::Idempotency::Unknown,
    policy: nova_runtime::rpc::CallPolicy { deadline: Duration::from_secs(1), retry: None, cache: None },
    schema: 0,
};

#[tokio::test]
async fn panics_become_internal() {
    let result: Result<Response<()>, Status> = unary(&RPC, Request::new(()), |_, ()| async {
        if RPC.method == "Do" {
            panic!("boom");
        }
        Ok(())
    })
    .await;
    assert_eq!(result.unwrap_err().code(), tonic::Code::Internal);
}

#[tokio::test]
async fn the_callers_deadline_is_inherited_and_abandoned_calls_are_counted() {
    static SLOW: RpcDescriptor = RpcDescriptor { method: "Slow", ..RPC };
    let mut request = Request::new(());
    request.metadata_mut().insert("grpc-timeout", "50m".parse().unwrap());
    let call = unary(&SLOW, request, |ctx, ()| async move {
        assert!(ctx.remaining().unwrap() <= Duration::from_millis(50));
        assert_eq!(context::current_deadline(), ctx.deadline);
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<(), LogicError>(())
    });
    // What tonic's transport does when grpc-timeout expires: it drops the call.
    assert!(tokio::time::timeout(Duration::from_millis(60), call).await.is_err());
    let text = nova_runtime::metrics::render();
    let counted =
        text.lines().any(|l| l.starts_with("grpc_server_handled_total") && l.contains("grpc_method=\"Slow\"") && l.contains("DeadlineExceeded"));
    assert!(counted || nova_runtime::metrics::install().is_none(), "{text}");
}

#[tokio::test]
async fn errors_map_to_status_and_request_ids_pass_through() {
    let mut request = Request::new(());
    request.metadata_mut().insert("x-request-id", "abc".parse().unwrap());
    let result: Result<Response<()>, Status> = unary(&RPC, request, |ctx, ()| async move {
        assert_eq!(ctx.request_id, "abc");
        Err(LogicError::not_found("user 1"))
    })
    .await;
    let status = result.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(status.message(), "user 1");
}

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
    policy: nova_runtime::rpc::CallPolicy { deadline: Duration::from_secs(1), retry: None, cache: None, fail_closed: false },
    schema: 0,
    access: nova_runtime::identity::AccessPolicy::PUBLIC,
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
async fn the_callers_deadline_is_inherited_by_the_handler_and_its_outgoing_calls() {
    let mut request = Request::new(());
    request.metadata_mut().insert("grpc-timeout", "50m".parse().unwrap());
    let result: Result<Response<()>, Status> = unary(&RPC, request, |ctx, ()| async move {
        let remaining = ctx.remaining().unwrap();
        assert!(remaining <= Duration::from_millis(50) && !remaining.is_zero(), "{remaining:?}");
        assert_eq!(context::current_deadline(), ctx.deadline);
        Ok::<(), LogicError>(())
    })
    .await;
    result.unwrap();
    assert_eq!(context::current_deadline(), None, "only inside the handler");
}

#[tokio::test]
async fn request_ids_that_are_too_long_are_replaced() {
    let mut request = Request::new(());
    request.metadata_mut().insert("x-request-id", "x".repeat(500).parse().unwrap());
    let result: Result<Response<()>, Status> = unary(&RPC, request, |ctx, ()| async move {
        assert_eq!(ctx.request_id.len(), 36, "a fresh UUID: {}", ctx.request_id);
        Ok::<(), LogicError>(())
    })
    .await;
    result.unwrap();
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

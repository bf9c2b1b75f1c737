//! The wrapper every generated RPC handler runs in: the call's deadline, caller and request id
//! in scope, panics turned into `INTERNAL` without taking the process down, errors mapped and
//! logged. Deadline enforcement, call admission, the caller's identity and metrics happen
//! around it, in [`super::calls`], where the answer is built.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::time::Instant;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::calls::CallSlot;
use crate::context::{self, CallContext};
use crate::error::LogicError;
use crate::identity::Caller;
use crate::rpc::RpcDescriptor;

/// Runs one unary call: reads the caller's deadline and request id, runs `handler` under
/// that deadline (so outgoing calls inherit it), turns a panic into `INTERNAL`, and maps and
/// logs errors.
///
/// Served by [`super::serve`], the call is also admitted, timed out at its deadline with
/// `DEADLINE_EXCEEDED` and counted there.
///
/// # Errors
///
/// The status the caller gets: the handler's [`LogicError`] mapped by
/// [`LogicError::into_status`]; the access policy's refusal (`UNAUTHENTICATED`,
/// `PERMISSION_DENIED`) before the handler runs; `INTERNAL` when the handler panicked.
pub async fn unary<Req, Resp, F, Fut>(rpc: &'static RpcDescriptor, request: Request<Req>, handler: F) -> Result<Response<Resp>, Status>
where
    F: FnOnce(CallContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, LogicError>>,
{
    let slot = request.extensions().get::<Arc<CallSlot>>().cloned();
    let deadline = match &slot {
        Some(slot) => {
            slot.handler_started();
            slot.deadline
        }
        None => grpc_timeout(request.metadata()).map(|timeout| Instant::now() + timeout),
    };
    let request_id = request_id(request.metadata());
    let span = tracing::info_span!("grpc.server", service = rpc.service, method = rpc.method, request_id = %request_id);
    // Established and admitted by the server around it; without that server (a bare tonic
    // one), the caller is anonymous, and only a public RPC runs.
    let caller = request.extensions().get::<Arc<Caller>>().cloned().unwrap_or_default();
    if let Err(refused) = rpc.access.admits(&caller.principal) {
        return Err(span.in_scope(|| refused.into_status(&rpc.path(), &request_id)));
    }
    let (metadata, _extensions, message) = request.into_parts();
    let ctx =
        CallContext { rpc, deadline, request_id: request_id.clone(), metadata, principal: caller.principal.clone(), client_address: caller.address };
    let outcome = AssertUnwindSafe(context::serving(deadline, caller, handler(ctx, message))).catch_unwind().instrument(span.clone()).await;
    span.in_scope(|| match outcome {
        Ok(Ok(response)) => Ok(Response::new(response)),
        Ok(Err(error)) => Err(error.into_status(&rpc.path(), &request_id)),
        Err(panic) => {
            tracing::error!(method = %rpc.path(), request_id, panic = panic_message(&*panic), "handler panicked");
            Err(Status::internal(format!("internal error (request id {request_id})")))
        }
    })
}

/// `x-request-id` when it is a sensible id (short, printable), or a fresh one.
pub(crate) fn request_id(metadata: &MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= crate::convert::QUOTED_CHARS)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("non-string panic payload")
}

/// The `grpc-timeout` header: up to 8 digits and a unit (H, M, S, m, u, n).
pub(crate) fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    parse_grpc_timeout(value)
}

/// A `grpc-timeout` value (`100m`, `5S`, ...) as a duration; `None` when malformed (more than
/// 8 digits, an unknown unit, no digits).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

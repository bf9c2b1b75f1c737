//! What a handler knows about the call it serves, and the deadline it must pass on.
//!
//! The server wrapper runs each handler inside a task-local scope holding the call's
//! deadline, so that any generated client called from the handler sends downstream only the
//! time that is left, without the handler passing anything along.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

use crate::rpc::RpcDescriptor;

tokio::task_local! {
    static DEADLINE: Option<Instant>;
}

/// Per-call information handed to every `Logic` method.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub rpc: &'static RpcDescriptor,
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    pub deadline: Option<Instant>,
    /// `x-request-id` from the caller, or a fresh one; logged with every error.
    pub request_id: String,
    /// The request's metadata (headers), e.g. for authentication.
    pub metadata: MetadataMap,
}

impl CallContext {
    /// Time left before the deadline; `None` when the caller set none.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// Runs `future` with `deadline` as the deadline outgoing calls inherit.
pub async fn with_deadline<F: Future>(deadline: Option<Instant>, future: F) -> F::Output {
    DEADLINE.scope(deadline, future).await
}

/// The deadline of the call being served by this task, if any.
pub fn current_deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok().flatten()
}

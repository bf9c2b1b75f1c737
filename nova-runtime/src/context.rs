//! What a handler knows about the call it serves, and what it passes on to the calls it makes.
//!
//! The server wrapper runs each handler inside a task-local scope holding the call's deadline
//! and its caller, so that any generated client called from the handler sends downstream only
//! the time that is left, and the end user's token when it serves one, without the handler
//! passing anything along. A task spawned from a handler starts outside the scope: it calls
//! as the service itself, with no deadline inherited.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

use crate::identity::{Caller, Principal};
use crate::rpc::RpcDescriptor;

/// What the calls a handler makes inherit from the call it serves.
#[derive(Debug, Clone, Default)]
struct Scope {
    deadline: Option<Instant>,
    caller: Option<Arc<Caller>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Per-call information handed to every `Logic` method.
///
/// Built by the generated server (see [`crate::server::unary`]) once the caller is verified and
/// admitted; a handler reads who is calling from [`CallContext::principal`], never from the
/// request, and may check how much time is left with [`CallContext::remaining`] before
/// starting long work. Calls the handler makes through generated clients inherit its deadline
/// and caller on their own (see [`crate::context`]); the context need not be passed to them.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The RPC being served (its name, policies and access policy).
    pub rpc: &'static RpcDescriptor,
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    pub deadline: Option<Instant>,
    /// `x-request-id` from the caller, or a fresh one; logged with every error.
    pub request_id: String,
    /// The request's metadata (headers). Never read identity from it: use `principal`.
    pub metadata: MetadataMap,
    /// Who the call acts for, proven by the connection's certificate and the bearer token; the
    /// RPC's access policy admitted it and its acting fields are bound to it already.
    pub principal: Principal,
    /// Where the call comes from (the end user's address as the edge forwarded it, else the
    /// connection's): what per-source throttles key on.
    pub client_address: Option<IpAddr>,
}

impl CallContext {
    /// Time left before the deadline; `None` when the caller set none.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Binds the acting field `field` of the request (holding `value`) to the caller, as the
    /// RPC's access policy says (see [`crate::identity::AccessPolicy::bind`]): generated
    /// servers call it for every acting field before the handler runs.
    ///
    /// # Errors
    ///
    /// [`LogicError::PermissionDenied`](crate::LogicError::PermissionDenied) when `value` names
    /// another user than the caller's, [`LogicError::Unauthenticated`](crate::LogicError::Unauthenticated)
    /// when it names a user and the call carries no token; `value` is left as it was.
    pub fn bind(&self, field: &str, value: &mut String) -> Result<(), crate::error::LogicError> {
        self.rpc.access.bind(&self.principal, field, value)
    }

    /// The service calling as itself (no end user), when the RPC's policy lists it among the
    /// services it trusts (`services = [...]`): what handlers may answer more fully than an end
    /// user (`None` for anyone else, a listed service serving a user included).
    pub fn listed_service(&self) -> Option<&str> {
        match &self.principal {
            Principal::Service(name) if self.rpc.access.services.contains(&name.as_str()) => Some(name),
            _ => None,
        }
    }

    /// The end user the call acts for, or `UNAUTHENTICATED`: for handlers of RPCs that admit
    /// services as themselves as well, when a user is needed after all.
    ///
    /// # Errors
    ///
    /// [`LogicError::Unauthenticated`](crate::LogicError::Unauthenticated) when the call acts
    /// for no end user (anonymous, or a service calling as itself).
    pub fn require_user(&self) -> Result<uuid::Uuid, crate::error::LogicError> {
        self.principal.user_id().ok_or_else(|| crate::error::LogicError::Unauthenticated("this call needs a signed-in user".to_string()))
    }
}

/// Runs `future` with `deadline` as the deadline outgoing calls inherit (and no caller: they
/// call as the service itself).
pub async fn with_deadline<F: Future>(deadline: Option<Instant>, future: F) -> F::Output {
    SCOPE.scope(Scope { deadline, caller: None }, future).await
}

/// Runs `future` as the service itself, whatever call this task serves: outgoing calls keep the
/// deadline but carry no user's token (e.g. answers shared by every caller, which must not
/// depend on who asked first).
pub async fn as_service<F: Future>(future: F) -> F::Output {
    with_deadline(current_deadline(), future).await
}

/// Runs `future` serving `caller`: outgoing calls inherit `deadline` and forward the caller's
/// token, if it has one.
pub(crate) async fn serving<F: Future>(deadline: Option<Instant>, caller: Arc<Caller>, future: F) -> F::Output {
    SCOPE.scope(Scope { deadline, caller: Some(caller) }, future).await
}

/// The deadline of the call being served by this task, if any.
pub fn current_deadline() -> Option<Instant> {
    SCOPE.try_with(|s| s.deadline).ok().flatten()
}

/// The caller of the call being served by this task, if any.
pub(crate) fn current_caller() -> Option<Arc<Caller>> {
    SCOPE.try_with(|s| s.caller.clone()).ok().flatten()
}

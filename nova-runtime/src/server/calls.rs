//! The HTTP/2 service of a server: the routes (the service's own, health, reflection)
//! behind what every call of the service goes through, in one place where the answer is
//! built, so that what the caller sees and what `/metrics` counts always agree:
//!
//! - **admission**: while the database does not answer, calls get `UNAVAILABLE` at once;
//! - **deadline**: `grpc-timeout` is enforced here; an expired call is dropped (the handler
//!   with it) and answered `DEADLINE_EXCEEDED`, as the gRPC spec says (tonic's own server
//!   answers `CANCELLED`, which is why `serve` does not use it);
//! - **undecodable requests**: a request tonic could not turn into a message before the
//!   handler ran is the caller's fault: `INVALID_ARGUMENT`, not `INTERNAL`;
//! - **identity**: who calls ([`Caller`]): the peer its connection's certificate proves, the
//!   end user its bearer token proves (verified here, against the issuer's keys and
//!   revocations), and the RPC's access policy checked against both, a permission included,
//!   before the call reaches its handler;
//! - **metrics**: every call is counted when its answer is ready, before it leaves; a call
//!   the client abandons is counted `Canceled`;
//! - **draining**: calls are tracked in flight until their response body is sent; when the
//!   grace period is over, calls still running are cut and answered `UNAVAILABLE`.
//!
//! Health and reflection pass through untouched, except that their streams end when the
//! server stops, so that a health watcher does not hold a stopping server open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{HeaderMap, Request, Response};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::{Code, Status};
use tower::ServiceExt as _;

use super::connections::ConnectionInfo;
use super::readiness::Readiness;
use super::unary::parse_grpc_timeout;
use crate::convert::quote;
use crate::identity::{Caller, Identity, Peer, Principal, UserPrincipal, VerifyError};
use crate::metrics::server::{MethodMetrics, ServerMetrics};
use crate::rpc::RpcDescriptor;
use crate::tls::PLAINTEXT_PEER_HEADER;

/// What the layer tells the handler wrapper about a call, through the request's extensions.
#[derive(Debug)]
pub(crate) struct CallSlot {
    /// When the caller stops waiting, from `grpc-timeout` at arrival.
    pub(crate) deadline: Option<Instant>,
    handler_started: AtomicBool,
}

impl CallSlot {
    pub(crate) fn handler_started(&self) {
        self.handler_started.store(true, Ordering::SeqCst);
    }
}

/// Calls of the service being served, counted until their response is sent.
#[derive(Debug, Clone)]
pub(crate) struct InFlight(Arc<watch::Sender<usize>>);

/// One call in flight; dropping it ends the call.
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<watch::Sender<usize>>);

impl InFlight {
    pub(crate) fn new() -> Self {
        InFlight(Arc::new(watch::channel(0).0))
    }

    fn enter(&self) -> InFlightGuard {
        self.0.send_modify(|n| *n += 1);
        InFlightGuard(Arc::clone(&self.0))
    }

    pub(crate) fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// Completes when no call is in flight.
    pub(crate) async fn idle(&self) {
        // The sender lives in `self`: the channel cannot close while we wait.
        let _ = self.0.subscribe().wait_for(|n| *n == 0).await;
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// What every call shares.
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) proto_service: &'static str,
    /// The service's RPCs by path: their access policies.
    pub(crate) rpcs: HashMap<String, &'static RpcDescriptor>,
    pub(crate) identity: Identity,
    pub(crate) metrics: Arc<ServerMetrics>,
    pub(crate) readiness: Arc<Readiness>,
    pub(crate) in_flight: InFlight,
    /// Turns true when the grace period is over: calls still running are cut.
    pub(crate) cut: watch::Receiver<bool>,
    /// Turns true when the drain is over: health watches and reflection streams end.
    pub(crate) streams_end: watch::Receiver<bool>,
}

/// The HTTP/2 service a connection serves.
#[derive(Debug, Clone)]
pub(crate) struct Calls {
    pub(crate) routes: Routes,
    pub(crate) state: Arc<CallState>,
    /// What the transport proved about the connection these calls arrive on.
    pub(crate) connection: Option<Arc<ConnectionInfo>>,
}

impl Calls {
    /// These calls, on a connection the transport described with `info`.
    pub(crate) fn on(self, info: ConnectionInfo) -> Self {
        Calls { connection: Some(Arc::new(info)), ..self }
    }
}

impl hyper::service::Service<Request<Incoming>> for Calls {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let (routes, state, connection) = (self.routes.clone(), Arc::clone(&self.state), self.connection.clone());
        Box::pin(async move { Ok(state.respond(routes, request, connection).await) })
    }
}

impl CallState {
    async fn respond(self: Arc<Self>, routes: Routes, request: Request<Incoming>, connection: Option<Arc<ConnectionInfo>>) -> Response<ResponseBody> {
        let Some(method) = self.metrics.method(request.uri().path()) else {
            let response = routes.oneshot(request).await.unwrap_or_else(|never| match never {});
            return response.map(|body| ResponseBody::until_stopped(body, self.streams_end.clone()));
        };
        let in_flight = self.in_flight.enter();
        // Every call has a request id from here on: the caller's, or a fresh one that the
        // handler, its errors and this call's log line all name.
        let mut request = request;
        let request_id = ensure_request_id(request.headers_mut());
        let mut record = Record { method, started: Instant::now(), finished: false };
        method.started();
        let response = self.run(method, routes, request, connection.as_deref()).await;
        let code = status_code(response.headers());
        record.finish(code);
        tracing::debug!(method = method.name(), code = ?code, duration_ms = (record.started.elapsed().as_secs_f64() * 1e6).round() / 1e3, request_id, "call");
        response.map(|body| ResponseBody { inner: body, ending: Ending::Tracked(Some(in_flight)) })
    }

    async fn run(
        &self,
        method: &MethodMetrics,
        routes: Routes,
        mut request: Request<Incoming>,
        connection: Option<&ConnectionInfo>,
    ) -> Response<Body> {
        if !self.readiness.admits_calls() {
            return Status::unavailable(format!("{} is not ready: its database does not answer; retry later", self.proto_service)).into_http();
        }
        let timeout = request.headers().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(parse_grpc_timeout);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let slot = Arc::new(CallSlot { deadline, handler_started: AtomicBool::new(false) });
        request.extensions_mut().insert(Arc::clone(&slot));
        let request_id = request_id(request.headers());
        let expired = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let mut cut = self.cut.clone();
        let rpc = self.rpcs.get(request.uri().path()).copied();
        let call = async {
            if let Some(rpc) = rpc {
                match self.identify(rpc, request.headers(), connection).await {
                    Ok(caller) => {
                        request.extensions_mut().insert(Arc::new(caller));
                    }
                    Err(refused) => return refused.into_http(),
                }
            }
            let response = routes.oneshot(request).await.unwrap_or_else(|never| match never {});
            undecodable_is_invalid_argument(response, &slot, method)
        };
        tokio::select! {
            response = call => response,
            () = expired => {
                let timeout = timeout.unwrap_or_default();
                tracing::warn!(method = method.name(), request_id, timeout = ?timeout, "deadline exceeded: call dropped");
                Status::deadline_exceeded(format!("{} did not finish within its deadline ({timeout:?})", method.name())).into_http()
            }
            _ = cut.wait_for(|cut| *cut) => {
                tracing::warn!(method = method.name(), request_id, "grace period over: call cut off");
                Status::unavailable("the server stopped before the call finished").into_http()
            }
        }
    }
}

impl CallState {
    /// Who calls, as the connection and the token prove, admitted by `rpc`'s access policy
    /// (a permission checked with the issuer); the refusal to send otherwise.
    async fn identify(&self, rpc: &'static RpcDescriptor, headers: &HeaderMap, connection: Option<&ConnectionInfo>) -> Result<Caller, Status> {
        let peer = match connection.and_then(|c| c.peer.clone()) {
            Some(peer) => peer,
            // Plaintext (explicitly local): a service is whoever the header says.
            None => match headers
                .get(PLAINTEXT_PEER_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|name| crate::tls::spiffe::parse(&format!("spiffe://{}/svc/{name}", crate::tls::spiffe::TRUST_DOMAIN)))
            {
                Some(peer) => peer,
                None => Peer::Client("plaintext".to_string()),
            },
        };
        let token = bearer_token(headers)?;
        let user = match &token {
            None => None,
            Some(token) => match self.identity.verifier.verify(token).await {
                Ok(claims) => Some(claims),
                Err(VerifyError::Refused(why)) => return Err(Status::unauthenticated(why.to_string())),
                Err(VerifyError::Unavailable(why)) => return Err(Status::unavailable(why)),
            },
        };
        let principal = match (&peer, user) {
            (Peer::Service(name), Some(claims)) => {
                Principal::User(UserPrincipal { id: claims.user, session_id: claims.session, via: Some(name.clone()) })
            }
            (Peer::Client(_), Some(claims)) => Principal::User(UserPrincipal { id: claims.user, session_id: claims.session, via: None }),
            (Peer::Service(name), None) => Principal::Service(name.clone()),
            (Peer::Client(_), None) => Principal::Anonymous,
        };
        rpc.access.admits(&principal).map_err(|refused| refused.into_status(&rpc.path(), ""))?;
        if let Some((permission, user)) = rpc.access.needs_permission(&principal) {
            match self.identity.permissions.has(user, permission).await {
                Ok(true) => {}
                Ok(false) => return Err(Status::permission_denied(format!("this call needs the permission {permission}"))),
                Err(status) => {
                    // Fail closed: no answer from the issuer is no permission.
                    tracing::warn!(permission, code = ?status.code(), message = status.message(), "cannot check a permission with the token issuer");
                    return Err(Status::unavailable(format!("cannot check the permission {permission} now; retry later")));
                }
            }
        }
        let address = forwarded_for(&peer, headers).or_else(|| connection.and_then(|c| c.remote).map(|addr| addr.ip()));
        Ok(Caller { principal, token: token.map(Arc::from), address })
    }
}

/// The token of `authorization: Bearer <token>`, if the header is there; a header of another
/// shape is refused rather than ignored.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, Status> {
    let Some(value) = headers.get("authorization") else { return Ok(None) };
    let refused = || Status::unauthenticated("authorization must be `Bearer <access token>`");
    let value = value.to_str().map_err(|_| refused())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(refused)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(refused());
    }
    Ok(Some(token.to_string()))
}

/// The end user's address as a client peer (the edge) forwards it: the first entry of
/// `x-forwarded-for`. Never believed from a service (it has no end user's address to give)
/// nor without a header.
fn forwarded_for(peer: &Peer, headers: &HeaderMap) -> Option<IpAddr> {
    if !matches!(peer, Peer::Client(_)) {
        return None;
    }
    headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next()?.trim().parse().ok()
}

/// Counts a call once: when its answer is ready, or as `Canceled` if the caller left first.
struct Record<'a> {
    method: &'a MethodMetrics,
    started: Instant,
    finished: bool,
}

impl Record<'_> {
    fn finish(&mut self, code: Code) {
        self.finished = true;
        self.method.handled(code, self.started.elapsed());
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if !self.finished {
            tracing::info!(method = self.method.name(), elapsed = ?self.started.elapsed(), "call abandoned by the client");
            self.method.handled(Code::Cancelled, self.started.elapsed());
        }
    }
}

/// The status of a response: in its headers for errors (trailers-only), otherwise OK (in
/// the trailers that follow the message).
fn status_code(headers: &HeaderMap) -> Code {
    headers.get("grpc-status").map_or(Code::Ok, |value| Code::from_bytes(value.as_bytes()))
}

/// The call's `x-request-id` when it is a sensible id (short, printable); otherwise a fresh one,
/// written into the headers so that the handler sees the same id.
fn ensure_request_id(headers: &mut HeaderMap) -> String {
    if let Some(id) = request_id(headers).filter(|id| !id.is_empty()) {
        return id;
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = hyper::header::HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    id
}

/// `x-request-id`, when short enough to log.
fn request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get("x-request-id")?.to_str().ok()?;
    (id.len() <= crate::convert::QUOTED_CHARS).then(|| id.to_string())
}

/// `INTERNAL` from tonic before the handler ran means the request did not decode (bad
/// protobuf, a truncated frame, no message at all): the caller's fault.
fn undecodable_is_invalid_argument(response: Response<Body>, slot: &CallSlot, method: &MethodMetrics) -> Response<Body> {
    if slot.handler_started.load(Ordering::SeqCst) || status_code(response.headers()) != Code::Internal {
        return response;
    }
    let detail = response.headers().get("grpc-message").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info!(method = method.name(), detail = %quote(detail), "request does not decode");
    Status::invalid_argument(format!("the request is not a valid {} request message", method.name())).into_http()
}

/// A response body as the connection sends it.
pub(crate) struct ResponseBody {
    inner: Body,
    ending: Ending,
}

enum Ending {
    /// A call of the service: in flight until its body is done (or dropped).
    Tracked(Option<InFlightGuard>),
    /// A health watch or a reflection stream: ended (`UNAVAILABLE`) when the server stops.
    UntilStopped { stop: Pin<Box<dyn Future<Output = ()> + Send>>, ended: bool },
}

impl ResponseBody {
    fn until_stopped(inner: Body, mut streams_end: watch::Receiver<bool>) -> Self {
        let stop = Box::pin(async move {
            // A closed channel means the server is gone: end too.
            let _ = streams_end.wait_for(|end| *end).await;
        });
        ResponseBody { inner, ending: Ending::UntilStopped { stop, ended: false } }
    }
}

impl hyper::body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        match &mut this.ending {
            Ending::Tracked(in_flight) => {
                let polled = Pin::new(&mut this.inner).poll_frame(cx);
                if matches!(polled, Poll::Ready(None)) {
                    in_flight.take();
                }
                polled
            }
            Ending::UntilStopped { ended: true, .. } => Poll::Ready(None),
            Ending::UntilStopped { stop, ended } => {
                if stop.as_mut().poll(cx).is_ready() {
                    *ended = true;
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", hyper::header::HeaderValue::from(Code::Unavailable as i32));
                    trailers.insert("grpc-message", hyper::header::HeaderValue::from_static("server%20stopping"));
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
                Pin::new(&mut this.inner).poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.ending, Ending::UntilStopped { ended: true, .. }) || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

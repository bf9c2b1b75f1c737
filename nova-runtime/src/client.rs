//! The client half: the call path every generated client method goes through.
//!
//! A call gets one deadline for all its work: the RPC's policy deadline, shortened to what is
//! left of the deadline of the call being served (when a server calls another service), and
//! sent downstream in `grpc-timeout`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::config::{ConfigError, env_or};
use crate::context;
use crate::rpc::RpcDescriptor;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {uri:?}")]
    Endpoint {
        uri: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A lazily connecting channel to `uri` (e.g. `http://127.0.0.1:50051`): constructing a client
/// never fails because a dependency is down; calls do, and are retried or fail fast.
pub fn channel(uri: &str) -> Result<Channel, ClientError> {
    let endpoint = Endpoint::from_shared(uri.to_string()).map_err(|source| ClientError::Endpoint { uri: uri.to_string(), source })?;
    Ok(endpoint.connect_timeout(Duration::from_secs(1)).tcp_nodelay(true).http2_keep_alive_interval(Duration::from_secs(30)).connect_lazy())
}

/// `NOVA_<SERVICE>_ENDPOINT`, default `http://127.0.0.1:<default_port>`.
pub fn endpoint_from_env(service: &str, default_port: u16) -> Result<String, ClientError> {
    let name = format!("NOVA_{}_ENDPOINT", service.to_ascii_uppercase());
    Ok(env_or(&name, format!("http://127.0.0.1:{default_port}"))?)
}

/// What a generated client holds: the channel to one target service.
#[derive(Debug, Clone)]
pub struct ClientCore {
    target: &'static str,
    channel: Channel,
}

impl ClientCore {
    pub fn new(target: &'static str, channel: Channel) -> Self {
        ClientCore { target, channel }
    }

    /// The service this client calls, e.g. `auth`.
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// Makes one logical call: `attempt` performs the RPC on a channel (generated code wraps
    /// the tonic client method); it is `Fn` because the call policy may repeat it.
    pub async fn unary<Req, Resp, F, Fut>(&self, rpc: &'static RpcDescriptor, request: Req, attempt: F) -> Result<Resp, Status>
    where
        Req: Clone,
        F: Fn(Channel, Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let deadline = call_deadline(rpc.policy.deadline, context::current_deadline(), Instant::now());
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Status::deadline_exceeded(format!("no time left to call {}", rpc.path())));
        }
        let mut request = Request::new(request);
        request.set_timeout(left);
        match tokio::time::timeout_at(deadline, attempt(self.channel.clone(), request)).await {
            Ok(result) => result.map(Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!("{} took longer than {left:?}", rpc.path()))),
        }
    }
}

/// The deadline of an outgoing call: the policy's, never later than the inherited one.
pub fn call_deadline(policy: Duration, inherited: Option<Instant>, now: Instant) -> Instant {
    let own = now + policy;
    match inherited {
        Some(inherited) if inherited < own => inherited,
        _ => own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_deadlines_only_shorten() {
        let now = Instant::now();
        let policy = Duration::from_millis(300);
        assert_eq!(call_deadline(policy, None, now), now + policy);
        let sooner = now + Duration::from_millis(100);
        assert_eq!(call_deadline(policy, Some(sooner), now), sooner);
        let later = now + Duration::from_secs(5);
        assert_eq!(call_deadline(policy, Some(later), now), now + policy);
    }

    #[test]
    fn endpoints_default_to_loopback() {
        assert_eq!(endpoint_from_env("nonexistent_service_x", 50099).unwrap(), "http://127.0.0.1:50099");
        assert!(channel("not a uri").is_err());
    }
}

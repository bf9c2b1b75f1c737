//! The token issuer over gRPC, for every service but the issuer itself: its
//! `GetTokenVerification` (keys and revocations) and `CheckPermission` RPCs, called with this
//! service's own certificate. The messages are mirrored here field by field from the issuer's
//! proto (auth.proto), which must keep these field numbers and types; the system tests call
//! the real issuer through this code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_prost::ProstCodec;
use uuid::Uuid;

use super::source::{KeySource, Revocation, RevokedSubject, SourceFuture, VerificationKey, VerificationState};
use super::{PermissionFuture, Permissions};

/// The service that signs access tokens, as the spec names it (`[defaults] token_issuer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuer {
    /// The nova service, e.g. `auth`.
    pub service: &'static str,
    /// Its proto service, e.g. `nova.auth.v1.AuthService`.
    pub proto_service: &'static str,
    /// Its port when no endpoint is configured.
    pub default_port: u16,
}

/// How long one poll or permission check may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, PartialEq, prost::Message)]
struct GetTokenVerificationRequest {
    #[prost(int64, tag = "1")]
    revocations_after: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GetTokenVerificationResponse {
    #[prost(string, tag = "1")]
    issuer: String,
    #[prost(message, repeated, tag = "2")]
    keys: Vec<WireKey>,
    #[prost(message, repeated, tag = "3")]
    revocations: Vec<WireRevocation>,
    #[prost(int64, tag = "4")]
    cursor: i64,
    #[prost(bool, tag = "5")]
    more: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireKey {
    #[prost(string, tag = "1")]
    kid: String,
    #[prost(string, tag = "2")]
    algorithm: String,
    #[prost(bytes = "vec", tag = "3")]
    public_key: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    not_after: Option<prost_types::Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRevocation {
    #[prost(string, tag = "1")]
    session_id: String,
    #[prost(string, tag = "2")]
    user_id: String,
    #[prost(message, optional, tag = "3")]
    revoked_at: Option<prost_types::Timestamp>,
    #[prost(message, optional, tag = "4")]
    expires_at: Option<prost_types::Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CheckPermissionRequest {
    #[prost(string, tag = "1")]
    user_id: String,
    #[prost(string, tag = "2")]
    permission: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CheckPermissionResponse {
    #[prost(bool, tag = "1")]
    allowed: bool,
}

/// The issuer at the other end of `channel`.
#[derive(Debug, Clone)]
pub struct RemoteIssuer {
    channel: Channel,
    verification: PathAndQuery,
    permission: PathAndQuery,
}

fn system_time(timestamp: Option<&prost_types::Timestamp>) -> Option<SystemTime> {
    let timestamp = timestamp?;
    let seconds = u64::try_from(timestamp.seconds).ok()?;
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

impl RemoteIssuer {
    /// The issuer `issuer` reached over `channel` (normally a mutual-TLS channel presenting
    /// this service's certificate, see [`crate::client::tls_channel`]). Nothing is sent yet.
    ///
    /// # Errors
    ///
    /// `INTERNAL` when `issuer.proto_service` does not make a valid request path.
    pub fn new(issuer: &Issuer, channel: Channel) -> Result<Self, Status> {
        let path = |method: &str| {
            PathAndQuery::try_from(format!("/{}/{method}", issuer.proto_service)).map_err(|e| Status::internal(format!("issuer path: {e}")))
        };
        Ok(RemoteIssuer { channel, verification: path("GetTokenVerification")?, permission: path("CheckPermission")? })
    }

    async fn call<Req, Resp>(&self, path: PathAndQuery, message: Req) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let mut request = Request::new(message);
        request.set_timeout(CALL_TIMEOUT);
        let call = async {
            grpc.ready().await.map_err(|e| Status::unavailable(format!("the token issuer is unreachable: {e}")))?;
            grpc.unary(request, path, ProstCodec::<Req, Resp>::default()).await
        };
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!("the token issuer did not answer within {CALL_TIMEOUT:?}"))),
        }
    }
}

impl KeySource for RemoteIssuer {
    fn fetch(&self, revocations_after: i64) -> SourceFuture<'_> {
        Box::pin(async move {
            let response: GetTokenVerificationResponse =
                self.call(self.verification.clone(), GetTokenVerificationRequest { revocations_after }).await?;
            let keys = response
                .keys
                .into_iter()
                .filter(|key| key.algorithm == "EdDSA")
                .map(|key| VerificationKey { not_after: system_time(key.not_after.as_ref()), kid: key.kid, public_key: key.public_key })
                .collect();
            let mut revocations = Vec::with_capacity(response.revocations.len());
            for wire in response.revocations {
                let subject = match (Uuid::parse_str(&wire.session_id), Uuid::parse_str(&wire.user_id)) {
                    (Ok(session), _) => RevokedSubject::Session(session),
                    (_, Ok(user)) => RevokedSubject::User(user),
                    _ => return Err(Status::internal("the token issuer sent a revocation naming neither a session nor a user")),
                };
                let (Some(revoked_at), Some(expires_at)) = (system_time(wire.revoked_at.as_ref()), system_time(wire.expires_at.as_ref())) else {
                    return Err(Status::internal("the token issuer sent a revocation without its times"));
                };
                revocations.push(Revocation { subject, revoked_at, expires_at });
            }
            Ok(VerificationState { issuer: response.issuer, keys, revocations, cursor: response.cursor, more: response.more })
        })
    }
}

impl Permissions for RemoteIssuer {
    fn has(&self, user: Uuid, permission: &'static str) -> PermissionFuture<'_> {
        Box::pin(async move {
            let request = CheckPermissionRequest { user_id: user.to_string(), permission: permission.to_string() };
            let response: CheckPermissionResponse = self.call(self.permission.clone(), request).await?;
            Ok(response.allowed)
        })
    }
}

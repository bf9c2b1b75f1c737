//! Who is calling: what the connection's certificate proves (the peer) combined with what the
//! bearer token proves (the end user), never what a request field says.

use std::fmt;
use std::net::IpAddr;

use uuid::Uuid;

/// What the transport proves about the other end of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A nova service, by its certificate (`spiffe://<trust domain>/svc/<name>`).
    Service(String),
    /// A client that is not a nova service (`spiffe://<trust domain>/client/<name>`): the edge
    /// that fronts end users, an operator's tool. It is trusted to forward end users' tokens
    /// and their addresses, nothing more.
    Client(String),
}

impl Peer {
    /// The SPIFFE-style path of this identity, e.g. `svc/auth` or `client/edge`.
    pub fn path(&self) -> String {
        match self {
            Peer::Service(name) => format!("svc/{name}"),
            Peer::Client(name) => format!("client/{name}"),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A verified end user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserPrincipal {
    /// The user's id (the token's `sub`).
    pub id: Uuid,
    /// The session the token belongs to (`sid`): what Logout revokes.
    pub session_id: Uuid,
    /// The nova service that forwarded the user's token while serving them, if the user did not
    /// call directly (through the edge).
    pub via: Option<String>,
}

/// Who a call acts for, as the generated server established it before the handler ran.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Principal {
    /// Nobody signed in: a call through the edge (or a tool) without a token. Reads see what
    /// the anonymous audience may see.
    #[default]
    Anonymous,
    /// A verified end user, directly or through a service serving them (see
    /// [`UserPrincipal::via`]).
    User(UserPrincipal),
    /// A nova service calling as itself (not while serving a user, e.g. a background job).
    Service(String),
}

impl Principal {
    /// The end user the call acts for, directly or through a service.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Principal::User(user) => Some(user.id),
            _ => None,
        }
    }

    /// The verified user, if any.
    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(user) => Some(user),
            _ => None,
        }
    }

    /// The nova service on the other end of the connection: the caller itself, or the one that
    /// forwarded a user's token.
    pub fn service(&self) -> Option<&str> {
        match self {
            Principal::Service(name) => Some(name),
            Principal::User(UserPrincipal { via: Some(name), .. }) => Some(name),
            _ => None,
        }
    }

    /// Whether the caller is `user` in person or a service acting for them.
    pub fn is_user(&self, user: Uuid) -> bool {
        self.user_id() == Some(user)
    }

    /// Whether the caller is a nova service (as itself or for a user): services are trusted
    /// with more than end users (e.g. another user's email), as their certificate proves.
    pub fn is_service(&self) -> bool {
        self.service().is_some()
    }

    /// A short stable text for cache keys and logs: `anon`, `user:<id>`, `user:<id>@svc/<name>`,
    /// `svc/<name>`.
    pub fn key(&self) -> String {
        match self {
            Principal::Anonymous => "anon".to_string(),
            Principal::User(UserPrincipal { id, via: None, .. }) => format!("user:{id}"),
            Principal::User(UserPrincipal { id, via: Some(service), .. }) => format!("user:{id}@svc/{service}"),
            Principal::Service(name) => format!("svc/{name}"),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// What the server knows about the caller beyond the request: established once per call by
/// the server, before the handler runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// Who the call acts for (what [`crate::CallContext::principal`] holds).
    pub(crate) principal: Principal,
    /// The end user's access token as received, forwarded on the calls the handler makes
    /// while serving them (so the callee verifies the user itself).
    pub(crate) token: Option<std::sync::Arc<str>>,
    /// Where the call comes from: the address the edge forwarded (`x-forwarded-for`, trusted
    /// from client peers only), else the connection's remote address. Throttles key on it.
    pub(crate) address: Option<IpAddr>,
}

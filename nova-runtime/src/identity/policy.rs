//! Who may call an RPC, as declared in specs/ownership.toml (`access = ...`) and emitted by
//! nova-gen into each RPC's descriptor; checked by the generated server before any
//! handwritten line runs.

use uuid::Uuid;

use super::principal::Principal;
use crate::error::LogicError;

/// The kind of caller an RPC admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not; the handler sees the viewer if there is one.
    Public,
    /// A verified end user (in person or through a service serving them); the services of
    /// [`AccessPolicy::services`] may also call as themselves.
    User,
    /// Only the nova services of [`AccessPolicy::services`], as themselves or for a user; end
    /// users are refused.
    Service,
    /// An end user holding this permission (checked with the token issuer), or one of the
    /// services of [`AccessPolicy::services`].
    Permission(&'static str),
}

/// The access policy of one RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The kind of caller admitted.
    pub access: Access,
    /// For [`Access::Service`]: the services that may call (by default those whose `calls`
    /// list the owner). For the others: services that may also call as themselves, and are
    /// trusted to name any user in the acting fields (also while serving a user: messaging
    /// reads the recipient's settings while serving the sender).
    pub services: &'static [&'static str],
    /// Request fields naming the acting user (`author_id`, `viewer_id`, ...): bound to the
    /// caller's user by the generated server (empty -> the caller's id; another id ->
    /// `PERMISSION_DENIED`; a call without a user leaves them empty).
    pub acting: &'static [&'static str],
    /// The answer is the same for every caller the policy admits: cached responses are shared
    /// by all callers (`shared = true` in the spec). Otherwise the cache keys every response by
    /// who asked.
    pub shared: bool,
}

impl AccessPolicy {
    /// Anyone; no acting field; answers per caller.
    pub const PUBLIC: AccessPolicy = AccessPolicy { access: Access::Public, services: &[], acting: &[], shared: false };

    /// A short human description, e.g. `user (author_id bound to the caller)`.
    pub fn describe(&self) -> String {
        let mut text = match self.access {
            Access::Public => "public".to_string(),
            Access::User => "user".to_string(),
            Access::Service => format!("service ({})", self.services.join(", ")),
            Access::Permission(permission) => format!("permission `{permission}`"),
        };
        if !matches!(self.access, Access::Service) && !self.services.is_empty() {
            text.push_str(&format!("; also {} calling as themselves", self.services.join(", ")));
        }
        if !self.acting.is_empty() {
            text.push_str(&format!("; {} bound to the caller", self.acting.join(", ")));
        }
        text
    }

    fn lists(&self, service: &str) -> bool {
        self.services.contains(&service)
    }

    /// Whether the call may go on as far as the caller's kind is concerned. A permission is
    /// checked afterwards ([`AccessPolicy::needs_permission`]), against the issuer.
    ///
    /// # Errors
    ///
    /// [`LogicError::Unauthenticated`] for an anonymous caller of an RPC that needs a user;
    /// [`LogicError::PermissionDenied`] for a service the policy does not list, or an end user
    /// of a service-only RPC.
    pub fn admits(&self, principal: &Principal) -> Result<(), LogicError> {
        match (self.access, principal) {
            (Access::Public, _) => Ok(()),
            (Access::User | Access::Permission(_), Principal::User(_)) => Ok(()),
            (Access::User | Access::Permission(_) | Access::Service, Principal::Service(name)) if self.lists(name) => Ok(()),
            (Access::Service, Principal::User(user)) if user.via.as_deref().is_some_and(|name| self.lists(name)) => Ok(()),
            (Access::User | Access::Permission(_), Principal::Anonymous) => {
                Err(LogicError::Unauthenticated("this call needs a signed-in user: send `authorization: Bearer <access token>`".to_string()))
            }
            (Access::Service, _) => Err(LogicError::PermissionDenied(format!("only the services {} may make this call", or_nobody(self.services)))),
            (_, Principal::Service(name)) => Err(LogicError::PermissionDenied(format!(
                "the service {name} may not make this call as itself: forward the user's token, or list {name} in the RPC's `services`"
            ))),
        }
    }

    /// The permission the caller's user must hold, once [`AccessPolicy::admits`] passed: `None`
    /// when nothing more is to be checked (other kinds, or a listed service as itself).
    pub fn needs_permission(&self, principal: &Principal) -> Option<(&'static str, Uuid)> {
        match (self.access, principal) {
            (Access::Permission(permission), Principal::User(user)) => Some((permission, user.id)),
            _ => None,
        }
    }

    /// Binds the acting field `field` (holding `value`) to the caller: the caller's user id
    /// when empty; `PERMISSION_DENIED` when it names someone else. A listed service (as itself
    /// or serving a user) may name anyone; a call without a user may name nobody.
    ///
    /// # Errors
    ///
    /// [`LogicError::PermissionDenied`] when `value` names another user than the caller's (or
    /// is not an id), or names a user while an unlisted service calls as itself;
    /// [`LogicError::Unauthenticated`] when it names a user and the call is anonymous. `value`
    /// is left as it was.
    pub fn bind(&self, principal: &Principal, field: &str, value: &mut String) -> Result<(), LogicError> {
        if principal.service().is_some_and(|name| self.lists(name)) {
            if let (true, Some(user)) = (value.is_empty(), principal.user_id()) {
                *value = user.to_string();
            }
            return Ok(());
        }
        match principal {
            Principal::User(user) => {
                if value.is_empty() {
                    *value = user.id.to_string();
                    return Ok(());
                }
                match Uuid::parse_str(value) {
                    Ok(named) if named == user.id => {
                        // Canonical form, whatever case or hyphenation the caller used.
                        *value = named.to_string();
                        Ok(())
                    }
                    _ => Err(LogicError::PermissionDenied(format!(
                        "{field} must be the signed-in user's own id (or empty): a call acts only for the user whose token it carries"
                    ))),
                }
            }
            _ if value.is_empty() => Ok(()),
            Principal::Anonymous => {
                Err(LogicError::Unauthenticated(format!("{field} names a user, but the call carries no token: sign in as that user")))
            }
            Principal::Service(name) => {
                Err(LogicError::PermissionDenied(format!("{field} names a user, but the service {name} calls as itself: forward that user's token")))
            }
        }
    }
}

fn or_nobody(services: &[&str]) -> String {
    if services.is_empty() { "(none)".to_string() } else { services.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::principal::UserPrincipal;

    fn user(id: Uuid, via: Option<&str>) -> Principal {
        Principal::User(UserPrincipal { id, session_id: Uuid::nil(), via: via.map(str::to_string) })
    }

    const USER: AccessPolicy = AccessPolicy { access: Access::User, services: &["feed"], acting: &["user_id"], shared: false };
    const SERVICE: AccessPolicy = AccessPolicy { access: Access::Service, services: &["content", "user"], acting: &[], shared: false };

    fn code(result: Result<(), LogicError>) -> Option<tonic::Code> {
        result.err().map(|e| e.into_status("/t/T", "r").code())
    }

    #[test]
    fn kinds_of_callers_are_admitted_as_declared() {
        let alice = Uuid::new_v4();
        assert_eq!(code(AccessPolicy::PUBLIC.admits(&Principal::Anonymous)), None);
        assert_eq!(code(USER.admits(&Principal::Anonymous)), Some(tonic::Code::Unauthenticated));
        assert_eq!(code(USER.admits(&user(alice, None))), None);
        assert_eq!(code(USER.admits(&user(alice, Some("content")))), None);
        assert_eq!(code(USER.admits(&Principal::Service("feed".into()))), None);
        assert_eq!(code(USER.admits(&Principal::Service("media".into()))), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(SERVICE.admits(&Principal::Service("user".into()))), None);
        assert_eq!(code(SERVICE.admits(&user(alice, Some("content")))), None);
        assert_eq!(code(SERVICE.admits(&user(alice, None))), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(SERVICE.admits(&user(alice, Some("media")))), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(SERVICE.admits(&Principal::Anonymous)), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(SERVICE.admits(&Principal::Service("media".into()))), Some(tonic::Code::PermissionDenied));
        let admin = AccessPolicy { access: Access::Permission("auth.admin"), services: &[], acting: &[], shared: false };
        assert_eq!(admin.needs_permission(&user(alice, None)), Some(("auth.admin", alice)));
        assert_eq!(code(admin.admits(&Principal::Anonymous)), Some(tonic::Code::Unauthenticated));
    }

    #[test]
    fn acting_fields_are_bound_to_the_caller() {
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let mut empty = String::new();
        USER.bind(&user(alice, None), "user_id", &mut empty).unwrap();
        assert_eq!(empty, alice.to_string());
        let mut upper = alice.to_string().to_uppercase();
        USER.bind(&user(alice, Some("content")), "user_id", &mut upper).unwrap();
        assert_eq!(upper, alice.to_string());
        let mut other = bob.to_string();
        assert_eq!(code(USER.bind(&user(alice, None), "user_id", &mut other)), Some(tonic::Code::PermissionDenied));
        assert_eq!(other, bob.to_string(), "a refused value is left as it was");
        let mut garbage = "not-an-id".to_string();
        assert_eq!(code(USER.bind(&user(alice, None), "user_id", &mut garbage)), Some(tonic::Code::PermissionDenied));
        // A listed service names anyone, also while serving a user; an unlisted one or nobody
        // names nobody.
        let mut named = bob.to_string();
        USER.bind(&Principal::Service("feed".into()), "user_id", &mut named).unwrap();
        USER.bind(&user(alice, Some("feed")), "user_id", &mut named).unwrap();
        assert_eq!(named, bob.to_string());
        assert_eq!(code(USER.bind(&user(alice, Some("content")), "user_id", &mut named)), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(USER.bind(&Principal::Service("media".into()), "user_id", &mut named)), Some(tonic::Code::PermissionDenied));
        assert_eq!(code(AccessPolicy::PUBLIC.bind(&Principal::Anonymous, "viewer_id", &mut named)), Some(tonic::Code::Unauthenticated));
        let mut nobody = String::new();
        AccessPolicy::PUBLIC.bind(&Principal::Anonymous, "viewer_id", &mut nobody).unwrap();
        assert!(nobody.is_empty(), "no viewer stays no viewer: the anonymous audience");
    }
}

//! Calls to auth (does a user exist, is a creator's account active) and to user (how a viewer
//! relates to a creator), and what their answers mean here.
//!
//! Who may watch or chat is an authorization decision, so it rests on user's
//! CheckUserRelationship, whose policy in the spec is `fail_closed = true`: an expired cached
//! "not blocked" is never served when user fails (the call fails UNAVAILABLE instead), and a
//! fresh one lives at most its 10 s TTL, less when user's Block invalidates it (it invalidates
//! both users, and the creator is the request's `user_id` entity). A stale-if-error answer
//! could let a viewer the creator just blocked keep chatting for the stale window (5 min).

use nova_auth_api::pb as auth_pb;
use nova_runtime::codegen::tonic::{Code, Status};
use nova_runtime::codegen::uuid::Uuid;
use nova_streaming::LogicError;
use nova_user_api::pb as user_pb;

use crate::StreamingLogic;

impl StreamingLogic {
    /// The user exists in auth and is not deleted: NOT_FOUND naming `field` otherwise. With
    /// `active`, also FAILED_PRECONDITION unless the account is ACTIVE (a creator).
    pub(crate) async fn require_user(&self, field: &str, id: Uuid, active: bool) -> Result<(), LogicError> {
        let request = auth_pb::GetUserRequest { user_id: id.to_string() };
        let user = match self.auth.get_user(request).await {
            Ok(response) => response.user,
            Err(status) if status.code() == Code::NotFound => None,
            Err(status) => return Err(upstream("auth", status)),
        };
        let Some(user) = user else {
            return Err(LogicError::not_found(format!("{field}: no user {id}")));
        };
        match auth_pb::AccountStatus::try_from(user.status) {
            Ok(auth_pb::AccountStatus::Deleted) => Err(LogicError::not_found(format!("{field}: no user {id}"))),
            Ok(auth_pb::AccountStatus::Active) => Ok(()),
            _ if !active => Ok(()),
            Ok(other) => Err(LogicError::FailedPrecondition(format!("{field}: the account of {id} is {}", other.as_str_name()))),
            Err(_) => Err(LogicError::FailedPrecondition(format!("{field}: the account of {id} is not active"))),
        }
    }

    /// How `viewer` relates to `creator`, asked from the creator's side: `blocking` = the
    /// creator blocks the viewer, `followed_by` = the viewer follows the creator.
    pub(crate) async fn relation(&self, creator: Uuid, viewer: Uuid) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let request = user_pb::CheckUserRelationshipRequest { user_id: creator.to_string(), other_user_id: viewer.to_string() };
        self.user.check_user_relationship(request).await.map_err(|status| upstream("user", status))
    }
}

/// A callee's failure we did not expect: outages stay retryable, the rest is ours.
fn upstream(service: &str, status: Status) -> LogicError {
    tracing::debug!(service, code = ?status.code(), message = status.message(), "call to a dependency failed");
    LogicError::from_upstream(status)
}

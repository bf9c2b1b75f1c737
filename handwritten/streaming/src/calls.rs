//! Calls to auth (does a user exist, is a creator's account active) and to user (how a viewer
//! relates to a creator), and what their answers mean here.
//!
//! Who may watch or chat is an authorization decision, so it rests on user's
//! CheckUserRelationship, whose policy in the spec is `fail_closed = true`: an expired cached
//! "not blocked" is never served when user fails (the call fails UNAVAILABLE instead), and a
//! fresh one lives at most its 10 s TTL, less when user's Block invalidates it (it invalidates
//! both users, and the creator is the request's `user_id` entity). A stale-if-error answer
//! could let a viewer the creator just blocked keep chatting for the stale window (5 min).

use nova_runtime::codegen::uuid::Uuid;
use nova_streaming::LogicError;
use nova_user_api::pb as user_pb;

use crate::StreamingLogic;

impl StreamingLogic {
    /// The user exists in auth and is not deleted: NOT_FOUND naming `field` otherwise. With
    /// `active`, also FAILED_PRECONDITION unless the account is active (a creator). The
    /// generated check (cached).
    pub(crate) async fn require_user(&self, field: &str, id: Uuid, active: bool) -> Result<(), LogicError> {
        let user = if active { self.users.require_active(field, id).await } else { self.users.require_live(field, id).await };
        user.map(|_| ())
    }

    /// How `viewer` relates to `creator`, asked from the creator's side: `blocking` = the
    /// creator blocks the viewer, `followed_by` = the viewer follows the creator.
    pub(crate) async fn relation(&self, creator: Uuid, viewer: Uuid) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let request = user_pb::CheckUserRelationshipRequest { user_id: creator.to_string(), other_user_id: viewer.to_string() };
        self.user.check_user_relationship(request).await.map_err(|status| LogicError::upstream("user", status))
    }
}

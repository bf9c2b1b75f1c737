//! Calls to auth, media and user, and what their answers mean here. Each callee error is
//! mapped deliberately: the codes we expect (NOT_FOUND, ...) first, then
//! `LogicError::from_upstream` (UNAVAILABLE stays UNAVAILABLE, anything else is our INTERNAL).

use ::nova_runtime::codegen::tonic::Code;
use ::nova_runtime::codegen::uuid::Uuid;
use nova_auth_api::pb as auth_pb;
use nova_content::LogicError;
use nova_media_api::pb as media_pb;
use nova_user_api::pb as user_pb;

use crate::ContentLogic;

/// The permission that lets a user delete anybody's post or comment.
pub const MODERATE: &str = "content.moderate";

impl ContentLogic {
    /// The author exists and is active (the generated check, asking auth; cached): NOT_FOUND
    /// naming `field` when auth does not know them or they are deleted, FAILED_PRECONDITION
    /// when the account is locked.
    pub(crate) async fn require_active_author(&self, field: &str, author_id: Uuid) -> Result<(), LogicError> {
        self.users.require_active(field, author_id).await.map(|_| ())
    }

    /// Every media exists, belongs to `owner` and is READY (media GetMediaByIds);
    /// FAILED_PRECONDITION naming `field` otherwise.
    pub(crate) async fn require_ready_media(&self, field: &str, owner: Uuid, media_ids: &[Uuid]) -> Result<(), LogicError> {
        if media_ids.is_empty() {
            return Ok(());
        }
        let request = media_pb::GetMediaByIdsRequest { media_ids: media_ids.iter().map(Uuid::to_string).collect() };
        let response = self.media.get_media_by_ids(request).await.map_err(|status| LogicError::upstream("media", status))?;
        for id in media_ids {
            let id_text = id.to_string();
            let Some(media) = response.media.iter().find(|m| m.id == id_text) else {
                return Err(LogicError::FailedPrecondition(format!("{field}: media {id} does not exist")));
            };
            if media.owner_id != owner.to_string() {
                return Err(LogicError::FailedPrecondition(format!("{field}: media {id} is not owned by {owner}")));
            }
            if media.status != media_pb::MediaStatus::Ready as i32 {
                return Err(LogicError::FailedPrecondition(format!("{field}: media {id} is not ready")));
            }
        }
        Ok(())
    }

    /// How `viewer` relates to `author` (user CheckUserRelationship, cached 10 s and
    /// fail-closed: when user cannot answer the call fails UNAVAILABLE, nothing is shown).
    /// Asked from the author's side: `blocking` = the author blocks the viewer,
    /// `followed_by` = the viewer follows the author.
    pub(crate) async fn relationship(&self, author: Uuid, viewer: Uuid) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let request = user_pb::CheckUserRelationshipRequest { user_id: author.to_string(), other_user_id: viewer.to_string() };
        self.user.check_user_relationship(request).await.map_err(|status| LogicError::upstream("user", status))
    }

    /// Whether `user` holds `permission` (auth CheckPermission, fail-closed); an unknown user
    /// holds nothing.
    pub(crate) async fn has_permission(&self, user: Uuid, permission: &str) -> Result<bool, LogicError> {
        let request = auth_pb::CheckPermissionRequest { user_id: user.to_string(), permission: permission.to_string() };
        match self.auth.check_permission(request).await {
            Ok(response) => Ok(response.allowed),
            Err(status) if status.code() == Code::NotFound => Ok(false),
            Err(status) => Err(LogicError::upstream("auth", status)),
        }
    }
}

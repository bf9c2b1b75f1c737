//! Calls to auth, media and user, and what their answers mean here. Each callee error is
//! mapped deliberately: the codes we expect (NOT_FOUND, ...) first, then
//! `LogicError::from_upstream` (UNAVAILABLE stays UNAVAILABLE, anything else is our INTERNAL).
//!
//! Each call forwards the token of the user being served (the generated clients do it): auth
//! and media see that user through messaging; user's GetUserSettings admits messaging naming
//! another user (the recipient) and CheckUserRelationship is for services only.
//!
//! The block check reads user's CheckUserRelationship, which the spec marks `fail_closed`:
//! whether a message may pass is an authorization decision, so when user cannot answer the
//! send fails UNAVAILABLE instead of trusting an expired "not blocked". Its 10 s cache is
//! exact anyway: a Block invalidates both users in every caller after it commits.

use ::nova_runtime::codegen::tonic::Code;
use ::nova_runtime::codegen::uuid::Uuid;
use nova_media_api::pb as media_pb;
use nova_messaging::{LogicError, pb};
use nova_user_api::pb as user_pb;

use crate::MessagingLogic;

/// A user in a request: the field naming them (for messages) and their id.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    pub field: &'a str,
    pub id: Uuid,
}

impl<'a> Party<'a> {
    pub fn new(field: &'a str, id: Uuid) -> Self {
        Party { field, id }
    }
}

/// Whether the other user's DirectMessagePolicy counts: when a direct conversation would be
/// created and when they are added to a group, not for a message in an existing conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Checked,
    NotChecked,
}

/// An attachment as checked with media: what the message stores about it.
pub struct CheckedMedia {
    pub media_id: Uuid,
    pub kind: pb::AttachmentKind,
    pub mime_type: String,
    pub size_bytes: i64,
    pub file_name: String,
}

impl MessagingLogic {
    /// Every user exists and is not deleted (auth GetUsersByIds, batched, cached):
    /// NOT_FOUND naming `field` and the first missing user otherwise.
    pub(crate) async fn require_users(&self, field: &str, users: &[Uuid]) -> Result<(), LogicError> {
        let named: Vec<(&str, Uuid)> = users.iter().map(|id| (field, *id)).collect();
        self.require_named_users(&named).await
    }

    /// Like [`Self::require_users`] for users of different fields, still in as few calls (the
    /// generated check): NOT_FOUND naming the field of the first missing user.
    pub(crate) async fn require_named_users(&self, users: &[(&str, Uuid)]) -> Result<(), LogicError> {
        self.users.require_all_live(users).await
    }

    /// How `user` relates to `other`, seen from `user` (user CheckUserRelationship, fail closed).
    async fn relationship(&self, user: Uuid, other: Uuid) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let request = user_pb::CheckUserRelationshipRequest { user_id: user.to_string(), other_user_id: other.to_string() };
        self.user.check_user_relationship(request).await.map_err(|status| LogicError::upstream("user", status))
    }

    /// `other`'s DirectMessagePolicy (user GetUserSettings, which admits messaging naming
    /// another user than the one it serves): whether it admits a conversation started by the
    /// user `relation` is seen from. NOT_FOUND naming `other`'s field when they are gone.
    async fn policy_admits(&self, other: Party<'_>, relation: &user_pb::CheckUserRelationshipResponse) -> Result<bool, LogicError> {
        let request = user_pb::GetUserSettingsRequest { user_id: other.id.to_string() };
        let settings = match self.user.get_user_settings(request).await {
            Ok(response) => response.settings.unwrap_or_default(),
            Err(status) if status.code() == Code::NotFound => return Err(LogicError::not_found(format!("{}: no user {}", other.field, other.id))),
            Err(status) => return Err(LogicError::upstream("user", status)),
        };
        Ok(match settings.direct_message_policy() {
            user_pb::DirectMessagePolicy::Nobody => false,
            user_pb::DirectMessagePolicy::Following => relation.followed_by,
            user_pb::DirectMessagePolicy::Everyone | user_pb::DirectMessagePolicy::Unspecified => true,
        })
    }

    /// Whether `actor` (the caller) may write to `other` in a direct conversation, or bring
    /// them into a group. A block by the actor is the actor's own doing and is said plainly
    /// (FAILED_PRECONDITION: unblock first). A block by `other`, and (with [`Policy::Checked`])
    /// `other`'s DirectMessagePolicy not admitting the actor, give one and the same refusal,
    /// FAILED_PRECONDITION with `refusal()` as its message, so the actor cannot tell whether
    /// they are blocked. The settings are read whenever the policy counts, blocked or not, so
    /// the answer does not come sooner for a block either.
    pub(crate) async fn require_accepted(
        &self,
        actor: Party<'_>,
        other: Party<'_>,
        policy: Policy,
        refusal: impl FnOnce() -> String,
    ) -> Result<(), LogicError> {
        let relation = self.relationship(actor.id, other.id).await?;
        if relation.blocking {
            return Err(LogicError::FailedPrecondition(format!(
                "{} {} blocks {} {}: unblock them first",
                actor.field, actor.id, other.field, other.id
            )));
        }
        let admitted_by_policy = match policy {
            Policy::Checked => self.policy_admits(other, &relation).await?,
            Policy::NotChecked => true,
        };
        if relation.blocked_by || !admitted_by_policy {
            return Err(LogicError::FailedPrecondition(refusal()));
        }
        Ok(())
    }

    /// The media to attach, in the given order (media GetMediaByIds, called with the sender's
    /// token): NOT_FOUND naming `attachment_media_ids` for one that is unknown or not the
    /// sender's (the same answer: a sender learns nothing of other users' media),
    /// FAILED_PRECONDITION for one of theirs that is not READY.
    pub(crate) async fn checked_media(&self, owner: Uuid, media_ids: &[Uuid]) -> Result<Vec<CheckedMedia>, LogicError> {
        if media_ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = media_pb::GetMediaByIdsRequest { media_ids: media_ids.iter().map(Uuid::to_string).collect() };
        let response = self.media.get_media_by_ids(request).await.map_err(|status| LogicError::upstream("media", status))?;
        let owner_text = owner.to_string();
        let mut checked = Vec::with_capacity(media_ids.len());
        for id in media_ids {
            let id_text = id.to_string();
            let Some(media) = response.media.iter().find(|m| m.id == id_text && m.owner_id == owner_text) else {
                return Err(LogicError::not_found(format!("attachment_media_ids: sender_id {owner} has no media {id}")));
            };
            if media.status() != media_pb::MediaStatus::Ready {
                return Err(LogicError::FailedPrecondition(format!("attachment_media_ids: media {id} is not ready")));
            }
            let kind = match media.kind() {
                media_pb::MediaKind::Image => pb::AttachmentKind::Image,
                media_pb::MediaKind::Video => pb::AttachmentKind::Video,
                media_pb::MediaKind::Audio => pb::AttachmentKind::Audio,
                media_pb::MediaKind::Unspecified => pb::AttachmentKind::File,
            };
            checked.push(CheckedMedia {
                media_id: *id,
                kind,
                mime_type: media.mime_type.clone(),
                size_bytes: media.size_bytes,
                file_name: media.file_name.clone(),
            });
        }
        Ok(checked)
    }
}

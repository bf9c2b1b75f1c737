//! Calls to auth, media and user, and what their answers mean here. Each callee error is
//! mapped deliberately: the codes we expect (NOT_FOUND, ...) first, then
//! `LogicError::from_upstream` (UNAVAILABLE stays UNAVAILABLE, anything else is our INTERNAL).
//!
//! The block check reads user's CheckUserRelationship, which the spec marks `fail_closed`:
//! whether a message may pass is an authorization decision, so when user cannot answer the
//! send fails UNAVAILABLE instead of trusting an expired "not blocked". Its 10 s cache is
//! exact anyway: a Block invalidates both users in every caller after it commits.

use std::collections::HashSet;

use ::nova_runtime::codegen::tonic::{Code, Status};
use ::nova_runtime::codegen::uuid::Uuid;
use nova_auth_api::pb as auth_pb;
use nova_media_api::pb as media_pb;
use nova_messaging::{LogicError, pb};
use nova_user_api::pb as user_pb;

use crate::MessagingLogic;

/// An attachment as checked with media: what the message stores about it.
pub struct CheckedMedia {
    pub media_id: Uuid,
    pub kind: pb::AttachmentKind,
    pub mime_type: String,
    pub size_bytes: i64,
    pub file_name: String,
}

impl MessagingLogic {
    /// Every user exists and is not deleted (auth GetUsersByIds, one batched call, cached):
    /// NOT_FOUND naming `field` and the first missing user otherwise.
    pub(crate) async fn require_users(&self, field: &str, users: &[Uuid]) -> Result<(), LogicError> {
        let named: Vec<(&str, Uuid)> = users.iter().map(|id| (field, *id)).collect();
        self.require_named_users(&named).await
    }

    /// Like [`Self::require_users`] for users of different fields, still in one call: NOT_FOUND
    /// naming the field of the first missing user.
    pub(crate) async fn require_named_users(&self, users: &[(&str, Uuid)]) -> Result<(), LogicError> {
        // GetUsersByIds answers at most 100 ids per call.
        for chunk in users.chunks(100) {
            let request = auth_pb::GetUsersByIdsRequest { user_ids: chunk.iter().map(|(_, id)| id.to_string()).collect() };
            let response = self.auth.get_users_by_ids(request).await.map_err(|status| upstream("auth", status))?;
            let live: HashSet<&str> =
                response.users.iter().filter(|u| u.status() != auth_pb::AccountStatus::Deleted).map(|u| u.id.as_str()).collect();
            if let Some((field, missing)) = chunk.iter().find(|(_, id)| !live.contains(id.to_string().as_str())) {
                return Err(LogicError::not_found(format!("{field}: no user {missing}")));
            }
        }
        Ok(())
    }

    /// How `user` relates to `other`, seen from `user` (user CheckUserRelationship, fail closed).
    async fn relationship(&self, user: Uuid, other: Uuid) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let request = user_pb::CheckUserRelationshipRequest { user_id: user.to_string(), other_user_id: other.to_string() };
        self.user.check_user_relationship(request).await.map_err(|status| upstream("user", status))
    }

    /// Neither user blocks the other: FAILED_PRECONDITION naming who blocks whom otherwise.
    /// Returns the relationship seen from `a`.
    pub(crate) async fn require_no_block(
        &self,
        a_field: &str,
        a: Uuid,
        b_field: &str,
        b: Uuid,
    ) -> Result<user_pb::CheckUserRelationshipResponse, LogicError> {
        let relation = self.relationship(a, b).await?;
        if relation.blocking {
            return Err(LogicError::FailedPrecondition(format!("{a_field} {a} blocks {b_field} {b}")));
        }
        if relation.blocked_by {
            return Err(LogicError::FailedPrecondition(format!("{b_field} {b} blocks {a_field} {a}")));
        }
        Ok(relation)
    }

    /// The recipient accepts a new direct conversation from the sender (their
    /// DirectMessagePolicy; FOLLOWING: only from users they follow). `relation` is seen from
    /// the recipient.
    pub(crate) async fn require_accepts_direct(
        &self,
        recipient: Uuid,
        sender: Uuid,
        relation: &user_pb::CheckUserRelationshipResponse,
    ) -> Result<(), LogicError> {
        let request = user_pb::GetUserSettingsRequest { user_id: recipient.to_string() };
        let settings = match self.user.get_user_settings(request).await {
            Ok(response) => response.settings.unwrap_or_default(),
            Err(status) if status.code() == Code::NotFound => {
                return Err(LogicError::not_found(format!("recipient_id: no user {recipient}")));
            }
            Err(status) => return Err(upstream("user", status)),
        };
        match settings.direct_message_policy() {
            user_pb::DirectMessagePolicy::Nobody => {
                Err(LogicError::FailedPrecondition(format!("recipient_id {recipient} accepts direct messages from nobody")))
            }
            user_pb::DirectMessagePolicy::Following if !relation.following => Err(LogicError::FailedPrecondition(format!(
                "recipient_id {recipient} accepts direct messages only from users they follow, and does not follow sender_id {sender}"
            ))),
            _ => Ok(()),
        }
    }

    /// The media to attach, in the given order (media GetMediaByIds): NOT_FOUND naming
    /// `attachment_media_ids` for an unknown one, FAILED_PRECONDITION for one that is not the
    /// sender's or not READY.
    pub(crate) async fn checked_media(&self, owner: Uuid, media_ids: &[Uuid]) -> Result<Vec<CheckedMedia>, LogicError> {
        if media_ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = media_pb::GetMediaByIdsRequest { media_ids: media_ids.iter().map(Uuid::to_string).collect() };
        let response = self.media.get_media_by_ids(request).await.map_err(|status| upstream("media", status))?;
        let mut checked = Vec::with_capacity(media_ids.len());
        for id in media_ids {
            let id_text = id.to_string();
            let Some(media) = response.media.iter().find(|m| m.id == id_text) else {
                return Err(LogicError::not_found(format!("attachment_media_ids: no media {id}")));
            };
            if media.owner_id != owner.to_string() {
                return Err(LogicError::FailedPrecondition(format!("attachment_media_ids: media {id} is not owned by sender_id {owner}")));
            }
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

/// A callee's failure we did not expect: outages stay retryable, the rest is ours.
fn upstream(service: &str, status: Status) -> LogicError {
    tracing::debug!(service, code = ?status.code(), message = status.message(), "call to a dependency failed");
    LogicError::from_upstream(status)
}

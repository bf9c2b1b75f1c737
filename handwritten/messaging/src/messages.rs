//! GetMessages, GetMessage, UpdateMessage (with edit history), ListMessageEdits and
//! DeleteMessage (recall). Each is decided for the caller (`me`): a message is seen only by
//! the members of its conversation (NOT_FOUND for anyone else, as for an unknown id), edited
//! only by its sender, recalled by its sender or the conversation's owner and admins.
//!
//! An edit is a read-modify-write guarded by the message's `version`
//! (`update_if_version`: ABORTED when another edit or a recall won); the body it replaces goes
//! to `message_edit_history` in the same transaction, keyed by the version it had. A recall
//! locks the message, clears its body, attachments, reactions and edit history once, and
//! records who recalled it; repeating it finds the tombstone and answers the first deletion's time.

use ::nova_runtime::codegen::chrono::{Duration, Utc};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::{message_edit_history, message_recalls, messages};
use nova_messaging::{LogicError, pb};

use crate::conversations::limit;
use crate::send::body;
use crate::{MessagingLogic, convert, sql};

/// How long after sending a message its sender may still edit it.
pub const EDIT_WINDOW: Duration = Duration::minutes(15);

impl MessagingLogic {
    /// The message `id` as `me` may see it, with `me`'s membership of its conversation:
    /// NOT_FOUND naming `message_id`, the same answer as for an unknown id, when `me` is not a
    /// member of its conversation.
    pub(crate) async fn visible_message(&self, id: Uuid, me: Uuid) -> Result<(messages::Row, conversation_members::Row), LogicError> {
        let no_message = || LogicError::not_found(format!("message_id: no message {id}"));
        let message = messages::get(&self.db, id).await?.ok_or_else(no_message)?;
        let member = conversation_members::get(&self.db, message.conversation_id, me).await?.ok_or_else(no_message)?;
        Ok((message, member))
    }

    pub(crate) async fn page(&self, me: Uuid, request: pb::GetMessagesRequest) -> Result<pb::GetMessagesResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let size = page_size(request.page_size, 50, 100)?;
        let list = format!("GetMessages/{id}");
        let before = decode_token::<i64>(&list, &request.page_token)?.unwrap_or(i64::MAX);
        self.visible_conversation(id, me).await?;
        let page = sql::messages_page(&self.db, id, before, limit(size)).await?;
        let (page, next_page_token) = split_page(page, size, &list, |(_, sequence)| *sequence);
        let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
        let mut rows = messages::get_many(&self.db, &ids).await?;
        rows.sort_by_key(|r| std::cmp::Reverse(r.sequence));
        Ok(pb::GetMessagesResponse { messages: convert::messages(&self.db, &rows).await?, next_page_token })
    }

    pub(crate) async fn get_one(&self, me: Uuid, request: pb::GetMessageRequest) -> Result<pb::GetMessageResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let (row, _) = self.visible_message(id, me).await?;
        let message = convert::messages(&self.db, std::slice::from_ref(&row)).await?.pop();
        Ok(pb::GetMessageResponse { message })
    }

    /// Edits as `editor`, the caller: a member of the conversation (NOT_FOUND otherwise) who
    /// sent the message (PERMISSION_DENIED otherwise).
    pub(crate) async fn edit(&self, editor: Uuid, request: pb::UpdateMessageRequest) -> Result<pb::UpdateMessageResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let new_body = body("body", &request.body)?;
        let (row, _) = self.visible_message(id, editor).await?;
        if row.sender_id != editor {
            return Err(LogicError::PermissionDenied(format!("editor_id {editor} did not send message {id}")));
        }
        if row.deleted_at.is_some() {
            return Err(LogicError::FailedPrecondition(format!("message {id} was deleted")));
        }
        if Utc::now() - row.created_at > EDIT_WINDOW {
            return Err(LogicError::FailedPrecondition(format!(
                "message {id} is older than the edit window of {} minutes",
                EDIT_WINDOW.num_minutes()
            )));
        }
        if new_body.is_empty() && row.kind == messages::Kind::Text {
            return Err(LogicError::invalid_argument("body must not be empty: a text message needs one"));
        }
        if request.version != row.version {
            return Err(LogicError::Aborted(format!("message {id} is at version {}, not {}; read it again", row.version, request.version)));
        }
        let mut tx = self.db.begin().await?;
        let history = message_edit_history::New {
            id: None,
            message_id: id,
            version: row.version,
            previous_body: row.body.clone(),
            edited_by: editor,
            edited_at: None,
        };
        let patch = messages::Patch { body: Some(new_body.to_string()), edited_at: Some(Some(Utc::now())), ..Default::default() };
        // The guard is the version read above: a concurrent edit or recall since makes this
        // ABORTED, so the history row always holds the body that was really replaced.
        let updated = messages::update_if_version(&mut *tx, id, row.version, &patch).await?;
        message_edit_history::insert(&mut *tx, &history).await?;
        tx.commit().await?;
        let message = convert::messages(&self.db, std::slice::from_ref(&updated)).await?.pop();
        Ok(pb::UpdateMessageResponse { message })
    }

    pub(crate) async fn edits(&self, me: Uuid, request: pb::ListMessageEditsRequest) -> Result<pb::ListMessageEditsResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let size = page_size(request.page_size, 20, 100)?;
        let list = format!("ListMessageEdits/{id}");
        let before = decode_token::<i64>(&list, &request.page_token)?.unwrap_or(i64::MAX);
        self.visible_message(id, me).await?;
        let rows = sql::edits_page(&self.db, id, before, limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |r| r.version);
        let edits = rows
            .into_iter()
            .map(|r| pb::MessageEdit {
                version: r.version,
                previous_body: r.previous_body,
                edited_by: r.edited_by.to_string(),
                edited_at: Some(timestamp(r.edited_at)),
            })
            .collect();
        Ok(pb::ListMessageEditsResponse { edits, next_page_token })
    }

    /// Recalls as `requester`, the caller: a member of the conversation (NOT_FOUND otherwise)
    /// who sent the message or is an owner or admin there (PERMISSION_DENIED otherwise).
    pub(crate) async fn recall(&self, requester: Uuid, request: pb::DeleteMessageRequest) -> Result<pb::DeleteMessageResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let (row, member) = self.visible_message(id, requester).await?;
        if row.sender_id != requester && !matches!(member.role, Role::Owner | Role::Admin) {
            return Err(LogicError::PermissionDenied(format!(
                "requester_id {requester} is neither the sender of message {id} nor an owner or admin of its conversation"
            )));
        }
        let mut tx = self.db.begin().await?;
        sql::lock_message(&mut tx, id).await?;
        let deleted_at = match sql::recall(&mut tx, id).await? {
            Some(deleted_at) => {
                sql::clear_recalled(&mut tx, id).await?;
                let recall = message_recalls::New { message_id: id, recalled_by: requester, recalled_at: Some(deleted_at) };
                message_recalls::insert(&mut *tx, &recall).await?;
                deleted_at
            }
            // Deleted before (maybe by a concurrent call that held the lock first).
            None => messages::get(&mut *tx, id)
                .await?
                .and_then(|m| m.deleted_at)
                .ok_or_else(|| LogicError::not_found(format!("message_id: no message {id}")))?,
        };
        tx.commit().await?;
        Ok(pb::DeleteMessageResponse { deleted_at: Some(timestamp(deleted_at)) })
    }
}

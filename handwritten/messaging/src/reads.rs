//! MarkAsRead and GetUnreadCount. A member's unread count is the conversation's
//! `last_sequence` minus their `last_read_sequence`: both are only ever moved by single
//! statements (the send's sequence bump, `GREATEST` for read positions), and sequences have no
//! gaps, so the count is exact under any interleaving of sends and reads, with no counter to
//! keep in step. Deleted messages keep their place and count as unread until read past.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use nova_messaging::repo::messages;
use nova_messaging::{LogicError, pb};

use crate::conversations::no_conversation;
use crate::{MessagingLogic, sql};

impl MessagingLogic {
    /// Moves the caller's (`user`'s) own read position; NOT_FOUND for a conversation they are
    /// not a member of.
    pub(crate) async fn mark_read(&self, user: Uuid, request: pb::MarkAsReadRequest) -> Result<pb::MarkAsReadResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let message_id = parse_uuid("message_id", &request.message_id)?;
        self.visible_conversation(id, user).await?;
        let message = messages::get(&self.db, message_id).await?.filter(|m| m.conversation_id == id);
        let Some(message) = message else {
            return Err(LogicError::not_found(format!("message_id: no message {message_id} in conversation {id}")));
        };
        let (last_read_sequence, last_sequence) = sql::mark_read(&self.db, id, user, message.sequence)
            .await?
            // Removed from the conversation since the check above.
            .ok_or_else(|| no_conversation(id))?;
        Ok(pb::MarkAsReadResponse { last_read_sequence, unread_count: (last_sequence - last_read_sequence).max(0) })
    }

    /// The caller's (`user`'s) own unread counts; NOT_FOUND for a conversation they are not a
    /// member of, as for one that does not exist.
    pub(crate) async fn unread(&self, user: Uuid, request: pb::GetUnreadCountRequest) -> Result<pb::GetUnreadCountResponse, LogicError> {
        if request.conversation_id.is_empty() {
            let (unread_messages, unread_conversations) = sql::unread_total(&self.db, user).await?;
            return Ok(pb::GetUnreadCountResponse { unread_messages, unread_conversations });
        }
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        // One statement, one snapshot of both rows: exact even while messages are being sent.
        // `None` for a conversation that is not live or not the user's alike.
        let unread_messages = sql::unread_in(&self.db, id, user).await?.ok_or_else(|| no_conversation(id))?;
        Ok(pb::GetUnreadCountResponse { unread_messages, unread_conversations: i32::from(unread_messages > 0) })
    }
}

//! Live chat: SendChatMessage (retry-safe by `request_id`, rate-limited per sender and
//! stream), GetChatMessages (newest first, deleted ones left out) and DeleteChatMessage (by
//! the sender, or by the stream's creator as moderation; a soft delete).
//!
//! The rate limit counts the sender's messages in the stream over the last minute while
//! holding a transaction-scoped advisory lock on (stream, sender), so concurrent sends of one
//! sender are counted one after the other and the limit is exact; other senders never wait.

use nova_runtime::codegen::chrono::Utc;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::{parse_uuid, timestamp};
use nova_runtime::identity::Principal;
use nova_runtime::paging::{decode_token, page_size, split_page};
use nova_streaming::repo::stream_chat_messages;
use nova_streaming::repo::streams::Status;
use nova_streaming::{LogicError, pb};

use crate::sql::MetricsDelta;
use crate::{StreamingLogic, convert, sql};

/// Messages one sender may post to one stream per [`RATE_WINDOW_SECONDS`] (in the proto).
pub const RATE_LIMIT: i64 = 30;
pub const RATE_WINDOW_SECONDS: f64 = 60.0;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

impl StreamingLogic {
    pub(crate) async fn send_chat(&self, request: pb::SendChatMessageRequest) -> Result<pb::SendChatMessageResponse, LogicError> {
        let request_id = parse_uuid("request_id", &request.request_id)?;
        let stream_id = convert::stream_id(&request.stream_id)?;
        let sender_id = parse_uuid("sender_id", &request.sender_id)?;
        let body = convert::required_text("body", &request.body, convert::MAX_CHAT_CHARS)?;
        // A retry answers what the first call created, whatever happened since.
        if let Some(row) = stream_chat_messages::find_by_request_id(&self.db, request_id).await? {
            return same_message(row, stream_id, sender_id, &body);
        }
        let stream = self.stream(stream_id).await?;
        if stream.status != Status::Live {
            return Err(LogicError::FailedPrecondition(format!("stream_id: stream {stream_id} is {}, not live", stream.status.name())));
        }
        if !stream.chat_enabled {
            return Err(LogicError::FailedPrecondition(format!("stream_id: chat is off on stream {stream_id}")));
        }
        self.require_user("sender_id", sender_id, false).await?;
        self.require_audience("sender_id", &stream, Some(sender_id)).await?;
        let mut tx = self.db.begin().await?;
        sql::lock_sender(&mut tx, stream_id, sender_id).await?;
        let recent = sql::recent_messages(&mut tx, stream_id, sender_id, RATE_WINDOW_SECONDS).await?;
        if recent >= RATE_LIMIT {
            return Err(LogicError::ResourceExhausted(format!(
                "sender_id: at most {RATE_LIMIT} messages a minute per stream; {sender_id} sent {recent}"
            )));
        }
        let (row, created) = sql::insert_message(&mut tx, request_id, stream_id, sender_id, &body).await?;
        if !created {
            // The same request id committed concurrently: answer as a retry.
            tx.rollback().await?;
            return same_message(row, stream_id, sender_id, &body);
        }
        sql::add_metrics(&mut *tx, stream_id, row.created_at, MetricsDelta { chat_messages: 1, ..Default::default() }).await?;
        tx.commit().await?;
        self.invalidator.entities([stream_id.to_string()]).await;
        Ok(pb::SendChatMessageResponse { message: Some(convert::chat_message(&row)) })
    }

    pub(crate) async fn chat_messages(
        &self,
        principal: &Principal,
        request: pb::GetChatMessagesRequest,
    ) -> Result<pb::GetChatMessagesResponse, LogicError> {
        let stream_id = convert::stream_id(&request.stream_id)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = format!("GetChatMessages/{stream_id}");
        let after: Option<stream_chat_messages::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
        self.visible_stream(principal, stream_id).await?;
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let rows = sql::messages(&self.db, stream_id, after.as_ref(), limit).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |r| stream_chat_messages::CreatedAtCursor::from(r));
        Ok(pb::GetChatMessagesResponse { messages: rows.iter().map(convert::chat_message).collect(), next_page_token })
    }

    pub(crate) async fn delete_chat(&self, request: pb::DeleteChatMessageRequest) -> Result<pb::DeleteChatMessageResponse, LogicError> {
        let message_id = parse_uuid("message_id", &request.message_id)?;
        let deleted_by = parse_uuid("deleted_by_id", &request.deleted_by_id)?;
        let message = stream_chat_messages::get(&self.db, message_id)
            .await?
            .ok_or_else(|| LogicError::not_found(format!("message_id: no message {message_id}")))?;
        if deleted_by != message.sender_id {
            let stream = self.stream(message.stream_id).await?;
            if deleted_by != stream.creator_id {
                return Err(LogicError::PermissionDenied(format!(
                    "deleted_by_id: {deleted_by} is neither the sender of message {message_id} nor the creator of its stream"
                )));
            }
        }
        let deleted_at = match sql::delete_message(&self.db, message_id, deleted_by).await? {
            Some(at) => {
                self.invalidator.entities([message.stream_id.to_string()]).await;
                at
            }
            // Deleted already (maybe concurrently): the first deletion's time.
            None => stream_chat_messages::get(&self.db, message_id).await?.and_then(|m| m.deleted_at).unwrap_or_else(Utc::now),
        };
        Ok(pb::DeleteChatMessageResponse { deleted_at: Some(timestamp(deleted_at)) })
    }
}

/// The message a reused request id created, if the retry asks for the same thing.
fn same_message(row: stream_chat_messages::Row, stream_id: Uuid, sender_id: Uuid, body: &str) -> Result<pb::SendChatMessageResponse, LogicError> {
    if row.stream_id != stream_id || row.sender_id != sender_id || row.body != body {
        return Err(LogicError::AlreadyExists(format!("request_id: {} was used for another message", row.request_id)));
    }
    Ok(pb::SendChatMessageResponse { message: Some(convert::chat_message(&row)) })
}

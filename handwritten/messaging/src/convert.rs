//! Rows to protos, in one place per entity. Messages are read with their attachments and
//! reaction counts (one query each for a whole page); a deleted message is a tombstone: no
//! body, attachments or reactions.

use std::collections::HashMap;

use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{optional_timestamp, timestamp};
use nova_messaging::repo::{conversation_members, conversations, messages};
use nova_messaging::{LogicError, pb};

use crate::sql;

pub fn conversation(row: &conversations::Row) -> pb::Conversation {
    pb::Conversation {
        id: row.id.to_string(),
        kind: pb::ConversationKind::from(row.kind) as i32,
        title: row.title.clone(),
        created_by: row.created_by.to_string(),
        member_count: row.member_count,
        last_sequence: row.last_sequence,
        last_message_at: optional_timestamp(row.last_message_at),
        created_at: Some(timestamp(row.created_at)),
    }
}

/// A member as `viewer` sees them: whether a member muted the conversation is theirs to know
/// only (false on everyone else's entry).
pub fn member(row: &conversation_members::Row, viewer: Uuid) -> pb::ConversationMember {
    pb::ConversationMember {
        conversation_id: row.conversation_id.to_string(),
        user_id: row.user_id.to_string(),
        role: pb::MemberRole::from(row.role) as i32,
        last_read_sequence: row.last_read_sequence,
        muted: row.muted && row.user_id == viewer,
        joined_at: Some(timestamp(row.joined_at)),
    }
}

/// The protos of `rows`, in their order, with their attachments.
pub async fn messages(db: &PgPool, rows: &[messages::Row]) -> Result<Vec<pb::Message>, LogicError> {
    let ids: Vec<Uuid> = rows.iter().filter(|r| r.deleted_at.is_none()).map(|r| r.id).collect();
    let mut attachments: HashMap<Uuid, Vec<pb::Attachment>> = HashMap::new();
    if !ids.is_empty() {
        for stored in sql::attachments_of(db, &ids).await? {
            attachments.entry(stored.message_id).or_default().push(pb::Attachment {
                media_id: stored.media_id.to_string(),
                kind: i32::from(stored.kind),
                mime_type: stored.mime_type,
                size_bytes: stored.size_bytes,
                file_name: stored.file_name,
            });
        }
    }
    let mut reactions = reactions_of(db, &ids).await?;
    Ok(rows.iter().map(|row| message(row, attachments.remove(&row.id).unwrap_or_default(), reactions.remove(&row.id).unwrap_or_default())).collect())
}

/// The reaction counts of `ids`, per message.
pub async fn reactions_of(db: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<pb::ReactionCount>>, LogicError> {
    let mut reactions: HashMap<Uuid, Vec<pb::ReactionCount>> = HashMap::new();
    if !ids.is_empty() {
        for (message_id, emoji, count) in sql::reactions_of(db, ids).await? {
            reactions.entry(message_id).or_default().push(pb::ReactionCount { emoji, count });
        }
    }
    Ok(reactions)
}

fn message(row: &messages::Row, attachments: Vec<pb::Attachment>, reactions: Vec<pb::ReactionCount>) -> pb::Message {
    pb::Message {
        id: row.id.to_string(),
        conversation_id: row.conversation_id.to_string(),
        sender_id: row.sender_id.to_string(),
        sequence: row.sequence,
        kind: pb::MessageKind::from(row.kind) as i32,
        body: if row.deleted_at.is_some() { String::new() } else { row.body.clone() },
        attachments,
        reactions,
        reply_to_message_id: row.reply_to_message_id.map(|id| id.to_string()).unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
        edited_at: optional_timestamp(row.edited_at),
        deleted_at: optional_timestamp(row.deleted_at),
        version: row.version,
    }
}

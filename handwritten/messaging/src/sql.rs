//! The statements the generated repositories do not offer, all on this service's own tables:
//! the sequence bump that serialises sends, row locks, read positions that only move
//! forward, and the keyset pages in the orders the API promises. Everything else goes
//! through `nova_messaging::repo`, including the race-free creation of a direct conversation
//! (`insert_if_absent_by_direct_key`: `ON CONFLICT DO NOTHING` on the live `direct_key` unique).

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgConnection, PgExecutor, Row as _};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::repo::{RepoError, RepoResult};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::conversations::{self, Kind};
use nova_messaging::repo::{message_edit_history, message_reactions};

// The column lists of the rows decoded below (through the generated `FromRow`) are the
// generated repositories' `columns!()`, so they cannot drift from what `Row` reads.
const INSERT_MEMBERS: &str = "INSERT INTO conversation_members (conversation_id, user_id, role, last_read_sequence) \
     SELECT $1, t.user_id, t.role, $4 FROM unnest($2::uuid[], $3::smallint[]) AS t(user_id, role) \
     ON CONFLICT (conversation_id, user_id) DO NOTHING RETURNING user_id";
/// The one statement that numbers messages: it takes the conversation's row lock, held until
/// the sending transaction ends, so concurrent sends queue here and get consecutive numbers.
const NEXT_SEQUENCE: &str = "UPDATE conversations SET last_sequence = last_sequence + 1, last_message_at = now(), updated_at = now() \
     WHERE id = $1 AND deleted_at IS NULL RETURNING last_sequence";
const LOCK_CONVERSATION: &str = "SELECT kind, last_sequence FROM conversations WHERE id = $1 AND deleted_at IS NULL FOR UPDATE";
const LOCK_MESSAGE: &str = "SELECT deleted_at FROM messages WHERE id = $1 FOR UPDATE";
/// GREATEST: a read position never moves back, whatever order late or retried calls arrive in.
const MARK_READ: &str = "UPDATE conversation_members m SET last_read_sequence = GREATEST(m.last_read_sequence, $3), \
     last_read_at = CASE WHEN $3 > m.last_read_sequence THEN now() ELSE m.last_read_at END \
     FROM conversations c WHERE m.conversation_id = $1 AND m.user_id = $2 AND c.id = m.conversation_id \
     RETURNING m.last_read_sequence, c.last_sequence";
const MEMBERS_PAGE: &str = concat!(
    "SELECT ",
    conversation_members::columns!(),
    " FROM conversation_members WHERE conversation_id = $1 AND ($2::timestamptz IS NULL OR (joined_at, user_id) > ($2, $3)) \
     ORDER BY joined_at, user_id LIMIT $4"
);
const MEMBERS_BY_IDS: &str = concat!(
    "SELECT ",
    conversation_members::columns!(),
    " FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($2) ORDER BY joined_at, user_id"
);
/// Newest first through the `(conversation_id, sequence)` unique index.
const MESSAGES_PAGE: &str = "SELECT id, sequence FROM messages WHERE conversation_id = $1 AND sequence < $2 ORDER BY sequence DESC LIMIT $3";
/// A user's conversations by activity: the last message, else the creation.
const CONVERSATIONS_PAGE: &str = "SELECT c.id, COALESCE(c.last_message_at, c.created_at) FROM conversation_members m \
     JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = $1 AND c.deleted_at IS NULL \
     AND ($2::timestamptz IS NULL OR (COALESCE(c.last_message_at, c.created_at), c.id) < ($2, $3)) \
     ORDER BY COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC LIMIT $4";
const UNREAD_TOTAL: &str = "SELECT COALESCE(sum(c.last_sequence - m.last_read_sequence), 0)::bigint, \
     count(*) FILTER (WHERE c.last_sequence > m.last_read_sequence)::int \
     FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
     WHERE m.user_id = $1 AND NOT m.muted AND c.deleted_at IS NULL";
const UNREAD_IN: &str = "SELECT c.last_sequence - m.last_read_sequence FROM conversation_members m \
     JOIN conversations c ON c.id = m.conversation_id WHERE m.conversation_id = $1 AND m.user_id = $2 AND c.deleted_at IS NULL";
const ATTACHMENTS_OF: &str = "SELECT message_id, media_id, kind, mime_type, size_bytes, file_name FROM message_attachments \
     WHERE message_id = ANY($1) ORDER BY message_id, position";
const RECALL: &str =
    "UPDATE messages SET body = '', deleted_at = now(), version = version + 1 WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at";
const DELETE_ATTACHMENTS: &str = "DELETE FROM message_attachments WHERE message_id = $1";
const DELETE_EDITS: &str = "DELETE FROM message_edit_history WHERE message_id = $1";
const DELETE_REACTIONS: &str = "DELETE FROM message_reactions WHERE message_id = $1";
/// Counts per emoji through the primary key's `message_id` prefix, most used first.
const REACTIONS_OF: &str = "SELECT message_id, emoji, count(*)::int FROM message_reactions WHERE message_id = ANY($1) \
     GROUP BY message_id, emoji ORDER BY message_id, count(*) DESC, emoji";
/// Newest edit first through the `(message_id, version)` unique index.
const EDITS_PAGE: &str = concat!(
    "SELECT ",
    message_edit_history::columns!(),
    " FROM message_edit_history WHERE message_id = $1 AND version < $2 ORDER BY version DESC LIMIT $3"
);

fn error(table: &'static str) -> impl Fn(sqlx::Error) -> RepoError {
    move |e| RepoError::from_sqlx(table, e)
}

/// The `direct_key` of the pair: both ids in order, so either side finds the same row.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    if a < b { format!("{a}:{b}") } else { format!("{b}:{a}") }
}

/// Inserts the live direct conversation of the pair unless one exists; its id when this call
/// created it. A concurrent creator makes this wait for its commit, then do nothing.
pub async fn insert_direct(db: &mut PgConnection, created_by: Uuid, key: &str) -> RepoResult<Option<Uuid>> {
    let new = conversations::New {
        id: None,
        kind: Kind::Direct,
        title: None,
        created_by,
        direct_key: Some(key.to_owned()),
        member_count: Some(2),
        last_sequence: None,
        last_message_at: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    Ok(conversations::insert_if_absent_by_direct_key(db, &new).await?.map(|row| row.id))
}

/// Inserts the members not in the conversation yet, reading from `last_read_sequence`;
/// returns the users this call inserted.
pub async fn insert_members(db: &mut PgConnection, conversation: Uuid, members: &[(Uuid, Role)], last_read_sequence: i64) -> RepoResult<Vec<Uuid>> {
    let (ids, roles): (Vec<Uuid>, Vec<i16>) = members.iter().map(|(id, role)| (*id, role.number())).unzip();
    let rows = sqlx::query(INSERT_MEMBERS)
        .bind(conversation)
        .bind(ids)
        .bind(roles)
        .bind(last_read_sequence)
        .fetch_all(db)
        .await
        .map_err(error("conversation_members"))?;
    rows.iter().map(|r| r.try_get::<Uuid, _>(0)).collect::<Result<_, _>>().map_err(error("conversation_members"))
}

/// The next sequence number of a live conversation (locking it until the transaction ends);
/// `None` when there is no such conversation.
pub async fn next_sequence(db: &mut PgConnection, conversation: Uuid) -> RepoResult<Option<i64>> {
    let row = sqlx::query(NEXT_SEQUENCE).bind(conversation).fetch_optional(db).await.map_err(error("conversations"))?;
    row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(error("conversations"))
}

/// Locks a live conversation until the transaction ends: its kind and last sequence.
pub async fn lock_conversation(db: &mut PgConnection, conversation: Uuid) -> RepoResult<Option<(Kind, i64)>> {
    let row = sqlx::query(LOCK_CONVERSATION).bind(conversation).fetch_optional(db).await.map_err(error("conversations"))?;
    row.map(|r| Ok((r.try_get::<Kind, _>(0)?, r.try_get::<i64, _>(1)?))).transpose().map_err(error("conversations"))
}

/// Locks a message until the transaction ends: `None` when it does not exist, else its
/// `deleted_at`.
pub async fn lock_message(db: &mut PgConnection, message: Uuid) -> RepoResult<Option<Option<DateTime<Utc>>>> {
    let row = sqlx::query(LOCK_MESSAGE).bind(message).fetch_optional(db).await.map_err(error("messages"))?;
    row.map(|r| r.try_get::<Option<DateTime<Utc>>, _>(0)).transpose().map_err(error("messages"))
}

/// Moves a member's read position forward to `sequence` (never back): the position after the
/// call and the conversation's last sequence; `None` when the user is not a member.
pub async fn mark_read(db: impl PgExecutor<'_>, conversation: Uuid, user: Uuid, sequence: i64) -> RepoResult<Option<(i64, i64)>> {
    let row = sqlx::query(MARK_READ).bind(conversation).bind(user).bind(sequence).fetch_optional(db).await.map_err(error("conversation_members"))?;
    row.map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))).transpose().map_err(error("conversation_members"))
}

/// A page of a conversation's members in join order (ties by user id), after `after`.
pub async fn members_page(
    db: impl PgExecutor<'_>,
    conversation: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> RepoResult<Vec<conversation_members::Row>> {
    let (time, id) = after.unzip();
    sqlx::query_as(MEMBERS_PAGE).bind(conversation).bind(time).bind(id).bind(limit).fetch_all(db).await.map_err(error("conversation_members"))
}

/// The members among `users`, in join order.
pub async fn members_by_ids(db: impl PgExecutor<'_>, conversation: Uuid, users: &[Uuid]) -> RepoResult<Vec<conversation_members::Row>> {
    sqlx::query_as(MEMBERS_BY_IDS).bind(conversation).bind(users).fetch_all(db).await.map_err(error("conversation_members"))
}

/// The ids and sequences of a page of messages, newest first, below sequence `before`.
pub async fn messages_page(db: impl PgExecutor<'_>, conversation: Uuid, before: i64, limit: i64) -> RepoResult<Vec<(Uuid, i64)>> {
    let rows = sqlx::query(MESSAGES_PAGE).bind(conversation).bind(before).bind(limit).fetch_all(db).await.map_err(error("messages"))?;
    rows.iter().map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<i64, _>(1)?))).collect::<Result<_, sqlx::Error>>().map_err(error("messages"))
}

/// A page of a user's live conversations, most recent activity first, after `after`: each id
/// with its activity time.
pub async fn conversations_page(
    db: impl PgExecutor<'_>,
    user: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> RepoResult<Vec<(Uuid, DateTime<Utc>)>> {
    let (time, id) = after.unzip();
    let rows = sqlx::query(CONVERSATIONS_PAGE).bind(user).bind(time).bind(id).bind(limit).fetch_all(db).await.map_err(error("conversations"))?;
    rows.iter().map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<DateTime<Utc>, _>(1)?))).collect::<Result<_, _>>().map_err(error("conversations"))
}

/// A user's unread messages and conversations with any, across their unmuted conversations.
pub async fn unread_total(db: impl PgExecutor<'_>, user: Uuid) -> RepoResult<(i64, i32)> {
    let row = sqlx::query(UNREAD_TOTAL).bind(user).fetch_one(db).await.map_err(error("conversation_members"))?;
    Ok((row.try_get::<i64, _>(0).map_err(error("conversation_members"))?, row.try_get::<i32, _>(1).map_err(error("conversation_members"))?))
}

/// A member's unread messages in one conversation; `None` when not a member.
pub async fn unread_in(db: impl PgExecutor<'_>, conversation: Uuid, user: Uuid) -> RepoResult<Option<i64>> {
    let row = sqlx::query(UNREAD_IN).bind(conversation).bind(user).fetch_optional(db).await.map_err(error("conversation_members"))?;
    row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(error("conversation_members"))
}

/// One stored attachment, as the API shows it.
pub struct StoredAttachment {
    pub message_id: Uuid,
    pub media_id: Uuid,
    pub kind: i16,
    pub mime_type: String,
    pub size_bytes: i64,
    pub file_name: String,
}

/// The attachments of `messages`, in position order per message.
pub async fn attachments_of(db: impl PgExecutor<'_>, messages: &[Uuid]) -> RepoResult<Vec<StoredAttachment>> {
    let rows = sqlx::query(ATTACHMENTS_OF).bind(messages).fetch_all(db).await.map_err(error("message_attachments"))?;
    rows.iter()
        .map(|r| {
            Ok(StoredAttachment {
                message_id: r.try_get(0)?,
                media_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                mime_type: r.try_get(3)?,
                size_bytes: r.try_get(4)?,
                file_name: r.try_get(5)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("message_attachments"))
}

/// Clears a live message's body and marks it deleted; the deletion time when this call did
/// it, `None` when it was deleted already.
pub async fn recall(db: &mut PgConnection, message: Uuid) -> RepoResult<Option<DateTime<Utc>>> {
    let row = sqlx::query(RECALL).bind(message).fetch_optional(db).await.map_err(error("messages"))?;
    row.map(|r| r.try_get::<DateTime<Utc>, _>(0)).transpose().map_err(error("messages"))
}

/// Removes a message's attachments, earlier bodies and reactions (a recalled message keeps
/// none of them).
pub async fn clear_recalled(db: &mut PgConnection, message: Uuid) -> RepoResult<()> {
    sqlx::query(DELETE_ATTACHMENTS).bind(message).execute(&mut *db).await.map_err(error("message_attachments"))?;
    sqlx::query(DELETE_EDITS).bind(message).execute(&mut *db).await.map_err(error("message_edit_history"))?;
    sqlx::query(DELETE_REACTIONS).bind(message).execute(db).await.map_err(error("message_reactions"))?;
    Ok(())
}

/// Adds a reaction unless the user gave it already.
pub async fn insert_reaction(db: &mut PgConnection, message: Uuid, user: Uuid, emoji: &str) -> RepoResult<()> {
    let new = message_reactions::New { message_id: message, user_id: user, emoji: emoji.to_owned(), created_at: None };
    message_reactions::insert_if_absent(db, &new).await?;
    Ok(())
}

/// The reactions of `messages`: (message, emoji, count), most used first per message.
pub async fn reactions_of(db: impl PgExecutor<'_>, messages: &[Uuid]) -> RepoResult<Vec<(Uuid, String, i32)>> {
    let rows = sqlx::query(REACTIONS_OF).bind(messages).fetch_all(db).await.map_err(error("message_reactions"))?;
    rows.iter()
        .map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<String, _>(1)?, r.try_get::<i32, _>(2)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("message_reactions"))
}

/// A page of a message's earlier bodies, newest edit first, below version `before`.
pub async fn edits_page(db: impl PgExecutor<'_>, message: Uuid, before: i64, limit: i64) -> RepoResult<Vec<message_edit_history::Row>> {
    sqlx::query_as(EDITS_PAGE).bind(message).bind(before).bind(limit).fetch_all(db).await.map_err(error("message_edit_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_keys_do_not_depend_on_who_starts() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(direct_key(a, b), direct_key(b, a));
        assert_ne!(direct_key(a, b), direct_key(a, Uuid::from_u128(3)));
    }
}

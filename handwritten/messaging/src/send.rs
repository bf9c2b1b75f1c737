//! SendMessage.
//!
//! Everything that needs another service (users exist, blocks, the recipient's policy, the
//! attachments) is asked before the transaction, so no row lock is held across a network
//! call. The transaction then:
//! 1. for a message to a user, inserts their direct conversation unless it exists
//!    (`ON CONFLICT DO NOTHING` on the live `direct_key` unique: a concurrent first message
//!    waits for the other's commit and then finds its conversation, so a pair never gets two);
//! 2. bumps `conversations.last_sequence` with one `UPDATE ... RETURNING`, which takes the
//!    conversation's row lock until commit: concurrent sends queue there, each gets the next
//!    number, and a send that fails later rolls its number back, so sequences have no gaps;
//! 3. checks the sender is a member under that lock (a removal takes the same lock);
//!    a non-member gets NOT_FOUND, as for a conversation that does not exist;
//! 4. inserts the message and its attachments and moves the sender's read position to it.
//!
//! Unread counts are `last_sequence - last_read_sequence`, so they are exact whatever the
//! interleaving of sends and reads.

use ::nova_runtime::codegen::sqlx::{Postgres, Transaction};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids, text};
use nova_messaging::repo::conversation_members::Role;
use nova_messaging::repo::conversations::Kind as ConversationKind;
use nova_messaging::repo::messages::{self, Kind};
use nova_messaging::repo::{conversations, message_attachments};
use nova_messaging::{LogicError, pb};

use crate::calls::{CheckedMedia, Party, Policy};
use crate::conversations::no_conversation;
use crate::{MessagingLogic, convert, sql};

pub const MAX_BODY_CHARS: usize = 4000;
const MAX_ATTACHMENTS: usize = 10;

/// Where a message goes, once resolved.
enum Target {
    Conversation(Uuid),
    Recipient(Uuid),
}

impl MessagingLogic {
    /// Sends as `sender`, the caller (`sender_id` is bound to them).
    pub(crate) async fn send(&self, sender: Uuid, request: pb::SendMessageRequest) -> Result<pb::SendMessageResponse, LogicError> {
        let target = match &request.target {
            Some(pb::send_message_request::Target::ConversationId(id)) => Target::Conversation(parse_uuid("conversation_id", id)?),
            Some(pb::send_message_request::Target::RecipientId(id)) => {
                let recipient = parse_uuid("recipient_id", id)?;
                if recipient == sender {
                    return Err(LogicError::invalid_argument("recipient_id must differ from sender_id"));
                }
                Target::Recipient(recipient)
            }
            None => return Err(LogicError::invalid_argument("conversation_id or recipient_id is required")),
        };
        let body = body("body", &request.body)?;
        let media_ids = parse_uuids("attachment_media_ids", &request.attachment_media_ids, MAX_ATTACHMENTS)?;
        // parse_uuids drops repeats; an attachment given twice is a caller's mistake here.
        if media_ids.len() != request.attachment_media_ids.len() {
            return Err(LogicError::invalid_argument("attachment_media_ids must not repeat a media"));
        }
        let kind = kind(request.kind(), !media_ids.is_empty())?;
        if body.is_empty() && media_ids.is_empty() {
            return Err(LogicError::invalid_argument("a message needs a body or an attachment"));
        }
        let reply_to = match request.reply_to_message_id.as_str() {
            "" => None,
            id => Some(parse_uuid("reply_to_message_id", id)?),
        };

        // Checks with other services, outside the transaction.
        let me = Party::new("sender_id", sender);
        let direct_peer = match target {
            Target::Recipient(recipient) => {
                self.require_named_users(&[("sender_id", sender), ("recipient_id", recipient)]).await?;
                let key = sql::direct_key(sender, recipient);
                let policy = match conversations::find_by_direct_key(&self.db, &key).await? {
                    Some(_) => Policy::NotChecked,
                    None => Policy::Checked,
                };
                self.require_accepted(me, Party::new("recipient_id", recipient), policy, || refusal(recipient, sender)).await?;
                Some(recipient)
            }
            Target::Conversation(id) => {
                // Membership first, so a stranger learns nothing, not even that the
                // conversation exists; the transaction checks it again under the lock.
                let (conversation, _) = self.visible_conversation(id, sender).await?;
                match peer_of(&conversation, sender) {
                    Some(peer) => {
                        self.require_accepted(me, Party::new("recipient_id", peer), Policy::NotChecked, || refusal(peer, sender)).await?;
                        Some(peer)
                    }
                    None => None,
                }
            }
        };
        let attachments = self.checked_media(sender, &media_ids).await?;

        let mut tx = self.db.begin().await?;
        let (conversation_id, created) = match target {
            Target::Conversation(id) => (id, false),
            Target::Recipient(recipient) => direct_conversation(&mut tx, sender, recipient).await?,
        };
        let sequence = sql::next_sequence(&mut tx, conversation_id).await?.ok_or_else(|| no_conversation(conversation_id))?;
        self.membership(&mut *tx, conversation_id, sender).await?;
        if let Some(reply) = reply_to {
            let original = messages::get(&mut *tx, reply).await?;
            if original.is_none_or(|m| m.conversation_id != conversation_id) {
                return Err(LogicError::not_found(format!("reply_to_message_id: no message {reply} in conversation {conversation_id}")));
            }
        }
        let new = messages::New {
            id: None,
            conversation_id,
            sender_id: sender,
            sequence,
            kind: Some(kind),
            body: Some(body.to_string()),
            reply_to_message_id: reply_to,
            created_at: None,
            edited_at: None,
            deleted_at: None,
        };
        let message = messages::insert(&mut *tx, &new).await?;
        insert_attachments(&mut tx, message.id, &attachments).await?;
        sql::mark_read(&mut *tx, conversation_id, sender, sequence).await?;
        let conversation = conversations::get(&mut *tx, conversation_id)
            .await?
            .ok_or_else(|| LogicError::internal("reading the conversation just written", "no row"))?;
        tx.commit().await?;
        if created {
            tracing::debug!(%conversation_id, %sender, peer = ?direct_peer, "direct conversation created");
        }
        let message = convert::messages(&self.db, std::slice::from_ref(&message)).await?.pop();
        Ok(pb::SendMessageResponse { message, conversation: Some(convert::conversation(&conversation)) })
    }
}

/// The direct conversation of the pair, created with both members when missing; whether this
/// call created it.
async fn direct_conversation(tx: &mut Transaction<'static, Postgres>, sender: Uuid, recipient: Uuid) -> Result<(Uuid, bool), LogicError> {
    let key = sql::direct_key(sender, recipient);
    if let Some(id) = sql::insert_direct(tx, sender, &key).await? {
        sql::insert_members(tx, id, &[(sender, Role::Member), (recipient, Role::Member)], 0).await?;
        return Ok((id, true));
    }
    // Inserted by someone else, committed before our insert gave up: this statement sees it.
    let existing = conversations::find_by_direct_key(&mut **tx, &key).await?.ok_or_else(|| {
        LogicError::Aborted(format!("the direct conversation of sender_id {sender} and recipient_id {recipient} was deleted meanwhile; retry"))
    })?;
    Ok((existing.id, false))
}

async fn insert_attachments(tx: &mut Transaction<'static, Postgres>, message: Uuid, attachments: &[CheckedMedia]) -> Result<(), LogicError> {
    for (position, media) in attachments.iter().enumerate() {
        let new = message_attachments::New {
            id: None,
            message_id: message,
            position: Some(i16::try_from(position).map_err(|e| LogicError::internal("numbering attachments", e))?),
            media_id: media.media_id,
            kind: media.kind as i16,
            mime_type: media.mime_type.clone(),
            size_bytes: Some(media.size_bytes),
            file_name: Some(media.file_name.clone()),
            created_at: None,
        };
        message_attachments::insert(&mut **tx, &new).await?;
    }
    Ok(())
}

/// Why a direct message to `recipient` does not pass when it is not the sender's own block:
/// the recipient blocks the sender, or their DirectMessagePolicy does not admit the sender.
/// One text for all of these, so the sender cannot tell a block from a policy (see the proto).
fn refusal(recipient: Uuid, sender: Uuid) -> String {
    format!("recipient_id {recipient} does not accept direct messages from sender_id {sender}")
}

/// The other member of a direct conversation, as far as its key tells; `None` for a group.
fn peer_of(conversation: &conversations::Row, sender: Uuid) -> Option<Uuid> {
    if conversation.kind != ConversationKind::Direct {
        return None;
    }
    let key = conversation.direct_key.as_deref()?;
    key.split(':').filter_map(|id| Uuid::parse_str(id).ok()).find(|id| *id != sender)
}

/// A message body: no NUL, at most 4000 characters, surrounding whitespace kept.
pub fn body<'a>(field: &str, value: &'a str) -> Result<&'a str, LogicError> {
    let value = text(field, value)?;
    let chars = value.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(LogicError::invalid_argument(format!("{field} must be at most {MAX_BODY_CHARS} characters, got {chars}")));
    }
    // A body of whitespace only says nothing: treated as empty.
    Ok(if value.trim().is_empty() { "" } else { value })
}

/// The stored kind: UNSPECIFIED follows the attachments; TEXT carries none, MEDIA needs one;
/// SYSTEM messages are written by the service only.
fn kind(requested: pb::MessageKind, has_attachments: bool) -> Result<Kind, LogicError> {
    match (requested, has_attachments) {
        (pb::MessageKind::Unspecified, false) | (pb::MessageKind::Text, false) => Ok(Kind::Text),
        (pb::MessageKind::Unspecified, true) | (pb::MessageKind::Media, true) => Ok(Kind::Media),
        (pb::MessageKind::Text, true) => Err(LogicError::invalid_argument("kind TEXT carries no attachment_media_ids; use MEDIA")),
        (pb::MessageKind::Media, false) => Err(LogicError::invalid_argument("kind MEDIA needs attachment_media_ids")),
        (pb::MessageKind::System, _) => Err(LogicError::invalid_argument("kind SYSTEM is written by the service only")),
    }
}

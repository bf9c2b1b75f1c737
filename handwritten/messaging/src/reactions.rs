//! AddReaction and RemoveReaction: one row per (message, user, emoji), so both are idempotent
//! by the primary key. Adding locks the message row, the lock a recall takes, so a reaction
//! never lands on a message recalled meanwhile (the recall removes the reactions it finds).

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, text};
use nova_messaging::repo::message_reactions;
use nova_messaging::{LogicError, pb};

use crate::{MessagingLogic, convert, sql};

const MAX_EMOJI_CHARS: usize = 16;

/// An emoji: not empty, at most 16 characters (an emoji with modifiers and joiners is several),
/// no whitespace.
fn emoji(value: &str) -> Result<&str, LogicError> {
    let value = text("emoji", value)?;
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_EMOJI_CHARS || value.chars().any(char::is_whitespace) {
        return Err(LogicError::invalid_argument(format!("emoji must be 1 to {MAX_EMOJI_CHARS} characters without whitespace")));
    }
    Ok(value)
}

impl MessagingLogic {
    /// `user`'s reaction, `user` being the caller and a member (NOT_FOUND otherwise).
    pub(crate) async fn react(&self, user: Uuid, request: pb::AddReactionRequest) -> Result<pb::AddReactionResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let emoji = emoji(&request.emoji)?;
        self.visible_message(id, user).await?;
        let mut tx = self.db.begin().await?;
        let deleted = sql::lock_message(&mut tx, id).await?.ok_or_else(|| LogicError::not_found(format!("message_id: no message {id}")))?;
        if deleted.is_some() {
            return Err(LogicError::FailedPrecondition(format!("message {id} was deleted")));
        }
        sql::insert_reaction(&mut tx, id, user, emoji).await?;
        tx.commit().await?;
        let reactions = convert::reactions_of(&self.db, &[id]).await?.remove(&id).unwrap_or_default();
        Ok(pb::AddReactionResponse { reactions })
    }

    /// Removes `user`'s own reaction, `user` being the caller and a member (NOT_FOUND otherwise).
    pub(crate) async fn unreact(&self, user: Uuid, request: pb::RemoveReactionRequest) -> Result<pb::RemoveReactionResponse, LogicError> {
        let id = parse_uuid("message_id", &request.message_id)?;
        let emoji = emoji(&request.emoji)?;
        self.visible_message(id, user).await?;
        message_reactions::delete(&self.db, id, user, emoji).await?;
        let reactions = convert::reactions_of(&self.db, &[id]).await?.remove(&id).unwrap_or_default();
        Ok(pb::RemoveReactionResponse { reactions })
    }
}

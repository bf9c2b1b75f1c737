//! GetConversation, GetConversationMembers, ListConversations and CreateGroupConversation, and
//! the access rule every conversation read and write shares: the caller sees a conversation
//! only while they are one of its members; to anyone else it does not exist (NOT_FOUND, the
//! same answer as for an unknown id).

use std::collections::HashMap;

use ::nova_runtime::codegen::chrono::DateTime;
use ::nova_runtime::codegen::sqlx::PgExecutor;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids, text};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::conversations::{self, Kind};
use nova_messaging::{LogicError, pb};

use crate::calls::{Party, Policy};
use crate::{MessagingLogic, convert, sql};

/// The most members a group holds, its owner included.
pub const MAX_GROUP_MEMBERS: usize = 256;
const MAX_TITLE_CHARS: usize = 100;

/// A keyset position: a time in microseconds (PostgreSQL's precision) and an id, as text.
type Position = (i64, String);

fn position_of(token: Option<Position>) -> Result<Option<(DateTime<::nova_runtime::codegen::chrono::Utc>, Uuid)>, LogicError> {
    let invalid = || LogicError::invalid_argument("page_token is not a token this list returned; start again with an empty page_token");
    token
        .map(|(micros, id)| Ok((DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?, Uuid::parse_str(&id).map_err(|_| invalid())?)))
        .transpose()
}

/// The answer for a conversation the caller may not see: the same whether it does not exist,
/// was deleted, or the caller is not (or no longer) a member.
pub(crate) fn no_conversation(id: Uuid) -> LogicError {
    LogicError::not_found(format!("conversation_id: no conversation {id}"))
}

impl MessagingLogic {
    /// A live conversation, whoever asks: NOT_FOUND naming `conversation_id` otherwise. Only for
    /// paths that check the caller's membership next (or create the membership).
    pub(crate) async fn conversation(&self, id: Uuid) -> Result<conversations::Row, LogicError> {
        conversations::get(&self.db, id).await?.ok_or_else(|| no_conversation(id))
    }

    /// `user`'s membership of `conversation`: NOT_FOUND naming `conversation_id` (as for an
    /// unknown conversation) when they are not a member, so a stranger learns nothing.
    pub(crate) async fn membership(&self, db: impl PgExecutor<'_>, conversation: Uuid, user: Uuid) -> Result<conversation_members::Row, LogicError> {
        conversation_members::get(db, conversation, user).await?.ok_or_else(|| no_conversation(conversation))
    }

    /// The conversation `id` as `me` may see it: live, with `me` a member (and that membership).
    pub(crate) async fn visible_conversation(&self, id: Uuid, me: Uuid) -> Result<(conversations::Row, conversation_members::Row), LogicError> {
        let conversation = self.conversation(id).await?;
        let member = self.membership(&self.db, id, me).await?;
        Ok((conversation, member))
    }

    pub(crate) async fn get_one_conversation(
        &self,
        me: Uuid,
        request: pb::GetConversationRequest,
    ) -> Result<pb::GetConversationResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let (row, _) = self.visible_conversation(id, me).await?;
        Ok(pb::GetConversationResponse { conversation: Some(convert::conversation(&row)) })
    }

    pub(crate) async fn members(
        &self,
        me: Uuid,
        request: pb::GetConversationMembersRequest,
    ) -> Result<pb::GetConversationMembersResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let size = page_size(request.page_size, 100, 500)?;
        let list = format!("GetConversationMembers/{id}");
        let after = position_of(decode_token::<Position>(&list, &request.page_token)?)?;
        self.visible_conversation(id, me).await?;
        let rows = sql::members_page(&self.db, id, after, limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |r| (r.joined_at.timestamp_micros(), r.user_id.to_string()));
        Ok(pb::GetConversationMembersResponse { members: rows.iter().map(|r| convert::member(r, me)).collect(), next_page_token })
    }

    /// The caller's own conversations: `user_id` is bound to the caller, and only `me` is read.
    pub(crate) async fn list(&self, me: Uuid, request: pb::ListConversationsRequest) -> Result<pb::ListConversationsResponse, LogicError> {
        let size = page_size(request.page_size, 20, 100)?;
        let list = format!("ListConversations/{me}");
        let after = position_of(decode_token::<Position>(&list, &request.page_token)?)?;
        let page = sql::conversations_page(&self.db, me, after, limit(size)).await?;
        let (page, next_page_token) = split_page(page, size, &list, |(id, at)| (at.timestamp_micros(), id.to_string()));
        let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
        let mut rows: HashMap<Uuid, conversations::Row> = conversations::get_many(&self.db, &ids).await?.into_iter().map(|r| (r.id, r)).collect();
        // A conversation deleted between the two reads is left out of the page.
        let conversations = ids.iter().filter_map(|id| rows.remove(id)).map(|r| convert::conversation(&r)).collect();
        Ok(pb::ListConversationsResponse { conversations, next_page_token })
    }

    pub(crate) async fn create_group(
        &self,
        creator: Uuid,
        request: pb::CreateGroupConversationRequest,
    ) -> Result<pb::CreateGroupConversationResponse, LogicError> {
        let title = text("title", &request.title)?.trim();
        let title_chars = title.chars().count();
        if title_chars == 0 || title_chars > MAX_TITLE_CHARS {
            return Err(LogicError::invalid_argument(format!("title must be 1 to {MAX_TITLE_CHARS} characters, got {title_chars}")));
        }
        let mut others = parse_uuids("member_ids", &request.member_ids, MAX_GROUP_MEMBERS - 1)?;
        others.sort_unstable();
        others.dedup();
        others.retain(|id| *id != creator);
        let mut users = vec![("creator_id", creator)];
        users.extend(others.iter().map(|id| ("member_ids", *id)));
        self.require_named_users(&users).await?;
        for member in &others {
            let refusal = || format!("member_ids: user {member} does not accept being added to a group by creator_id {creator}");
            self.require_accepted(Party::new("creator_id", creator), Party::new("member_ids", *member), Policy::Checked, refusal).await?;
        }
        let mut members = vec![(creator, Role::Owner)];
        members.extend(others.iter().map(|id| (*id, Role::Member)));
        let member_count = i32::try_from(members.len()).map_err(|e| LogicError::internal("counting members", e))?;
        let mut tx = self.db.begin().await?;
        let new = conversations::New {
            id: None,
            kind: Kind::Group,
            title: Some(title.to_string()),
            created_by: creator,
            direct_key: None,
            member_count: Some(member_count),
            last_sequence: None,
            last_message_at: None,
            created_at: None,
            updated_at: None,
            deleted_at: None,
        };
        let row = conversations::insert(&mut *tx, &new).await?;
        sql::insert_members(&mut tx, row.id, &members, 0).await?;
        tx.commit().await?;
        Ok(pb::CreateGroupConversationResponse { conversation: Some(convert::conversation(&row)) })
    }
}

/// The rows to fetch for a page of `size`: one more, to learn whether another page follows.
pub fn limit(size: usize) -> i64 {
    i64::try_from(size + 1).unwrap_or(i64::MAX)
}

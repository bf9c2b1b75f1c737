//! GetConversation, GetConversationMembers, ListConversations and CreateGroupConversation, and
//! the access rule every conversation read shares: the conversation must exist (NOT_FOUND)
//! and the requester be one of its members (PERMISSION_DENIED).

use std::collections::HashMap;

use ::nova_runtime::codegen::chrono::DateTime;
use ::nova_runtime::codegen::sqlx::PgExecutor;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids, text};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::conversations::{self, Kind};
use nova_messaging::{LogicError, pb};

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

impl MessagingLogic {
    /// A live conversation: NOT_FOUND naming `conversation_id` otherwise.
    pub(crate) async fn conversation(&self, id: Uuid) -> Result<conversations::Row, LogicError> {
        conversations::get(&self.db, id).await?.ok_or_else(|| LogicError::not_found(format!("conversation_id: no conversation {id}")))
    }

    /// The membership of `user` (the request's `field`): PERMISSION_DENIED when not a member.
    pub(crate) async fn membership(
        &self,
        db: impl PgExecutor<'_>,
        conversation: Uuid,
        field: &str,
        user: Uuid,
    ) -> Result<conversation_members::Row, LogicError> {
        conversation_members::get(db, conversation, user)
            .await?
            .ok_or_else(|| LogicError::PermissionDenied(format!("{field} {user} is not a member of conversation {conversation}")))
    }

    pub(crate) async fn get_one_conversation(&self, request: pb::GetConversationRequest) -> Result<pb::GetConversationResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let row = self.conversation(id).await?;
        self.membership(&self.db, id, "requester_id", requester).await?;
        Ok(pb::GetConversationResponse { conversation: Some(convert::conversation(&row)) })
    }

    pub(crate) async fn members(&self, request: pb::GetConversationMembersRequest) -> Result<pb::GetConversationMembersResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let size = page_size(request.page_size, 100, 500)?;
        let list = format!("GetConversationMembers/{id}");
        let after = position_of(decode_token::<Position>(&list, &request.page_token)?)?;
        self.conversation(id).await?;
        self.membership(&self.db, id, "requester_id", requester).await?;
        let rows = sql::members_page(&self.db, id, after, limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |r| (r.joined_at.timestamp_micros(), r.user_id.to_string()));
        Ok(pb::GetConversationMembersResponse { members: rows.iter().map(convert::member).collect(), next_page_token })
    }

    pub(crate) async fn list(&self, request: pb::ListConversationsRequest) -> Result<pb::ListConversationsResponse, LogicError> {
        let user = parse_uuid("user_id", &request.user_id)?;
        let size = page_size(request.page_size, 20, 100)?;
        let list = format!("ListConversations/{user}");
        let after = position_of(decode_token::<Position>(&list, &request.page_token)?)?;
        let page = sql::conversations_page(&self.db, user, after, limit(size)).await?;
        let (page, next_page_token) = split_page(page, size, &list, |(id, at)| (at.timestamp_micros(), id.to_string()));
        let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
        let mut rows: HashMap<Uuid, conversations::Row> = conversations::get_many(&self.db, &ids).await?.into_iter().map(|r| (r.id, r)).collect();
        // A conversation deleted between the two reads is left out of the page.
        let conversations = ids.iter().filter_map(|id| rows.remove(id)).map(|r| convert::conversation(&r)).collect();
        Ok(pb::ListConversationsResponse { conversations, next_page_token })
    }

    pub(crate) async fn create_group(&self, request: pb::CreateGroupConversationRequest) -> Result<pb::CreateGroupConversationResponse, LogicError> {
        let creator = parse_uuid("creator_id", &request.creator_id)?;
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
            self.require_no_block("creator_id", creator, "member_ids", *member).await?;
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

//! AddConversationMembers, RemoveConversationMember and UpdateMemberRole: the group's roles
//! (see the proto's header), decided for the caller alone. To a caller who is not a member
//! the conversation does not exist: its membership is checked before its kind or any role. Each change runs in one transaction that first locks the
//! conversation row, the lock sending also takes, so roles are checked against the state the
//! change applies to, the member count moves by atomic increments only for rows really
//! inserted or deleted (which makes the RPCs idempotent), and a removed member can send no
//! message after the removal commits.

use std::collections::HashSet;

use ::nova_runtime::codegen::sqlx::{PgConnection, Postgres, Transaction};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::conversations::{self, Kind};
use nova_messaging::{LogicError, pb};

use crate::calls::{Party, Policy};
use crate::conversations::{MAX_GROUP_MEMBERS, no_conversation};
use crate::{MessagingLogic, convert, sql};

const MAX_ADDED: usize = 50;

impl MessagingLogic {
    /// Adds users as `requester`, the caller: a member (NOT_FOUND otherwise), of a group
    /// (FAILED_PRECONDITION otherwise), its owner or an admin (PERMISSION_DENIED otherwise).
    /// Users who are not members yet must accept being added by the requester (see
    /// `require_accepted`); those already in are left as they are, unchecked, so a retry passes.
    pub(crate) async fn add_members(
        &self,
        requester: Uuid,
        request: pb::AddConversationMembersRequest,
    ) -> Result<pb::AddConversationMembersResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let mut users = parse_uuids("user_ids", &request.user_ids, MAX_ADDED)?;
        users.sort_unstable();
        users.dedup();
        if users.is_empty() {
            return Err(LogicError::invalid_argument("user_ids must name at least one user"));
        }
        // Cheap refusals before calling anyone; the transaction checks again under the lock.
        let (conversation, member) = self.visible_conversation(id, requester).await?;
        require_group(conversation.kind)?;
        require_admin(&member)?;
        self.require_users("user_ids", &users).await?;
        let present: HashSet<Uuid> = sql::members_by_ids(&self.db, id, &users).await?.into_iter().map(|m| m.user_id).collect();
        let newcomers: HashSet<Uuid> = users.iter().copied().filter(|u| !present.contains(u)).collect();
        for user in &newcomers {
            let refusal = || format!("user_ids: user {user} does not accept being added to a group by requester_id {requester}");
            self.require_accepted(Party::new("requester_id", requester), Party::new("user_ids", *user), Policy::Checked, refusal).await?;
        }
        let mut tx = self.db.begin().await?;
        let (kind, last_sequence) = lock(&mut tx, id).await?;
        require_admin(&self.membership(&mut *tx, id, requester).await?)?;
        require_group(kind)?;
        let new: Vec<(Uuid, Role)> = users.iter().map(|u| (*u, Role::Member)).collect();
        // New members start with the history read: their unread count is what comes next.
        let added = sql::insert_members(&mut tx, id, &new, last_sequence).await?;
        // A user who was a member at the check above (so was not asked) but left since.
        if let Some(unchecked) = added.iter().find(|u| !newcomers.contains(u)) {
            return Err(LogicError::Aborted(format!("user_ids: user {unchecked} left conversation {id} meanwhile; retry")));
        }
        let mut member_count = conversation.member_count;
        if !added.is_empty() {
            let by = i32::try_from(added.len()).map_err(|e| LogicError::internal("counting members", e))?;
            member_count = conversations::increment_member_count(&mut *tx, id, by).await?;
            if usize::try_from(member_count).unwrap_or(usize::MAX) > MAX_GROUP_MEMBERS {
                return Err(LogicError::FailedPrecondition(format!(
                    "conversation {id} would have {member_count} members; a group holds at most {MAX_GROUP_MEMBERS}"
                )));
            }
        }
        let members = sql::members_by_ids(&mut *tx, id, &users).await?;
        tx.commit().await?;
        Ok(pb::AddConversationMembersResponse { members: members.iter().map(|m| convert::member(m, requester)).collect(), member_count })
    }

    /// Removes `user_id` as `requester`, the caller, or lets the caller leave. A caller who is
    /// not a member learns nothing: leaving succeeds with a member count of 0 (nothing to
    /// leave, whether or not the conversation exists), removing someone else is NOT_FOUND.
    pub(crate) async fn remove_member(
        &self,
        requester: Uuid,
        request: pb::RemoveConversationMemberRequest,
    ) -> Result<pb::RemoveConversationMemberResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let user = parse_uuid("user_id", &request.user_id)?;
        let leaving = user == requester;
        let mut tx = self.db.begin().await?;
        let locked = sql::lock_conversation(&mut tx, id).await?;
        let acting = match locked {
            Some(_) => conversation_members::get(&mut *tx, id, requester).await?,
            None => None,
        };
        let (Some((kind, _)), Some(acting)) = (locked, acting) else {
            return if leaving { Ok(pb::RemoveConversationMemberResponse { member_count: 0 }) } else { Err(no_conversation(id)) };
        };
        require_group(kind)?;
        let conversation = conversations::get(&mut *tx, id).await?.ok_or_else(|| no_conversation(id))?;
        if leaving {
            if acting.role == Role::Owner && conversation.member_count > 1 {
                return Err(LogicError::FailedPrecondition(format!(
                    "requester_id {requester} owns conversation {id}: transfer ownership (UpdateMemberRole) before leaving"
                )));
            }
        } else {
            if acting.role == Role::Member {
                return Err(LogicError::PermissionDenied(format!(
                    "requester_id {requester} is a plain member of conversation {id}: only its owner and admins remove others"
                )));
            }
            // Removing a user who is not (or no longer) a member changes nothing.
            let Some(target) = conversation_members::get(&mut *tx, id, user).await? else {
                return Ok(pb::RemoveConversationMemberResponse { member_count: conversation.member_count });
            };
            if acting.role == Role::Admin && target.role != Role::Member {
                return Err(LogicError::PermissionDenied(format!(
                    "requester_id {requester} ({}) may not remove user_id {user} ({})",
                    acting.role.name(),
                    target.role.name()
                )));
            }
        }
        let mut member_count = conversation.member_count;
        if conversation_members::delete(&mut *tx, id, user).await? {
            member_count = conversations::increment_member_count(&mut *tx, id, -1).await?;
            if member_count == 0 {
                // The last member left: nobody can reach the group any more.
                conversations::delete(&mut *tx, id).await?;
            }
        }
        tx.commit().await?;
        Ok(pb::RemoveConversationMemberResponse { member_count })
    }

    /// Sets a role as `requester`, the caller: a member (NOT_FOUND otherwise) of a group
    /// (FAILED_PRECONDITION otherwise) who owns it (PERMISSION_DENIED otherwise).
    pub(crate) async fn update_role(
        &self,
        requester: Uuid,
        request: pb::UpdateMemberRoleRequest,
    ) -> Result<pb::UpdateMemberRoleResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let user = parse_uuid("user_id", &request.user_id)?;
        let role = pb::MemberRole::try_from(request.role)
            .ok()
            .and_then(|r| Role::try_from(r).ok())
            .ok_or_else(|| LogicError::invalid_argument(format!("role must be OWNER, ADMIN or MEMBER, got {}", request.role)))?;
        let mut tx = self.db.begin().await?;
        let (kind, _) = lock(&mut tx, id).await?;
        let acting = self.membership(&mut *tx, id, requester).await?;
        require_group(kind)?;
        if acting.role != Role::Owner {
            return Err(LogicError::PermissionDenied(format!("requester_id {requester} is not the owner of conversation {id}")));
        }
        let target = conversation_members::get(&mut *tx, id, user)
            .await?
            .ok_or_else(|| LogicError::not_found(format!("user_id: {user} is not a member of conversation {id}")))?;
        if user == requester && role != Role::Owner {
            return Err(LogicError::FailedPrecondition(format!(
                "requester_id {requester} owns conversation {id}: transfer ownership to another member instead of demoting yourself"
            )));
        }
        let updated = if target.role == role {
            target
        } else {
            if role == Role::Owner {
                // A transfer: one owner at all times, the previous one stays as an admin.
                set_role(&mut tx, id, requester, Role::Admin).await?;
            }
            set_role(&mut tx, id, user, role).await?
        };
        tx.commit().await?;
        Ok(pb::UpdateMemberRoleResponse { member: Some(convert::member(&updated, requester)) })
    }
}

async fn set_role(
    tx: &mut Transaction<'static, Postgres>,
    conversation: Uuid,
    user: Uuid,
    role: Role,
) -> Result<conversation_members::Row, LogicError> {
    let patch = conversation_members::Patch { role: Some(role), ..Default::default() };
    Ok(conversation_members::update(&mut **tx, conversation, user, &patch).await?)
}

/// Locks a live conversation until the transaction ends: its kind and last sequence.
/// NOT_FOUND when there is no such conversation; the caller checks membership next, before
/// anything tells its kind.
async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<(Kind, i64), LogicError> {
    sql::lock_conversation(tx, id).await?.ok_or_else(|| no_conversation(id))
}

fn require_group(kind: Kind) -> Result<(), LogicError> {
    match kind {
        Kind::Group => Ok(()),
        Kind::Direct => Err(LogicError::FailedPrecondition("conversation_id names a direct conversation, whose members never change".into())),
    }
}

fn require_admin(member: &conversation_members::Row) -> Result<(), LogicError> {
    match member.role {
        Role::Owner | Role::Admin => Ok(()),
        Role::Member => Err(LogicError::PermissionDenied(format!(
            "requester_id {} is a plain member of conversation {}: only its owner and admins add members",
            member.user_id, member.conversation_id
        ))),
    }
}

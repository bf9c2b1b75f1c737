//! AddConversationMembers, RemoveConversationMember and UpdateMemberRole: the group's roles
//! (see the proto's header). Each change runs in one transaction that first locks the
//! conversation row, the lock sending also takes, so roles are checked against the state the
//! change applies to, the member count moves by atomic increments only for rows really
//! inserted or deleted (which makes the RPCs idempotent), and a removed member can send no
//! message after the removal commits.

use ::nova_runtime::codegen::sqlx::{PgConnection, Postgres, Transaction};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids};
use nova_messaging::repo::conversation_members::{self, Role};
use nova_messaging::repo::conversations::{self, Kind};
use nova_messaging::{LogicError, pb};

use crate::conversations::MAX_GROUP_MEMBERS;
use crate::{MessagingLogic, convert, sql};

const MAX_ADDED: usize = 50;

impl MessagingLogic {
    pub(crate) async fn add_members(&self, request: pb::AddConversationMembersRequest) -> Result<pb::AddConversationMembersResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let mut users = parse_uuids("user_ids", &request.user_ids, MAX_ADDED)?;
        users.sort_unstable();
        users.dedup();
        if users.is_empty() {
            return Err(LogicError::invalid_argument("user_ids must name at least one user"));
        }
        // Cheap refusals before calling anyone; the transaction checks again under the lock.
        let conversation = self.conversation(id).await?;
        require_group(conversation.kind)?;
        require_admin(&self.membership(&self.db, id, "requester_id", requester).await?)?;
        self.require_users("user_ids", &users).await?;
        for user in users.iter().filter(|u| **u != requester) {
            self.require_no_block("requester_id", requester, "user_ids", *user).await?;
        }
        let mut tx = self.db.begin().await?;
        let last_sequence = lock_group(&mut tx, id).await?;
        require_admin(&self.membership(&mut *tx, id, "requester_id", requester).await?)?;
        let new: Vec<(Uuid, Role)> = users.iter().map(|u| (*u, Role::Member)).collect();
        // New members start with the history read: their unread count is what comes next.
        let added = sql::insert_members(&mut tx, id, &new, last_sequence).await?;
        let mut member_count = conversation.member_count;
        if added > 0 {
            let by = i32::try_from(added).map_err(|e| LogicError::internal("counting members", e))?;
            member_count = conversations::increment_member_count(&mut *tx, id, by).await?;
            if usize::try_from(member_count).unwrap_or(usize::MAX) > MAX_GROUP_MEMBERS {
                return Err(LogicError::FailedPrecondition(format!("conversation {id} would have {member_count} members; a group holds at most {MAX_GROUP_MEMBERS}")));
            }
        }
        let members = sql::members_by_ids(&mut *tx, id, &users).await?;
        tx.commit().await?;
        Ok(pb::AddConversationMembersResponse { members: members.iter().map(convert::member).collect(), member_count })
    }

    pub(crate) async fn remove_member(&self, request: pb::RemoveConversationMemberRequest) -> Result<pb::RemoveConversationMemberResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let user = parse_uuid("user_id", &request.user_id)?;
        let mut tx = self.db.begin().await?;
        lock_group(&mut tx, id).await?;
        let conversation = conversations::get(&mut *tx, id).await?.ok_or_else(|| LogicError::not_found(format!("conversation_id: no conversation {id}")))?;
        let target = conversation_members::get(&mut *tx, id, user).await?;
        if user == requester {
            // Leaving. Leaving twice is a success that changes nothing.
            let Some(target) = target else { return Ok(pb::RemoveConversationMemberResponse { member_count: conversation.member_count }) };
            if target.role == Role::Owner && conversation.member_count > 1 {
                return Err(LogicError::FailedPrecondition(format!(
                    "requester_id {requester} owns conversation {id}: transfer ownership (UpdateMemberRole) before leaving"
                )));
            }
        } else {
            let acting = self.membership(&mut *tx, id, "requester_id", requester).await?;
            let Some(target) = target else { return Ok(pb::RemoveConversationMemberResponse { member_count: conversation.member_count }) };
            let allowed = match acting.role {
                Role::Owner => true,
                Role::Admin => target.role == Role::Member,
                Role::Member => false,
            };
            if !allowed {
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

    pub(crate) async fn update_role(&self, request: pb::UpdateMemberRoleRequest) -> Result<pb::UpdateMemberRoleResponse, LogicError> {
        let id = parse_uuid("conversation_id", &request.conversation_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let user = parse_uuid("user_id", &request.user_id)?;
        let role = pb::MemberRole::try_from(request.role)
            .ok()
            .and_then(|r| Role::try_from(r).ok())
            .ok_or_else(|| LogicError::invalid_argument(format!("role must be OWNER, ADMIN or MEMBER, got {}", request.role)))?;
        let mut tx = self.db.begin().await?;
        lock_group(&mut tx, id).await?;
        let acting = self.membership(&mut *tx, id, "requester_id", requester).await?;
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
        Ok(pb::UpdateMemberRoleResponse { member: Some(convert::member(&updated)) })
    }
}

async fn set_role(tx: &mut Transaction<'static, Postgres>, conversation: Uuid, user: Uuid, role: Role) -> Result<conversation_members::Row, LogicError> {
    let patch = conversation_members::Patch { role: Some(role), ..Default::default() };
    Ok(conversation_members::update(&mut **tx, conversation, user, &patch).await?)
}

/// Locks a live group until the transaction ends and returns its last sequence: NOT_FOUND
/// when there is no such conversation, FAILED_PRECONDITION when it is direct.
async fn lock_group(tx: &mut PgConnection, id: Uuid) -> Result<i64, LogicError> {
    let (kind, last_sequence) =
        sql::lock_conversation(tx, id).await?.ok_or_else(|| LogicError::not_found(format!("conversation_id: no conversation {id}")))?;
    require_group(kind)?;
    Ok(last_sequence)
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

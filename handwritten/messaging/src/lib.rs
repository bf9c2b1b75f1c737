//! Business logic of the messaging service: direct and group conversations, their members
//! and roles, messages with attachments, edits (with history) and recalls, read positions and
//! unread counts.
//!
//! Each RPC lives in the module named for what it touches (`conversations`, `members`, `send`,
//! `messages`, `reactions`, `reads`); calls to auth, media and user (and the mapping of their
//! errors) are in `calls`, conversions to protos in `convert`, handwritten SQL in `sql`.
//!
//! # Sequences and unread counts
//!
//! Every message gets the next number of its conversation from one
//! `UPDATE conversations SET last_sequence = last_sequence + 1 ... RETURNING` inside the
//! sending transaction (see [`send`]): numbers are 1, 2, 3... without gaps, and a member's
//! unread count is `last_sequence - last_read_sequence`, exact under concurrent sends.
//!
//! # Who calls
//!
//! Every RPC is `user` in the spec: an anonymous call is UNAUTHENTICATED and another user's id
//! in an acting field (`sender_id`, `requester_id`, ...) PERMISSION_DENIED before a handler
//! runs. The handlers then decide on `ctx.principal`'s user alone (the `me` each of them
//! takes), never on a request field: membership, roles, who sent a message. No service may
//! call as itself (no RPC lists `services`): there is no caller without a user here.
//!
//! # What a caller sees
//!
//! A conversation, its messages, members, edits and unread counts are seen by its current
//! members only. To anyone else a conversation or a message of it does not exist: NOT_FOUND,
//! word for word what an unknown id gets (`visible_conversation`, `visible_message`), before
//! any other check that would tell something about it (its kind, roles, blocks). Leaving a
//! conversation one is not in succeeds and answers a member count of 0, whatever the id.
//! A member's `muted` flag is shown to that member only.
//!
//! # Who may message whom
//!
//! Senders, recipients and added members must exist in auth (NOT_FOUND naming the field).
//! In a direct conversation no message passes while either user blocks the other (user's
//! CheckUserRelationship, fail closed); a new direct conversation, and adding a user to a
//! group, also need that user's DirectMessagePolicy to admit the one starting it. Whoever is
//! refused because the other user blocks them gets the very refusal a DirectMessagePolicy
//! gives (see `calls::require_accepted`): nobody learns from messaging that they are
//! blocked. In groups a block stops being added together, not speaking: see the proto's
//! header.
//!
//! # Caches
//!
//! Nothing of messaging is cached by its callers (see the spec): its answers change with
//! every message, so there is nothing to invalidate.

mod calls;
mod consumer;
mod conversations;
mod convert;
mod members;
mod messages;
mod reactions;
mod reads;
mod send;
mod sql;

use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_media_api::MediaClient;
use nova_messaging::wiring::Users;
use nova_messaging::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use nova_user_api::UserClient;

/// The business logic of the messaging service.
#[derive(Debug, Clone)]
pub struct MessagingLogic {
    db: PgPool,
    /// Senders, recipients and members exist (auth, cached).
    users: Users,
    /// Attachments belong to the sender and are READY.
    media: MediaClient,
    /// Blocks and direct-message policies.
    user: UserClient,
}

impl MessagingLogic {
    pub fn new(dependencies: Dependencies) -> Self {
        let Dependencies { db, media, user, users, auth: _ } = dependencies;
        MessagingLogic { db, users, media, user }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}

impl Logic for MessagingLogic {
    async fn get_messages(&self, ctx: &CallContext, request: pb::GetMessagesRequest) -> Result<pb::GetMessagesResponse, LogicError> {
        self.page(ctx.require_user()?, request).await
    }

    async fn get_message(&self, ctx: &CallContext, request: pb::GetMessageRequest) -> Result<pb::GetMessageResponse, LogicError> {
        self.get_one(ctx.require_user()?, request).await
    }

    async fn get_conversation(&self, ctx: &CallContext, request: pb::GetConversationRequest) -> Result<pb::GetConversationResponse, LogicError> {
        self.get_one_conversation(ctx.require_user()?, request).await
    }

    async fn get_conversation_members(
        &self,
        ctx: &CallContext,
        request: pb::GetConversationMembersRequest,
    ) -> Result<pb::GetConversationMembersResponse, LogicError> {
        self.members(ctx.require_user()?, request).await
    }

    async fn send_message(&self, ctx: &CallContext, request: pb::SendMessageRequest) -> Result<pb::SendMessageResponse, LogicError> {
        self.send(ctx.require_user()?, request).await
    }

    async fn update_message(&self, ctx: &CallContext, request: pb::UpdateMessageRequest) -> Result<pb::UpdateMessageResponse, LogicError> {
        self.edit(ctx.require_user()?, request).await
    }

    async fn list_message_edits(&self, ctx: &CallContext, request: pb::ListMessageEditsRequest) -> Result<pb::ListMessageEditsResponse, LogicError> {
        self.edits(ctx.require_user()?, request).await
    }

    async fn delete_message(&self, ctx: &CallContext, request: pb::DeleteMessageRequest) -> Result<pb::DeleteMessageResponse, LogicError> {
        self.recall(ctx.require_user()?, request).await
    }

    async fn add_reaction(&self, ctx: &CallContext, request: pb::AddReactionRequest) -> Result<pb::AddReactionResponse, LogicError> {
        self.react(ctx.require_user()?, request).await
    }

    async fn remove_reaction(&self, ctx: &CallContext, request: pb::RemoveReactionRequest) -> Result<pb::RemoveReactionResponse, LogicError> {
        self.unreact(ctx.require_user()?, request).await
    }

    async fn mark_as_read(&self, ctx: &CallContext, request: pb::MarkAsReadRequest) -> Result<pb::MarkAsReadResponse, LogicError> {
        self.mark_read(ctx.require_user()?, request).await
    }

    async fn get_unread_count(&self, ctx: &CallContext, request: pb::GetUnreadCountRequest) -> Result<pb::GetUnreadCountResponse, LogicError> {
        self.unread(ctx.require_user()?, request).await
    }

    async fn list_conversations(
        &self,
        ctx: &CallContext,
        request: pb::ListConversationsRequest,
    ) -> Result<pb::ListConversationsResponse, LogicError> {
        self.list(ctx.require_user()?, request).await
    }

    async fn create_group_conversation(
        &self,
        ctx: &CallContext,
        request: pb::CreateGroupConversationRequest,
    ) -> Result<pb::CreateGroupConversationResponse, LogicError> {
        self.create_group(ctx.require_user()?, request).await
    }

    async fn add_conversation_members(
        &self,
        ctx: &CallContext,
        request: pb::AddConversationMembersRequest,
    ) -> Result<pb::AddConversationMembersResponse, LogicError> {
        self.add_members(ctx.require_user()?, request).await
    }

    async fn remove_conversation_member(
        &self,
        ctx: &CallContext,
        request: pb::RemoveConversationMemberRequest,
    ) -> Result<pb::RemoveConversationMemberResponse, LogicError> {
        self.remove_member(ctx.require_user()?, request).await
    }

    async fn update_member_role(&self, ctx: &CallContext, request: pb::UpdateMemberRoleRequest) -> Result<pb::UpdateMemberRoleResponse, LogicError> {
        self.update_role(ctx.require_user()?, request).await
    }
}

/// Starts the service: builds its auth, media and user clients once, opens its database (the
/// server waits for it and applies migrations), then serves on `listeners` until `shutdown`
/// is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = MessagingLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}

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
//! # Who may message whom
//!
//! Senders, recipients and added members must exist in auth (NOT_FOUND naming the field).
//! In a direct conversation no message passes while either user blocks the other (user's
//! CheckUserRelationship, fail closed), and a new direct conversation also needs the
//! recipient's DirectMessagePolicy to allow it. In groups a block stops being added together,
//! not speaking: see the proto's header.
//!
//! # Caches
//!
//! Nothing of messaging is cached by its callers (see the spec): its answers change with
//! every message, so there is nothing to invalidate.

mod calls;
mod conversations;
mod convert;
mod members;
mod messages;
mod reactions;
mod reads;
mod send;
mod sql;

use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServeOptions, ServiceConfig, Shutdown, StartError};
use nova_auth_api::AuthClient;
use nova_media_api::MediaClient;
use nova_messaging::{CallContext, Logic, LogicError, pb};
use nova_user_api::UserClient;

pub use sql::STATEMENTS;

/// The business logic of the messaging service.
#[derive(Debug, Clone)]
pub struct MessagingLogic {
    db: PgPool,
    /// Senders, recipients and members exist.
    auth: AuthClient,
    /// Attachments belong to the sender and are READY.
    media: MediaClient,
    /// Blocks and direct-message policies.
    user: UserClient,
}

impl MessagingLogic {
    pub fn new(db: PgPool, auth: AuthClient, media: MediaClient, user: UserClient) -> Self {
        MessagingLogic { db, auth, media, user }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}

impl Logic for MessagingLogic {
    async fn get_messages(&self, _ctx: &CallContext, request: pb::GetMessagesRequest) -> Result<pb::GetMessagesResponse, LogicError> {
        self.page(request).await
    }

    async fn get_message(&self, _ctx: &CallContext, request: pb::GetMessageRequest) -> Result<pb::GetMessageResponse, LogicError> {
        self.get_one(request).await
    }

    async fn get_conversation(&self, _ctx: &CallContext, request: pb::GetConversationRequest) -> Result<pb::GetConversationResponse, LogicError> {
        self.get_one_conversation(request).await
    }

    async fn get_conversation_members(
        &self,
        _ctx: &CallContext,
        request: pb::GetConversationMembersRequest,
    ) -> Result<pb::GetConversationMembersResponse, LogicError> {
        self.members(request).await
    }

    async fn send_message(&self, _ctx: &CallContext, request: pb::SendMessageRequest) -> Result<pb::SendMessageResponse, LogicError> {
        self.send(request).await
    }

    async fn update_message(&self, _ctx: &CallContext, request: pb::UpdateMessageRequest) -> Result<pb::UpdateMessageResponse, LogicError> {
        self.edit(request).await
    }

    async fn list_message_edits(&self, _ctx: &CallContext, request: pb::ListMessageEditsRequest) -> Result<pb::ListMessageEditsResponse, LogicError> {
        self.edits(request).await
    }

    async fn delete_message(&self, _ctx: &CallContext, request: pb::DeleteMessageRequest) -> Result<pb::DeleteMessageResponse, LogicError> {
        self.recall(request).await
    }

    async fn add_reaction(&self, _ctx: &CallContext, request: pb::AddReactionRequest) -> Result<pb::AddReactionResponse, LogicError> {
        self.react(request).await
    }

    async fn remove_reaction(&self, _ctx: &CallContext, request: pb::RemoveReactionRequest) -> Result<pb::RemoveReactionResponse, LogicError> {
        self.unreact(request).await
    }

    async fn mark_as_read(&self, _ctx: &CallContext, request: pb::MarkAsReadRequest) -> Result<pb::MarkAsReadResponse, LogicError> {
        self.mark_read(request).await
    }

    async fn get_unread_count(&self, _ctx: &CallContext, request: pb::GetUnreadCountRequest) -> Result<pb::GetUnreadCountResponse, LogicError> {
        self.unread(request).await
    }

    async fn list_conversations(&self, _ctx: &CallContext, request: pb::ListConversationsRequest) -> Result<pb::ListConversationsResponse, LogicError> {
        self.list(request).await
    }

    async fn create_group_conversation(
        &self,
        _ctx: &CallContext,
        request: pb::CreateGroupConversationRequest,
    ) -> Result<pb::CreateGroupConversationResponse, LogicError> {
        self.create_group(request).await
    }

    async fn add_conversation_members(
        &self,
        _ctx: &CallContext,
        request: pb::AddConversationMembersRequest,
    ) -> Result<pb::AddConversationMembersResponse, LogicError> {
        self.add_members(request).await
    }

    async fn remove_conversation_member(
        &self,
        _ctx: &CallContext,
        request: pb::RemoveConversationMemberRequest,
    ) -> Result<pb::RemoveConversationMemberResponse, LogicError> {
        self.remove_member(request).await
    }

    async fn update_member_role(&self, _ctx: &CallContext, request: pb::UpdateMemberRoleRequest) -> Result<pb::UpdateMemberRoleResponse, LogicError> {
        self.update_role(request).await
    }
}

/// Starts the service: builds its auth, media and user clients once, opens its database (the
/// server waits for it and applies migrations), then serves on `listeners` until `shutdown`
/// is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let auth = AuthClient::from_peers(&config.peers)?;
    let media = MediaClient::from_peers(&config.peers)?;
    let user = UserClient::from_peers(&config.peers)?;
    let database = nova_messaging::db::open(config.database()?)?;
    let logic = MessagingLogic::new(database.pool().clone(), auth, media, user);
    let options = ServeOptions::new(&config, Some(database));
    nova_messaging::server::serve_with(logic, options, listeners, shutdown).await
}

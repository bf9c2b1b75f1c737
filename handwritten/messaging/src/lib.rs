// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_messaging::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the messaging service.
#[derive(Debug, Clone)]
pub struct MessagingLogic {
    db: PgPool,
}
impl MessagingLogic {
    pub fn new(db: PgPool) -> Self {
        MessagingLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for MessagingLogic {
    async fn get_messages(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMessagesRequest,
    ) -> Result<pb::GetMessagesResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMessages"))
    }
    async fn get_message(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMessageRequest,
    ) -> Result<pb::GetMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMessage"))
    }
    async fn get_conversation(
        &self,
        _ctx: &CallContext,
        _request: pb::GetConversationRequest,
    ) -> Result<pb::GetConversationResponse, LogicError> {
        Err(LogicError::Unimplemented("GetConversation"))
    }
    async fn get_conversation_members(
        &self,
        _ctx: &CallContext,
        _request: pb::GetConversationMembersRequest,
    ) -> Result<pb::GetConversationMembersResponse, LogicError> {
        Err(LogicError::Unimplemented("GetConversationMembers"))
    }
    async fn send_message(
        &self,
        _ctx: &CallContext,
        _request: pb::SendMessageRequest,
    ) -> Result<pb::SendMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("SendMessage"))
    }
    async fn update_message(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateMessageRequest,
    ) -> Result<pb::UpdateMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateMessage"))
    }
    async fn delete_message(
        &self,
        _ctx: &CallContext,
        _request: pb::DeleteMessageRequest,
    ) -> Result<pb::DeleteMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("DeleteMessage"))
    }
    async fn mark_as_read(
        &self,
        _ctx: &CallContext,
        _request: pb::MarkAsReadRequest,
    ) -> Result<pb::MarkAsReadResponse, LogicError> {
        Err(LogicError::Unimplemented("MarkAsRead"))
    }
    async fn get_unread_count(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUnreadCountRequest,
    ) -> Result<pb::GetUnreadCountResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUnreadCount"))
    }
    async fn list_conversations(
        &self,
        _ctx: &CallContext,
        _request: pb::ListConversationsRequest,
    ) -> Result<pb::ListConversationsResponse, LogicError> {
        Err(LogicError::Unimplemented("ListConversations"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_messaging::db::open(config.database()?)?;
    let logic = MessagingLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_messaging::server::serve_with(logic, options, listeners, shutdown).await
}

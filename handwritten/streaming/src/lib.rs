// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_streaming::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the streaming service.
#[derive(Debug, Clone)]
pub struct StreamingLogic {
    db: PgPool,
}
impl StreamingLogic {
    pub fn new(db: PgPool) -> Self {
        StreamingLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for StreamingLogic {
    async fn create_live_stream(
        &self,
        _ctx: &CallContext,
        _request: pb::CreateLiveStreamRequest,
    ) -> Result<pb::CreateLiveStreamResponse, LogicError> {
        Err(LogicError::Unimplemented("CreateLiveStream"))
    }
    async fn get_live_stream(
        &self,
        _ctx: &CallContext,
        _request: pb::GetLiveStreamRequest,
    ) -> Result<pb::GetLiveStreamResponse, LogicError> {
        Err(LogicError::Unimplemented("GetLiveStream"))
    }
    async fn update_live_stream(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateLiveStreamRequest,
    ) -> Result<pb::UpdateLiveStreamResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateLiveStream"))
    }
    async fn start_stream(
        &self,
        _ctx: &CallContext,
        _request: pb::StartStreamRequest,
    ) -> Result<pb::StartStreamResponse, LogicError> {
        Err(LogicError::Unimplemented("StartStream"))
    }
    async fn end_stream(
        &self,
        _ctx: &CallContext,
        _request: pb::EndStreamRequest,
    ) -> Result<pb::EndStreamResponse, LogicError> {
        Err(LogicError::Unimplemented("EndStream"))
    }
    async fn get_active_streams(
        &self,
        _ctx: &CallContext,
        _request: pb::GetActiveStreamsRequest,
    ) -> Result<pb::GetActiveStreamsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetActiveStreams"))
    }
    async fn get_stream_viewers(
        &self,
        _ctx: &CallContext,
        _request: pb::GetStreamViewersRequest,
    ) -> Result<pb::GetStreamViewersResponse, LogicError> {
        Err(LogicError::Unimplemented("GetStreamViewers"))
    }
    async fn send_chat_message(
        &self,
        _ctx: &CallContext,
        _request: pb::SendChatMessageRequest,
    ) -> Result<pb::SendChatMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("SendChatMessage"))
    }
    async fn get_chat_messages(
        &self,
        _ctx: &CallContext,
        _request: pb::GetChatMessagesRequest,
    ) -> Result<pb::GetChatMessagesResponse, LogicError> {
        Err(LogicError::Unimplemented("GetChatMessages"))
    }
    async fn delete_chat_message(
        &self,
        _ctx: &CallContext,
        _request: pb::DeleteChatMessageRequest,
    ) -> Result<pb::DeleteChatMessageResponse, LogicError> {
        Err(LogicError::Unimplemented("DeleteChatMessage"))
    }
    async fn record_stream_view(
        &self,
        _ctx: &CallContext,
        _request: pb::RecordStreamViewRequest,
    ) -> Result<pb::RecordStreamViewResponse, LogicError> {
        Err(LogicError::Unimplemented("RecordStreamView"))
    }
    async fn record_stream_event(
        &self,
        _ctx: &CallContext,
        _request: pb::RecordStreamEventRequest,
    ) -> Result<pb::RecordStreamEventResponse, LogicError> {
        Err(LogicError::Unimplemented("RecordStreamEvent"))
    }
    async fn get_stream_analytics(
        &self,
        _ctx: &CallContext,
        _request: pb::GetStreamAnalyticsRequest,
    ) -> Result<pb::GetStreamAnalyticsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetStreamAnalytics"))
    }
    async fn get_creator_streams(
        &self,
        _ctx: &CallContext,
        _request: pb::GetCreatorStreamsRequest,
    ) -> Result<pb::GetCreatorStreamsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetCreatorStreams"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_streaming::db::open(config.database()?)?;
    let logic = StreamingLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_streaming::server::serve_with(logic, options, listeners, shutdown).await
}

// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the streaming service: live streams and their lifecycle, stream keys,
//! viewer sessions and counts, live chat with moderation, and per-minute analytics.
//!
//! Each RPC lives in the module named for what it touches (`lifecycle`, `keys`, `viewers`,
//! `chat`, `analytics`); the `Logic` impl below only dispatches. Who may see a stream and who
//! may run it is decided in one place, `audience`. Calls to auth (creators, senders and
//! viewers exist) and user (blocks and follows decide who may watch and chat, fail-closed) are
//! in `calls`, conversions in `convert`, the statements the generated repositories do not
//! offer in `sql`.
//!
//! # Caches
//!
//! Cached reads name the stream (`stream_id`) or the creator (`creator_id`). Their answers
//! depend on who asks (the audience), so callers cache them per caller, never shared; a follow
//! or a block reaches a cached answer within its TTL (5 s for a stream, 30 s for a creator's
//! list). Lifecycle changes and edits invalidate both after their commit; joins, leaves,
//! expiries and chat messages invalidate the stream. Heartbeats and telemetry events invalidate nothing: counts in
//! GetLiveStream and analytics may lag by their TTL (5 s and 1 min). GetActiveStreams has no
//! entity to invalidate (a list of all streams): a stream appears in it within its 10 s TTL.

mod analytics;
mod audience;
mod calls;
mod chat;
mod consumer;
mod convert;
mod keys;
mod lifecycle;
pub mod settings;
mod sql;
mod viewers;

use nova_runtime::client::Invalidator;
use nova_runtime::codegen::sqlx::PgPool;
use nova_runtime::periodic::{self, Periodic};
use nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_streaming::wiring::Users;
use nova_streaming::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use nova_user_api::UserClient;

pub use settings::StreamingSettings;

/// The business logic of the streaming service.
#[derive(Debug, Clone)]
pub struct StreamingLogic {
    db: PgPool,
    /// Creators, senders and viewers exist (auth, cached).
    users: Users,
    /// Whether a creator blocks a viewer, whether a viewer follows (fail-closed).
    user: UserClient,
    /// Drops cached reads of this service (by stream or creator id) after a write commits.
    invalidator: Invalidator,
    settings: StreamingSettings,
}

impl StreamingLogic {
    pub fn new(dependencies: Dependencies, settings: StreamingSettings) -> Self {
        let Dependencies { db, user, invalidator, users, auth: _ } = dependencies;
        StreamingLogic { db, users, user, invalidator, settings }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}

impl Logic for StreamingLogic {
    async fn create_live_stream(&self, _ctx: &CallContext, request: pb::CreateLiveStreamRequest) -> Result<pb::CreateLiveStreamResponse, LogicError> {
        self.create_stream(request).await
    }

    async fn get_live_stream(&self, ctx: &CallContext, request: pb::GetLiveStreamRequest) -> Result<pb::GetLiveStreamResponse, LogicError> {
        self.get_stream(&ctx.principal, request).await
    }

    async fn update_live_stream(&self, ctx: &CallContext, request: pb::UpdateLiveStreamRequest) -> Result<pb::UpdateLiveStreamResponse, LogicError> {
        self.update_stream(&ctx.principal, request).await
    }

    async fn start_stream(&self, _ctx: &CallContext, request: pb::StartStreamRequest) -> Result<pb::StartStreamResponse, LogicError> {
        StreamingLogic::start_stream(self, request).await
    }

    async fn rotate_stream_key(&self, ctx: &CallContext, request: pb::RotateStreamKeyRequest) -> Result<pb::RotateStreamKeyResponse, LogicError> {
        StreamingLogic::rotate_stream_key(self, &ctx.principal, request).await
    }

    async fn end_stream(&self, ctx: &CallContext, request: pb::EndStreamRequest) -> Result<pb::EndStreamResponse, LogicError> {
        StreamingLogic::end_stream(self, &ctx.principal, request).await
    }

    async fn get_active_streams(&self, ctx: &CallContext, request: pb::GetActiveStreamsRequest) -> Result<pb::GetActiveStreamsResponse, LogicError> {
        self.active_streams(&ctx.principal, request).await
    }

    async fn get_stream_viewers(&self, ctx: &CallContext, request: pb::GetStreamViewersRequest) -> Result<pb::GetStreamViewersResponse, LogicError> {
        self.stream_viewers(&ctx.principal, request).await
    }

    async fn send_chat_message(&self, _ctx: &CallContext, request: pb::SendChatMessageRequest) -> Result<pb::SendChatMessageResponse, LogicError> {
        self.send_chat(request).await
    }

    async fn get_chat_messages(&self, ctx: &CallContext, request: pb::GetChatMessagesRequest) -> Result<pb::GetChatMessagesResponse, LogicError> {
        self.chat_messages(&ctx.principal, request).await
    }

    async fn delete_chat_message(
        &self,
        _ctx: &CallContext,
        request: pb::DeleteChatMessageRequest,
    ) -> Result<pb::DeleteChatMessageResponse, LogicError> {
        self.delete_chat(request).await
    }

    async fn record_stream_view(&self, _ctx: &CallContext, request: pb::RecordStreamViewRequest) -> Result<pb::RecordStreamViewResponse, LogicError> {
        self.record_view(request).await
    }

    async fn record_stream_event(
        &self,
        _ctx: &CallContext,
        request: pb::RecordStreamEventRequest,
    ) -> Result<pb::RecordStreamEventResponse, LogicError> {
        self.record_event(request).await
    }

    async fn get_stream_analytics(
        &self,
        ctx: &CallContext,
        request: pb::GetStreamAnalyticsRequest,
    ) -> Result<pb::GetStreamAnalyticsResponse, LogicError> {
        self.analytics(&ctx.principal, request).await
    }

    async fn get_creator_streams(
        &self,
        ctx: &CallContext,
        request: pb::GetCreatorStreamsRequest,
    ) -> Result<pb::GetCreatorStreamsResponse, LogicError> {
        self.creator_streams(&ctx.principal, request).await
    }
}

/// Starts the service with settings from the environment (see [`StreamingSettings::from_env`]).
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let settings = StreamingSettings::from_env()?;
    start_with(config, settings, listeners, shutdown).await
}

/// Starts the service as the spec wires it (see [`Wiring`]) with `settings`, sweeps silent
/// viewer sessions periodically, and serves on `listeners` until `shutdown` is requested.
pub async fn start_with(config: ServiceConfig, settings: StreamingSettings, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = StreamingLogic::new(wiring.dependencies.clone(), settings);
    let _sweeper = sweep_periodically(logic.clone());
    wiring.serve(logic, listeners, shutdown).await
}

/// Closes silent viewer sessions of every live stream every `sweep_interval_seconds` (first
/// after one interval) while the returned guard lives. Failures (the database still starting, down) are
/// logged and retried at the next run.
fn sweep_periodically(logic: StreamingLogic) -> Option<Periodic> {
    let every = std::time::Duration::from_secs(logic.settings.sweep_interval_seconds);
    periodic::every(every, move || {
        let logic = logic.clone();
        async move {
            match logic.sweep_sessions().await {
                Ok(0) => {}
                Ok(streams) => tracing::debug!(streams, "silent viewer sessions closed"),
                Err(error) => tracing::warn!(%error, "sweeping silent viewer sessions failed"),
            }
        }
    })
}

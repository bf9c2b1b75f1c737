// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the media service. Each RPC lives in the module named for what it
//! touches: `uploads` (initiate, chunks, completion), `processing` (variants and status),
//! `library` (reads, metadata, CDN addresses, deletion); `store` holds the object layout,
//! `variants` the image work, `cdn` the signed addresses and their check, `signing_key` where
//! their key comes from, `settings` the storage and upload configuration.
//!
//! A media is its owner's: who else may read it is decided by [`Reader`] (see `library`).
//!
//! Processing is synchronous: CompleteMediaUpload and ProcessMedia decode and resize an image
//! (on a blocking thread) before answering, within their deadlines, so a client never polls
//! and no job queue is needed for images. Video and audio are stored and served as uploaded.

pub mod cdn;
mod consumer;
mod convert;
mod expiry;
mod library;
mod processing;
pub mod settings;
pub mod signing_key;
mod store;
mod uploads;
mod variants;

use nova_media::repo::media;
use nova_media::wiring::Users;
use nova_media::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use nova_runtime::client::Invalidator;
use nova_runtime::codegen::sqlx::PgPool;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::identity::Principal;
use nova_runtime::periodic::{self, Periodic};
use nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};

pub use settings::{MediaSettings, S3Settings};

/// The business logic of the media service.
#[derive(Clone)]
pub struct MediaLogic {
    db: PgPool,
    /// Checks that an upload's owner is a live user (auth, cached).
    users: Users,
    /// Drops cached reads of a media (by media id) and of an owner's listing (by owner id).
    invalidator: Invalidator,
    settings: MediaSettings,
}

impl std::fmt::Debug for MediaLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaLogic").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl MediaLogic {
    pub fn new(dependencies: Dependencies, settings: MediaSettings) -> Self {
        let Dependencies { db, invalidator, users, auth: _ } = dependencies;
        MediaLogic { db, users, invalidator, settings }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    /// Tells every caller's cache that a media changed: its own reads are keyed by its id,
    /// its owner's listing by the owner's id.
    async fn invalidate(&self, media_id: Uuid, owner_id: Uuid) {
        self.invalidator.entities([media_id.to_string(), owner_id.to_string()]).await;
    }
}

/// Who reads a media, and the services the RPC's policy trusts to show media to other users
/// (content and messaging: they check the audience of the post or message that references
/// it, also while serving another user).
pub(crate) struct Reader<'a> {
    principal: &'a Principal,
    services: &'static [&'static str],
}

impl<'a> Reader<'a> {
    fn of(ctx: &'a CallContext) -> Self {
        Reader { principal: &ctx.principal, services: ctx.rpc.access.services }
    }

    /// The owner, or a listed service (as itself or serving anyone); nobody else.
    pub(crate) fn may_see(&self, media: &media::Row) -> bool {
        self.principal.is_user(media.owner_id) || self.principal.service().is_some_and(|name| self.services.contains(&name))
    }
}

/// `PERMISSION_DENIED` unless `requester` is `owner`.
fn ensure_owner(requester: Uuid, owner: Uuid, what: &str) -> Result<(), LogicError> {
    if requester == owner { Ok(()) } else { Err(LogicError::PermissionDenied(format!("requester_id: only the owner may {what}"))) }
}

impl Logic for MediaLogic {
    async fn initiate_media_upload(
        &self,
        _ctx: &CallContext,
        request: pb::InitiateMediaUploadRequest,
    ) -> Result<pb::InitiateMediaUploadResponse, LogicError> {
        self.initiate(request).await
    }
    async fn upload_media_chunk(&self, _ctx: &CallContext, request: pb::UploadMediaChunkRequest) -> Result<pb::UploadMediaChunkResponse, LogicError> {
        self.upload_chunk(request).await
    }
    async fn get_upload(&self, _ctx: &CallContext, request: pb::GetUploadRequest) -> Result<pb::GetUploadResponse, LogicError> {
        self.upload_state(request).await
    }
    async fn complete_media_upload(
        &self,
        _ctx: &CallContext,
        request: pb::CompleteMediaUploadRequest,
    ) -> Result<pb::CompleteMediaUploadResponse, LogicError> {
        self.complete(request).await
    }
    async fn get_media(&self, ctx: &CallContext, request: pb::GetMediaRequest) -> Result<pb::GetMediaResponse, LogicError> {
        self.media(&Reader::of(ctx), request).await
    }
    async fn get_media_by_ids(&self, ctx: &CallContext, request: pb::GetMediaByIdsRequest) -> Result<pb::GetMediaByIdsResponse, LogicError> {
        self.media_by_ids(&Reader::of(ctx), request).await
    }
    async fn get_media_by_owner(&self, ctx: &CallContext, request: pb::GetMediaByOwnerRequest) -> Result<pb::GetMediaByOwnerResponse, LogicError> {
        self.media_by_owner(&ctx.principal, request).await
    }
    async fn delete_media(&self, _ctx: &CallContext, request: pb::DeleteMediaRequest) -> Result<pb::DeleteMediaResponse, LogicError> {
        self.delete(request).await
    }
    async fn get_media_variants(&self, ctx: &CallContext, request: pb::GetMediaVariantsRequest) -> Result<pb::GetMediaVariantsResponse, LogicError> {
        self.variants(&Reader::of(ctx), request).await
    }
    async fn process_media(&self, ctx: &CallContext, request: pb::ProcessMediaRequest) -> Result<pb::ProcessMediaResponse, LogicError> {
        self.reprocess(&Reader::of(ctx), request).await
    }
    async fn get_processing_status(
        &self,
        ctx: &CallContext,
        request: pb::GetProcessingStatusRequest,
    ) -> Result<pb::GetProcessingStatusResponse, LogicError> {
        self.processing_status(&Reader::of(ctx), request).await
    }
    async fn update_media_metadata(
        &self,
        _ctx: &CallContext,
        request: pb::UpdateMediaMetadataRequest,
    ) -> Result<pb::UpdateMediaMetadataResponse, LogicError> {
        self.update_metadata(request).await
    }
    async fn get_media_cdn_url(&self, ctx: &CallContext, request: pb::GetMediaCdnUrlRequest) -> Result<pb::GetMediaCdnUrlResponse, LogicError> {
        self.cdn_url(&Reader::of(ctx), request).await
    }
}

/// Starts the service with settings from the environment (see [`MediaSettings::from_env`]).
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let settings = MediaSettings::from_env(&config.data_dir)?;
    start_with(config, settings, listeners, shutdown).await
}

/// Starts the service as the spec wires it (see [`Wiring`]) with `settings`, sweeps expired
/// uploads while it runs, and serves on `listeners` until `shutdown`.
pub async fn start_with(config: ServiceConfig, settings: MediaSettings, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = MediaLogic::new(wiring.dependencies.clone(), settings);
    let _sweeper = sweep_periodically(logic.clone());
    wiring.serve(logic, listeners, shutdown).await
}

/// Sweeps expired uploads every `sweep_interval_seconds` (first after one interval, once the
/// database is up) while the returned guard lives. Failures are logged and retried at the next run.
fn sweep_periodically(logic: MediaLogic) -> Option<Periodic> {
    let every = std::time::Duration::from_secs(logic.settings.sweep_interval_seconds);
    periodic::every(every, move || {
        let logic = logic.clone();
        async move {
            match logic.expire_uploads(nova_runtime::codegen::chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "expired uploads swept"),
                Err(error) => tracing::warn!(%error, "sweeping expired uploads failed"),
            }
        }
    })
}

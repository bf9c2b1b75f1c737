// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_media::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the media service.
#[derive(Debug, Clone)]
pub struct MediaLogic {
    db: PgPool,
}
impl MediaLogic {
    pub fn new(db: PgPool) -> Self {
        MediaLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for MediaLogic {
    async fn initiate_media_upload(
        &self,
        _ctx: &CallContext,
        _request: pb::InitiateMediaUploadRequest,
    ) -> Result<pb::InitiateMediaUploadResponse, LogicError> {
        Err(LogicError::Unimplemented("InitiateMediaUpload"))
    }
    async fn complete_media_upload(
        &self,
        _ctx: &CallContext,
        _request: pb::CompleteMediaUploadRequest,
    ) -> Result<pb::CompleteMediaUploadResponse, LogicError> {
        Err(LogicError::Unimplemented("CompleteMediaUpload"))
    }
    async fn get_media(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMediaRequest,
    ) -> Result<pb::GetMediaResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMedia"))
    }
    async fn get_media_by_ids(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMediaByIdsRequest,
    ) -> Result<pb::GetMediaByIdsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMediaByIds"))
    }
    async fn get_media_by_owner(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMediaByOwnerRequest,
    ) -> Result<pb::GetMediaByOwnerResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMediaByOwner"))
    }
    async fn delete_media(
        &self,
        _ctx: &CallContext,
        _request: pb::DeleteMediaRequest,
    ) -> Result<pb::DeleteMediaResponse, LogicError> {
        Err(LogicError::Unimplemented("DeleteMedia"))
    }
    async fn get_media_variants(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMediaVariantsRequest,
    ) -> Result<pb::GetMediaVariantsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMediaVariants"))
    }
    async fn process_media(
        &self,
        _ctx: &CallContext,
        _request: pb::ProcessMediaRequest,
    ) -> Result<pb::ProcessMediaResponse, LogicError> {
        Err(LogicError::Unimplemented("ProcessMedia"))
    }
    async fn get_processing_status(
        &self,
        _ctx: &CallContext,
        _request: pb::GetProcessingStatusRequest,
    ) -> Result<pb::GetProcessingStatusResponse, LogicError> {
        Err(LogicError::Unimplemented("GetProcessingStatus"))
    }
    async fn update_media_metadata(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateMediaMetadataRequest,
    ) -> Result<pb::UpdateMediaMetadataResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateMediaMetadata"))
    }
    async fn get_media_cdn_url(
        &self,
        _ctx: &CallContext,
        _request: pb::GetMediaCdnUrlRequest,
    ) -> Result<pb::GetMediaCdnUrlResponse, LogicError> {
        Err(LogicError::Unimplemented("GetMediaCdnUrl"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_media::db::open(config.database()?)?;
    let logic = MediaLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_media::server::serve_with(logic, options, listeners, shutdown).await
}

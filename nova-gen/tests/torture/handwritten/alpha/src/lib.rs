// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_alpha::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the alpha service.
#[derive(Debug, Clone)]
pub struct AlphaLogic {
    db: PgPool,
}
impl AlphaLogic {
    pub fn new(db: PgPool) -> Self {
        AlphaLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for AlphaLogic {
    async fn r#type(
        &self,
        _ctx: &CallContext,
        _request: pb::TypeRequest,
    ) -> Result<pb::TypeResponse, LogicError> {
        Err(LogicError::Unimplemented("Type"))
    }
    async fn r#match(
        &self,
        _ctx: &CallContext,
        _request: pb::MatchRequest,
    ) -> Result<pb::MatchResponse, LogicError> {
        Err(LogicError::Unimplemented("Match"))
    }
    async fn super_(
        &self,
        _ctx: &CallContext,
        _request: pb::SuperRequest,
    ) -> Result<pb::SuperResponse, LogicError> {
        Err(LogicError::Unimplemented("Super"))
    }
    async fn self_(
        &self,
        _ctx: &CallContext,
        _request: pb::SelfRequest,
    ) -> Result<(), LogicError> {
        Err(LogicError::Unimplemented("Self"))
    }
    async fn invalidate_everything(
        &self,
        _ctx: &CallContext,
        _request: pb::InvalidateEverythingRequest,
    ) -> Result<(), LogicError> {
        Err(LogicError::Unimplemented("InvalidateEverything"))
    }
    async fn new_item(
        &self,
        _ctx: &CallContext,
        _request: pb::NewItemRequest,
    ) -> Result<pb::NewItemResponse, LogicError> {
        Err(LogicError::Unimplemented("NewItem"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_alpha::db::open(config.database()?)?;
    let logic = AlphaLogic::new(database.pool().clone());
    let options = ServeOptions::new(&config, Some(database));
    nova_alpha::server::serve_with(logic, options, listeners, shutdown).await
}

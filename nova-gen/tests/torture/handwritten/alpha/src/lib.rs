// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_alpha::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
/// The business logic of the alpha service.
#[derive(Debug, Clone)]
pub struct AlphaLogic {
    db: PgPool,
}
impl AlphaLogic {
    /// The logic over what the spec wires the service with.
    pub fn new(dependencies: Dependencies) -> Self {
        AlphaLogic { db: dependencies.db }
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
/// Starts the service as the spec wires it (its database, if it has one, is opened
/// without connecting: the server waits for it and applies migrations), then serves
/// on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = AlphaLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}

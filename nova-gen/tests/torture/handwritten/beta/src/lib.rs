// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_beta::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the beta service.
#[derive(Debug, Clone)]
pub struct BetaLogic {
    db: PgPool,
}
impl BetaLogic {
    pub fn new(db: PgPool) -> Self {
        BetaLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for BetaLogic {
    async fn r#gen(
        &self,
        _ctx: &CallContext,
        _request: pb::GenRequest,
    ) -> Result<pb::GenResponse, LogicError> {
        Err(LogicError::Unimplemented("Gen"))
    }
    async fn r#try(
        &self,
        _ctx: &CallContext,
        _request: pb::TryRequest,
    ) -> Result<pb::TryResponse, LogicError> {
        Err(LogicError::Unimplemented("Try"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_beta::db::open(config.database()?)?;
    let logic = BetaLogic::new(database.pool().clone());
    let options = ServeOptions::new(&config, Some(database));
    nova_beta::server::serve_with(logic, options, listeners, shutdown).await
}

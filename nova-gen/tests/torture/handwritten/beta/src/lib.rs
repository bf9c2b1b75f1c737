// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_beta::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
/// The business logic of the beta service.
#[derive(Debug, Clone)]
pub struct BetaLogic {
    db: PgPool,
}
impl BetaLogic {
    /// The logic over what the spec wires the service with.
    pub fn new(dependencies: Dependencies) -> Self {
        BetaLogic { db: dependencies.db }
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
/// Starts the service as the spec wires it (its database, if it has one, is opened
/// without connecting: the server waits for it and applies migrations), then serves
/// on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = BetaLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}

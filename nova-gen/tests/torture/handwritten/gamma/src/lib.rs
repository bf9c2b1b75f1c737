// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_gamma::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
/// The business logic of the gamma service.
#[derive(Debug, Clone)]
pub struct GammaLogic {}
impl GammaLogic {
    /// The logic over what the spec wires the service with.
    pub fn new(_dependencies: Dependencies) -> Self {
        GammaLogic {}
    }
}
impl Logic for GammaLogic {
    async fn echo(
        &self,
        _ctx: &CallContext,
        _request: pb::EchoRequest,
    ) -> Result<pb::EchoResponse, LogicError> {
        Err(LogicError::Unimplemented("Echo"))
    }
    async fn forward(
        &self,
        _ctx: &CallContext,
        _request: pb::ForwardRequest,
    ) -> Result<pb::ForwardResponse, LogicError> {
        Err(LogicError::Unimplemented("Forward"))
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
    let logic = GammaLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}

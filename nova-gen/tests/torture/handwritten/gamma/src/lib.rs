// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_gamma::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the gamma service.
#[derive(Debug, Clone, Default)]
pub struct GammaLogic {}
impl GammaLogic {
    pub fn new() -> Self {
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
/// Starts the service, which has no database (it owns no table): serves on
/// `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let options = ServeOptions::new(&config, None);
    nova_gamma::server::serve_with(GammaLogic::new(), options, listeners, shutdown).await
}

//! An auth `Logic` whose `Register` calls wait at a gate the test opens: the test knows, by
//! events rather than by time, that a call is in flight (it entered) and when it may finish
//! (the gate opened). `GetUser` answers at once; everything else is UNIMPLEMENTED (the
//! double's default). Served as `nova_auth::testing::Double(gated)`.

use std::sync::Arc;

use nova_auth::testing::LogicDouble;
use nova_auth::{CallContext, LogicError, pb};
use tokio::sync::watch;

/// Shared between the test and the server it started.
#[derive(Debug, Clone)]
pub struct Gated {
    entered: Arc<watch::Sender<usize>>,
    open: Arc<watch::Sender<bool>>,
}

impl Default for Gated {
    fn default() -> Self {
        Gated { entered: Arc::new(watch::channel(0).0), open: Arc::new(watch::channel(false).0) }
    }
}

impl Gated {
    /// Waits until `count` `Register` calls have entered the handler.
    pub async fn entered(&self, count: usize) {
        let _ = self.entered.subscribe().wait_for(|n| *n >= count).await;
    }

    /// Lets every waiting (and future) `Register` call finish.
    pub fn open(&self) {
        self.open.send_replace(true);
    }
}

impl LogicDouble for Gated {
    async fn register(&self, _ctx: &CallContext, request: pb::RegisterRequest) -> Result<pb::RegisterResponse, LogicError> {
        self.entered.send_modify(|n| *n += 1);
        let _ = self.open.subscribe().wait_for(|open| *open).await;
        Ok(pb::RegisterResponse { user: Some(pb::User { username: request.username, ..pb::User::default() }) })
    }

    async fn get_user(&self, _ctx: &CallContext, request: pb::GetUserRequest) -> Result<pb::GetUserResponse, LogicError> {
        Ok(pb::GetUserResponse { user: Some(pb::User { id: request.user_id, ..pb::User::default() }) })
    }
}

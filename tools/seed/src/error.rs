//! What can stop a seed: a call that failed, named by the step that made it.

/// A seed step failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{step}: {} ({})", .status.message(), .status.code())]
    Call { step: String, status: tonic::Status },
    #[error("{step}: the answer had no {what}")]
    Missing { step: String, what: &'static str },
    #[error("cannot build the clients: {0}")]
    Clients(#[from] nova_runtime::client::ClientError),
    #[error("cannot encode the demo image: {0}")]
    Image(String),
}

/// `result` with a failed call named by `step`.
pub trait Step<T> {
    fn step(self, step: impl Into<String>) -> Result<T, SeedError>;
}

impl<T> Step<T> for Result<T, tonic::Status> {
    fn step(self, step: impl Into<String>) -> Result<T, SeedError> {
        self.map_err(|status| SeedError::Call { step: step.into(), status })
    }
}

/// The `what` of an answer, or a [`SeedError::Missing`].
pub fn present<T>(value: Option<T>, step: &str, what: &'static str) -> Result<T, SeedError> {
    value.ok_or_else(|| SeedError::Missing { step: step.to_string(), what })
}

/// Calls `call` until it succeeds, up to 5 times, pausing 100 ms, 200 ms, ... between tries,
/// while it fails in a way a retry can fix (the service is busy or starting: UNAVAILABLE,
/// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). Only for idempotent calls: a retried write that had
/// succeeded must change nothing.
pub async fn idempotent<T, F, Fut>(step: impl Into<String>, mut call: F) -> Result<T, SeedError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let mut pause = std::time::Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(status)
                if attempt < 5
                    && matches!(status.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::ResourceExhausted) =>
            {
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            Err(status) => return Err(SeedError::Call { step: step.into(), status }),
        }
    }
}

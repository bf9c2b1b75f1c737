//! Waiting for something another component does on its own time (a search index catching up
//! with a commit, an invalidation arriving over Redis): check the observable state until it
//! holds. The safety timeout turns a hang into a failure; it is never a bound on speed.

use std::future::Future;
use std::time::Duration;

use crate::SAFETY_TIMEOUT;

/// Between checks: short, as each check is a cheap read.
const PAUSE: Duration = Duration::from_millis(25);

/// Checks `condition` until it is true; panics naming `what` after [`SAFETY_TIMEOUT`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while !condition().await {
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: still not the case after {SAFETY_TIMEOUT:?}");
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Calls `value` until it gives `Some`; that value. Panics naming `what` after
/// [`SAFETY_TIMEOUT`].
pub async fn eventually_some<T, F, Fut>(what: &str, mut value: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    loop {
        if let Some(found) = value().await {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: still nothing after {SAFETY_TIMEOUT:?}");
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Calls an idempotent RPC until it answers, as a real client would when the server was too
/// busy: `UNAVAILABLE`, `DEADLINE_EXCEEDED` and `ABORTED` are tried again (through
/// [`eventually_some`]); any other code panics at once. For tests that load one row from many
/// callers (its row lock and a pool of 10 connections queue them), where a fixed number of
/// attempts is a bet on the machine's speed.
pub async fn until_answered<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    eventually_some(what, || {
        let answer = call();
        async move {
            match answer.await {
                Ok(answer) => Some(answer),
                Err(status) if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Aborted) => None,
                Err(status) => panic!("{what}: {status:?}"),
            }
        }
    })
    .await
}

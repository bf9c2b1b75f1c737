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

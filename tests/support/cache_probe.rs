//! Observing a client's response cache from a test: waiting for events (the invalidation
//! subscription coming up, an entry reaching Redis) instead of sleeping, and reading the cache
//! metrics of a target name that only one test uses.

use std::future::Future;
use std::time::Duration;

use nova_runtime::client::ResponseCache;

/// The cache scope of a plaintext client that carries no token (these tests' scripted servers
/// run without TLS): answers that depend on the caller are keyed by who asks, and such a
/// client is "unproven".
pub fn anonymous_scope() -> String {
    nova_runtime::client::ClientIdentity::default().name
}

/// A safety net only: turns an event that never comes into a failure, and is far beyond what
/// any event here takes, even on a loaded 2-core machine.
pub const SAFETY: Duration = Duration::from_secs(60);

/// Waits until `cache` trusts its L1: subscribed to invalidations (at once without Redis).
pub async fn until_l1_trusted(cache: &ResponseCache) {
    let mut trusted = cache.l1_trusted();
    let waited = tokio::time::timeout(SAFETY, trusted.wait_for(|trusted| *trusted)).await;
    assert!(matches!(waited, Ok(Ok(_))), "the cache never subscribed to invalidations");
}

/// Re-checks `condition` (a few milliseconds apart) until it holds.
pub async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + SAFETY;
    while !condition().await {
        assert!(tokio::time::Instant::now() < give_up, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The value of a client metric `family` for the target `target` (0 if absent).
pub fn target_metric(family: &str, target: &str) -> f64 {
    crate::metrics::sum(&nova_runtime::metrics::render(), family, &[("target", target)])
}

/// A target name no other test uses (metrics are process-wide; labels keep tests apart).
pub fn unique_target(test: &str) -> &'static str {
    Box::leak(format!("{test}-{}", uuid::Uuid::new_v4().simple()).into_boxed_str())
}

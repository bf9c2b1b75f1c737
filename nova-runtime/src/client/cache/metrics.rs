//! The cache's own metric families, labelled by target service:
//!
//! - `grpc_client_cache_coalesced_total`: callers that shared a load already in flight;
//! - `grpc_client_cache_loads_in_flight`: shared loads running now;
//! - `grpc_client_cache_tags_tracked`: tags in the local generations table (bounded);
//! - `grpc_client_cache_invalidations_subscribed`: 1 while every cache of the target in this
//!   process hears invalidations from Redis, 0 otherwise (L1 is bypassed meanwhile);
//! - `grpc_client_cache_invalidation_publish_failures_total`: invalidations that could not be
//!   recorded in Redis, so that other replicas may serve the old value until its TTL;
//! - `grpc_client_cache_l2_forged_total`: entries read from Redis whose seal did not check
//!   (planted by someone who can write to Redis, or `NOVA_CACHE_KEY` differs between replicas);
//! - `grpc_client_cache_write_backs_dropped_total`: answers not copied to Redis because the
//!   write-back queue was full (Redis slower than the misses);
//! - `grpc_client_cache_l2_errors_total` (no labels): failed or timed-out Redis operations.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use metrics::{Counter, Gauge, counter, gauge};

#[derive(Debug, Clone)]
pub(crate) struct CacheMetrics {
    target: &'static str,
    pub(crate) coalesced: Counter,
    pub(crate) loads_in_flight: Gauge,
    pub(crate) tags_tracked: Gauge,
    pub(crate) publish_failures: Counter,
    pub(crate) forged: Counter,
    pub(crate) write_backs_dropped: Counter,
}

impl CacheMetrics {
    pub(crate) fn new(target: &'static str) -> Self {
        crate::metrics::install();
        CacheMetrics {
            target,
            coalesced: counter!("grpc_client_cache_coalesced_total", "target" => target),
            loads_in_flight: gauge!("grpc_client_cache_loads_in_flight", "target" => target),
            tags_tracked: gauge!("grpc_client_cache_tags_tracked", "target" => target),
            publish_failures: counter!("grpc_client_cache_invalidation_publish_failures_total", "target" => target),
            forged: counter!("grpc_client_cache_l2_forged_total", "target" => target),
            write_backs_dropped: counter!("grpc_client_cache_write_backs_dropped_total", "target" => target),
        }
    }

    /// A cache with an invalidation subscription now exists (not subscribed yet).
    pub(crate) fn subscriber_created(&self) {
        update_subscribers(self.target, |count| count.caches += 1);
    }

    pub(crate) fn subscriber_dropped(&self, subscribed: bool) {
        update_subscribers(self.target, |count| {
            count.caches = count.caches.saturating_sub(1);
            if subscribed {
                count.subscribed = count.subscribed.saturating_sub(1);
            }
        });
    }

    pub(crate) fn subscription_changed(&self, subscribed: bool) {
        update_subscribers(self.target, |count| {
            if subscribed {
                count.subscribed += 1;
            } else {
                count.subscribed = count.subscribed.saturating_sub(1);
            }
        });
    }
}

pub(crate) fn l2_error() {
    counter!("grpc_client_cache_l2_errors_total").increment(1);
}

/// Caches of one target in this process, and how many of them are subscribed: the gauge says
/// 1 only when all are, so that one broken subscription is never hidden by a healthy one.
#[derive(Debug, Default, Clone, Copy)]
struct Subscribers {
    caches: u32,
    subscribed: u32,
}

fn update_subscribers(target: &'static str, change: impl FnOnce(&mut Subscribers)) {
    static SUBSCRIBERS: OnceLock<Mutex<HashMap<&'static str, Subscribers>>> = OnceLock::new();
    let mut all = SUBSCRIBERS.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let count = all.entry(target).or_default();
    change(count);
    let healthy = count.caches > 0 && count.subscribed >= count.caches;
    // Set under the lock, so that two caches changing at once cannot publish out of order.
    gauge!("grpc_client_cache_invalidations_subscribed", "target" => target).set(if healthy { 1.0 } else { 0.0 });
}

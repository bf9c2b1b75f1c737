//! What the owner of data uses to tell every caller's cache that an entity changed.
//!
//! Callers cache the owner's reads (L1 in their process, L2 in Redis). After a write commits,
//! the owner bumps the entity's generation in Redis, which every caller's cache checks on L2
//! reads and hears about on the invalidation feed for L1 (see [`super::cache`]). The owner
//! needs no channel to itself for that: only the same Redis and key prefix as its callers.

use std::sync::Arc;

use super::cache::ResponseCache;
use super::{ClientError, ClientOptions};

/// Invalidates cached responses of one service's RPCs by entity id, in every replica of every
/// caller. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Invalidator {
    cache: Option<Arc<ResponseCache>>,
}

impl Invalidator {
    /// For the responses of `service` (the owner, e.g. `user`), cached as `options` say;
    /// `ClientOptions { cache: None }` makes every invalidation a no-op.
    pub fn new(service: &'static str, options: ClientOptions) -> Self {
        Invalidator { cache: options.cache.map(|config| ResponseCache::new(service, config)) }
    }

    /// With the Redis and key prefix callers use ([`ClientOptions::from_env`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when a cache variable is invalid.
    pub fn from_env(service: &'static str) -> Result<Self, ClientError> {
        Ok(super::Peers::from_env()?.invalidator(service))
    }

    /// Forgets every cached response that names `id` (e.g. a user id after its profile
    /// changed). Call it after the write committed: before, a concurrent read could cache the
    /// old row again. Never fails: if Redis is unreachable the change is local only and logged
    /// at warn, and other replicas may serve the old response until its TTL ends.
    pub async fn entity(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate_entity(id).await;
        }
    }

    /// [`Invalidator::entity`] for each id.
    pub async fn entities<I, S>(&self, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for id in ids {
            self.entity(id.as_ref()).await;
        }
    }
}

//! The invalidation feed: every replica subscribes to `<prefix>:invalidations` and hears each
//! bump made anywhere (`<generation>\t<tag>`), so that its L1 stops serving what another
//! replica invalidated.
//!
//! A replica that is not subscribed cannot know what it missed, so it does not trust its L1
//! meanwhile: lookups skip L1 (L2 checks generations in Redis itself) and loads do not fill
//! it. When the subscription is back, L1 starts again empty, and loads that began before are
//! not trusted either. A connection that closes is noticed at once; one that dies silently is
//! noticed by the heartbeat (a PING every `heartbeat`, answered within `heartbeat_timeout`).

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::{PubSubSink, PubSubStream};

use super::ResponseCache;
use super::l2::RedisConfig;

/// Follows the feed for as long as the cache lives, resubscribing after every loss.
pub(super) async fn follow_invalidations(cache: Weak<ResponseCache>, client: redis::Client, channel: String, config: RedisConfig) {
    let mut failures: u32 = 0;
    loop {
        match subscribe(&client, &channel, config.heartbeat_timeout).await {
            Ok((sink, stream)) => {
                let Some(strong) = cache.upgrade() else { return };
                strong.subscription_established();
                drop(strong);
                failures = 0;
                let lost = listen(&cache, sink, stream, &config).await;
                let Some(strong) = cache.upgrade() else { return };
                strong.subscription_lost(&lost);
            }
            Err(error) => {
                if failures == 0 {
                    tracing::warn!(channel = %channel, error = %error, "cannot subscribe to cache invalidations; L1 is bypassed until it can");
                } else {
                    tracing::debug!(channel = %channel, error = %error, "still cannot subscribe to cache invalidations");
                }
                failures = failures.saturating_add(1);
            }
        }
        if cache.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(pause_before_retry(failures, config.cooldown)).await;
    }
}

/// No pause after a first loss (resubscribe at once), then 50 ms doubling up to `cooldown`.
fn pause_before_retry(failures: u32, cooldown: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doubled = Duration::from_millis(50).saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(cooldown)
}

async fn subscribe(client: &redis::Client, channel: &str, timeout: Duration) -> Result<(PubSubSink, PubSubStream), String> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub.split())
    };
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(split)) => Ok(split),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// Applies every message until the subscription is lost; returns why.
async fn listen(cache: &Weak<ResponseCache>, mut sink: PubSubSink, mut stream: PubSubStream, config: &RedisConfig) -> String {
    let mut heartbeat = tokio::time::interval(config.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return "the connection closed".to_string() };
                let Some(cache) = cache.upgrade() else { return "the cache was dropped".to_string() };
                match message.get_payload::<String>() {
                    Ok(text) => cache.heard(&text),
                    Err(error) => tracing::warn!(error = %error, "unreadable cache invalidation message ignored"),
                }
            }
            _ = heartbeat.tick() => {
                if cache.strong_count() == 0 {
                    return "the cache was dropped".to_string();
                }
                match tokio::time::timeout(config.heartbeat_timeout, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return format!("heartbeat failed: {error}"),
                    Err(_) => return format!("no heartbeat answer within {:?}", config.heartbeat_timeout),
                }
            }
        }
    }
}

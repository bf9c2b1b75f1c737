//! Background jobs a service runs on a timer while it serves (sweeping expired rows,
//! reconciling with another service). One shape for all of them: the first run one interval
//! after the start (by then the database is usually up), then every interval; a failing run
//! is the job's to log, and the next interval retries; the job stops when its guard is dropped,
//! so it never outlives the server it works for.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// A running periodic job; dropping it stops the job.
#[derive(Debug)]
pub struct Periodic(JoinHandle<()>);

impl Drop for Periodic {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `job` every `interval` until the returned guard is dropped; `None` (nothing runs) when
/// `interval` is zero, which is how a setting turns a job off.
pub fn every<F, Fut>(interval: Duration, mut job: F) -> Option<Periodic>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if interval.is_zero() {
        return None;
    }
    Some(Periodic(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        // A run slower than the interval delays the next one; missed ticks are not made up.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            job().await;
        }
    })))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::every;

    #[tokio::test(start_paused = true)]
    async fn runs_every_interval_until_dropped() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        let job = every(Duration::from_secs(10), move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert!(job.is_some());
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "runs at 10 s, 20 s and 30 s, not at the start");
        drop(job);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "nothing runs once the guard is dropped");
    }

    #[test]
    fn a_zero_interval_runs_nothing() {
        assert!(every(Duration::ZERO, || async {}).is_none());
    }
}

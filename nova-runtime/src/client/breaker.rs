//! A circuit breaker per target service, with Resilience4j's semantics:
//!
//! - **closed**: calls pass; the outcomes of the last `window` calls are kept. Once at least
//!   `min_calls` are in the window, the breaker opens when the failure rate or the slow-call
//!   rate reaches its threshold.
//! - **open**: calls are rejected at once, without touching the network, for `open_for`.
//! - **half-open**: exactly `half_open_calls` probes are admitted; when they have all
//!   finished, the breaker closes (fresh window) if their failure and slow rates are below
//!   the thresholds, and opens again otherwise. Further calls are rejected meanwhile.
//!
//! Every permit belongs to the state period it was granted in: an outcome reported after the
//! breaker changed state is ignored, so a slow call started while closed cannot close a
//! breaker that has since opened.
//!
//! Time is passed in (`now`), which keeps the state machine deterministic under test.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::rpc::BreakerPolicy;

/// The state of a [`CircuitBreaker`], as exported in the `grpc_client_circuit_breaker_state` gauge
/// ([`BreakerState::as_gauge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; outcomes are counted.
    Closed,
    /// Calls are rejected at once, until `open_for` has passed.
    Open,
    /// A few probe calls decide whether to close or open again.
    HalfOpen,
}

impl BreakerState {
    /// 0 closed, 1 open, 2 half-open: the value of the state gauge.
    pub fn as_gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

/// The right to make one call; hand it back with [`CircuitBreaker::record`] or
/// [`CircuitBreaker::release`].
#[derive(Debug)]
#[must_use = "report the call's outcome with record() or release()"]
pub struct Permit {
    period: u64,
}

/// A rejected call: the breaker is open (or its half-open probes are taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// When the breaker will admit a probe, if it is open.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    failed: bool,
    slow: bool,
}

#[derive(Debug)]
enum Phase {
    Closed { window: VecDeque<Outcome> },
    Open { until: Instant },
    HalfOpen { admitted: u32, finished: Vec<Outcome> },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Incremented on every state change; permits carry the period they were granted in.
    period: u64,
}

/// The breaker of one target service, shared by every clone of its client, with
/// Resilience4j's semantics: closed, it counts the outcomes of the last `window` calls and
/// opens when the failure or slow-call rate reaches its threshold (after `min_calls`); open,
/// it rejects calls for `open_for`; half-open, it admits `half_open_calls` probes whose
/// outcomes close or reopen it (see [`BreakerPolicy`]).
///
/// Ask with [`CircuitBreaker::try_acquire`] before a call, then report how it went with
/// [`CircuitBreaker::record`] (or hand the permit back unused with
/// [`CircuitBreaker::release`]). An outcome reported after the breaker changed state is
/// ignored, so a slow call started while closed cannot close a breaker that opened since.
/// Time is passed in (`now`), which keeps it deterministic under test.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker with an empty window.
    pub fn new(policy: BreakerPolicy) -> Self {
        let window = VecDeque::with_capacity(policy.window as usize);
        CircuitBreaker { policy, inner: Mutex::new(Inner { phase: Phase::Closed { window }, period: 0 }) }
    }

    /// The thresholds it applies.
    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the state half-updated in a way that
        // matters more than refusing all calls would; keep going with the data.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state as of `now` (an open breaker whose time is up reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.lock().phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } if now < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call now.
    ///
    /// # Errors
    ///
    /// [`Rejected`] while the breaker is open, or half-open with every probe taken: fail the
    /// call without sending it.
    pub fn try_acquire(&self, now: Instant) -> Result<Permit, Rejected> {
        let mut inner = self.lock();
        let period = inner.period;
        match &mut inner.phase {
            Phase::Closed { .. } => Ok(Permit { period }),
            Phase::Open { until } => {
                if now < *until {
                    return Err(Rejected { retry_after: Some(*until - now) });
                }
                let period = period + 1;
                *inner = Inner { phase: Phase::HalfOpen { admitted: 1, finished: Vec::new() }, period };
                Ok(Permit { period })
            }
            Phase::HalfOpen { admitted, .. } => {
                if *admitted < self.policy.half_open_calls {
                    *admitted += 1;
                    Ok(Permit { period })
                } else {
                    Err(Rejected { retry_after: None })
                }
            }
        }
    }

    /// Reports how a permitted call went; returns the state afterwards.
    pub fn record(&self, permit: Permit, failed: bool, elapsed: Duration, now: Instant) -> BreakerState {
        let outcome = Outcome { failed, slow: elapsed >= self.policy.slow_call };
        let mut inner = self.lock();
        if permit.period != inner.period {
            return phase_state(&inner.phase);
        }
        let policy = self.policy;
        let next = match &mut inner.phase {
            Phase::Closed { window } => {
                if window.len() == policy.window as usize {
                    window.pop_front();
                }
                window.push_back(outcome);
                (window.len() >= policy.min_calls as usize && self.trips(window.iter())).then(|| Phase::Open { until: now + policy.open_for })
            }
            Phase::HalfOpen { finished, .. } => {
                finished.push(outcome);
                (finished.len() >= policy.half_open_calls as usize).then(|| {
                    if self.trips(finished.iter()) {
                        Phase::Open { until: now + policy.open_for }
                    } else {
                        Phase::Closed { window: VecDeque::with_capacity(policy.window as usize) }
                    }
                })
            }
            Phase::Open { .. } => None,
        };
        if let Some(phase) = next {
            inner.period += 1;
            inner.phase = phase;
        }
        phase_state(&inner.phase)
    }

    /// Gives a permit back without an outcome (the call was cancelled, or failed in a way that
    /// says nothing about the target's health); a half-open probe slot is freed.
    pub fn release(&self, permit: Permit) {
        let mut inner = self.lock();
        if permit.period != inner.period {
            return;
        }
        if let Phase::HalfOpen { admitted, .. } = &mut inner.phase {
            *admitted = admitted.saturating_sub(1);
        }
    }

    fn trips<'a>(&self, outcomes: impl Iterator<Item = &'a Outcome> + Clone) -> bool {
        let total = outcomes.clone().count() as f64;
        if total == 0.0 {
            return false;
        }
        let failures = outcomes.clone().filter(|o| o.failed).count() as f64;
        let slow = outcomes.filter(|o| o.slow).count() as f64;
        failures * 100.0 / total >= self.policy.failure_rate_percent || slow * 100.0 / total >= self.policy.slow_rate_percent
    }
}

fn phase_state(phase: &Phase) -> BreakerState {
    match phase {
        Phase::Closed { .. } => BreakerState::Closed,
        Phase::Open { .. } => BreakerState::Open,
        Phase::HalfOpen { .. } => BreakerState::HalfOpen,
    }
}

//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use nova_runtime::client::{BreakerState, CircuitBreaker, Permit};
use nova_runtime::rpc::BreakerPolicy;

fn policy() -> BreakerPolicy {
    BreakerPolicy {
        window: 10,
        min_calls: 4,
        failure_rate_percent: 50.0,
        slow_call: Duration::from_millis(100),
        slow_rate_percent: 80.0,
        open_for: Duration::from_secs(5),
        half_open_calls: 2,
    }
}

const FAST: Duration = Duration::from_millis(1);

/// Fails `min_calls` calls in a row, which opens the breaker of [`policy`].
fn fail_min_calls(breaker: &CircuitBreaker, now: Instant) {
    for _ in 0..4 {
        let permit = breaker.try_acquire(now).unwrap();
        breaker.record(permit, true, FAST, now);
    }
}

#[test]
fn opens_after_the_configured_failures_and_rejects_while_open() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    // Three failures are not enough: fewer than min_calls in the window.
    for _ in 0..3 {
        let permit = breaker.try_acquire(now).unwrap();
        assert_eq!(breaker.record(permit, true, FAST, now), BreakerState::Closed);
    }
    let permit = breaker.try_acquire(now).unwrap();
    assert_eq!(breaker.record(permit, true, FAST, now), BreakerState::Open);
    let rejected = breaker.try_acquire(now + Duration::from_secs(1)).unwrap_err();
    assert_eq!(rejected.retry_after, Some(Duration::from_secs(4)));
}

#[test]
fn half_open_admits_exactly_the_probes_then_closes_on_success() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    fail_min_calls(&breaker, now);
    let later = now + Duration::from_secs(5);
    assert_eq!(breaker.state(later), BreakerState::HalfOpen);
    let first = breaker.try_acquire(later).unwrap();
    let second = breaker.try_acquire(later).unwrap();
    assert!(breaker.try_acquire(later).is_err(), "only two probes");
    assert_eq!(breaker.record(first, false, FAST, later), BreakerState::HalfOpen);
    assert_eq!(breaker.record(second, false, FAST, later), BreakerState::Closed);
    assert!(breaker.try_acquire(later).is_ok());
}

#[test]
fn a_failed_probe_reopens() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    fail_min_calls(&breaker, now);
    let later = now + Duration::from_secs(5);
    let first = breaker.try_acquire(later).unwrap();
    let second = breaker.try_acquire(later).unwrap();
    breaker.record(first, true, FAST, later);
    assert_eq!(breaker.record(second, false, FAST, later), BreakerState::Open, "50% of probes failed");
    assert!(breaker.try_acquire(later + Duration::from_secs(1)).is_err());
}

#[test]
fn slow_calls_open_it_too() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    let mut state = BreakerState::Closed;
    for _ in 0..4 {
        let permit = breaker.try_acquire(now).unwrap();
        state = breaker.record(permit, false, Duration::from_millis(150), now);
    }
    assert_eq!(state, BreakerState::Open);
}

#[test]
fn outcomes_from_an_earlier_state_are_ignored() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    let straggler = breaker.try_acquire(now).unwrap();
    fail_min_calls(&breaker, now);
    assert_eq!(breaker.record(straggler, false, FAST, now), BreakerState::Open);
}

#[test]
fn released_probes_free_their_slot() {
    let breaker = CircuitBreaker::new(policy());
    let now = Instant::now();
    fail_min_calls(&breaker, now);
    let later = now + Duration::from_secs(5);
    let first = breaker.try_acquire(later).unwrap();
    let _second = breaker.try_acquire(later).unwrap();
    breaker.release(first);
    assert!(breaker.try_acquire(later).is_ok());
}

/// A deliberately naive model of the same rules: full history, rates recomputed from
/// scratch, permits identified by the number of state changes before them.
#[derive(Debug)]
struct Model {
    policy: BreakerPolicy,
    history: Vec<(bool, bool)>,
    open_until: Option<Instant>,
    half_open: Option<(u32, Vec<(bool, bool)>)>,
    changes: u64,
}

impl Model {
    fn new(policy: BreakerPolicy) -> Self {
        Model { policy, history: Vec::new(), open_until: None, half_open: None, changes: 0 }
    }

    fn rates_trip(&self, outcomes: &[(bool, bool)]) -> bool {
        let n = outcomes.len() as f64;
        let failed = outcomes.iter().filter(|o| o.0).count() as f64;
        let slow = outcomes.iter().filter(|o| o.1).count() as f64;
        n > 0.0 && (failed / n * 100.0 >= self.policy.failure_rate_percent || slow / n * 100.0 >= self.policy.slow_rate_percent)
    }

    fn acquire(&mut self, now: Instant) -> Option<u64> {
        if let Some(until) = self.open_until {
            if now < until {
                return None;
            }
            self.open_until = None;
            self.half_open = Some((0, Vec::new()));
            self.changes += 1;
        }
        if let Some((admitted, _)) = &mut self.half_open {
            if *admitted >= self.policy.half_open_calls {
                return None;
            }
            *admitted += 1;
        }
        Some(self.changes)
    }

    fn record(&mut self, token: u64, failed: bool, slow: bool, now: Instant) {
        if token != self.changes {
            return;
        }
        if let Some((_, finished)) = &mut self.half_open {
            finished.push((failed, slow));
            if finished.len() as u32 >= self.policy.half_open_calls {
                let finished = finished.clone();
                self.half_open = None;
                self.changes += 1;
                if self.rates_trip(&finished) {
                    self.open_until = Some(now + self.policy.open_for);
                } else {
                    self.history.clear();
                }
            }
            return;
        }
        if self.open_until.is_some() {
            return;
        }
        self.history.push((failed, slow));
        let start = self.history.len().saturating_sub(self.policy.window as usize);
        let window = self.history[start..].to_vec();
        if window.len() >= self.policy.min_calls as usize && self.rates_trip(&window) {
            self.open_until = Some(now + self.policy.open_for);
            self.history.clear();
            self.changes += 1;
        }
    }

    fn release(&mut self, token: u64) {
        if token == self.changes
            && let Some((admitted, _)) = &mut self.half_open
        {
            *admitted = admitted.saturating_sub(1);
        }
    }

    fn state(&self, now: Instant) -> BreakerState {
        match (self.open_until, &self.half_open) {
            (Some(until), _) if now < until => BreakerState::Open,
            (Some(_), _) | (None, Some(_)) => BreakerState::HalfOpen,
            (None, None) => BreakerState::Closed,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Record { which: usize, failed: bool, slow: bool },
    Release { which: usize },
    Advance { millis: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        4 => (any::<usize>(), any::<bool>(), any::<bool>()).prop_map(|(which, failed, slow)| Op::Record { which, failed, slow }),
        1 => any::<usize>().prop_map(|which| Op::Release { which }),
        2 => (0u64..3000).prop_map(|millis| Op::Advance { millis }),
    ]
}

fn small_policy() -> impl Strategy<Value = BreakerPolicy> {
    (1u32..8, 1u32..8, 1u32..4, prop_oneof![Just(25.0), Just(50.0), Just(100.0)], prop_oneof![Just(50.0), Just(100.0)]).prop_map(
        |(window, min_calls, half_open_calls, failure_rate_percent, slow_rate_percent)| BreakerPolicy {
            window,
            min_calls: min_calls.min(window),
            failure_rate_percent,
            slow_call: Duration::from_millis(100),
            slow_rate_percent,
            open_for: Duration::from_secs(2),
            half_open_calls,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_the_reference_model(policy in small_policy(), ops in proptest::collection::vec(op(), 1..120)) {
        let breaker = CircuitBreaker::new(policy);
        let mut model = Model::new(policy);
        let mut now = Instant::now();
        let mut permits: Vec<(Permit, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Acquire => {
                    let real = breaker.try_acquire(now);
                    let expected = model.acquire(now);
                    prop_assert_eq!(real.is_ok(), expected.is_some(), "acquire disagrees");
                    if let (Ok(permit), Some(token)) = (real, expected) {
                        permits.push((permit, token));
                    }
                }
                Op::Record { which, failed, slow } if !permits.is_empty() => {
                    let (permit, token) = permits.remove(which % permits.len());
                    let elapsed = if slow { Duration::from_millis(150) } else { FAST };
                    breaker.record(permit, failed, elapsed, now);
                    model.record(token, failed, slow, now);
                }
                Op::Release { which } if !permits.is_empty() => {
                    let (permit, token) = permits.remove(which % permits.len());
                    breaker.release(permit);
                    model.release(token);
                }
                Op::Advance { millis } => now += Duration::from_millis(millis),
                _ => {}
            }
            prop_assert_eq!(breaker.state(now), model.state(now));
        }
    }
}

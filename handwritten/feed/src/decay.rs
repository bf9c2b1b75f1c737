//! Time-decayed scores, computed inside feed.
//!
//! A post's decayed score at time `now` is `sum_i w_i * 2^-((now - t_i) / half_life)` over its
//! engagements (weight `w_i` at time `t_i`). Rewriting every row as time passes would cost a
//! write per post per tick; instead each row stores the **log** of the same sum measured
//! against a fixed epoch,
//!
//! `s = ln(sum_i w_i * exp((t_i - EPOCH) / tau))`, with `tau = half_life / ln 2`,
//!
//! which an engagement updates in place (`s = logaddexp(s, ln w + (t - EPOCH) / tau)`, one
//! atomic `UPDATE`), and which never overflows (a plain sum would leave f64's range after
//! ~700 `tau`). Every row of a window shares `EPOCH` and `tau`, so ordering by `s` is ordering
//! by the decayed score at any `now`: the index `(time_window, score desc)` serves trending
//! pages directly, and the value at `now` is `exp(s - (now - EPOCH) / tau)`.
//!
//! Half-lives: hour window 15 minutes, day window 6 hours, week window 2 days. A window also
//! bounds which posts are listed: those engaged with within the last hour, day or week.

use ::nova_runtime::codegen::chrono::{DateTime, Duration, Utc};
use nova_feed::repo::engagement_events::EventType;
use nova_feed::repo::trending_scores::TimeWindow;

/// 2026-01-01T00:00:00Z in Unix seconds: the origin of every stored log-score. Moving it
/// would shift every score of a window by the same amount, so it may change only with a
/// rewrite of `trending_scores`.
pub const EPOCH_UNIX_SECONDS: f64 = 1_767_225_600.0;

/// The half-life of a window's scores.
pub fn half_life(window: TimeWindow) -> Duration {
    match window {
        TimeWindow::Hour => Duration::minutes(15),
        TimeWindow::Day => Duration::hours(6),
        TimeWindow::Week => Duration::days(2),
    }
}

/// How far back a window lists posts: their last engagement must be this recent.
pub fn span(window: TimeWindow) -> Duration {
    match window {
        TimeWindow::Hour => Duration::hours(1),
        TimeWindow::Day => Duration::days(1),
        TimeWindow::Week => Duration::weeks(1),
    }
}

/// `tau` of a window in seconds: `half_life / ln 2`.
pub fn tau_seconds(window: TimeWindow) -> f64 {
    seconds(half_life(window)) / std::f64::consts::LN_2
}

/// How much one engagement of each kind counts: attention costs the viewer more the further
/// down this list it is.
pub fn weight(kind: EventType) -> f64 {
    match kind {
        EventType::View => 1.0,
        EventType::Like => 2.0,
        EventType::Bookmark => 3.0,
        EventType::Comment => 4.0,
        EventType::Share => 5.0,
    }
}

/// The log-score of weight `weight` at time `at`, in `window` (see the module comment).
pub fn log_score(window: TimeWindow, weight: f64, at: DateTime<Utc>) -> f64 {
    weight.ln() + (unix_seconds(at) - EPOCH_UNIX_SECONDS) / tau_seconds(window)
}

/// The decayed score at `now` of a stored log-score.
pub fn value_at(window: TimeWindow, log_score: f64, now: DateTime<Utc>) -> f64 {
    (log_score - (unix_seconds(now) - EPOCH_UNIX_SECONDS) / tau_seconds(window)).exp()
}

/// `ln(exp(a) + exp(b))` without overflow: the log-score of two sums added.
pub fn log_add(a: f64, b: f64) -> f64 {
    let (high, low) = if a >= b { (a, b) } else { (b, a) };
    high + (low - high).exp().ln_1p()
}

fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64 / 1e6
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_life_halves_the_value() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let s = log_score(TimeWindow::Day, 4.0, at);
        assert!((value_at(TimeWindow::Day, s, at) - 4.0).abs() < 1e-9);
        assert!((value_at(TimeWindow::Day, s, at + half_life(TimeWindow::Day)) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn log_add_adds_values_and_newer_engagement_counts_more() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let older = log_score(TimeWindow::Hour, 1.0, at);
        let newer = log_score(TimeWindow::Hour, 1.0, at + Duration::minutes(15));
        assert!(newer > older);
        let both = log_add(older, newer);
        assert!((value_at(TimeWindow::Hour, both, at + Duration::minutes(15)) - 1.5).abs() < 1e-9);
        // Far apart (beyond exp's range) still adds without overflow.
        assert!((log_add(1e6, 0.0) - 1e6).abs() < 1e-9);
    }
}

//! Sign-in throttling that neither tells which emails have accounts nor lets anyone lock a
//! victim out.
//!
//! Failures are counted in `login_throttles` per (email as typed, source address) and per
//! source address, whether or not the email belongs to an account, so a throttled answer is the
//! same for both. A pair is refused after `max_failed_logins` failures within the window, a
//! source after `max_failures_per_source` failures for any emails; other sources, such as the
//! real user at home, are unaffected, and no account or session is ever locked. The window and
//! the refusal both last `lockout`.
//!
//! The counting rule is a pure function of the stored count and the time ([`Count`]), tested
//! without a clock; the database part only reads, locks and writes rows.

use std::net::IpAddr;

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::PgConnection;

use crate::{AuthLogic, AuthSettings, sql};

/// The source of calls that carry no client address: they all share one count.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// The key of a source: its address, an IPv6 client by its /64 (one subscriber usually holds a
/// whole /64, so single addresses would cost an attacker nothing to change), an IPv4-mapped
/// IPv6 address as IPv4.
pub fn source_key(address: Option<IpAddr>) -> String {
    match address.map(|address| address.to_canonical()) {
        None => UNKNOWN_SOURCE.to_string(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            format!("{}/64", std::net::Ipv6Addr::from(segments))
        }
    }
}

/// How many failures within how long refuse a key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_failures: i32,
    pub window: TimeDelta,
    pub lockout: TimeDelta,
}

impl Limits {
    /// For one (email, source) pair.
    pub fn pair(settings: &AuthSettings) -> Self {
        Limits { max_failures: settings.max_failed_logins, window: settings.lockout, lockout: settings.lockout }
    }

    /// For a source, whatever the email.
    pub fn source(settings: &AuthSettings) -> Self {
        Limits { max_failures: settings.max_failures_per_source, window: settings.lockout, lockout: settings.lockout }
    }
}

/// The stored count of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub window_started_at: DateTime<Utc>,
    pub failures: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Count {
    /// Until when sign-ins for this key are refused, if they are at `now`.
    pub fn refused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// The count after one more failure at `now`: within the window it adds one, and reaching
    /// the limit refuses the key for the lockout period; a refusal in force stays as it is; a
    /// window that ended (and whose refusal ended) starts again from this failure.
    pub fn after_failure(self, now: DateTime<Utc>, limits: Limits) -> Count {
        if self.refused_until(now).is_some() {
            return Count { failures: self.failures.saturating_add(1), ..self };
        }
        let (window_started_at, failures) =
            if self.window_started_at + limits.window > now { (self.window_started_at, self.failures.saturating_add(1)) } else { (now, 1) };
        let locked_until = (failures >= limits.max_failures).then(|| now + limits.lockout);
        Count { window_started_at, failures, locked_until }
    }
}

/// The counts of one sign-in attempt's two keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pair: Count,
    pub source: Count,
}

impl Counts {
    /// Until when this attempt's sign-ins are refused, if they are at `now` (the later refusal).
    pub fn refused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pair.refused_until(now).max(self.source.refused_until(now))
    }
}

/// RESOURCE_EXHAUSTED when sign-ins with `email` from `source` are refused at `now`: the same
/// answer whether or not the email has an account.
pub async fn check(logic: &AuthLogic, source: &str, email: &str, now: DateTime<Utc>) -> Result<(), LogicError> {
    let rows = sql::throttle_counts(logic.db(), source, email).await?;
    let refused = |key: &str| rows.iter().find(|(e, _)| e == key).and_then(|(_, count)| count.refused_until(now));
    if let Some(until) = refused(email) {
        return Err(LogicError::ResourceExhausted(format!("too many failed sign-ins for this email from this address; retry after {}", time(until))));
    }
    if let Some(until) = refused("") {
        return Err(LogicError::ResourceExhausted(format!("too many failed sign-ins from this address; retry after {}", time(until))));
    }
    Ok(())
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Counts one failure for `email` from `source` at `now`, in the caller's transaction: both
/// rows are created if missing and locked (the source row first, by every caller), so that
/// concurrent failures all count.
pub async fn record_failure(
    conn: &mut PgConnection,
    settings: &AuthSettings,
    source: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Counts, LogicError> {
    sql::seed_throttles(&mut *conn, source, email, now).await?;
    let rows = sql::lock_throttles(&mut *conn, source, email).await?;
    let fresh = Count { window_started_at: now, failures: 0, locked_until: None };
    let stored = |key: &str| rows.iter().find(|(e, _)| e == key).map_or(fresh, |(_, count)| *count);
    let counts =
        Counts { pair: stored(email).after_failure(now, Limits::pair(settings)), source: stored("").after_failure(now, Limits::source(settings)) };
    sql::write_throttle(&mut *conn, source, "", &counts.source).await?;
    sql::write_throttle(&mut *conn, source, email, &counts.pair).await?;
    Ok(counts)
}

/// Forgets the failures of `email` from `source` (a successful sign-in), in the caller's
/// transaction. The source's own count stays: one good password must not excuse a spray.
pub async fn clear(conn: &mut PgConnection, source: &str, email: &str) -> Result<(), LogicError> {
    sql::clear_throttle(conn, source, email).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    const LIMITS: Limits = Limits { max_failures: 3, window: TimeDelta::seconds(900), lockout: TimeDelta::seconds(900) };

    fn fresh(now: DateTime<Utc>) -> Count {
        Count { window_started_at: now, failures: 0, locked_until: None }
    }

    #[test]
    fn failures_within_the_window_refuse_the_key_at_the_limit_for_the_lockout() {
        let mut count = fresh(at(0));
        for (n, t) in [(1, 10), (2, 20)] {
            count = count.after_failure(at(t), LIMITS);
            assert_eq!((count.failures, count.refused_until(at(t))), (n, None));
        }
        count = count.after_failure(at(30), LIMITS);
        assert_eq!(count.failures, 3);
        assert_eq!(count.refused_until(at(30)), Some(at(930)));
        assert_eq!(count.refused_until(at(929)), Some(at(930)));
        assert_eq!(count.refused_until(at(930)), None, "refused until, not at, the end");
        // A failure counted while refused (RecordFailedLogin) leaves the refusal as it was.
        let again = count.after_failure(at(100), LIMITS);
        assert_eq!((again.failures, again.locked_until), (4, Some(at(930))));
    }

    #[test]
    fn a_window_that_ended_starts_again_from_the_next_failure() {
        let count = fresh(at(0)).after_failure(at(0), LIMITS).after_failure(at(10), LIMITS);
        let later = count.after_failure(at(900), LIMITS);
        assert_eq!((later.window_started_at, later.failures, later.locked_until), (at(900), 1, None));
        let still = count.after_failure(at(899), LIMITS);
        assert_eq!((still.failures, still.refused_until(at(899))), (3, Some(at(1799))));
        // After a refusal runs out, counting starts over too.
        let after_lock = still.after_failure(at(1799), LIMITS);
        assert_eq!((after_lock.window_started_at, after_lock.failures, after_lock.locked_until), (at(1799), 1, None));
    }

    #[test]
    fn a_limit_of_one_refuses_after_the_first_failure() {
        let limits = Limits { max_failures: 1, ..LIMITS };
        assert_eq!(fresh(at(0)).after_failure(at(5), limits).refused_until(at(5)), Some(at(905)));
    }

    #[test]
    fn sources_are_addresses_ipv6_by_its_64_and_none_is_one_unknown_source() {
        assert_eq!(source_key(None), "unknown");
        assert_eq!(source_key(Some("203.0.113.7".parse().unwrap())), "203.0.113.7");
        assert_eq!(source_key(Some("::ffff:203.0.113.7".parse().unwrap())), "203.0.113.7");
        assert_eq!(source_key(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())), "2001:db8:1:2::/64");
        assert_eq!(source_key(Some("2001:db8:1:2:ffff::1".parse().unwrap())), "2001:db8:1:2::/64", "one /64, one source");
        assert_ne!(source_key(Some("2001:db8:1:3::1".parse().unwrap())), "2001:db8:1:2::/64");
    }
}

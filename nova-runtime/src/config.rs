//! Configuration from the environment with local defaults: a service starts on a laptop with
//! no variables set, and production overrides what it needs.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// A configuration variable is set to something unusable: services refuse to start with it
/// rather than run with a default the operator did not choose.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    /// The variable, e.g. `NOVA_DATABASE_MAX_CONNECTIONS`.
    pub name: String,
    /// Its value as set (`(secret)` for secrets).
    pub value: String,
    /// Why it was refused, e.g. the parser's message.
    pub reason: String,
}

/// The variable parsed as `T`, or `default` when unset or empty.
///
/// # Errors
///
/// [`ConfigError`] when the variable is set but does not parse as `T`.
pub fn env_or<T>(name: &str, default: impl Into<T>) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            value.trim().parse().map_err(|e: T::Err| ConfigError { name: name.to_string(), value, reason: e.to_string() })
        }
        _ => Ok(default.into()),
    }
}

/// The variable as a duration (`500ms`, `10s`, `5m`, or a bare number of seconds), or
/// `default` when unset or empty.
///
/// # Errors
///
/// [`ConfigError`] when the variable is set but is not such a duration.
pub fn env_duration(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse_duration(&value).ok_or_else(|| ConfigError {
            name: name.to_string(),
            value,
            reason: "expected a duration such as 500ms, 10s, 5m or a number of seconds".to_string(),
        }),
        _ => Ok(default),
    }
}

/// `500ms`, `10s`, `5m` or `10` (seconds) as a duration; `None` for anything else (negative
/// numbers and other units included).
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Some(ms) = value.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    if let Some(minutes) = value.strip_suffix('m') {
        return minutes.trim().parse::<u64>().ok().map(|m| Duration::from_secs(m * 60));
    }
    value.strip_suffix('s').unwrap_or(value).trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod duration_tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration(" 5m "), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}

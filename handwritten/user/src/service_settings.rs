//! The user service's tunables, from the environment with defaults, and settable directly
//! by tests (`start_with`).

use std::time::Duration;

use ::nova_runtime::config::{ConfigError, env_or};

/// How content runs beyond the common service configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserServiceSettings {
    /// How often profile changes search has not acknowledged are pushed again; zero turns the
    /// reconcile off (pushes after each write still happen).
    pub search_reconcile: Duration,
}

impl Default for UserServiceSettings {
    /// Reconcile with search every 10 seconds.
    fn default() -> Self {
        UserServiceSettings { search_reconcile: Duration::from_secs(10) }
    }
}

impl UserServiceSettings {
    /// `NOVA_USER_SEARCH_RECONCILE` (default `10s`): a duration such as `10s`, `500ms` or
    /// a number of seconds; `0` turns the reconcile off.
    pub fn from_env() -> Result<Self, ConfigError> {
        let name = "NOVA_USER_SEARCH_RECONCILE";
        let value = env_or::<String>(name, "10s")?;
        let search_reconcile = duration(&value).ok_or_else(|| ConfigError {
            name: name.to_string(),
            value: value.clone(),
            reason: "expected a duration such as 10s, 500ms or a number of seconds".to_string(),
        })?;
        Ok(UserServiceSettings { search_reconcile })
    }
}

/// `500ms`, `10s` or `10` (seconds).
pub fn duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Some(ms) = value.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    value.strip_suffix('s').unwrap_or(value).trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_defaults_apply_without_variables() {
        assert_eq!(duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(duration("ten"), None);
        // No NOVA_USER_* variable is set in the test environment.
        assert_eq!(UserServiceSettings::from_env().ok(), Some(UserServiceSettings::default()));
    }
}

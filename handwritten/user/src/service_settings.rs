//! The user service's tunables, from the environment with defaults, and settable directly
//! by tests (`start_with`).

use std::time::Duration;

use ::nova_runtime::config::{ConfigError, env_duration};

/// How user runs beyond the common service configuration.
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
        Ok(UserServiceSettings { search_reconcile: env_duration("NOVA_USER_SEARCH_RECONCILE", UserServiceSettings::default().search_reconcile)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_variables() {
        // No NOVA_USER_* variable is set in the test environment.
        assert_eq!(UserServiceSettings::from_env().ok(), Some(UserServiceSettings::default()));
    }
}

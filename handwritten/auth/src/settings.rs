//! The auth service's tunables: lockout, token lifetimes, signing-key grace and the password
//! hashing pool, from the environment with defaults, and settable directly by tests
//! (`start_with`).

use std::time::Duration;

use ::nova_runtime::codegen::chrono::TimeDelta;
use ::nova_runtime::config::{ConfigError, env_or};

/// How sign-in, tokens and keys behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    /// Failed sign-ins (Login or RecordFailedLogin) for one email from one source, within
    /// `lockout`, after which that pair is refused for `lockout`.
    pub max_failed_logins: i32,
    /// Failed sign-ins from one source for any emails, within `lockout`, after which the source
    /// is refused for every email for `lockout`.
    pub max_failures_per_source: i32,
    /// The window failures are counted in, and how long a refusal lasts.
    pub lockout: TimeDelta,
    /// Lifetime of an access token (its `exp`). Tests may make it negative to issue expired tokens.
    pub access_token_ttl: TimeDelta,
    /// Lifetime of a refresh token (and of its session, renewed by each refresh).
    pub refresh_token_ttl: TimeDelta,
    /// How long a retired signing key still verifies tokens after its retirement.
    pub key_grace: TimeDelta,
    /// How long this process trusts its in-memory copy of the signing keys before reading them
    /// again (another replica may have rotated); an unknown `kid` always reloads at once.
    pub key_cache_ttl: Duration,
    /// Password hashes (Argon2id, 19 MiB each) running at once in this process.
    pub hash_concurrency: usize,
    /// Callers that may wait for a hash to start; beyond them calls fail RESOURCE_EXHAUSTED.
    pub hash_queue: usize,
    /// How often rows that no longer decide anything (ended sign-in counts, expired
    /// revocations) are deleted; zero: never.
    pub prune_interval: Duration,
}

impl Default for AuthSettings {
    /// 5 failures for an email from a source, or 50 from a source, within 15 minutes refuse it
    /// for 15 minutes; access tokens live 15 minutes, refresh tokens 30 days;
    /// a retired key verifies for one access-token lifetime; keys are re-read every minute;
    /// 2 password hashes at a time (38 MiB of a 512 Mi pod), 32 callers waiting; clean-up
    /// every minute.
    fn default() -> Self {
        AuthSettings {
            max_failed_logins: 5,
            max_failures_per_source: 50,
            lockout: TimeDelta::minutes(15),
            access_token_ttl: TimeDelta::minutes(15),
            refresh_token_ttl: TimeDelta::days(30),
            key_grace: TimeDelta::minutes(15),
            key_cache_ttl: Duration::from_secs(60),
            hash_concurrency: 2,
            hash_queue: 32,
            prune_interval: Duration::from_secs(60),
        }
    }
}

impl AuthSettings {
    /// `NOVA_AUTH_MAX_FAILED_LOGINS` (default 5), `NOVA_AUTH_MAX_FAILURES_PER_SOURCE` (50),
    /// `NOVA_AUTH_LOCKOUT_SECS` (900),
    /// `NOVA_AUTH_ACCESS_TOKEN_SECS` (900), `NOVA_AUTH_REFRESH_TOKEN_SECS` (2592000),
    /// `NOVA_AUTH_KEY_GRACE_SECS` (the access-token lifetime), `NOVA_AUTH_KEY_CACHE_SECS` (60),
    /// `NOVA_AUTH_HASH_CONCURRENCY` (2, at least 1), `NOVA_AUTH_HASH_QUEUE` (32, 0 refuses
    /// every caller that would wait), `NOVA_AUTH_PRUNE_SECS` (60, 0 never).
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = AuthSettings::default();
        let max_failed_logins = positive("NOVA_AUTH_MAX_FAILED_LOGINS", env_or::<i64>("NOVA_AUTH_MAX_FAILED_LOGINS", 5)?)?;
        let per_source = positive("NOVA_AUTH_MAX_FAILURES_PER_SOURCE", env_or::<i64>("NOVA_AUTH_MAX_FAILURES_PER_SOURCE", 50)?)?;
        let access = positive("NOVA_AUTH_ACCESS_TOKEN_SECS", env_or::<i64>("NOVA_AUTH_ACCESS_TOKEN_SECS", defaults.access_token_ttl.num_seconds())?)?;
        let hash_concurrency = env_or::<usize>("NOVA_AUTH_HASH_CONCURRENCY", defaults.hash_concurrency)?;
        if hash_concurrency == 0 {
            return Err(invalid("NOVA_AUTH_HASH_CONCURRENCY", 0, "must be positive"));
        }
        Ok(AuthSettings {
            max_failed_logins: i32::try_from(max_failed_logins).map_err(|e| invalid("NOVA_AUTH_MAX_FAILED_LOGINS", max_failed_logins, e))?,
            max_failures_per_source: i32::try_from(per_source).map_err(|e| invalid("NOVA_AUTH_MAX_FAILURES_PER_SOURCE", per_source, e))?,
            lockout: seconds("NOVA_AUTH_LOCKOUT_SECS", defaults.lockout.num_seconds())?,
            access_token_ttl: TimeDelta::seconds(access),
            refresh_token_ttl: seconds("NOVA_AUTH_REFRESH_TOKEN_SECS", defaults.refresh_token_ttl.num_seconds())?,
            key_grace: seconds("NOVA_AUTH_KEY_GRACE_SECS", access)?,
            key_cache_ttl: Duration::from_secs(env_or::<u64>("NOVA_AUTH_KEY_CACHE_SECS", defaults.key_cache_ttl.as_secs())?),
            hash_concurrency,
            hash_queue: env_or::<usize>("NOVA_AUTH_HASH_QUEUE", defaults.hash_queue)?,
            prune_interval: Duration::from_secs(env_or::<u64>("NOVA_AUTH_PRUNE_SECS", defaults.prune_interval.as_secs())?),
        })
    }
}

/// A positive number of seconds from `name`.
fn seconds(name: &str, default: i64) -> Result<TimeDelta, ConfigError> {
    let value = positive(name, env_or::<i64>(name, default)?)?;
    TimeDelta::try_seconds(value).ok_or_else(|| invalid(name, value, "too large"))
}

fn positive(name: &str, value: i64) -> Result<i64, ConfigError> {
    if value > 0 { Ok(value) } else { Err(invalid(name, value, "must be positive")) }
}

fn invalid(name: &str, value: i64, reason: impl ToString) -> ConfigError {
    ConfigError { name: name.to_string(), value: value.to_string(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_the_defaults_apply_and_the_key_grace_follows_the_token_lifetime() {
        // No NOVA_AUTH_* variable is set in the test environment.
        let settings = AuthSettings::from_env().unwrap();
        assert_eq!(settings, AuthSettings::default());
        assert_eq!(settings.key_grace, settings.access_token_ttl);
        assert!(positive("X", 0).is_err());
        assert!(positive("X", -5).is_err());
    }
}

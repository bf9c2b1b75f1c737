//! The auth service's tunables: lockout, token lifetimes, signing-key grace, the password
//! hashing pool and the operators' emails, from the environment with defaults, and settable
//! directly by tests (`start_with`).

use std::time::Duration;

use ::nova_runtime::codegen::chrono::TimeDelta;
use ::nova_runtime::config::{ConfigError, env_or};

/// How sign-in, tokens and keys behave.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Emails of the operators: an account whose email is listed (compared trimmed and
    /// lower-cased) holds every `auth.*` permission (`auth.admin`: ListUsers, GrantPermission,
    /// RevokePermission, RotateSigningKey) without a row in `user_permissions`, so that the
    /// first operator can sign in and grant the others. Empty: nobody does.
    pub admin_emails: Vec<String>,
}

impl Default for AuthSettings {
    /// 5 failures for an email from a source, or 50 from a source, within 15 minutes refuse it
    /// for 15 minutes; access tokens live 15 minutes, refresh tokens 30 days;
    /// a retired key verifies for one access-token lifetime; keys are re-read every minute;
    /// 2 password hashes at a time (38 MiB of a 512 Mi pod), 32 callers waiting; clean-up
    /// every minute; no operator email.
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
            admin_emails: Vec::new(),
        }
    }
}

impl AuthSettings {
    /// `NOVA_AUTH_MAX_FAILED_LOGINS` (default 5), `NOVA_AUTH_MAX_FAILURES_PER_SOURCE` (50),
    /// `NOVA_AUTH_LOCKOUT_SECS` (900),
    /// `NOVA_AUTH_ACCESS_TOKEN_SECS` (900), `NOVA_AUTH_REFRESH_TOKEN_SECS` (2592000),
    /// `NOVA_AUTH_KEY_GRACE_SECS` (the access-token lifetime), `NOVA_AUTH_KEY_CACHE_SECS` (60),
    /// `NOVA_AUTH_HASH_CONCURRENCY` (2, at least 1), `NOVA_AUTH_HASH_QUEUE` (32, 0 refuses
    /// every caller that would wait), `NOVA_AUTH_PRUNE_SECS` (60, 0 never),
    /// `NOVA_AUTH_ADMIN_EMAILS` (comma-separated operators' emails, default none).
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
            admin_emails: admin_emails(ADMIN_EMAILS, &std::env::var(ADMIN_EMAILS).unwrap_or_default())?,
        })
    }

    /// Whether `email` (as stored: lower case) is one of [`AuthSettings::admin_emails`].
    pub fn is_admin_email(&self, email: &str) -> bool {
        !email.is_empty() && self.admin_emails.iter().any(|admin| admin.trim().to_lowercase() == email)
    }
}

/// The variable naming the operators' emails.
const ADMIN_EMAILS: &str = "NOVA_AUTH_ADMIN_EMAILS";

/// The emails of `value` (comma-separated, spaces around them ignored), lower-cased; empty
/// entries are skipped, an entry that is not an address is refused.
fn admin_emails(name: &str, value: &str) -> Result<Vec<String>, ConfigError> {
    let mut emails = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let valid =
            entry.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty()) && !entry.contains(char::is_whitespace);
        if !valid {
            return Err(ConfigError {
                name: name.to_string(),
                value: value.to_string(),
                reason: format!("{entry:?} is not an email address (expected comma-separated addresses like ops@example.com)"),
            });
        }
        emails.push(entry.to_lowercase());
    }
    Ok(emails)
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

    #[test]
    fn admin_emails_are_a_comma_separated_list_of_addresses_compared_in_lower_case() {
        assert_eq!(admin_emails("V", "").unwrap(), Vec::<String>::new());
        assert_eq!(admin_emails("V", " Ops@Example.com , ,root@example.org,").unwrap(), ["ops@example.com", "root@example.org"]);
        let error = admin_emails("V", "ops@example.com, nobody").unwrap_err();
        assert_eq!(error.name, "V");
        assert!(error.reason.contains("\"nobody\""), "{}", error.reason);
        assert!(admin_emails("V", "two words@example.com").is_err());

        let settings = AuthSettings { admin_emails: vec![" Ops@Example.COM".into()], ..AuthSettings::default() };
        assert!(settings.is_admin_email("ops@example.com"));
        assert!(!settings.is_admin_email("other@example.com"));
        assert!(!settings.is_admin_email(""));
        assert!(!AuthSettings::default().is_admin_email("ops@example.com"));
    }
}

//! Configuration from the environment with local defaults: a service starts on a laptop with
//! no variables set, and production overrides what it needs.

use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

/// The variable parsed as `T`, or `default` when unset or empty.
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

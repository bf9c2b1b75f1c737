//! Where a service finds the services it calls, and how its clients cache: one value built
//! from the configuration at start-up, from which every client of the process is built once.
//!
//! Explicit endpoints (what tests and embedders set) win over `NOVA_<SERVICE>_ENDPOINT`, which
//! wins over the callee's default local port. All clients and the owner's [`Invalidator`]
//! share one cache configuration, so an owner's invalidation reaches exactly the keys its
//! callers cache under.

use std::collections::BTreeMap;

use tonic::transport::Channel;

use super::{ClientError, ClientOptions, Invalidator, channel, endpoint_from_env};
use crate::config::ConfigError;

/// The endpoints of other services and the cache settings of this process's clients.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    endpoints: BTreeMap<String, String>,
    /// Read `NOVA_<SERVICE>_ENDPOINT` for services without an explicit endpoint.
    from_env: bool,
    /// How every client of the process caches (and where the owner's invalidations go).
    pub options: ClientOptions,
}

impl Peers {
    /// Endpoints from `NOVA_<SERVICE>_ENDPOINT` (default: the callee's local port), L1 plus L2
    /// in Redis as [`ClientOptions::from_env`] says.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Peers { endpoints: BTreeMap::new(), from_env: true, options: ClientOptions::from_env()? })
    }

    /// Only the endpoints given with [`Peers::with_endpoint`] (else the default local port),
    /// caching as `options` say; the environment is not read.
    pub fn new(options: ClientOptions) -> Self {
        Peers { endpoints: BTreeMap::new(), from_env: false, options }
    }

    /// `service` (e.g. `auth`) answers at `uri` (e.g. `http://127.0.0.1:50051`).
    pub fn with_endpoint(mut self, service: &str, uri: impl Into<String>) -> Self {
        self.set_endpoint(service, uri);
        self
    }

    /// `service` (e.g. `auth`) answers at `uri`.
    pub fn set_endpoint(&mut self, service: &str, uri: impl Into<String>) {
        self.endpoints.insert(service.to_string(), uri.into());
    }

    /// The URI of `service`, whose local default port is `default_port`.
    pub fn endpoint(&self, service: &str, default_port: u16) -> Result<String, ClientError> {
        match self.endpoints.get(service) {
            Some(uri) => Ok(uri.clone()),
            None if self.from_env => endpoint_from_env(service, default_port),
            None => Ok(format!("http://127.0.0.1:{default_port}")),
        }
    }

    /// A lazily connecting channel to `service`.
    pub fn channel(&self, service: &str, default_port: u16) -> Result<Channel, ClientError> {
        channel(&self.endpoint(service, default_port)?)
    }

    /// What the owner `service` uses to invalidate its callers' cached responses after a
    /// write commits: the same Redis and key prefix as the callers' clients.
    pub fn invalidator(&self, service: &'static str) -> Invalidator {
        Invalidator::new(service, self.options.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_endpoints_win_and_the_default_port_is_the_fallback() {
        let peers = Peers::new(ClientOptions::default()).with_endpoint("auth", "http://10.0.0.1:7000");
        assert_eq!(peers.endpoint("auth", 50051).ok().as_deref(), Some("http://10.0.0.1:7000"));
        assert_eq!(peers.endpoint("user", 50052).ok().as_deref(), Some("http://127.0.0.1:50052"));
    }
}

//! Where a service finds the services it calls, and how its clients cache: one value built
//! from the configuration at start-up, from which every client of the process is built once.
//!
//! Explicit endpoints (what tests and embedders set) win over `NOVA_<SERVICE>_ENDPOINT`, which
//! wins over the callee's default local port. All clients and the owner's [`Invalidator`]
//! share one cache configuration, so an owner's invalidation reaches exactly the keys its
//! callers cache under.

use std::collections::BTreeMap;

use tonic::transport::Channel;

use super::{ClientError, ClientIdentity, ClientOptions, Invalidator, channel, endpoint_from_env, tls_channel};
use crate::config::ConfigError;
use crate::tls::Transport;

/// The endpoints of other services, how this process's clients connect to them (mutual TLS
/// with its certificate, or plaintext) and how they cache.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    endpoints: BTreeMap<String, String>,
    /// Read `NOVA_<SERVICE>_ENDPOINT` for services without an explicit endpoint.
    from_env: bool,
    /// How every client of the process caches (and where the owner's invalidations go).
    pub options: ClientOptions,
    transport: Transport,
}

impl Peers {
    /// Endpoints from `NOVA_<SERVICE>_ENDPOINT` (default: the callee's local port), L1 plus L2
    /// in Redis as [`ClientOptions::from_env`] says.
    /// Plaintext until [`Peers::with_transport`] says otherwise.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as [`ClientOptions::from_env`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Peers { endpoints: BTreeMap::new(), from_env: true, options: ClientOptions::from_env()?, transport: Transport::default() })
    }

    /// Only the endpoints given with [`Peers::with_endpoint`] (else the default local port),
    /// caching as `options` say, plaintext until [`Peers::with_transport`]; the environment is
    /// not read.
    pub fn new(options: ClientOptions) -> Self {
        Peers { endpoints: BTreeMap::new(), from_env: false, options, transport: Transport::default() }
    }

    /// Connect with `transport`: with TLS, every client presents its certificate and is known
    /// by it (in cache keys too); in plaintext, it announces the service named there.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.set_transport(transport);
        self
    }

    /// [`Peers::with_transport`] in place.
    pub fn set_transport(&mut self, transport: Transport) {
        self.options.identity = match &transport {
            Transport::Tls(material) => ClientIdentity { name: material.identity().path(), announce: None },
            Transport::Plaintext { announce } => ClientIdentity {
                name: announce.as_ref().map_or_else(|| "unproven".to_string(), |name| format!("unproven/{name}")),
                announce: announce.clone(),
            },
        };
        self.transport = transport;
    }

    /// How clients connect.
    pub fn transport(&self) -> &Transport {
        &self.transport
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

    /// The URI of `service`, whose local default port is `default_port`: an explicit endpoint,
    /// else `NOVA_<SERVICE>_ENDPOINT` when reading the environment, else the local port.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the environment variable is set but invalid.
    pub fn endpoint(&self, service: &str, default_port: u16) -> Result<String, ClientError> {
        match self.endpoints.get(service) {
            Some(uri) => Ok(uri.clone()),
            None if self.from_env => endpoint_from_env(service, default_port),
            None => Ok(format!("http://127.0.0.1:{default_port}")),
        }
    }

    /// A lazily connecting channel to `service`: mutual TLS verifying that the server is
    /// `service`, or plaintext.
    ///
    /// # Errors
    ///
    /// As [`Peers::endpoint`], [`crate::client::channel`] and [`crate::client::tls_channel`].
    pub fn channel(&self, service: &str, default_port: u16) -> Result<Channel, ClientError> {
        let uri = self.endpoint(service, default_port)?;
        match &self.transport {
            Transport::Tls(material) => tls_channel(&uri, material, service),
            Transport::Plaintext { .. } => channel(&uri),
        }
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

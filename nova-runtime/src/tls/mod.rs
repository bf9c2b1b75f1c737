//! Mutual TLS on every gRPC connection: each service holds a certificate naming it
//! (`spiffe://nova.local/svc/<name>`, see [`spiffe`]), signed by the deployment's CA, and uses
//! it both to serve and to call. A server accepts only clients with a certificate from that CA
//! and learns who they are from it ([`crate::identity::Peer`]); a client accepts only the
//! server it meant to call (DNS name `nova-<service>` in the server's certificate).
//!
//! Plaintext exists only as an explicit local option (`NOVA_TLS=off`): then no certificate
//! proves anything, and a caller's service identity is whatever its `x-nova-service` header
//! claims (see [`Transport::Plaintext`]).

mod client;
#[cfg(feature = "mint")]
pub mod mint;
mod server;
pub mod spiffe;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use client::TlsConnector;
pub(crate) use server::TlsAcceptor;

use crate::identity::Peer;

/// The header a caller's service identity is read from in plaintext mode (local only).
pub const PLAINTEXT_PEER_HEADER: &str = "x-nova-service";

/// Why TLS could not be set up: a process refuses to start (or a client to be built) with it
/// rather than fall back to plaintext.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {what} {path}")]
    Read {
        /// Which file, e.g. `the CA bundle`.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The material is unusable: not PEM, no certificate, a certificate naming no nova
    /// identity, a key that does not parse.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which part, e.g. `the certificate`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `NOVA_TLS_CA`, `NOVA_TLS_CERT` and `NOVA_TLS_KEY` nor `NOVA_TLS=off` is set: a
    /// service never guesses plaintext.
    #[error(
        "no TLS material: set NOVA_TLS_CA, NOVA_TLS_CERT and NOVA_TLS_KEY to PEM files (`nova-gen dev` writes them under .nova/pki), \
         or NOVA_TLS=off for plaintext (local development only: callers' identities are then not proven)"
    )]
    Missing,
    /// rustls refused the configuration built from the material (e.g. an unsupported key
    /// type).
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
}

/// A certificate, its key and the CA that signs every peer: what a process proves itself with
/// and trusts others by.
pub struct TlsMaterial {
    /// The certificate chain, leaf first.
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Arc<RootCertStore>,
    /// Who the leaf certificate says this process is.
    identity: Peer,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("identity", &self.identity).field("certs", &self.certs.len()).finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// From PEM text: the CA bundle, the certificate chain (leaf first) and its private key.
    /// The leaf must name exactly one nova identity.
    ///
    /// # Errors
    ///
    /// [`TlsError::Invalid`] when a part does not parse, the CA bundle or the chain holds no
    /// certificate, or the leaf names no nova identity.
    pub fn from_pem(ca: &[u8], cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let invalid = |what: &str, reason: String| TlsError::Invalid { what: what.to_string(), reason };
        let mut roots = RootCertStore::empty();
        let mut cas = 0;
        for ca in CertificateDer::pem_slice_iter(ca) {
            let ca = ca.map_err(|e| invalid("the CA bundle", e.to_string()))?;
            roots.add(ca).map_err(|e| invalid("the CA bundle", e.to_string()))?;
            cas += 1;
        }
        if cas == 0 {
            return Err(invalid("the CA bundle", "holds no certificate".to_string()));
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert).collect::<Result<_, _>>().map_err(|e| invalid("the certificate", e.to_string()))?;
        let leaf = certs.first().ok_or_else(|| invalid("the certificate", "holds no certificate".to_string()))?;
        let identity = spiffe::peer_of(leaf).ok_or_else(|| {
            invalid(
                "the certificate",
                format!(
                    "names no nova identity: it needs one subject alternative name URI spiffe://{}/svc/<service> or .../client/<name>",
                    spiffe::TRUST_DOMAIN
                ),
            )
        })?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid("the private key", e.to_string()))?;
        Ok(TlsMaterial { certs, key, roots: Arc::new(roots), identity })
    }

    /// From PEM files, as [`TlsMaterial::from_pem`] reads them.
    ///
    /// # Errors
    ///
    /// [`TlsError::Read`] when a file cannot be read, else as [`TlsMaterial::from_pem`].
    pub fn from_files(ca: &Path, cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |what: &'static str, path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_path_buf(), source });
        Self::from_pem(&read("the CA bundle", ca)?, &read("the certificate", cert)?, &read("the private key", key)?)
    }

    /// Who this process is, by its certificate.
    pub fn identity(&self) -> &Peer {
        &self.identity
    }
}

/// How a process speaks gRPC: mutual TLS (the default everywhere but an explicit local
/// setting) or plaintext.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Mutual TLS with this material: serve with its certificate, call with it, and trust
    /// only peers signed by its CA.
    Tls(Arc<TlsMaterial>),
    /// No encryption, no proof of anything. Clients announce their service (if any) in
    /// [`PLAINTEXT_PEER_HEADER`] and servers believe it: for a laptop, never a network.
    Plaintext {
        /// The service this process announces when it calls others, if it is one.
        announce: Option<String>,
    },
}

impl Transport {
    /// `NOVA_TLS=off`: plaintext; otherwise `NOVA_TLS_CA`, `NOVA_TLS_CERT`, `NOVA_TLS_KEY` (PEM
    /// files), all three required. `service` is announced in plaintext mode.
    ///
    /// # Errors
    ///
    /// [`TlsError::Missing`] when TLS is not turned off and a variable is missing, else as
    /// [`TlsMaterial::from_files`].
    pub fn from_env(service: Option<&str>) -> Result<Self, TlsError> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if var("NOVA_TLS").is_some_and(|v| v.eq_ignore_ascii_case("off")) {
            return Ok(Transport::Plaintext { announce: service.map(str::to_string) });
        }
        match (var("NOVA_TLS_CA"), var("NOVA_TLS_CERT"), var("NOVA_TLS_KEY")) {
            (Some(ca), Some(cert), Some(key)) => {
                Ok(Transport::Tls(Arc::new(TlsMaterial::from_files(Path::new(&ca), Path::new(&cert), Path::new(&key))?)))
            }
            _ => Err(TlsError::Missing),
        }
    }

    /// Whether connections are mutual TLS (peers' identities are proven).
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }
}

impl Default for Transport {
    /// Plaintext announcing nobody: what unit tests of the runtime use.
    fn default() -> Self {
        Transport::Plaintext { announce: None }
    }
}

/// The one crypto provider of every TLS configuration here (ring), whatever other crates
/// enable in rustls.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

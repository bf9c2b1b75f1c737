//! The server side: a TLS handshake that requires a client certificate from the deployment's CA
//! and yields who the client is.

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::{TlsError, TlsMaterial, provider, spiffe};
use crate::identity::Peer;

/// A client that has not finished its handshake by then is dropped (it holds a socket).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS connections from clients holding a certificate of the deployment's CA.
#[derive(Clone)]
pub(crate) struct TlsAcceptor {
    inner: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsAcceptor")
    }
}

/// A connection whose client proved who it is.
pub(crate) struct Accepted {
    /// The TLS stream, handshake done, ready for HTTP/2.
    pub(crate) stream: TlsStream<TcpStream>,
    /// Who the client's certificate says it is.
    pub(crate) peer: Peer,
}

impl TlsAcceptor {
    /// An acceptor serving with `material`'s certificate and requiring a client certificate
    /// signed by its CA; it offers only HTTP/2 (`h2`).
    ///
    /// # Errors
    ///
    /// [`TlsError`] when the CA bundle or the certificate and key are refused by rustls.
    pub(crate) fn new(material: &TlsMaterial) -> Result<Self, TlsError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::clone(&material.roots), provider())
            .build()
            .map_err(|e| TlsError::Invalid { what: "the CA bundle".to_string(), reason: e.to_string() })?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(material.certs.clone(), material.key.clone_key())?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsAcceptor { inner: tokio_rustls::TlsAcceptor::from(Arc::new(config)) })
    }

    /// Completes the handshake; `Err` with a reason to log when the client has no valid
    /// certificate of the CA, names no nova identity, or is too slow.
    ///
    /// # Errors
    ///
    /// The reason the connection was refused, as text for the log; the connection is dropped.
    pub(crate) async fn accept(&self, stream: TcpStream) -> Result<Accepted, String> {
        let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.inner.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(format!("TLS handshake failed: {error}")),
            Err(_) => return Err(format!("no TLS handshake within {HANDSHAKE_TIMEOUT:?}")),
        };
        let leaf = stream.get_ref().1.peer_certificates().and_then(|certs| certs.first());
        match leaf.and_then(|der| spiffe::peer_of(der)) {
            Some(peer) => Ok(Accepted { stream, peer }),
            None => Err("the client certificate names no nova identity (spiffe://nova.local/svc/... or /client/...)".to_string()),
        }
    }
}

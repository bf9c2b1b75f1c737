//! The client side: a connector for tonic channels that dials TCP, then TLS with this process's
//! certificate, accepting only a server whose certificate names the service it meant to call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codegen::http::Uri;

use super::{TlsError, TlsMaterial, provider};

/// The DNS name a service's certificate carries and its clients verify: `nova-<service>` (also
/// its Kubernetes Service name), wherever it actually answers.
pub(crate) fn server_name_of(service: &str) -> String {
    format!("nova-{}", service.replace('_', "-"))
}

/// Dials `uri`'s host and port and speaks TLS to the server named `server_name`.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").field("server_name", &self.server_name).finish_non_exhaustive()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl TlsConnector {
    /// A connector presenting `material`'s certificate to the service `service`.
    ///
    /// # Errors
    ///
    /// [`TlsError`] when rustls refuses the material or `service` makes no valid DNS name.
    pub fn new(material: &TlsMaterial, service: &str, connect_timeout: Duration) -> Result<Self, TlsError> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(Arc::clone(&material.roots))
            .with_client_auth_cert(material.certs.clone(), material.key.clone_key())?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        let name = server_name_of(service);
        let server_name =
            ServerName::try_from(name.clone()).map_err(|e| TlsError::Invalid { what: format!("server name {name}"), reason: e.to_string() })?;
        Ok(TlsConnector { config: Arc::new(config), server_name, connect_timeout })
    }

    /// Dials `uri`'s host and port: a TLS stream to the expected server, ready for HTTP/2.
    ///
    /// # Errors
    ///
    /// When `uri` has no host, the TCP connection fails or times out, or the handshake fails
    /// (the server's certificate does not name the expected service, or is not signed by the
    /// CA).
    pub async fn connect(self, uri: Uri) -> Result<TokioIo<TlsStream<TcpStream>>, BoxError> {
        let host = uri.host().ok_or_else(|| format!("{uri} names no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(443);
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| format!("connecting to {host}:{port} took longer than {:?}", self.connect_timeout))??;
        // gRPC messages are small and latency-bound: never wait to coalesce them.
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(self.config).connect(self.server_name, tcp).await?;
        Ok(TokioIo::new(tls))
    }
}

impl tower::Service<Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

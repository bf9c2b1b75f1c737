//! A raw gRPC client on hyper's HTTP/2 client: it frames bytes itself and reads the status
//! the server sent, with no deadline of its own (tonic's `Channel` enforces `grpc-timeout`
//! on the client side too, so it would report its own timeout instead of the server's
//! answer) and no codec (so it can send bytes that are not protobuf).

use std::net::SocketAddr;

use bytes::{BufMut as _, Bytes, BytesMut};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tonic::Code;

/// What the server answered.
#[derive(Debug)]
pub struct RawReply {
    pub code: Code,
    /// `grpc-message`, percent-decoded.
    pub message: String,
    /// The response messages, still framed.
    pub body: Bytes,
}

/// One HTTP/2 connection to a gRPC server.
pub struct RawGrpc {
    addr: SocketAddr,
    sender: http2::SendRequest<Full<Bytes>>,
}

impl RawGrpc {
    /// In plaintext (servers started with `ServeOptions::insecure_local`).
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        let (sender, connection) =
            http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap_or_else(|e| panic!("HTTP/2 handshake with {addr}: {e}"));
        tokio::spawn(connection);
        RawGrpc { addr, sender }
    }

    /// Over mutual TLS to the nova service `service`, presenting `peer`'s certificate of the
    /// test CA (`Peer::Client("edge")` for an end user's client, `Peer::Service(..)` for a
    /// service).
    pub async fn connect_tls(addr: SocketAddr, service: &str, peer: &nova_runtime::identity::Peer) -> Self {
        let material = crate::pki::material(peer);
        let connector =
            nova_runtime::tls::TlsConnector::new(&material, service, std::time::Duration::from_secs(10)).unwrap_or_else(|e| panic!("TLS: {e}"));
        let uri: tonic::codegen::http::Uri = format!("http://{addr}").parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
        let io = connector.connect(uri).await.unwrap_or_else(|e| panic!("TLS connect {addr}: {e}"));
        let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.unwrap_or_else(|e| panic!("HTTP/2 handshake with {addr}: {e}"));
        tokio::spawn(connection);
        RawGrpc { addr, sender }
    }

    /// Calls `path` (`/package.Service/Method`) with `payload` as the one message, framed but
    /// not checked, and the extra `headers` (e.g. `grpc-timeout`).
    pub async fn unary(&mut self, path: &str, payload: &[u8], headers: &[(&str, &str)]) -> RawReply {
        let mut frame = BytesMut::with_capacity(payload.len() + 5);
        frame.put_u8(0);
        frame.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
        frame.put_slice(payload);
        let mut request =
            hyper::Request::post(format!("http://{}{path}", self.addr)).header("content-type", "application/grpc").header("te", "trailers");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(frame.freeze())).unwrap_or_else(|e| panic!("request: {e}"));
        let response = self.sender.send_request(request).await.unwrap_or_else(|e| panic!("send {path}: {e}"));
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.unwrap_or_else(|e| panic!("read {path}: {e}"));
        let trailers = collected.trailers().cloned().unwrap_or_default();
        // A trailers-only answer carries the status in the headers.
        let status_in = if parts.headers.contains_key("grpc-status") { &parts.headers } else { &trailers };
        let code = status_in.get("grpc-status").map_or(Code::Unknown, |v| Code::from_bytes(v.as_bytes()));
        let message = status_in.get("grpc-message").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_default();
        RawReply { code, message, body: collected.to_bytes() }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! A real S3-compatible server for the media service's tests: moto (`moto_server`, from PyPI's
//! `moto[server]`), on a free loopback port, with one bucket, killed when dropped.
//!
//! `moto_server` is looked up on PATH, then in the workspace's `.ci/venv/bin` (where `.ci/run`
//! installs it); when neither has it the test fails saying how to install it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::SAFETY_TIMEOUT;

/// Credentials moto accepts (it checks none).
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";

/// A running moto server; the process is killed on drop.
pub struct MotoS3 {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// A bucket created for this server.
    pub bucket: String,
}

fn moto_server_path() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file());
    let in_venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/venv/bin/moto_server");
    match on_path.or_else(|| in_venv.is_file().then_some(in_venv)) {
        Some(path) => path,
        None => panic!(
            "moto_server not found on PATH nor in .ci/venv/bin: install it with \
             `python3 -m venv .ci/venv && .ci/venv/bin/pip install 'moto[server]'` (as .ci/run does)"
        ),
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Sends one HTTP/1.1 request without a body and returns the status code (blocking: a
/// few bytes on loopback).
fn http_status(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let code = text.split_whitespace().nth(1).and_then(|code| code.parse().ok());
    code.ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))
}

impl MotoS3 {
    /// Starts moto and creates the bucket `bucket`, retrying until moto answers (it gives no
    /// other sign of being ready); [`SAFETY_TIMEOUT`] only turns a moto that never answers into
    /// a failure.
    pub async fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new(moto_server_path())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = MotoS3 { child, endpoint: format!("http://127.0.0.1:{port}"), bucket: bucket.to_string() };
        let give_up = Instant::now() + SAFETY_TIMEOUT;
        // Wait for the server itself: its answer, not a fixed delay.
        loop {
            match http_status(port, "PUT", &format!("/{bucket}")) {
                Ok(200) => break,
                Ok(code) => panic!("moto refused to create bucket {bucket}: HTTP {code}"),
                Err(error) if Instant::now() > give_up => panic!("moto_server did not answer on port {port}: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        moto
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

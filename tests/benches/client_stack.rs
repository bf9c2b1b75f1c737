//! The generated client stack against a raw tonic client, side by side, on the same auth
//! server (real gRPC on loopback, real PostgreSQL, real Redis):
//!
//! - raw tonic `GetUserByEmail` vs the generated client on it (no cache policy: deadline,
//!   retries, breaker, metrics only);
//! - raw tonic `GetUser` vs the generated client on it as a full miss, an L2 hit and an L1 hit;
//! - identity on vs off: the generated client without a cache on `GetUser`, plaintext and
//!   anonymous (the server checks nothing) against mutual TLS with a user's access token (the
//!   server verifies the peer's certificate once per connection and the token on every call),
//!   on two replicas of auth sharing one database.
//!
//!     cargo bench -p nova-tests --bench client_stack
//!
//! Prints median and P99 latency and ratios; BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::future::Future;
use std::time::{Duration, Instant};

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::{AuthClient, pb};
use nova_runtime::client::{ClientIdentity, ClientOptions};
use nova_runtime::identity::Peer;
use nova_runtime::server::ServiceConfig;
use nova_tests::redis_prefix::RedisPrefix;
use nova_tests::system::TestDirectory;
use nova_tests::{RunningService, TestDatabase, pki, wait_until_serving, wait_until_serving_tls};

const ROUNDS: usize = 20;
const PER_ROUND: usize = 300;

struct Samples {
    name: &'static str,
    micros: Vec<f64>,
}

impl Samples {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

async fn timed_once(samples: &mut Samples, call: impl Future<Output = ()>) {
    let started = Instant::now();
    call.await;
    samples.micros.push(started.elapsed().as_secs_f64() * 1e6);
}

#[tokio::main]
async fn main() {
    let database = TestDatabase::new("bench");
    let files = TestDirectory::new("bench");
    let mut config = ServiceConfig::loopback(database.config());
    config.data_dir = files.path.clone();
    let tls_config = ServiceConfig { transport: pki::service("auth"), ..config.clone() };
    // The plaintext replica: every caller is anonymous unless it announces a service.
    let server = RunningService::start(move |listeners, shutdown| nova_auth_service::start(config, listeners, shutdown)).await;
    wait_until_serving(server.addr, nova_auth::PROTO_SERVICE, Duration::from_secs(30)).await;
    // The mutual-TLS replica, on the same database.
    let tls_server = RunningService::start(move |listeners, shutdown| nova_auth_service::start(tls_config, listeners, shutdown)).await;
    wait_until_serving_tls(tls_server.addr, &nova_auth::server::DESCRIPTION, Duration::from_secs(30)).await;
    let redis = RedisPrefix::new();
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    let edge = pki::material(&Peer::Client("edge".to_string()));
    let tls_channel = nova_runtime::client::tls_channel(&tls_server.uri(), &edge, "auth").unwrap();

    let setup = AuthClient::new(channel.clone());
    let request = pb::RegisterRequest { email: "bench@example.com".into(), username: "bench".into(), password: "correct horse battery".into() };
    let user = setup.register(request).await.unwrap().user.unwrap();
    let login = pb::LoginRequest { email: user.email.clone(), password: "correct horse battery".into(), device: "bench".into() };
    let token = setup.login(login).await.unwrap().tokens.unwrap().access_token;
    let by_email = pb::GetUserByEmailRequest { email: user.email.clone() };
    let by_id = pb::GetUserRequest { user_id: user.id.clone() };

    // GetUserByEmail is for services: in plaintext a caller announces one (x-nova-service).
    let announce = |request: pb::GetUserByEmailRequest| {
        let mut request = tonic::Request::new(request);
        request.metadata_mut().insert("x-nova-service", tonic::metadata::MetadataValue::from_static("user"));
        request
    };
    let as_service = ClientIdentity { name: "unproven/user".into(), announce: Some("user".into()) };
    let raw = AuthServiceClient::new(channel.clone());
    let uncached = AuthClient::with_options(channel.clone(), ClientOptions { cache: None, identity: as_service.clone(), ..Default::default() });
    let cached =
        AuthClient::with_options(channel.clone(), ClientOptions { cache: Some(redis.cache_config()), identity: as_service, ..Default::default() });
    // Identity off and on, both without a cache: anonymous in plaintext, a user over mTLS.
    let plain_anonymous = AuthClient::with_options(channel.clone(), ClientOptions { cache: None, ..Default::default() });
    let tls_identity = ClientIdentity { name: edge.identity().path(), announce: None };
    let tls_user =
        AuthClient::with_options(tls_channel, ClientOptions { cache: None, identity: tls_identity, ..Default::default() }).with_token(&token);
    let cache = cached.core().cache().unwrap().clone();
    // L1 is used only once the client hears invalidations.
    nova_tests::cache_probe::until_l1_trusted(&cache).await;

    let mut raw_email = Samples { name: "raw tonic GetUserByEmail", micros: Vec::new() };
    let mut generated_email = Samples { name: "generated GetUserByEmail (no cache policy)", micros: Vec::new() };
    let mut raw_get = Samples { name: "raw tonic GetUser (reads PostgreSQL)", micros: Vec::new() };
    let mut raw_batch = Samples { name: "raw tonic GetUsersByIds, one id (what a GetUser miss sends)", micros: Vec::new() };
    let mut miss = Samples { name: "generated GetUser, full miss", micros: Vec::new() };
    let mut l2 = Samples { name: "generated GetUser, L2 hit (Redis)", micros: Vec::new() };
    let mut l1 = Samples { name: "generated GetUser, L1 hit", micros: Vec::new() };

    // Warm up connections, statement caches, the verifier and the allocator.
    for _ in 0..200 {
        raw.clone().get_user_by_email(announce(by_email.clone())).await.unwrap();
        plain_anonymous.get_user(by_id.clone()).await.unwrap();
        tls_user.get_user(by_id.clone()).await.unwrap();
        uncached.get_user_by_email(by_email.clone()).await.unwrap();
        cached.get_user(by_id.clone()).await.unwrap();
    }
    // The raw and generated calls on the same RPC alternate call by call (and which goes
    // first), so drift and background work on this 2-core machine affect them alike. Cache
    // scenarios need their state set up, so they run in blocks, interleaved by rounds.
    let mut raw_with_deadline = Samples { name: "raw tonic GetUserByEmail with grpc-timeout", micros: Vec::new() };
    let raw_call = || {
        let mut raw = raw.clone();
        let request = announce(by_email.clone());
        async move {
            raw.get_user_by_email(request).await.unwrap();
        }
    };
    let with_deadline = || {
        let mut raw = raw.clone();
        let mut request = announce(by_email.clone());
        request.set_timeout(Duration::from_secs(1));
        async move {
            raw.get_user_by_email(request).await.unwrap();
        }
    };
    let generated_call = || async {
        uncached.get_user_by_email(by_email.clone()).await.unwrap();
    };
    let cached_call = || async {
        cached.get_user(by_id.clone()).await.unwrap();
    };
    let mut identity_off = Samples { name: "generated GetUser, no cache, plaintext, anonymous", micros: Vec::new() };
    let mut identity_on = Samples { name: "generated GetUser, no cache, mTLS + user token", micros: Vec::new() };
    for _ in 0..ROUNDS {
        for i in 0..PER_ROUND {
            let off = || async { plain_anonymous.get_user(by_id.clone()).await.unwrap() };
            let on = || async { tls_user.get_user(by_id.clone()).await.unwrap() };
            if i % 2 == 0 {
                timed_once(&mut identity_off, async { drop(off().await) }).await;
                timed_once(&mut identity_on, async { drop(on().await) }).await;
            } else {
                timed_once(&mut identity_on, async { drop(on().await) }).await;
                timed_once(&mut identity_off, async { drop(off().await) }).await;
            }
        }
        for i in 0..PER_ROUND {
            if i % 2 == 0 {
                timed_once(&mut raw_email, raw_call()).await;
                timed_once(&mut generated_email, generated_call()).await;
                timed_once(&mut raw_with_deadline, with_deadline()).await;
            } else {
                timed_once(&mut generated_email, generated_call()).await;
                timed_once(&mut raw_with_deadline, with_deadline()).await;
                timed_once(&mut raw_email, raw_call()).await;
            }
        }
        for _ in 0..PER_ROUND {
            let (mut get_raw, request) = (raw.clone(), by_id.clone());
            timed_once(&mut raw_get, async move {
                get_raw.get_user(request).await.unwrap();
            })
            .await;
            let (mut batch_raw, request) = (raw.clone(), pb::GetUsersByIdsRequest { user_ids: vec![by_id.user_id.clone()] });
            timed_once(&mut raw_batch, async move {
                batch_raw.get_users_by_ids(request).await.unwrap();
            })
            .await;
        }
        for _ in 0..PER_ROUND {
            // Outside the timing: forget the entry everywhere, so the call is a full miss.
            cached.invalidate_get_user(&by_id).await;
            timed_once(&mut miss, cached_call()).await;
        }
        // Let the last miss's background write to Redis land (GetUser shares GetUsersByIds's
        // per-id entries).
        let key = cached.core().item_key(&nova_auth::rpc::GET_USERS_BY_IDS, &by_id.user_id).unwrap();
        while !matches!(cache.lookup_l2(&key).await.0, nova_runtime::client::Lookup::Fresh(..)) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for _ in 0..PER_ROUND {
            cache.clear_l1();
            timed_once(&mut l2, cached_call()).await;
        }
        for _ in 0..PER_ROUND {
            timed_once(&mut l1, cached_call()).await;
        }
    }

    println!("| scenario | median µs | P99 µs | median vs raw |");
    println!("|---|---:|---:|---:|");
    let email_base = raw_email.percentile(0.5);
    let get_base = raw_get.percentile(0.5);
    let rows = [
        (&raw_email, email_base),
        (&raw_with_deadline, email_base),
        (&generated_email, email_base),
        (&raw_get, get_base),
        (&raw_batch, get_base),
        (&miss, get_base),
        (&l2, get_base),
        (&l1, get_base),
        (&identity_off, identity_off.percentile(0.5)),
        (&identity_on, identity_off.percentile(0.5)),
    ];
    for (samples, base) in rows {
        let median = samples.percentile(0.5);
        let ratio = median / base;
        let versus = if ratio >= 1.0 { format!("{ratio:.3}x") } else { format!("1/{:.0}", 1.0 / ratio) };
        println!("| {} | {:.1} | {:.1} | {versus} |", samples.name, median, samples.percentile(0.99));
    }
    // Each generated call ran next to a raw one: the median of their ratios cancels drift.
    let paired = Samples { name: "paired", micros: generated_email.micros.iter().zip(&raw_email.micros).map(|(g, r)| g / r).collect() };
    let paired_deadline = Samples { name: "paired", micros: raw_with_deadline.micros.iter().zip(&raw_email.micros).map(|(d, r)| d / r).collect() };
    println!();
    println!("samples per scenario: {}", raw_email.micros.len());
    println!(
        "generated client overhead without cache: {:+.1} % by medians, {:+.1} % by paired calls (target <= 5 %); grpc-timeout alone: {:+.1} %",
        (generated_email.percentile(0.5) / email_base - 1.0) * 100.0,
        (paired.percentile(0.5) - 1.0) * 100.0,
        (paired_deadline.percentile(0.5) - 1.0) * 100.0
    );
    println!("L1 hit speed-up over the raw call: {:.0}x (target >= 100x)", get_base / l1.percentile(0.5));
    let paired_identity = Samples { name: "paired", micros: identity_on.micros.iter().zip(&identity_off.micros).map(|(on, off)| on / off).collect() };
    println!(
        "mTLS + identity over plaintext without: {:+.1} % by medians, {:+.1} % by paired calls (target <= 10 %)",
        (identity_on.percentile(0.5) / identity_off.percentile(0.5) - 1.0) * 100.0,
        (paired_identity.percentile(0.5) - 1.0) * 100.0
    );
    println!("L2 hit vs the PostgreSQL-backed call it replaces: {:.2}x faster (target > 1x)", get_base / l2.percentile(0.5));
    println!(
        "full miss: {:.3}x the raw GetUser, {:.3}x the raw GetUsersByIds it sends, {:.3}x the same generated call without a cache (targets <= 1.2x, <= 1x)",
        miss.percentile(0.5) / get_base,
        miss.percentile(0.5) / raw_batch.percentile(0.5),
        miss.percentile(0.5) / identity_off.percentile(0.5)
    );

    // The stack's own CPU cost, without the network: an attempt that answers at once.
    let local = nova_runtime::client::ClientCore::new(&nova_auth::rpc::TARGET, channel, ClientOptions { cache: None, ..Default::default() });
    let iterations = 200_000u32;
    let started = Instant::now();
    for _ in 0..iterations {
        let response: pb::GetUserByEmailResponse = local
            .unary(
                &nova_auth::rpc::GET_USER_BY_EMAIL,
                by_email.clone(),
                |_| Vec::new(),
                |_channel, _request| async { Ok(tonic::Response::new(pb::GetUserByEmailResponse::default())) },
            )
            .await
            .unwrap();
        std::hint::black_box(response);
    }
    println!("client stack CPU per call without the network: {:.2} µs", started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations));
    server.stop().await.unwrap();
    tls_server.stop().await.unwrap();
}

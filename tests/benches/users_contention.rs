//! The seed's headline, "users reads 500 -> 5000+ QPS", against a model of the monolith that
//! has its contention: reads of users by id while a stated mix of writes runs, on both sides.
//!
//! - **legacy**: one shared PostgreSQL database (`nova_tests::legacy`): the `users` table holds
//!   identity, credentials, login counters, profile and follower counts; sessions, posts,
//!   likes, follows and messages reference it by foreign key. Reads are the monolith's
//!   `SELECT ... FROM users WHERE id = ANY($1)` through a pool of 10; writes go through another
//!   pool of 10 (the other services of the monolith), as SQL the monolith would run.
//! - **nova**: auth, media, user, content and messaging running as their binaries run them
//!   (each its own database, mutual TLS, clients with L1 and L2 in Redis), started by
//!   `TestSystem`. Reads are auth's `GetUsersByIds` through the generated client of a caller
//!   (cached per id); writes are the same operations through the services' public RPCs, each
//!   as the signed-in user.
//!
//! The write mix, per second, the same on both sides (a task per kind, at a fixed rate; a write
//! that falls behind skips a tick rather than bunch up, and the rate reached is reported):
//!
//! | kind | rate | legacy | nova |
//! |---|---:|---|---|
//! | login | 6 | Argon2id check, `UPDATE users SET last_login_at, failed_login_attempts = 0`, `INSERT sessions` | auth `Login` |
//! | profile edit | 20 | `UPDATE users SET display_name, bio` | user `UpdateUserProfile` |
//! | follow | 40 | `INSERT follows`, followee's `follower_count + 1`, follower's `following_count + 1` | user `Follow` |
//! | post | 20 | `INSERT posts` | content `CreatePost` |
//! | like | 60 | `INSERT likes`, the post's `like_count + 1` | content `LikePost` |
//! | message | 20 | `INSERT messages` | messaging `SendMessage` |
//!
//! Failed sign-ins are left out: nova's auth throttles them per source address (50 per 15
//! minutes by default), and a bench that sends them all from one address locks itself out of
//! every sign-in, which the monolith (no throttle) would not.
//!
//! Writers are [`WRITERS`] accounts registered in nova (and copied, same ids and Argon2id
//! hashes, into the legacy database); followees are drawn by Zipf(1.1) over all users, so the
//! popular rows are the ones written most, as in the monolith. Reads are batches of 20 distinct
//! ids drawn by Zipf(1.1) over [`USERS`] users, closed loop, at each concurrency of
//! [`READ_TASKS`] for [`LEVEL`] after a [`WARM_UP`] at the first; the cache of the nova reader
//! starts empty at the warm-up. The sustained read rate of a side is the highest rate of the
//! levels whose P95 is under 100 ms. CPU is that of this process (client, and nova's services),
//! every PostgreSQL process and Redis, over each level (`nova_tests::cpu`).
//!
//!     cargo bench -p nova-tests --bench users_contention
//!
//! Prints one markdown table; BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use nova_auth::AuthClient;
use nova_content::ContentClient;
use nova_messaging::MessagingClient;
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_tests::cpu::Meter;
use nova_tests::legacy::{self, Account};
use nova_tests::system::{PASSWORD, TestUser};
use nova_tests::zipf::Zipf;
use nova_tests::{TestDatabase, TestSystem};
use nova_user::UserClient;
use tokio::sync::Mutex;
use uuid::Uuid;

const USERS: usize = 100_000;
const ZIPF_EXPONENT: f64 = 1.1;
const BATCH: usize = 20;
/// Accounts that write (register, sign in, post, follow, like, message).
const WRITERS: usize = 48;
const READ_TASKS: [usize; 3] = [16, 64, 256];
const WARM_UP: Duration = Duration::from_secs(5);
const LEVEL: Duration = Duration::from_secs(10);
/// The read batches, cycled.
const STREAM: usize = 50_000;
const SEED: u64 = 11;

/// One kind of write and its rate per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Login,
    ProfileEdit,
    Follow,
    Post,
    Like,
    Message,
}

const MIX: [(Kind, u32); 6] =
    [(Kind::Login, 6), (Kind::ProfileEdit, 20), (Kind::Follow, 40), (Kind::Post, 20), (Kind::Like, 60), (Kind::Message, 20)];

type Write = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One side: how it reads a batch and how it makes the `n`th write of a kind.
trait Side: Send + Sync + 'static {
    fn read(&self, ids: &[Uuid]) -> Pin<Box<dyn Future<Output = Result<usize, String>> + Send + '_>>;
    fn write(self: Arc<Self>, kind: Kind, n: usize) -> Write;
}

/// The read stream: batches of 20 distinct Zipf-drawn users.
fn stream() -> Vec<Vec<Uuid>> {
    let zipf = Zipf::new(USERS, ZIPF_EXPONENT);
    let mut rng = fastrand::Rng::with_seed(SEED);
    (0..STREAM)
        .map(|_| {
            let mut ids = Vec::with_capacity(BATCH);
            while ids.len() < BATCH {
                let id = legacy::user_id(zipf.sample(&mut rng));
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids
        })
        .collect()
}

/// A Zipf-popular followee for the `n`th follow (reproducible).
fn followee(zipf: &Zipf, n: usize) -> Uuid {
    let mut rng = fastrand::Rng::with_seed(SEED ^ n as u64);
    legacy::user_id(zipf.sample(&mut rng))
}

// ----- legacy -----

struct Legacy {
    reads: PgPool,
    writes: PgPool,
    accounts: Vec<Account>,
    zipf: Zipf,
    posts: Mutex<Vec<Uuid>>,
}

/// The monolith checks the password the way auth does: Argon2id, off the async threads.
async fn check_password(hash: String, password: &'static str) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

impl Side for Legacy {
    fn read(&self, ids: &[Uuid]) -> Pin<Box<dyn Future<Output = Result<usize, String>> + Send + '_>> {
        let ids = ids.to_vec();
        Box::pin(async move {
            let rows: Vec<legacy::Row> = sqlx::query_as(legacy::READ).bind(&ids[..]).fetch_all(&self.reads).await.map_err(|e| e.to_string())?;
            Ok(rows.len())
        })
    }

    fn write(self: Arc<Self>, kind: Kind, n: usize) -> Write {
        Box::pin(async move {
            let me = &self.accounts[n % WRITERS];
            let other = &self.accounts[(n + 1) % WRITERS];
            let db = &self.writes;
            let fail = |e: sqlx::Error| e.to_string();
            match kind {
                Kind::Login => {
                    if !check_password(me.password_hash.clone(), PASSWORD).await {
                        return Err("the password did not check".into());
                    }
                    let mut tx = db.begin().await.map_err(fail)?;
                    sqlx::query("UPDATE users SET last_login_at = now(), failed_login_attempts = 0 WHERE id = $1")
                        .bind(me.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    sqlx::query("INSERT INTO sessions (user_id, device) VALUES ($1, 'bench')").bind(me.id).execute(&mut *tx).await.map_err(fail)?;
                    tx.commit().await.map_err(fail)
                }
                Kind::ProfileEdit => sqlx::query("UPDATE users SET display_name = $2, bio = $3, updated_at = now() WHERE id = $1")
                    .bind(me.id)
                    .bind(format!("{} {n}", me.username))
                    .bind(format!("edit {n}"))
                    .execute(db)
                    .await
                    .map(drop)
                    .map_err(fail),
                Kind::Follow => {
                    let followee = followee(&self.zipf, n);
                    let mut tx = db.begin().await.map_err(fail)?;
                    let inserted = sqlx::query("INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(me.id)
                        .bind(followee)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?
                        .rows_affected();
                    if inserted == 1 {
                        sqlx::query("UPDATE users SET follower_count = follower_count + 1 WHERE id = $1")
                            .bind(followee)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                        sqlx::query("UPDATE users SET following_count = following_count + 1 WHERE id = $1")
                            .bind(me.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                    }
                    tx.commit().await.map_err(fail)
                }
                Kind::Post => {
                    let id: Uuid = sqlx::query_scalar("INSERT INTO posts (author_id, body) VALUES ($1, $2) RETURNING id")
                        .bind(me.id)
                        .bind(format!("post {n}"))
                        .fetch_one(db)
                        .await
                        .map_err(fail)?;
                    self.posts.lock().await.push(id);
                    Ok(())
                }
                Kind::Like => {
                    let Some(post) = pick(&self.posts, n).await else { return Ok(()) };
                    let mut tx = db.begin().await.map_err(fail)?;
                    let inserted = sqlx::query("INSERT INTO likes (user_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(me.id)
                        .bind(post)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?
                        .rows_affected();
                    if inserted == 1 {
                        sqlx::query("UPDATE posts SET like_count = like_count + 1 WHERE id = $1").bind(post).execute(&mut *tx).await.map_err(fail)?;
                    }
                    tx.commit().await.map_err(fail)
                }
                Kind::Message => sqlx::query("INSERT INTO messages (sender_id, recipient_id, body) VALUES ($1, $2, $3)")
                    .bind(me.id)
                    .bind(other.id)
                    .bind(format!("message {n}"))
                    .execute(db)
                    .await
                    .map(drop)
                    .map_err(fail),
            }
        })
    }
}

/// The `n`th like's post: one of the latest 200 posts (a feed's worth).
async fn pick(posts: &Mutex<Vec<Uuid>>, n: usize) -> Option<Uuid> {
    let posts = posts.lock().await;
    let recent = posts.len().min(200);
    (recent > 0).then(|| posts[posts.len() - 1 - n % recent])
}

// ----- nova -----

struct Nova {
    reader: AuthClient,
    auth: AuthClient,
    users: UserClient,
    content: ContentClient,
    messaging: MessagingClient,
    writers: Vec<TestUser>,
    /// The profile version each writer's next edit expects (one editing task: no races).
    versions: Vec<AtomicU64>,
    zipf: Zipf,
    posts: Mutex<Vec<Uuid>>,
}

fn status(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

impl Side for Nova {
    fn read(&self, ids: &[Uuid]) -> Pin<Box<dyn Future<Output = Result<usize, String>> + Send + '_>> {
        let request = nova_auth::pb::GetUsersByIdsRequest { user_ids: ids.iter().map(Uuid::to_string).collect() };
        Box::pin(async move { Ok(self.reader.get_users_by_ids(request).await.map_err(status)?.users.len()) })
    }

    fn write(self: Arc<Self>, kind: Kind, n: usize) -> Write {
        Box::pin(async move {
            let index = n % WRITERS;
            let me = &self.writers[index];
            let other = &self.writers[(n + 1) % WRITERS];
            match kind {
                Kind::Login => {
                    let request = nova_auth::pb::LoginRequest { email: me.email.clone(), password: PASSWORD.to_string(), device: "bench".into() };
                    self.auth.login(request).await.map(drop).map_err(status)
                }
                Kind::ProfileEdit => {
                    let version = self.versions[index].load(Ordering::Relaxed);
                    let request = nova_user::pb::UpdateUserProfileRequest {
                        user_id: me.id.clone(),
                        display_name: format!("{} {n}", me.name),
                        bio: format!("edit {n}"),
                        version: i64::try_from(version).unwrap_or(0),
                        ..Default::default()
                    };
                    let updated = self.users.with_token(&me.token).update_user_profile(request).await.map_err(status)?;
                    let version = updated.profile.map_or(0, |p| p.version);
                    self.versions[index].store(u64::try_from(version).unwrap_or(0), Ordering::Relaxed);
                    Ok(())
                }
                Kind::Follow => {
                    let request = nova_user::pb::FollowRequest { follower_id: me.id.clone(), followee_id: followee(&self.zipf, n).to_string() };
                    match self.users.with_token(&me.token).follow(request).await {
                        Ok(_) => Ok(()),
                        // Following someone already followed is refused, as the legacy insert is a no-op.
                        Err(refused) if refused.code() == tonic::Code::AlreadyExists => Ok(()),
                        Err(refused) => Err(status(refused)),
                    }
                }
                Kind::Post => {
                    let request = nova_content::pb::CreatePostRequest {
                        author_id: me.id.clone(),
                        body: format!("post {n}"),
                        media_ids: Vec::new(),
                        visibility: nova_content::pb::PostVisibility::Public as i32,
                    };
                    let post = self.content.with_token(&me.token).create_post(request).await.map_err(status)?.post.unwrap_or_default();
                    self.posts.lock().await.push(post.id.parse().map_err(|e| format!("{e}"))?);
                    Ok(())
                }
                Kind::Like => {
                    let Some(post) = pick(&self.posts, n).await else { return Ok(()) };
                    let request = nova_content::pb::LikePostRequest { post_id: post.to_string(), user_id: me.id.clone() };
                    match self.content.with_token(&me.token).like_post(request).await {
                        Ok(_) => Ok(()),
                        Err(refused) if refused.code() == tonic::Code::AlreadyExists => Ok(()),
                        Err(refused) => Err(status(refused)),
                    }
                }
                Kind::Message => {
                    let request = nova_messaging::pb::SendMessageRequest {
                        sender_id: me.id.clone(),
                        target: Some(nova_messaging::pb::send_message_request::Target::RecipientId(other.id.clone())),
                        body: format!("message {n}"),
                        ..Default::default()
                    };
                    self.messaging.with_token(&me.token).send_message(request).await.map(drop).map_err(status)
                }
            }
        })
    }
}

// ----- the run -----

/// What the writers did over a level.
#[derive(Default)]
struct Written {
    done: AtomicU64,
    failed: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

/// Runs the write mix on `side` until `stop`; counts into `written`.
fn start_writes<S: Side>(side: &Arc<S>, stop: &Arc<AtomicBool>, written: &Arc<Written>) -> Vec<tokio::task::JoinHandle<()>> {
    let counter = Arc::new(AtomicUsize::new(0));
    MIX.iter()
        .map(|&(kind, rate)| {
            let (side, stop, written, counter) = (Arc::clone(side), Arc::clone(stop), Arc::clone(written), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                while !stop.load(Ordering::Relaxed) {
                    ticks.tick().await;
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    match Arc::clone(&side).write(kind, n).await {
                        Ok(()) => {
                            written.done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => {
                            written.failed.fetch_add(1, Ordering::Relaxed);
                            let mut first = written.first_error.lock().unwrap();
                            if first.is_none() {
                                *first = Some(format!("{kind:?}: {error}"));
                            }
                        }
                    }
                }
            })
        })
        .collect()
}

/// One level's figures.
struct Level {
    side: &'static str,
    tasks: usize,
    reads: usize,
    read_errors: usize,
    qps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    writes_per_second: f64,
    write_errors: u64,
    cores: f64,
    cpu_ms_per_1000_reads: f64,
    hit_rate: Option<f64>,
}

/// Reads from `tasks` tasks for `duration` (closed loop) while the write mix runs.
async fn level<S: Side>(name: &'static str, side: &Arc<S>, stream: &Stream, tasks: usize, duration: Duration) -> Level {
    let stop_writes = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Written::default());
    let hits_before = hits();
    let meter = Meter::start();
    let writers = start_writes(side, &stop_writes, &written);
    let reading = Instant::now();
    let until = reading + duration;
    let readers: Vec<_> = (0..tasks)
        .map(|_| {
            let (side, batches, next) = (Arc::clone(side), Arc::clone(&stream.batches), Arc::clone(&stream.next));
            tokio::spawn(async move {
                let (mut micros, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < until {
                    let batch = &batches[next.fetch_add(1, Ordering::Relaxed) % STREAM];
                    let sent = Instant::now();
                    let answered = side.read(batch).await;
                    micros.push(sent.elapsed().as_secs_f64() * 1e6);
                    if !matches!(answered, Ok(BATCH)) {
                        errors += 1;
                    }
                }
                (micros, errors)
            })
        })
        .collect();
    if tasks == 0 {
        // The write mix alone, for the level's length.
        tokio::time::sleep(duration).await;
    }
    let (mut micros, mut read_errors) = (Vec::new(), 0);
    for reader in readers {
        let (m, e) = reader.await.unwrap();
        micros.extend(m);
        read_errors += e;
    }
    let elapsed = reading.elapsed().as_secs_f64();
    stop_writes.store(true, Ordering::Relaxed);
    let cpu = meter.cpu_seconds();
    let cores = meter.cores();
    for writer in writers {
        writer.await.unwrap();
    }
    if let Some(error) = written.first_error.lock().unwrap().as_ref() {
        eprintln!("{name}, {tasks} readers: {} writes failed, the first: {error}", written.failed.load(Ordering::Relaxed));
    }
    micros.sort_by(f64::total_cmp);
    let percentile = |p: f64| micros.get(((micros.len().max(1) - 1) as f64 * p).round() as usize).map_or(0.0, |m| m / 1000.0);
    let (l1, l2, miss) = hits().since(hits_before);
    let hit_rate = (name == "nova").then(|| if l1 + l2 + miss > 0.0 { (l1 + l2) / (l1 + l2 + miss) } else { 0.0 });
    Level {
        side: name,
        tasks,
        reads: micros.len(),
        read_errors,
        qps: micros.len() as f64 / elapsed,
        p50: percentile(0.5),
        p95: percentile(0.95),
        p99: percentile(0.99),
        writes_per_second: written.done.load(Ordering::Relaxed) as f64 / elapsed,
        write_errors: written.failed.load(Ordering::Relaxed),
        cores,
        cpu_ms_per_1000_reads: if micros.is_empty() { 0.0 } else { cpu * 1e6 / micros.len() as f64 },
        hit_rate,
    }
}

/// `grpc_client_cache_requests_total` of GetUsersByIds (per id): L1 hits, L2 hits, misses.
#[derive(Clone, Copy)]
struct Hits(f64, f64, f64);

impl Hits {
    fn since(self, before: Hits) -> (f64, f64, f64) {
        (self.0 - before.0, self.1 - before.1, self.2 - before.2)
    }
}

fn hits() -> Hits {
    let text = nova_runtime::metrics::render();
    let count = |level, result| {
        nova_tests::metrics::sum(&text, "grpc_client_cache_requests_total", &[("grpc_method", "GetUsersByIds"), ("level", level), ("result", result)])
    };
    Hits(count("l1", "hit"), count("l2", "hit"), count("none", "miss") + count("none", "stale"))
}

/// The read stream as one side goes through it: each side starts at its beginning and each
/// level goes on where the previous one stopped.
struct Stream {
    batches: Arc<Vec<Vec<Uuid>>>,
    next: Arc<AtomicUsize>,
}

async fn run_side<S: Side>(name: &'static str, side: &Arc<S>, batches: &Arc<Vec<Vec<Uuid>>>) -> Vec<Level> {
    let stream = Stream { batches: Arc::clone(batches), next: Arc::new(AtomicUsize::new(0)) };
    // Warm-up: buffers, connections, caches (not reported).
    level(name, side, &stream, READ_TASKS[0], WARM_UP).await;
    // The write mix alone: what the writes cost, to tell the reads' share of the CPU.
    let mut levels = vec![level(name, side, &stream, 0, LEVEL).await];
    for tasks in READ_TASKS {
        levels.push(level(name, side, &stream, tasks, LEVEL).await);
    }
    levels
}

/// Registers the writers in nova and reads back what the legacy copy needs.
async fn writers(system: &TestSystem) -> (Vec<TestUser>, Vec<Account>) {
    let mut users = Vec::with_capacity(WRITERS);
    for i in 0..WRITERS {
        users.push(system.sign_up(&format!("writer{i}")).await);
    }
    let mut auth = system.connect("auth").await;
    let mut accounts = Vec::with_capacity(WRITERS);
    for user in &users {
        let id: Uuid = user.id.parse().unwrap();
        let (email, username, password_hash): (String, String, String) =
            sqlx::query_as("SELECT email, username, password_hash FROM users WHERE id = $1").bind(id).fetch_one(&mut auth).await.unwrap();
        accounts.push(Account { id, email, username, password_hash });
    }
    (users, accounts)
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let batches = Arc::new(stream());
    let mut system = TestSystem::new();
    system.start_with_callees("content").await;
    system.start_with_callees("messaging").await;
    let mut auth_db = system.connect("auth").await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(legacy::seed_sql(USERS, "", ""))).execute(&mut auth_db).await.unwrap();
    let (users, accounts) = writers(&system).await;
    let (legacy_db, legacy_pool): (TestDatabase, PgPool) = legacy::database(USERS, &accounts).await;
    let legacy_writes = sqlx::postgres::PgPoolOptions::new().max_connections(10).connect(&legacy_db.url).await.unwrap();
    println!("{USERS} users seeded in both worlds, {WRITERS} writers registered, in {:.1} s", started.elapsed().as_secs_f64());

    let legacy_side = Arc::new(Legacy {
        reads: legacy_pool.clone(),
        writes: legacy_writes,
        accounts,
        zipf: Zipf::new(USERS, ZIPF_EXPONENT),
        posts: Mutex::default(),
    });
    let users_client = system.client(UserClient::from_peers);
    let mut versions = Vec::with_capacity(WRITERS);
    for user in &users {
        let profile =
            users_client.get_user_profile(nova_user::pb::GetUserProfileRequest { user_id: user.id.clone() }).await.unwrap().profile.unwrap();
        versions.push(AtomicU64::new(u64::try_from(profile.version).unwrap_or(0)));
    }
    let nova_side = Arc::new(Nova {
        reader: system.service_client("content", AuthClient::from_peers),
        auth: system.client(AuthClient::from_peers),
        users: users_client,
        content: system.client(ContentClient::from_peers),
        messaging: system.client(MessagingClient::from_peers),
        writers: users,
        versions,
        zipf: Zipf::new(USERS, ZIPF_EXPONENT),
        posts: Mutex::default(),
    });

    let mut all = run_side("legacy", &legacy_side, &batches).await;
    all.extend(run_side("nova", &nova_side, &batches).await);

    println!();
    println!(
        "| side | readers | reads | read errors | reads/s | P50 ms | P95 ms | P99 ms | writes/s | write errors | cores busy | CPU ms per 1000 reads | hit rate |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in &all {
        let rate = l.hit_rate.filter(|_| l.tasks > 0).map_or_else(|| "-".to_string(), |r| format!("{:.1} %", r * 100.0));
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {:.2} | {:.0} | {rate} |",
            l.side,
            l.tasks,
            l.reads,
            l.read_errors,
            l.qps,
            l.p50,
            l.p95,
            l.p99,
            l.writes_per_second,
            l.write_errors,
            l.cores,
            l.cpu_ms_per_1000_reads
        );
    }
    let planned: u32 = MIX.iter().map(|(_, rate)| rate).sum();
    println!("\nwrite mix planned: {planned} writes/s");
    for side in ["legacy", "nova"] {
        let Some(writes_only) = all.iter().find(|l| l.side == side && l.tasks == 0) else { continue };
        for l in all.iter().filter(|l| l.side == side && l.tasks > 0) {
            // The cores the readers added over the write mix alone, per read.
            let read_cpu = (l.cores - writes_only.cores).max(0.0) / l.qps * 1e6;
            println!(
                "{side}, {} readers: the reads' own CPU is {read_cpu:.0} ms per 1000 reads ({:.2} cores over the writes' {:.2})",
                l.tasks,
                l.cores - writes_only.cores,
                writes_only.cores
            );
        }
    }
    let sustained = |side: &str| all.iter().filter(|l| l.side == side && l.p95 < 100.0 && l.read_errors == 0).map(|l| l.qps).fold(0.0, f64::max);
    let (old, new) = (sustained("legacy"), sustained("nova"));
    println!("sustained read rate with P95 < 100 ms: legacy {old:.0}/s, nova {new:.0}/s: {:.2}x (the plan's target: 10x)", new / old);

    legacy_pool.close().await;
    drop(legacy_db);
    system.stop().await;
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}

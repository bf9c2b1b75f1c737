//! Health that follows the database, on the real auth service and a PostgreSQL cluster of the
//! test's own (stopped and started by the test; the shared server is never touched):
//! NOT_SERVING while the database is away, calls failing fast with `UNAVAILABLE` (never
//! `INTERNAL`), SERVING again without a restart, no acknowledged write lost; and a service
//! started before its database waits for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::codegen::sqlx::{self, Connection as _};
use nova_runtime::db::{DatabaseConfig, DbError};
use nova_runtime::server::{ServiceConfig, StartError};
use nova_tests::metrics::{sample, scrape};
use nova_tests::{HealthWatch, PrivatePostgres, RunningService, SAFETY_TIMEOUT, TestDirectory};
use tokio::sync::watch;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// What the gate answers while the database is away: the call never touched the pool.
const NOT_READY: &str = "is not ready: its database does not answer";

/// The running service and the directory it keeps its files in (its sealed signing keys): a
/// temporary one of the test's own, removed when the test ends, never the repository's `var/`.
async fn start_auth(database: DatabaseConfig) -> (RunningService, TestDirectory) {
    let files = TestDirectory::new("database-outage");
    let mut config = ServiceConfig::loopback(database);
    config.data_dir = files.path.clone();
    let service = RunningService::start(move |listeners, shutdown| nova_auth_service::start(config, listeners, shutdown)).await;
    (service, files)
}

fn client(service: &RunningService) -> AuthServiceClient<tonic::transport::Channel> {
    AuthServiceClient::new(nova_runtime::client::channel(&service.uri()).unwrap())
}

fn registration(n: u64) -> pb::RegisterRequest {
    pb::RegisterRequest { email: format!("user{n}@example.com"), username: format!("user_{n}"), password: "correct horse battery".into() }
}

/// Registrations in a loop until told to stop: what every call answered, and the ids of the
/// acknowledged ones.
#[derive(Debug, Default)]
struct Outcomes {
    codes: BTreeMap<String, u64>,
    acknowledged: Vec<uuid::Uuid>,
}

struct Load {
    outcomes: Arc<Mutex<Outcomes>>,
    successes: watch::Receiver<u64>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(mut client: AuthServiceClient<tonic::transport::Channel>) -> Self {
        let outcomes = Arc::new(Mutex::new(Outcomes::default()));
        let (successes_tx, successes) = watch::channel(0);
        let (stop, stopped) = watch::channel(false);
        let record = Arc::clone(&outcomes);
        let task = tokio::spawn(async move {
            for n in 0.. {
                if *stopped.borrow() {
                    return;
                }
                let answer = client.register(registration(n)).await;
                let mut outcomes = record.lock().unwrap();
                let code = answer.as_ref().map_or_else(tonic::Status::code, |_| Code::Ok);
                *outcomes.codes.entry(format!("{code:?}")).or_default() += 1;
                if let Ok(response) = answer {
                    outcomes.acknowledged.push(response.into_inner().user.unwrap().id.parse().unwrap());
                    successes_tx.send_modify(|s| *s += 1);
                }
            }
        });
        Load { outcomes, successes, stop, task }
    }

    /// Waits for `more` acknowledged registrations beyond those seen so far.
    async fn succeeds(&mut self, more: u64) {
        let target = *self.successes.borrow() + more;
        let reached = self.successes.wait_for(|s| *s >= target);
        tokio::time::timeout(SAFETY_TIMEOUT, reached).await.unwrap_or_else(|_| panic!("no {more} successful registrations")).unwrap();
    }

    async fn finish(self) -> Outcomes {
        self.stop.send_replace(true);
        self.task.await.unwrap();
        Arc::try_unwrap(self.outcomes).unwrap().into_inner().unwrap()
    }
}

#[tokio::test]
async fn health_follows_the_database_calls_fail_fast_while_it_is_away_and_no_acknowledged_write_is_lost() {
    let postgres = PrivatePostgres::init().await;
    postgres.start().await;
    let (service, _files) = start_auth(DatabaseConfig::for_url(postgres.url("nova_auth"))).await;
    let mut health = HealthWatch::start(service.addr, nova_auth::PROTO_SERVICE).await;
    health.until(ServingStatus::Serving).await;
    let mut load = Load::start(client(&service));
    load.succeeds(3).await;

    postgres.stop().await;
    health.until(ServingStatus::NotServing).await;
    // From now until the database is back, calls are refused at the door, without waiting
    // for a connection: all of them, by the gate's own answer.
    let mut probe = client(&service);
    for n in 0..20 {
        let refused = probe.register(registration(1_000_000 + n)).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(refused.message().contains(NOT_READY), "{refused:?}");
    }

    postgres.start().await;
    health.until(ServingStatus::Serving).await;
    load.succeeds(3).await;
    let outcomes = load.finish().await;

    let unavailable = outcomes.codes.get("Unavailable").copied().unwrap_or(0);
    let ok = outcomes.codes.get("Ok").copied().unwrap_or(0);
    assert_eq!(ok + unavailable, outcomes.codes.values().sum::<u64>(), "only OK and UNAVAILABLE, never INTERNAL: {:?}", outcomes.codes);
    assert!(ok >= 6, "{:?}", outcomes.codes);
    let mut db = sqlx::PgConnection::connect(&postgres.url("nova_auth")).await.unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE id = ANY($1)").bind(&outcomes.acknowledged).fetch_one(&mut db).await.unwrap();
    assert_eq!(usize::try_from(stored).unwrap(), outcomes.acknowledged.len(), "every acknowledged registration is stored");
    db.close().await.unwrap();
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_service_started_before_its_database_waits_not_serving_then_serves_by_itself() {
    let postgres = PrivatePostgres::init().await;
    let (service, _files) = start_auth(DatabaseConfig::for_url(postgres.url("nova_auth"))).await;
    let mut health = HealthWatch::start(service.addr, nova_auth::PROTO_SERVICE).await;
    assert_eq!(health.next().await, Some(ServingStatus::NotServing));
    // Everything but the calls is served meanwhile: health (above), /metrics, and a clear
    // UNAVAILABLE for the calls.
    let text = scrape(service.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_server_started_total", &[("grpc_method", "Register")]), 0.0);
    let refused = client(&service).register(registration(1)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert!(refused.message().contains(NOT_READY), "{refused:?}");

    postgres.start().await;
    health.until(ServingStatus::Serving).await;
    let user = client(&service).register(registration(2)).await.unwrap().into_inner().user.unwrap();
    assert_eq!(user.username, "user_2");
    let text = scrape(service.metrics_addr).await;
    assert_eq!(sample(&text, "grpc_server_handled_total", &[("grpc_method", "Register"), ("grpc_code", "Unavailable")]), 1.0);
    assert_eq!(sample(&text, "grpc_server_handled_total", &[("grpc_method", "Register"), ("grpc_code", "OK")]), 1.0);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_service_whose_database_never_answers_gives_up_after_its_startup_wait() {
    let closed = nova_tests::proxy::closed_port().await;
    let mut database = DatabaseConfig::for_url(format!("postgres://postgres@{closed}/nova_auth"));
    database.startup_wait = Duration::from_millis(300);
    let (service, _files) = start_auth(database).await;
    let mut health = HealthWatch::start(service.addr, nova_auth::PROTO_SERVICE).await;
    assert_eq!(health.next().await, Some(ServingStatus::NotServing));
    let result = service.finished().await;
    assert!(matches!(&result, Err(StartError::Database(DbError::GaveUp { .. }))), "{result:?}");
    assert_eq!(nova_runtime::service::exit_code(&result), 1);
}

//! The migration runner against the real PostgreSQL: replicas starting together apply each
//! migration once, no-transaction files run statement by statement and can be re-run after a
//! failure, the owner role makes the schema, and a history that changed under an applied
//! database is refused. Each test has its own database (and roles, named after it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::{Duration, Instant};

use nova_runtime::codegen::sqlx::{self, Connection as _, PgConnection};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::db::{DatabaseConfig, quote_identifier};
use nova_runtime::migrate::{self, AppliedMigration, MigrateError, Migration, MigrationState, split};

fn server_url() -> String {
    std::env::var("NOVA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database (and the roles named after it) that exist for one test.
struct Scratch {
    name: String,
    roles: Vec<String>,
}

impl Scratch {
    async fn new() -> Self {
        let name = format!("nova_rt_migrate_{}", Uuid::new_v4().simple());
        admin(&format!("CREATE DATABASE {}", quote_identifier(&name))).await;
        Scratch { name, roles: Vec::new() }
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&format!("{}/{}", server_url(), self.name)).await.unwrap()
    }

    async fn connect_as(&self, role: &str) -> PgConnection {
        let url = server_url().replacen("postgres@", &format!("{role}@"), 1);
        PgConnection::connect(&format!("{url}/{}", self.name)).await.unwrap()
    }

    async fn create_role(&mut self, role: &str, attributes: &str) {
        admin(&format!("CREATE ROLE {} {attributes}", quote_identifier(role))).await;
        self.roles.push(role.to_string());
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (name, roles) = (self.name.clone(), self.roles.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&name))).await;
                for role in roles {
                    admin(&format!("DROP ROLE IF EXISTS {}", quote_identifier(&role))).await;
                }
            })
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn admin(statement: &str) {
    let mut connection = PgConnection::connect(&format!("{}/postgres", server_url())).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut connection).await.unwrap();
}

fn migration(version: i64, description: &'static str, sql: &'static str) -> Migration {
    Migration { version, description, sql, no_transaction: Migration::wants_no_transaction(sql) }
}

async fn scalar_i64(connection: &mut PgConnection, query: &'static str) -> i64 {
    sqlx::query_scalar(query).fetch_one(connection).await.unwrap()
}

#[test]
fn no_transaction_files_split_at_top_level_semicolons_only() {
    let sql = "-- no-transaction\nSET lock_timeout = '5s';\n/* a; /* nested; */ still comment; */\n\
               INSERT INTO t VALUES ('a;''b', E'c\\';d', \"we;ird\");\n\
               DO $$ BEGIN PERFORM 1; COMMIT; END $$;\n\
               CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
               SELECT $1, a$b FROM t; -- trailing; comment\n-- only a comment;\n";
    assert_eq!(
        split::statements(sql),
        [
            "-- no-transaction\nSET lock_timeout = '5s'",
            "/* a; /* nested; */ still comment; */\nINSERT INTO t VALUES ('a;''b', E'c\\';d', \"we;ird\")",
            "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
            "SELECT $1, a$b FROM t",
        ]
    );
    assert!(Migration::wants_no_transaction("-- no-transaction\nSELECT 1"));
    assert!(!Migration::wants_no_transaction("-- header\n-- no-transaction\nSELECT 1"));
}

#[test]
fn the_ledger_comparison_names_every_state() {
    let files =
        [migration(1, "init", "SELECT 1"), migration(2, "two", "SELECT 2"), migration(4, "four", "SELECT 4"), migration(5, "five", "SELECT 5")];
    let row = |version: i64, sql: &str, success: bool| AppliedMigration {
        version,
        description: format!("v{version}"),
        checksum: migrate::checksum(sql),
        success,
    };
    let applied =
        [row(1, "SELECT 1", true), row(2, "SELECT 2 -- edited", true), row(3, "SELECT 3", true), row(4, "SELECT 4", false), row(9, "SELECT 9", true)];
    let states: Vec<(i64, MigrationState)> = migrate::compare(&files, &applied).into_iter().map(|e| (e.version, e.state)).collect();
    assert_eq!(
        states,
        [
            (1, MigrationState::Applied),
            (2, MigrationState::Edited),
            (3, MigrationState::Unknown),
            (4, MigrationState::Failed),
            (5, MigrationState::Pending),
            (9, MigrationState::Ahead),
        ]
    );
}

static RACE: [Migration; 3] = [
    Migration {
        version: 1,
        description: "init",
        sql: "CREATE TABLE applied_log (version INT NOT NULL, note TEXT); INSERT INTO applied_log VALUES (1);",
        no_transaction: false,
    },
    Migration { version: 2, description: "second", sql: "INSERT INTO applied_log VALUES (2);", no_transaction: false },
    Migration {
        version: 3,
        description: "index",
        sql: "-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS applied_log_version_idx ON applied_log (version);\nINSERT INTO applied_log VALUES (3);",
        no_transaction: true,
    },
];

/// Waits (polling, with only a safety bound) until `count` other sessions have asked for the
/// migration lock: their last statement is the runner's `pg_try_advisory_lock`.
async fn wait_for_lock_waiters(observer: &mut PgConnection, database: &str, count: i64) {
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
             AND query LIKE '%pg_try_advisory_lock%'",
        )
        .bind(database)
        .fetch_one(&mut *observer)
        .await
        .unwrap();
        if waiting == count {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "safety bound: {waiting} of {count} migrators waiting for the lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_starting_together_apply_each_migration_once() {
    let database = Scratch::new().await;
    let key = migrate::lock_key(&database.name);
    // Hold the lock, so that both replicas are certainly inside the race before either runs.
    let mut holder = database.connect().await;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut holder).await.unwrap();
    let replicas: Vec<_> = (0..2)
        .map(|_| {
            let url = format!("{}/{}", server_url(), database.name);
            tokio::spawn(async move {
                let mut connection = PgConnection::connect(&url).await.unwrap();
                migrate::apply_pending(&mut connection, &RACE).await
            })
        })
        .collect();
    let mut observer = database.connect().await;
    wait_for_lock_waiters(&mut observer, &database.name, 2).await;
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut holder).await.unwrap();
    let mut applied: Vec<i64> = Vec::new();
    for replica in replicas {
        applied.extend(replica.await.unwrap().unwrap().versions);
    }
    applied.sort();
    assert_eq!(applied, [1, 2, 3], "each migration applied by exactly one replica");
    let rows: Vec<i32> = sqlx::query_scalar("SELECT version FROM applied_log ORDER BY version").fetch_all(&mut observer).await.unwrap();
    assert_eq!(rows, [1, 2, 3], "each migration's effect happened once");
    assert_eq!(scalar_i64(&mut observer, "SELECT count(*) FROM _sqlx_migrations WHERE success").await, 3);
    let valid: bool = sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'applied_log_version_idx'::regclass")
        .fetch_one(&mut observer)
        .await
        .unwrap();
    assert!(valid, "the concurrent index was built outside a transaction");
    // A third start finds nothing to do.
    let again = migrate::apply_pending(&mut observer, &RACE).await.unwrap();
    assert!(again.versions.is_empty());
}

static UNIQUE_ONLINE: [Migration; 2] = [
    Migration {
        version: 1,
        description: "init",
        sql: "CREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT NOT NULL, token UUID); INSERT INTO accounts VALUES (1, 'a', NULL), (2, 'a', NULL), (3, 'b', NULL);",
        no_transaction: false,
    },
    Migration {
        version: 2,
        description: "unique email",
        // As `nova-gen migrate` writes it: re-runnable after a failure part way through.
        sql: "-- no-transaction\nSET lock_timeout = '5s';\n\
              DO $$\nBEGIN\n    LOOP\n        UPDATE accounts SET token = gen_random_uuid() WHERE ctid = ANY (ARRAY(SELECT ctid FROM accounts WHERE token IS NULL LIMIT 2)) AND token IS NULL;\n        EXIT WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE token IS NULL);\n        COMMIT;\n    END LOOP;\nEND\n$$;\n\
              DROP INDEX CONCURRENTLY IF EXISTS accounts_email_key;\n\
              CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_key ON accounts (email);\n",
        no_transaction: true,
    },
];

#[tokio::test]
async fn a_no_transaction_file_that_failed_part_way_can_be_run_again() {
    let database = Scratch::new().await;
    let mut connection = database.connect().await;
    // The unique index cannot be built over the duplicate emails: the batched backfill before
    // it has committed, the index is left INVALID, and the migration is not recorded.
    let error = migrate::apply_pending(&mut connection, &UNIQUE_ONLINE).await.unwrap_err();
    assert!(matches!(error, MigrateError::Apply { version: 2, .. }), "{error:?}");
    assert_eq!(scalar_i64(&mut connection, "SELECT count(*) FROM accounts WHERE token IS NULL").await, 0, "backfill batches committed");
    let valid: bool = sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(!valid, "a failed concurrent build leaves an invalid index behind");
    assert_eq!(scalar_i64(&mut connection, "SELECT count(*) FROM _sqlx_migrations").await, 1);
    // The session was given back clean (no role, no timeouts left over).
    let timeout: String = sqlx::query_scalar("SHOW lock_timeout").fetch_one(&mut connection).await.unwrap();
    assert_eq!(timeout, "0");
    // Fix the data, run again: the invalid index is replaced by a valid one.
    sqlx::raw_sql("UPDATE accounts SET email = 'c' WHERE id = 2").execute(&mut connection).await.unwrap();
    let applied = migrate::apply_pending(&mut connection, &UNIQUE_ONLINE).await.unwrap();
    assert_eq!(applied.versions, [2]);
    let valid: bool = sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(valid);
}

#[tokio::test]
async fn migrations_run_as_the_owner_role_and_need_its_rights() {
    let mut database = Scratch::new().await;
    let owner = format!("{}_owner", database.name);
    let outsider = format!("{}_outsider", database.name);
    database.create_role(&owner, "NOLOGIN").await;
    database.create_role(&outsider, "LOGIN").await;
    admin(&format!("ALTER DATABASE {} OWNER TO {}", quote_identifier(&database.name), quote_identifier(&owner))).await;
    // A role that may not become the owner cannot change the schema: a clear error, nothing applied.
    let mut as_outsider = database.connect_as(&outsider).await;
    let error = migrate::apply_pending(&mut as_outsider, &RACE).await.unwrap_err();
    match &error {
        MigrateError::NoOwnerRights { role, pending, .. } => assert_eq!((role.as_str(), *pending), (outsider.as_str(), 3)),
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("NOVA_DATABASE_MIGRATION_URL"), "{error}");
    // The superuser may become the owner: the schema belongs to the owner.
    let mut connection = database.connect().await;
    let applied = migrate::apply_pending(&mut connection, &RACE).await.unwrap();
    assert_eq!(applied.owner_role.as_deref(), Some(owner.as_str()));
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public'").fetch_all(&mut connection).await.unwrap();
    assert_eq!(owners, [owner.as_str()]);
    let current: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut connection).await.unwrap();
    assert_eq!(current, "postgres", "the connection is handed back as the role it connected as");
}

#[tokio::test]
async fn a_history_that_changed_under_an_applied_database_is_refused() {
    let database = Scratch::new().await;
    let mut connection = database.connect().await;
    migrate::apply_pending(&mut connection, &RACE[..2]).await.unwrap();
    // Edited after it was applied.
    let edited = [RACE[0], Migration { sql: "INSERT INTO applied_log VALUES (22);", ..RACE[1] }];
    let error = migrate::apply_pending(&mut connection, &edited).await.unwrap_err();
    assert!(matches!(error, MigrateError::Edited { version: 2, .. }), "{error:?}");
    assert!(error.to_string().contains("migration 2 (second) was edited after it was applied"), "{error}");
    // Removed (or renamed to another version) while a later one exists.
    let error = migrate::apply_pending(&mut connection, &[RACE[0], RACE[2]]).await.unwrap_err();
    assert!(matches!(error, MigrateError::Unknown { version: 2, .. }), "{error:?}");
    // An older build that lacks the newest migration still starts: the database is ahead of it.
    let older = migrate::apply_pending(&mut connection, &RACE[..1]).await.unwrap();
    assert_eq!((older.versions, older.ahead), (vec![], vec![2]));
    assert_eq!(scalar_i64(&mut connection, "SELECT count(*) FROM applied_log").await, 2, "nothing ran twice");
}

#[tokio::test]
async fn a_service_connects_as_its_login_role_and_migrates_through_the_migration_url() {
    let mut database = Scratch::new().await;
    let owner = format!("{}_owner", database.name);
    let login = format!("{}_app", database.name);
    database.create_role(&owner, "NOLOGIN").await;
    database.create_role(&login, "LOGIN").await;
    admin(&format!("ALTER DATABASE {} OWNER TO {}", quote_identifier(&database.name), quote_identifier(&owner))).await;
    admin(&format!(
        "REVOKE ALL ON DATABASE {} FROM PUBLIC; GRANT CONNECT ON DATABASE {} TO {}",
        quote_identifier(&database.name),
        quote_identifier(&database.name),
        quote_identifier(&login)
    ))
    .await;
    let login_url = format!("{}/{}", server_url().replacen("postgres@", &format!("{login}@"), 1), database.name);
    // The login role alone cannot apply the pending migrations: start-up fails, saying why.
    let config = DatabaseConfig { create_if_missing: false, ..DatabaseConfig::for_url(&login_url) };
    let error = nova_runtime::db::connect_and_migrate(&config, &RACE).await.unwrap_err();
    assert!(nova_runtime::error::cause_chain(&error).contains("need the owner's rights"), "{}", nova_runtime::error::cause_chain(&error));
    // With a migration URL, migrations run as the owner; the pool stays the login role's.
    let config = DatabaseConfig { migration_url: Some(format!("{}/{}", server_url(), database.name)), ..config };
    let pool = nova_runtime::db::connect_and_migrate(&config, &RACE).await.unwrap();
    let (user, owner_of_table): (String, String) =
        sqlx::query_as("SELECT current_user::text, tableowner::text FROM pg_tables WHERE tablename = 'applied_log'").fetch_one(&pool).await.unwrap();
    assert_eq!((user.as_str(), owner_of_table.as_str()), (login.as_str(), owner.as_str()));
    pool.close().await;
}

//! `nova-gen db up` and `db status` on the real specs and migrations, against the real
//! PostgreSQL, under a prefix of the test's own (databases and roles are cluster-wide): a second
//! `db up` changes nothing; every database and role exists; each login role uses its own
//! database fully and cannot change its schema, and is refused on every other service's
//! database; `db status` reports drift.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::process::{Command, Output};
use std::str::FromStr;

use common::pg::{admin, server_url, unique_tag, workspace_root};
use nova_runtime::db::quote_identifier;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, PgConnection};

const SERVICES: [&str; 8] = ["auth", "content", "feed", "media", "messaging", "search", "streaming", "user"];

/// The databases and roles of one `db up` prefix, dropped when the test ends.
struct Cluster {
    prefix: String,
    secrets: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        Cluster { prefix: format!("t{}", unique_tag()), secrets: tempfile::tempdir().unwrap() }
    }

    fn database(&self, service: &str) -> String {
        format!("{}_{service}", self.prefix)
    }

    fn owner(&self, service: &str) -> String {
        format!("{}_owner", self.database(service))
    }

    fn login(&self, service: &str) -> String {
        format!("{}_app", self.database(service))
    }

    fn nova_gen(&self, args: &[&str]) -> Output {
        let secrets = self.secrets.path().join("secrets.toml");
        Command::new(env!("CARGO_BIN_EXE_nova-gen"))
            .args(args)
            .args(["--url", &server_url(), "--prefix", &self.prefix])
            .args(if args[1] == "up" { vec!["--secrets".to_string(), secrets.display().to_string()] } else { vec![] })
            .arg("--root")
            .arg(workspace_root())
            .output()
            .unwrap()
    }

    async fn connect(&self, role: &str, service: &str) -> Result<PgConnection, sqlx::Error> {
        PgConnectOptions::from_str(&server_url())
            .unwrap()
            .username(role)
            .password("irrelevant-under-trust")
            .database(&self.database(service))
            .connect()
            .await
    }

    async fn admin_on(&self, service: &str) -> PgConnection {
        PgConnectOptions::from_str(&server_url()).unwrap().database(&self.database(service)).connect().await.unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                for service in SERVICES {
                    admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&format!("{prefix}_{service}")))).await;
                }
                for service in SERVICES {
                    for suffix in ["owner", "app"] {
                        admin(&format!("DROP ROLE IF EXISTS {}", quote_identifier(&format!("{prefix}_{service}_{suffix}")))).await;
                    }
                }
            })
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: could not drop the databases and roles of prefix {}", self.prefix);
        }
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error.as_database_error().and_then(|e| e.code()).map(|c| c.to_string())
}

/// Everything `db up` decides, as text: roles (password hashes included), databases with
/// owners and ACLs, and per database the schema, default privileges, every relation's owner and
/// ACL, and the migration ledger.
async fn cluster_state(cluster: &Cluster) -> Vec<String> {
    let mut server = PgConnectOptions::from_str(&server_url()).unwrap().database("postgres").connect().await.unwrap();
    let pattern = format!("{}\\_%", cluster.prefix);
    let mut state: Vec<String> = sqlx::query_scalar(
        "SELECT format('role %s login=%s super=%s inherit=%s createrole=%s createdb=%s password=%s', rolname, rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolpassword) \
         FROM pg_authid WHERE rolname LIKE $1 \
         UNION ALL SELECT format('database %s owner=%s acl=%s', datname, pg_get_userbyid(datdba), datacl) FROM pg_database WHERE datname LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(&mut server)
    .await
    .unwrap();
    for service in SERVICES {
        let mut database = cluster.admin_on(service).await;
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT format('schema %s owner=%s acl=%s', nspname, pg_get_userbyid(nspowner), nspacl) FROM pg_namespace WHERE nspname = 'public' \
             UNION ALL SELECT format('default %s %s %s', pg_get_userbyid(defaclrole), defaclobjtype, defaclacl) FROM pg_default_acl \
             UNION ALL SELECT format('relation %s kind=%s owner=%s acl=%s', c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
             UNION ALL SELECT format('migration %s %s %s', version, encode(checksum, 'hex'), installed_on) FROM _sqlx_migrations",
        )
        .fetch_all(&mut database)
        .await
        .unwrap();
        state.extend(rows.into_iter().map(|row| format!("{service}: {row}")));
    }
    state.sort();
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_up_twice_changes_nothing_and_isolates_every_service() {
    let cluster = Cluster::new();
    // content was started once before `db up` existed: its database and tables belong to the
    // superuser; `db up` adopts them.
    let analysis = nova_gen_core::analyse(&nova_gen_core::layout::Layout::at(workspace_root())).unwrap_or_else(|e| panic!("{e:?}"));
    let content: &'static [nova_runtime::migrate::Migration] =
        nova_gen::db::migrations_of(nova_gen_core::migrate::history_of(&analysis, "content").unwrap()).leak();
    let url = format!("{}/{}", server_url(), cluster.database("content"));
    nova_runtime::db::connect_and_migrate(&nova_runtime::db::DatabaseConfig::for_url(url), content).await.unwrap().close().await;
    let first = cluster.nova_gen(&["db", "up"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains(&format!("gave posts to {} (was postgres)", cluster.owner("content"))), "{}", text(&first));
    for service in SERVICES {
        assert!(text(&first).contains(&format!(
            "{service}: database {}, owner {} (NOLOGIN), login {};",
            cluster.database(service),
            cluster.owner(service),
            cluster.login(service)
        )));
    }
    let before = cluster_state(&cluster).await;
    // Eight databases, each owned by its owner role; sixteen roles.
    assert_eq!(before.iter().filter(|r| r.starts_with("database ")).count(), 8, "{before:#?}");
    assert_eq!(before.iter().filter(|r| r.starts_with("role ")).count(), 16, "{before:#?}");
    for service in SERVICES {
        assert!(before.iter().any(|r| r.starts_with(&format!("database {} owner={} ", cluster.database(service), cluster.owner(service)))));
        let relations: Vec<&String> = before.iter().filter(|r| r.starts_with(&format!("{service}: relation "))).collect();
        assert!(!relations.is_empty() && relations.iter().all(|r| r.contains(&format!(" owner={} ", cluster.owner(service)))), "{relations:#?}");
        assert!(before.iter().any(|r| r.starts_with(&format!("role {} login=f super=f", cluster.owner(service)))));
        assert!(
            before
                .iter()
                .any(|r| r.starts_with(&format!("role {} login=t super=f inherit=t createrole=f createdb=f password=SCRAM", cluster.login(service))))
        );
    }
    let second = cluster.nova_gen(&["db", "up"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(text(&second).matches("up to date, nothing changed").count(), 8, "{}", text(&second));
    assert_eq!(cluster_state(&cluster).await, before, "the second db up changed the cluster");
    assert_isolation(&cluster).await;
    for service in SERVICES {
        assert_full_use_without_schema_changes(&cluster, service).await;
    }
}

/// For every pair A ≠ B: A's login role cannot connect to B's database, and even inside it
/// (through a superuser session that becomes A's role) can neither create a table nor read one.
async fn assert_isolation(cluster: &Cluster) {
    for a in SERVICES {
        for b in SERVICES.iter().copied().filter(|b| *b != a) {
            let refused = cluster.connect(&cluster.login(a), b).await.err().unwrap_or_else(|| panic!("{a} connected to {b}'s database"));
            assert_eq!(sqlstate(&refused).as_deref(), Some("42501"), "{a} on {b}: {refused}");
            let mut inside = cluster.admin_on(b).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET ROLE {}", quote_identifier(&cluster.login(a))))).execute(&mut inside).await.unwrap();
            let create = sqlx::raw_sql("CREATE TABLE public.intruder (id int)").execute(&mut inside).await.unwrap_err();
            assert_eq!(sqlstate(&create).as_deref(), Some("42501"), "{a} created a table in {b}'s database: {create}");
            let read = sqlx::raw_sql("SELECT count(*) FROM public._sqlx_migrations").execute(&mut inside).await.unwrap_err();
            assert_eq!(sqlstate(&read).as_deref(), Some("42501"), "{a} read {b}'s data: {read}");
        }
    }
}

/// A's login role reads and writes rows (of existing tables and of tables a later migration
/// makes), reads the migration ledger, and cannot change the schema or the ledger.
async fn assert_full_use_without_schema_changes(cluster: &Cluster, service: &str) {
    // A later migration, made by the owner, as the runner makes them; it needs citext, a
    // trusted extension the owner (not a superuser) may create in its own database.
    let mut owner = cluster.admin_on(service).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET ROLE {}; CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE crud_probe (id BIGSERIAL PRIMARY KEY, value CITEXT NOT NULL)",
        quote_identifier(&cluster.owner(service))
    )))
    .execute(&mut owner)
    .await
    .unwrap();
    let mut login = cluster.connect(&cluster.login(service), service).await.unwrap_or_else(|e| panic!("{service}: {e}"));
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'")
            .fetch_all(&mut login)
            .await
            .unwrap();
    assert!(tables.len() > 1, "{service}: {tables:?}");
    for table in &tables {
        let allowed: bool =
            sqlx::query_scalar("SELECT has_table_privilege($1, 'SELECT, INSERT, UPDATE, DELETE')").bind(table).fetch_one(&mut login).await.unwrap();
        assert!(allowed, "{service}: the login role cannot read and write {table}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).execute(&mut login).await.unwrap();
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO crud_probe (value) VALUES ('a') RETURNING id").fetch_one(&mut login).await.unwrap();
    sqlx::query("UPDATE crud_probe SET value = 'b' WHERE id = $1").bind(id).execute(&mut login).await.unwrap();
    let value: String = sqlx::query_scalar("SELECT value FROM crud_probe WHERE id = $1").bind(id).fetch_one(&mut login).await.unwrap();
    assert_eq!(value, "b");
    // The login role uses the extension's type and operators: citext compares ignoring case.
    let found: i64 = sqlx::query_scalar("SELECT id FROM crud_probe WHERE value = $1::citext").bind("B").fetch_one(&mut login).await.unwrap();
    assert_eq!(found, id);
    assert_eq!(sqlx::query("DELETE FROM crud_probe WHERE id = $1").bind(id).execute(&mut login).await.unwrap().rows_affected(), 1);
    for forbidden in [
        "CREATE TABLE mine (id int)",
        // Trusted extensions need CREATE on the database, which only the owner has.
        "CREATE EXTENSION hstore",
        "ALTER TABLE crud_probe ADD COLUMN extra int",
        "DROP TABLE crud_probe",
        "TRUNCATE crud_probe",
        "INSERT INTO _sqlx_migrations VALUES (999, 'x', now(), true, '\\x00', 0)",
        "DELETE FROM _sqlx_migrations",
    ] {
        let error = sqlx::raw_sql(forbidden).execute(&mut login).await.unwrap_err();
        assert_eq!(sqlstate(&error).as_deref(), Some("42501"), "{service}: `{forbidden}` was allowed: {error}");
    }
    // A service starting with its login role finds its migrations applied: nothing to do.
    let analysis = nova_gen_core::analyse(&nova_gen_core::layout::Layout::at(workspace_root())).unwrap_or_else(|e| panic!("{e:?}"));
    let migrations = nova_gen::db::migrations_of(nova_gen_core::migrate::history_of(&analysis, service).unwrap());
    assert!(nova_runtime::migrate::apply_pending(&mut login, &migrations).await.unwrap().versions.is_empty());
}

#[tokio::test]
async fn db_status_reports_pending_migrations_and_drift() {
    let cluster = Cluster::new();
    // Nothing yet: every database missing, every migration pending.
    let status = cluster.nova_gen(&["db", "status"]);
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    assert!(text(&status).contains("database missing: run `nova-gen db up`"), "{}", text(&status));
    assert!(text(&status).contains("0001 init                                     pending"), "{}", text(&status));
    let up = cluster.nova_gen(&["db", "up"]);
    assert!(up.status.success(), "{}", text(&up));
    let status = cluster.nova_gen(&["db", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert_eq!(text(&status).matches("in sync with its migrations").count(), 8, "{}", text(&status));
    // Someone changes the content schema by hand.
    let mut content = cluster.admin_on("content").await;
    sqlx::raw_sql("ALTER TABLE posts ADD COLUMN sneaky INTEGER").execute(&mut content).await.unwrap();
    sqlx::raw_sql("DROP INDEX comments_author_id_idx").execute(&mut content).await.unwrap();
    let status = cluster.nova_gen(&["db", "status"]);
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    let report = text(&status);
    assert!(report.contains("drift: the live database adds column posts.sneaky (its migrations do not)"), "{report}");
    assert!(report.contains("drift: the live database drops index comments_author_id_idx (its migrations do not)"), "{report}");
    assert_eq!(report.matches("in sync with its migrations").count(), 7, "{report}");
}

//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use nova_runtime::{LogicError, RepoError};
use tonic::{Code, Status};
#[test]
fn every_variant_maps_to_its_code() {
    let cases = [
        (LogicError::not_found("x"), Code::NotFound),
        (LogicError::invalid_argument("x"), Code::InvalidArgument),
        (LogicError::AlreadyExists("x".into()), Code::AlreadyExists),
        (LogicError::Aborted("x".into()), Code::Aborted),
        (LogicError::FailedPrecondition("x".into()), Code::FailedPrecondition),
        (LogicError::PermissionDenied("x".into()), Code::PermissionDenied),
        (LogicError::Unauthenticated("x".into()), Code::Unauthenticated),
        (LogicError::ResourceExhausted("x".into()), Code::ResourceExhausted),
        (LogicError::Unavailable("x".into()), Code::Unavailable),
        (LogicError::DeadlineExceeded, Code::DeadlineExceeded),
        (LogicError::Unimplemented("GetUser"), Code::Unimplemented),
        (LogicError::internal("x", std::io::Error::other("disk")), Code::Internal),
    ];
    for (error, code) in cases {
        assert_eq!(error.into_status("M", "r").code(), code);
    }
}

#[test]
fn internal_causes_stay_inside() {
    let status = LogicError::internal("hashing", std::io::Error::other("secret detail")).into_status("M", "req-1");
    assert!(!status.message().contains("secret"));
    assert!(status.message().contains("req-1"));
}

#[test]
fn upstream_outages_stay_retryable_and_the_rest_is_internal() {
    assert_eq!(LogicError::from_upstream(Status::unavailable("down")).code(), Code::Unavailable);
    assert_eq!(LogicError::from_upstream(Status::deadline_exceeded("slow")).code(), Code::DeadlineExceeded);
    assert_eq!(LogicError::from_upstream(Status::not_found("user")).code(), Code::Internal);
}

#[test]
fn repository_errors_map_to_actionable_codes() {
    let conflict = RepoError::VersionConflict { table: "users", expected: 1, actual: 2 };
    assert_eq!(LogicError::from(conflict).code(), Code::Aborted);
    let unique = RepoError::UniqueViolation { table: "users", constraint: Some("users_email_key".into()) };
    assert_eq!(LogicError::from(unique).code(), Code::AlreadyExists);
    assert_eq!(LogicError::from(RepoError::NotFound { table: "users" }).code(), Code::NotFound);
    let check = RepoError::CheckViolation { table: "users", constraint: Some("users_status_check".into()) };
    assert_eq!(LogicError::from(check).code(), Code::InvalidArgument);
}

mod database {
    use nova_runtime::codegen::sqlx::{self, Connection as _, PgConnection};
    use nova_runtime::db::{Database, DatabaseConfig};
    use nova_runtime::sql_error::{SqlFault, classify};
    use nova_runtime::{LogicError, RepoError};
    use tonic::Code;

    fn server() -> String {
        std::env::var("NOVA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
    }

    /// A real error with `sqlstate`, raised by the shared PostgreSQL.
    async fn raised(sqlstate: &str) -> sqlx::Error {
        let mut connection = PgConnection::connect(&format!("{}/postgres", server())).await.unwrap();
        let statement = format!("DO $$ BEGIN RAISE EXCEPTION 'raised on purpose' USING ERRCODE = '{sqlstate}'; END $$");
        let error = sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut connection).await.unwrap_err();
        connection.close().await.unwrap();
        error
    }

    #[tokio::test]
    async fn every_path_from_a_database_error_gives_the_same_code() {
        let cases = [
            ("40001", Code::Aborted),         // serialization failure
            ("40P01", Code::Aborted),         // deadlock
            ("55P03", Code::Aborted),         // lock not available
            ("57P01", Code::Unavailable),     // admin shutdown
            ("57P03", Code::Unavailable),     // cannot connect now
            ("53300", Code::Unavailable),     // too many connections
            ("08006", Code::Unavailable),     // connection failure
            ("25006", Code::Unavailable),     // read-only after a failover
            ("22021", Code::InvalidArgument), // e.g. a NUL byte
            ("23514", Code::InvalidArgument), // check violation (enums are checks too)
            ("23502", Code::InvalidArgument), // not-null violation
            ("22003", Code::InvalidArgument), // numeric value out of range
            ("22001", Code::InvalidArgument), // string too long for varchar(n)
            ("42P01", Code::Internal),        // undefined table: a bug
        ];
        for (sqlstate, code) in cases {
            assert_eq!(LogicError::from(raised(sqlstate).await).code(), code, "? on a sqlx error, {sqlstate}");
            assert_eq!(LogicError::from(RepoError::from_sqlx("users", raised(sqlstate).await)).code(), code, "repository, {sqlstate}");
            assert_eq!(LogicError::internal("starting a transaction", raised(sqlstate).await).code(), code, "internal(..), {sqlstate}");
        }
    }

    #[tokio::test]
    async fn a_nul_byte_sent_to_postgresql_is_invalid_text() {
        let mut connection = PgConnection::connect(&format!("{}/postgres", server())).await.unwrap();
        let error = sqlx::query("SELECT $1::text").bind("a\0b").execute(&mut connection).await.unwrap_err();
        assert_eq!(classify(&error), SqlFault::InvalidText, "{error}");
        assert_eq!(LogicError::from(error).code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable_within_the_acquire_timeout() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut config = DatabaseConfig::for_url(format!("postgres://postgres@{closed}/nowhere"));
        config.acquire_timeout = std::time::Duration::from_millis(50);
        // Opening does no I/O: it cannot fail because the database is away.
        let database = Database::open(&config, &[]).unwrap();
        let error = sqlx::query("SELECT 1").execute(database.pool()).await.unwrap_err();
        assert!(matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)), "{error:?}");
        let begin = database.pool().begin().await.unwrap_err();
        let mapped = LogicError::internal("starting a transaction", begin);
        assert_eq!(mapped.code(), Code::Unavailable, "{mapped}");
        assert!(Database::open(&DatabaseConfig::for_url("not a url"), &[]).is_err());
    }

    #[test]
    fn driver_failures_are_unavailable_and_the_rest_internal() {
        assert_eq!(LogicError::from(sqlx::Error::PoolTimedOut).code(), Code::Unavailable);
        assert_eq!(LogicError::from(sqlx::Error::Io(std::io::Error::other("reset"))).code(), Code::Unavailable);
        assert_eq!(LogicError::from(sqlx::Error::RowNotFound).code(), Code::Internal);
        assert_eq!(LogicError::internal("x", std::io::Error::other("not a database error")).code(), Code::Internal);
    }
}

#[test]
fn status_messages_are_bounded_whatever_the_logic_wrote() {
    let status = LogicError::invalid_argument("é".repeat(100_000)).into_status("M", "r");
    assert!(status.message().len() <= nova_runtime::error::MAX_STATUS_MESSAGE, "{}", status.message().len());
    assert!(status.message().ends_with('…'));
}

//! The legacy monolith's shared database, as the seed documents describe it, for the benches
//! that compare nova with it: one `users` row per user holding identity, credentials, login
//! counters, profile and follower counts, and the tables of every other service referencing it
//! by foreign key (sessions, posts, likes, follows, messages). Every write anywhere locks or
//! updates rows of this one table or checks keys against it.

use std::fmt::Write as _;

use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::codegen::sqlx::{self, Connection as _, PgPool, postgres::PgPoolOptions};
use nova_runtime::db::{DEFAULT_MAX_CONNECTIONS, quote_identifier};
use uuid::Uuid;

use crate::TestDatabase;
use crate::database::server_url;

/// A placeholder with the length and shape of a real Argon2id hash, so rows are as wide.
pub const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2htYXJrc2FsdA$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// User number `n` (1..) has the id `00000000-0000-0000-0000-<n in hex>` in every database
/// a bench seeds; Zipf rank `k` is user `k`.
pub fn user_id(n: usize) -> Uuid {
    Uuid::from_u128(n as u128)
}

/// Inserts users `1..=users` into a `users` table with the identity columns both shapes hold
/// (plus `extra_columns`, given `extra_values` per `n`), identical in every database.
pub fn seed_sql(users: usize, extra_columns: &str, extra_values: &str) -> String {
    format!(
        "INSERT INTO users (id, email, username, password_hash, email_verified, created_at, last_login_at{extra_columns})
         SELECT lpad(to_hex(n), 32, '0')::uuid, 'user' || n || '@example.com', 'user' || n, '{PASSWORD_HASH}', n % 3 = 0,
                timestamptz '2025-01-01' + n * interval '1 minute',
                CASE WHEN n % 2 = 0 THEN timestamptz '2026-01-01' + n * interval '1 second' END{extra_values}
         FROM generate_series(1, {users}) AS n;
         ANALYZE users;"
    )
}

/// The monolith's schema: the shared `users` table and the tables that reference it.
pub const SCHEMA: &str = "CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT false,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    last_login_at TIMESTAMPTZ,
    display_name TEXT,
    bio TEXT,
    profile_picture TEXT,
    follower_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,
    deleted_by UUID
);
CREATE TABLE sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users (id),
    device TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ON sessions (user_id);
CREATE TABLE posts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    author_id UUID NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    like_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ON posts (author_id, created_at DESC);
CREATE TABLE likes (
    user_id UUID NOT NULL REFERENCES users (id),
    post_id UUID NOT NULL REFERENCES posts (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
);
CREATE TABLE follows (
    follower_id UUID NOT NULL REFERENCES users (id),
    followee_id UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX ON follows (followee_id);
CREATE TABLE messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    sender_id UUID NOT NULL REFERENCES users (id),
    recipient_id UUID NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ON messages (recipient_id, created_at DESC)";

/// How the monolith reads users by id: the columns auth's repository reads, as far as the
/// legacy table has them.
pub const READ: &str = "SELECT id, email, username, password_hash, email_verified, failed_login_attempts, last_login_at, created_at, updated_at, deleted_at \
     FROM users WHERE id = ANY($1) AND deleted_at IS NULL";

/// A row of [`READ`].
pub type Row = (Uuid, String, String, String, bool, i32, Option<DateTime<Utc>>, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

/// A user a bench creates in both worlds with the same id and password hash.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub password_hash: String,
}

/// The shared legacy database: created, shaped and seeded with `users` users (profile columns
/// filled) and `accounts`, dropped with the returned `TestDatabase`. The pool has a nova
/// service's default size: comparisons are about the path, not the connections.
pub async fn database(users: usize, accounts: &[Account]) -> (TestDatabase, PgPool) {
    let database = TestDatabase::new("bench_legacy");
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.unwrap_or_else(|e| panic!("{e}"));
    let create = format!("CREATE DATABASE {}", quote_identifier(&database.name));
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.unwrap_or_else(|e| panic!("{e}"));
    let mut connection = database.connect().await;
    sqlx::raw_sql(SCHEMA).execute(&mut connection).await.unwrap_or_else(|e| panic!("{e}"));
    let profile = ", 'User ' || n, 'Bio of user ' || n, 'https://cdn.example.com/avatars/' || n || '.jpg'";
    let seed = seed_sql(users, ", display_name, bio, profile_picture", profile);
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed)).execute(&mut connection).await.unwrap_or_else(|e| panic!("{e}"));
    if !accounts.is_empty() {
        let mut insert = String::from("INSERT INTO users (id, email, username, password_hash, display_name) VALUES ");
        for (i, account) in accounts.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            // Bench-made values (uuids, ASCII names, an Argon2 PHC string): no quotes inside.
            let _ = write!(
                insert,
                "{separator}('{}', '{}', '{}', '{}', '{}')",
                account.id, account.email, account.username, account.password_hash, account.username
            );
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(insert)).execute(&mut connection).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let pool = PgPoolOptions::new().max_connections(DEFAULT_MAX_CONNECTIONS).connect(&database.url).await.unwrap_or_else(|e| panic!("{e}"));
    (database, pool)
}

//! The services' SQL against real PostgreSQL: generated repositories and their statements,
//! the hand-written crates' SQL, the column language, concurrent writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod column_language;
mod concurrency;
mod handwritten_sql;
mod repositories;
mod statements;

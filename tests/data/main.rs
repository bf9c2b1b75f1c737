//! The services' SQL against real PostgreSQL: generated repositories and their statements,
//! the hand-written crates' SQL, the column language, concurrent writes.

mod column_language;
mod concurrency;
mod handwritten_sql;
mod repositories;
mod statements;

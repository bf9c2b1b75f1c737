//! The marker of a migration that must not run inside a transaction: the generator records
//! it, the runtime acts on it.

/// sqlx's marker for a migration that must not run inside a transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";

/// Whether migration text starts with [`NO_TRANSACTION_MARKER`].
pub fn wants_no_transaction(sql: &str) -> bool {
    sql.lines().next().is_some_and(|line| line.trim_end() == NO_TRANSACTION_MARKER)
}

//! Soft-deleting tables (`soft_delete = true`): `delete` marks the row (`deleted_at = now()`),
//! every read hides marked rows (see `sql::live`) except `get_including_deleted`, and `purge`
//! removes a row for good.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Statements, binds, key_params, sql};
use crate::ir::{SOFT_DELETE_COLUMN, Table, UnknownColumn};

/// `UPDATE t SET deleted_at = now() WHERE <key> AND deleted_at IS NULL`.
pub fn soft_delete_sql(table: &Table) -> String {
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    format!("UPDATE {} SET {SOFT_DELETE_COLUMN} = now() WHERE {} AND {SOFT_DELETE_COLUMN} IS NULL", table.name, sql::equalities(table, &keys, 1))
}

pub fn delete_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let sql = statements.add("delete", soft_delete_sql(table));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// Marks the live row with this key deleted (`deleted_at = now()`): reads no longer see
        /// it and its unique values are free again. `false` when there was no live row.
        pub async fn delete<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<bool> {
            let done = sqlx::query(#sql) #bound .execute(db).await.map_err(db_error)?;
            Ok(done.rows_affected() > 0)
        }
    })
}

/// `purge`: removes the row, deleted or not, for good (data retention, tests).
pub fn purge_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if !table.soft_delete {
        return Ok(TokenStream::new());
    }
    let sql = statements.add("purge", sql::delete(table));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// Removes the row with this key for good, whether or not it was deleted; `false` when
        /// there was none.
        pub async fn purge<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<bool> {
            let done = sqlx::query(#sql) #bound .execute(db).await.map_err(db_error)?;
            Ok(done.rows_affected() > 0)
        }
    })
}

/// `get_including_deleted`: the row with this key whether or not it is deleted, for the reads
/// that must tell "deleted" from "never existed" (e.g. a reply to a deleted comment).
pub fn get_including_deleted_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if !table.soft_delete {
        return Ok(TokenStream::new());
    }
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    let sql = statements
        .add("get_including_deleted", format!("SELECT {} FROM {} WHERE {}", sql::column_list(table), table.name, sql::equalities(table, &keys, 1)));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// The row with this primary key, if any, deleted or not: `deleted_at` says which.
        pub async fn get_including_deleted<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<Option<Row>> {
            let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
            row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
        }
    })
}

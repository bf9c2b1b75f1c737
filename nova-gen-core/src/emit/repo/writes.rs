//! Functions that change existing rows: `update` with a typed `Patch` (only the columns it
//! gives are written), `update_if_version` for read-modify-write with optimistic concurrency,
//! and `increment_<counter>` (one atomic statement, no read-modify-write).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Statements, binds, field, key_params, sql, types};
use crate::emit::{doc_line, doc_lines};
use crate::ir::{Table, UnknownColumn};

/// `Patch`: one `Option` per patchable column (`Option<Option<_>>` when the column is nullable,
/// so that "set to NULL" differs from "leave as is").
pub fn patch_struct(table: &Table) -> TokenStream {
    if !sql::has_update(table) {
        return TokenStream::new();
    }
    let fields = sql::patch_columns(table).into_iter().map(|c| {
        let name = field(c);
        let ty = types::row_type(c);
        quote! { pub #name: Option<#ty>, }
    });
    let mut excluded: Vec<String> = Vec::new();
    excluded.extend(table.counters.iter().map(|c| format!("`{c}` (counter: `increment_{c}`)")));
    excluded.extend(table.immutable.iter().map(|c| format!("`{c}` (immutable)")));
    excluded.extend(table.touch_column.iter().map(|c| format!("`{c}` (set to now() by every update)")));
    excluded.extend(table.version_column.iter().map(|c| format!("`{c}` (bumped by every update)")));
    let mut doc = vec![format!(
        "Changes to one row of `{}`: `None` leaves a column as it is, so writers of different columns never undo each other.",
        table.name
    )];
    if !excluded.is_empty() {
        doc.push(format!("Not here: {}.", excluded.join(", ")));
    }
    let doc = doc_lines(&doc, false);
    quote! {
        #doc
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Patch { #(#fields)* }
    }
}

/// Binds of a patch, in the order of `sql::update`'s parameters after the key.
fn patch_binds(table: &Table) -> TokenStream {
    binds(sql::patch_columns(table).into_iter().flat_map(|c| {
        let name = field(c);
        if c.nullable {
            vec![quote!(patch.#name.is_some()), quote!(patch.#name.as_ref().and_then(Option::as_ref))]
        } else {
            vec![quote!(patch.#name.as_ref())]
        }
    }))
}

pub fn update_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if !sql::has_update(table) {
        return Ok(TokenStream::new());
    }
    let (params, args) = key_params(table)?;
    let keys = binds(args);
    let values = patch_binds(table);
    let sql = statements.add("update", sql::update(table));
    let mut doc = vec!["Writes the columns `patch` gives, and nothing else; `NotFound` when the row is gone.".to_string()];
    if let Some(touch) = &table.touch_column {
        doc.push(format!("Sets `{touch}` to now()."));
    }
    if let Some(version) = &table.version_column {
        doc.push(format!("Bumps `{version}` without checking it: for a value computed from what was read, use `update_if_version`."));
    }
    let doc = doc_lines(&doc, false);
    let update = quote! {
        #doc
        pub async fn update<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* patch: &Patch) -> RepoResult<Row> {
            let result = sqlx::query(#sql) #keys #values .fetch_optional(db).await.map_err(db_error)?;
            match result {
                Some(result) => Row::decode(&result, 0).map_err(db_error),
                None => Err(RepoError::NotFound { table: TABLE }),
            }
        }
    };
    let Some(version) = &table.version_column else { return Ok(update) };
    let sql = statements.add("update_if_version", sql::update_if_version(table, version));
    let version = format_ident!("{}", version);
    let doc = doc_lines(
        &[
            format!("Like `update`, but only if the stored `{version}` still equals `expected`: the read-modify-write that cannot lose an update."),
            "Fails with `VersionConflict` when another writer came first (read again and retry), `NotFound` when the row is gone.".to_string(),
        ],
        false,
    );
    Ok(quote! {
        #update

        #doc
        pub async fn update_if_version<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* expected: i64, patch: &Patch) -> RepoResult<Row> {
            let result = sqlx::query(#sql) #keys #values .bind(expected).fetch_optional(db).await.map_err(db_error)?;
            let Some(result) = result else { return Err(RepoError::NotFound { table: TABLE }) };
            let applied: bool = result.try_get(0).map_err(db_error)?;
            let current = Row::decode(&result, 1).map_err(db_error)?;
            if applied {
                Ok(current)
            } else {
                Err(RepoError::VersionConflict { table: TABLE, expected, actual: current.#version })
            }
        }
    })
}

/// `increment_<counter>(key, by)` for every counter column.
pub fn increment_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if table.append_only {
        return Ok(TokenStream::new());
    }
    let (params, args) = key_params(table)?;
    let keys = binds(args);
    let counters = table.columns_named(table.counters.iter().map(String::as_str))?;
    let functions = counters.into_iter().map(|column| {
        let function = format!("increment_{}", column.name);
        let sql = statements.add(&function, sql::increment(table, &column.name));
        let function = format_ident!("{}", function);
        let ty = types::value_type(column.ty);
        let doc = doc_line(&format!(
            "Adds `by` (negative to subtract) to `{}` in one statement and returns the new value; concurrent increments never lose each other. `NotFound` when the row is gone.",
            column.name
        ));
        quote! {
            #doc
            pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* by: #ty) -> RepoResult<#ty> {
                let result = sqlx::query(#sql) #keys .bind(by).fetch_optional(db).await.map_err(db_error)?;
                match result {
                    Some(result) => result.try_get(0).map_err(db_error),
                    None => Err(RepoError::NotFound { table: TABLE }),
                }
            }
        }
    });
    Ok(quote! { #(#functions)* })
}

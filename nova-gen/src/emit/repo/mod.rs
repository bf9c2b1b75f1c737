//! Typed repositories: one module per owned table with its `Row`, its `New` row and async
//! functions over any executor (pool, connection or transaction). Queries are checked at run
//! time, so building needs no database.

mod sql;
mod types;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::names::{ident, table_module};
use crate::emit::{EmitError, doc_line, doc_lines, rust_file};
use crate::ir::{Column, Reference, Service, Table};

/// `src/repo/mod.rs`: the list of table modules.
pub fn emit_repo_mod(service: &Service, database: &str) -> Result<String, EmitError> {
    let modules = service.tables.iter().map(|t| {
        let name = table_module(t);
        let doc = doc_line(&format!("Table `{}`.", t.name));
        quote! { #doc pub mod #name; }
    });
    let doc = format!(
        "Repositories of the tables the {} service owns, in its own database `{}`. Only the {} service uses them; other services read this data through its client.",
        service.name, database, service.name
    );
    let doc = doc_lines(&[doc], true);
    let names = service.tables.iter().map(|t| t.name.as_str());
    rust_file(quote! {
        #doc
        #(#modules)*

        /// Every table of the service's database, in spec order.
        pub const TABLES: &[&str] = &[#(#names),*];
    })
}

/// `src/repo/<table>.rs`.
pub fn emit_table(service: &Service, table: &Table) -> Result<String, EmitError> {
    let table_name = &table.name;
    let mut doc = vec![format!("Repository of table `{}`, owned by the {} service.", table.name, service.name)];
    if let Some(d) = &table.doc {
        doc.push(String::new());
        doc.push(d.clone());
    }
    let remote: Vec<String> = table
        .columns
        .iter()
        .filter_map(|c| match &c.reference {
            Some(Reference::Remote { service, table, column }) => Some(format!("- `{}` refers to `{service}.{table}.{column}`: a logical reference, checked through the {service} service's API, never a foreign key.", c.name)),
            _ => None,
        })
        .collect();
    if !remote.is_empty() {
        doc.push(String::new());
        doc.extend(remote);
    }
    let doc = doc_lines(&doc, true);
    let row = row_struct(table);
    let new = new_struct(table);
    let imports = types::imports(table);
    let functions = [insert_fn(table), get_fn(table), get_many_fn(table), find_fns(table), update_fn(table), delete_fn(table), list_fns(table)];
    rust_file(quote! {
        #doc
        use ::nova_runtime::codegen::sqlx::{self, Row as _};
        use ::nova_runtime::repo::{RepoError, RepoResult};
        #imports

        /// The table's name, as used in errors.
        pub const TABLE: &str = #table_name;

        fn db_error(error: sqlx::Error) -> RepoError {
            RepoError::from_sqlx(TABLE, error)
        }

        #row
        #new
        #(#functions)*
    })
}

fn field(column: &Column) -> proc_macro2::Ident {
    ident(&column.name)
}

fn row_struct(table: &Table) -> TokenStream {
    let fields = table.columns.iter().map(|c| {
        let name = field(c);
        let ty = types::row_type(c);
        quote! { pub #name: #ty, }
    });
    let decodes = table.columns.iter().enumerate().map(|(i, c)| {
        let name = field(c);
        let index = if i == 0 {
            quote!(offset)
        } else {
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote!(offset + #i)
        };
        quote! { #name: row.try_get(#index)?, }
    });
    let doc = doc_line(&format!("One row of `{}`.", table.name));
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct Row { #(#fields)* }

        impl Row {
            /// Reads the table's columns, in declaration order, starting at column `offset`.
            fn decode(row: &sqlx::postgres::PgRow, offset: usize) -> Result<Self, sqlx::Error> {
                Ok(Row { #(#decodes)* })
            }
        }
    }
}

fn new_struct(table: &Table) -> TokenStream {
    let fields = sql::insert_columns(table).into_iter().map(|c| {
        let name = field(c);
        let ty = types::row_type(c);
        match &c.default {
            Some(default) => {
                let doc = doc_line(&format!("`None` takes the default, `{}`.", crate::emit::migration::default_sql(default)));
                quote! { #doc pub #name: Option<#ty>, }
            }
            None => quote! { pub #name: #ty, },
        }
    });
    let doc = doc_line(&format!("A row to insert into `{}`.", table.name));
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct New { #(#fields)* }
    }
}

fn binds(exprs: impl IntoIterator<Item = TokenStream>) -> TokenStream {
    let exprs = exprs.into_iter();
    quote! { #(.bind(#exprs))* }
}

fn insert_fn(table: &Table) -> TokenStream {
    let sql = sql::insert(table);
    let bound = binds(sql::insert_columns(table).into_iter().map(|c| types::field_ref(&quote!(new), c)));
    quote! {
        /// Inserts a row and returns it as stored, defaults filled in.
        pub async fn insert<'e>(db: impl sqlx::PgExecutor<'e>, new: &New) -> RepoResult<Row> {
            let row = sqlx::query(#sql) #bound .fetch_one(db).await.map_err(db_error)?;
            Row::decode(&row, 0).map_err(db_error)
        }
    }
}

fn key_params(table: &Table) -> (Vec<TokenStream>, Vec<TokenStream>) {
    table
        .primary_key
        .iter()
        .filter_map(|k| table.column(k))
        .map(|c| {
            let name = field(c);
            let ty = types::param_type(c);
            (quote!(#name: #ty), quote!(#name))
        })
        .unzip()
}

fn get_fn(table: &Table) -> TokenStream {
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    let sql = sql::select_by(table, &keys);
    let (params, args) = key_params(table);
    let bound = binds(args);
    quote! {
        /// The row with this primary key, if any.
        pub async fn get<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<Option<Row>> {
            let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
            row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
        }
    }
}

fn get_many_fn(table: &Table) -> TokenStream {
    let [key] = table.primary_key.as_slice() else { return TokenStream::new() };
    let Some(column) = table.column(key) else { return TokenStream::new() };
    let sql = sql::select_many(table, key);
    let element = types::slice_element(column);
    let param = format_ident!("{}s", key);
    quote! {
        /// The rows whose keys are in the slice (missing keys are skipped), in key order.
        pub async fn get_many<'e>(db: impl sqlx::PgExecutor<'e>, #param: &[#element]) -> RepoResult<Vec<Row>> {
            let rows = sqlx::query(#sql).bind(#param).fetch_all(db).await.map_err(db_error)?;
            rows.iter().map(|r| Row::decode(r, 0)).collect::<Result<_, _>>().map_err(db_error)
        }
    }
}

/// `find_by_<columns>` for every unique constraint.
fn find_fns(table: &Table) -> TokenStream {
    let functions = table.uniques.iter().map(|unique| {
        let columns: Vec<&Column> = unique.iter().filter_map(|c| table.column(c)).collect();
        let names: Vec<&str> = unique.iter().map(String::as_str).collect();
        let sql = sql::select_by(table, &names);
        let function = format_ident!("find_by_{}", names.join("_and_"));
        let params = columns.iter().map(|c| {
            let name = field(c);
            let ty = types::param_type(c);
            quote!(#name: #ty)
        });
        let bound = binds(columns.iter().map(|c| {
            let name = field(c);
            quote!(#name)
        }));
        let doc = doc_line(&format!("The row with this `{}`, if any (unique).", names.join(", ")));
        quote! {
            #doc
            pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<Option<Row>> {
                let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
                row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
            }
        }
    });
    quote! { #(#functions)* }
}

fn update_fn(table: &Table) -> TokenStream {
    let updated = sql::updated_columns(table);
    if updated.is_empty() && table.version_column.is_none() {
        return TokenStream::new();
    }
    let keys = binds(table.primary_key.iter().filter_map(|k| table.column(k)).map(|c| types::field_ref(&quote!(row), c)));
    let values = binds(updated.iter().map(|c| types::field_ref(&quote!(row), c)));
    match &table.version_column {
        Some(version) => {
            let sql = sql::update_versioned(table, version);
            let version = ident(version);
            quote! {
                /// Writes every column of `row` except the key, if the stored `version` still
                /// equals `row.version`; bumps the version. Fails with `VersionConflict` when
                /// another writer came first, `NotFound` when the row is gone.
                pub async fn update<'e>(db: impl sqlx::PgExecutor<'e>, row: &Row) -> RepoResult<Row> {
                    let result = sqlx::query(#sql) #keys #values .bind(row.#version).fetch_optional(db).await.map_err(db_error)?;
                    let Some(result) = result else { return Err(RepoError::NotFound { table: TABLE }) };
                    let applied: bool = result.try_get(0).map_err(db_error)?;
                    let current = Row::decode(&result, 1).map_err(db_error)?;
                    if applied {
                        Ok(current)
                    } else {
                        Err(RepoError::VersionConflict { table: TABLE, expected: row.#version, actual: current.#version })
                    }
                }
            }
        }
        None => {
            let sql = sql::update(table);
            quote! {
                /// Writes every column of `row` except the key; `NotFound` when the row is gone.
                pub async fn update<'e>(db: impl sqlx::PgExecutor<'e>, row: &Row) -> RepoResult<Row> {
                    let result = sqlx::query(#sql) #keys #values .fetch_optional(db).await.map_err(db_error)?;
                    match result {
                        Some(result) => Row::decode(&result, 0).map_err(db_error),
                        None => Err(RepoError::NotFound { table: TABLE }),
                    }
                }
            }
        }
    }
}

fn delete_fn(table: &Table) -> TokenStream {
    let sql = sql::delete(table);
    let (params, args) = key_params(table);
    let bound = binds(args);
    quote! {
        /// Deletes the row with this key; `false` when there was none.
        pub async fn delete<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<bool> {
            let done = sqlx::query(#sql) #bound .execute(db).await.map_err(db_error)?;
            Ok(done.rows_affected() > 0)
        }
    }
}

/// `list` over the whole table in key order, and `list_by_<columns>` for every index: equality
/// on every index column, or on all but the last when the index has several, the last then
/// ordering the page (with the key as tie-breaker).
fn list_fns(table: &Table) -> TokenStream {
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    let mut functions = vec![list_fn(table, format_ident!("list"), &[], &keys, false, "All rows, a page at a time, in key order.".to_string())];
    let mut seen: Vec<String> = Vec::new();
    for index in &table.indexes {
        let columns: Vec<&str> = index.columns.iter().map(|c| c.name.as_str()).collect();
        let (filters, order_column, descending) = match index.columns.as_slice() {
            [single] => (vec![single.name.as_str()], None, false),
            [.., last] => (columns[..columns.len() - 1].to_vec(), Some(last.name.as_str()), last.descending),
            [] => continue,
        };
        let name = format!("list_by_{}", filters.join("_and_"));
        if seen.contains(&name) || filters.iter().all(|f| keys.contains(f)) && order_column.is_none() {
            continue;
        }
        seen.push(name.clone());
        let mut order: Vec<&str> = order_column.into_iter().collect();
        let tie_breakers: Vec<&str> = keys.iter().copied().filter(|k| !order.contains(k)).collect();
        order.extend(tie_breakers);
        let doc = match order_column {
            Some(o) => format!(
                "Rows with these `{}`, a page at a time, by `{o}`{} then key.",
                filters.join(", "),
                if descending { " descending" } else { "" }
            ),
            None => format!("Rows with this `{}`, a page at a time, in key order.", filters.join(", ")),
        };
        functions.push(list_fn(table, format_ident!("{}", name), &filters, &order, descending, doc));
    }
    quote! { #(#functions)* }
}

fn list_fn(table: &Table, name: proc_macro2::Ident, filters: &[&str], order: &[&str], descending: bool, doc: String) -> TokenStream {
    let (first_sql, _) = sql::list_page(table, filters, order, descending, false);
    let (next_sql, _) = sql::list_page(table, filters, order, descending, true);
    let filter_columns: Vec<&Column> = filters.iter().filter_map(|f| table.column(f)).collect();
    let params = filter_columns.iter().map(|c| {
        let n = field(c);
        let ty = types::param_type(c);
        quote!(#n: #ty)
    });
    let filter_args: Vec<TokenStream> = filter_columns
        .iter()
        .map(|c| {
            let n = field(c);
            quote!(#n)
        })
        .collect();
    let filter_binds = binds(filter_args);
    let cursor_binds = binds(order.iter().filter_map(|o| table.column(o)).map(|c| types::field_ref(&quote!(after), c)));
    let doc = doc_lines(&[doc, String::new(), "`after` is the last row of the previous page (`None` for the first page); at most `limit` rows come back. To resume from a page token, load its row with `get`.".to_string()], false);
    quote! {
        #doc
        pub async fn #name<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* after: Option<&Row>, limit: i64) -> RepoResult<Vec<Row>> {
            let rows = match after {
                None => sqlx::query(#first_sql) #filter_binds .bind(limit).fetch_all(db).await,
                Some(after) => sqlx::query(#next_sql) #filter_binds #cursor_binds .bind(limit).fetch_all(db).await,
            }
            .map_err(db_error)?;
            rows.iter().map(|r| Row::decode(r, 0)).collect::<Result<_, _>>().map_err(db_error)
        }
    }
}

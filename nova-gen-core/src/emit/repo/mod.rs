//! Typed repositories: one module per owned table with its `Row`, its `New` row, its `Patch`
//! and async functions over any executor (pool, connection or transaction). Building needs no
//! database: every statement is a constant listed in the module's `STATEMENTS`, and a
//! workspace test prepares each one against the service's migrated schema.

mod enums;
mod lists;
mod lookups;
mod soft_delete;
mod sql;
mod types;
mod upserts;
mod writes;

use proc_macro2::Ident;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::names::{ident, table_module};
use crate::emit::{EmitError, doc_line, doc_lines, rust_file};
use crate::ir::{Column, Reference, Service, Table, UnknownColumn};

/// `src/repo/mod.rs`: the list of table modules.
pub fn emit_repo_mod(service: &Service, database: &str) -> Result<String, EmitError> {
    let tables: Vec<&crate::ir::Table> = service.tables.iter().filter(|t| !t.is_plumbing()).collect();
    let modules = tables.iter().map(|t| {
        let name = table_module(t);
        let doc = doc_line(&format!("Table `{}`.", t.name));
        quote! { #doc pub mod #name; }
    });
    let doc = format!(
        "Repositories of the tables the {} service owns, in its own database `{}`. Only the {} service uses them; other services read this data through its client.",
        service.name, database, service.name
    );
    let doc = doc_lines(&[doc], true);
    let names = tables.iter().map(|t| t.name.as_str());
    let statements = tables.iter().map(|t| {
        let module = table_module(t);
        quote!((#module::TABLE, #module::STATEMENTS))
    });
    rust_file(quote! {
        #doc
        #(#modules)*

        /// Every table of the service's database, in spec order.
        pub const TABLES: &[&str] = &[#(#names),*];

        /// Every SQL statement of every repository, by table: `(function or variant, SQL)`.
        pub const STATEMENTS: &[(&str, &[(&str, &str)])] = &[#(#statements),*];
    })
}

/// The SQL statements of one table module, collected while its functions are emitted: each
/// becomes a constant, and all of them the module's `STATEMENTS`.
#[derive(Default)]
pub(crate) struct Statements(Vec<(String, String)>);

impl Statements {
    /// Records `sql` under `name` (e.g. `list_by_user_id.after`) and returns its constant.
    pub(crate) fn add(&mut self, name: &str, sql: String) -> Ident {
        let constant = const_name(name);
        self.0.push((name.to_string(), sql));
        constant
    }

    fn emit(&self) -> TokenStream {
        let constants = self.0.iter().map(|(name, sql)| {
            let constant = const_name(name);
            quote! { const #constant: &str = #sql; }
        });
        let entries = self.0.iter().map(|(name, _)| {
            let constant = const_name(name);
            quote!((#name, #constant))
        });
        quote! {
            #(#constants)*

            /// Every SQL statement the functions below run, as `(function or variant, SQL)`:
            /// a test prepares each against the migrated schema, so spec and SQL cannot drift apart.
            pub const STATEMENTS: &[(&str, &str)] = &[#(#entries),*];
        }
    }
}

fn const_name(name: &str) -> Ident {
    format_ident!("SQL_{}", name.to_uppercase().replace('.', "__"))
}

/// `src/repo/<table>.rs`.
pub fn emit_table(service: &Service, table: &Table) -> Result<String, EmitError> {
    let table_name = &table.name;
    let mut doc = vec![format!("Repository of table `{}`, owned by the {} service.", table.name, service.name)];
    if let Some(d) = &table.doc {
        doc.push(String::new());
        doc.push(d.clone());
    }
    if table.append_only {
        doc.push(String::new());
        doc.push("Append-only: rows are inserted and deleted, never updated.".to_string());
    }
    let remote: Vec<String> = table
        .columns
        .iter()
        .filter_map(|c| match &c.reference {
            Some(Reference::Remote { service, table, column, .. }) => Some(format!("- `{}` refers to `{service}.{table}.{column}`: a logical reference, checked through the {service} service's API, never a foreign key.", c.name)),
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
    let patch = writes::patch_struct(table);
    let imports = types::imports(table);
    let enums = enums::enum_types(table);
    let mut statements = Statements::default();
    let functions = [
        insert_fn(table, &mut statements),
        get_fn(table, &mut statements)?,
        soft_delete::get_including_deleted_fn(table, &mut statements)?,
        get_many_fn(table, &mut statements)?,
        get_for_update_fn(table, &mut statements)?,
        get_many_for_update_fn(table, &mut statements)?,
        find_fns(table, &mut statements)?,
        lookups::find_by_lower_fns(table, &mut statements),
        writes::update_fns(table, &mut statements)?,
        writes::increment_fns(table, &mut statements)?,
        upserts::insert_if_absent_fns(table, &mut statements)?,
        upserts::upsert_fns(table, &mut statements)?,
        upserts::insert_idempotent_fn(table, &mut statements),
        delete_fn(table, &mut statements)?,
        soft_delete::purge_fn(table, &mut statements)?,
        lists::list_fns(table, &mut statements)?,
    ];
    let statements = statements.emit();
    let columns = columns_items(table);
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

        #columns
        #statements
        #enums
        #row
        #new
        #patch
        #(#functions)*
    })
}

pub(crate) fn field(column: &Column) -> proc_macro2::Ident {
    ident(&column.name)
}

fn row_struct(table: &Table) -> TokenStream {
    let read: Vec<&Column> = table.columns.iter().filter(|c| c.is_read()).collect();
    let fields = read.iter().map(|c| {
        let name = field(c);
        let ty = types::row_type(c);
        let doc = c.doc.as_deref().map(doc_line);
        quote! { #doc pub #name: #ty, }
    });
    let decodes = read.iter().enumerate().map(|(i, c)| {
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
            /// Reads the table's columns in the order of [`COLUMNS`], starting at column
            /// `offset` (non-zero when a query selects something before them, e.g. a join).
            pub fn decode(row: &sqlx::postgres::PgRow, offset: usize) -> Result<Self, sqlx::Error> {
                Ok(Row { #(#decodes)* })
            }
        }

        /// A hand-written query that selects [`COLUMNS`] first decodes its rows as `Row`
        /// (`sqlx::query_as`), instead of reading the columns again by position.
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for Row {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                Row::decode(row, 0)
            }
        }
    }
}

/// `COLUMNS`, and the same list as a macro (`<table>::columns!()`) for `concat!`: static SQL
/// (what `sqlx::query` takes without an assertion) can only be built from literals. An
/// exported macro lives at the crate root, so its hidden name carries the table and the module
/// re-exports it under the short name. Two names could only clash through names with `__` in
/// them (enum macros: `__<table>__<column>__sql`), and a clash fails to compile.
fn columns_items(table: &Table) -> TokenStream {
    let list = sql::column_list(table);
    let exported = format_ident!("__{}__columns", table.name);
    let macro_doc =
        doc_line(&format!("[`COLUMNS`] as a literal, for `concat!` in static SQL: `concat!(\"SELECT \", columns!(), \" FROM {}\")`.", table.name));
    quote! {
        /// The columns `Row` reads, in its order: `SELECT {COLUMNS} FROM ...` decodes through
        /// `Row::decode` or `sqlx::query_as::<_, Row>`.
        pub const COLUMNS: &str = #list;

        #[doc(hidden)]
        #[macro_export]
        macro_rules! #exported { () => { #list }; }

        #macro_doc
        pub use crate::#exported as columns;
    }
}

fn new_struct(table: &Table) -> TokenStream {
    let fields = sql::insert_columns(table).into_iter().map(|c| {
        let name = field(c);
        let ty = types::row_type(c);
        match &c.default {
            Some(default) if c.nullable => {
                let doc =
                    doc_line(&format!("`None` takes the default, `{}`; `Some(None)` stores NULL.", crate::emit::migration::default_sql(default)));
                quote! { #doc pub #name: Option<#ty>, }
            }
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

pub(crate) fn binds(exprs: impl IntoIterator<Item = TokenStream>) -> TokenStream {
    let exprs = exprs.into_iter();
    quote! { #(.bind(#exprs))* }
}

fn insert_fn(table: &Table, statements: &mut Statements) -> TokenStream {
    let sql = statements.add("insert", sql::insert(table));
    let bound = upserts::insert_binds(table);
    quote! {
        /// Inserts a row and returns it as stored, defaults filled in.
        pub async fn insert<'e>(db: impl sqlx::PgExecutor<'e>, new: &New) -> RepoResult<Row> {
            let row = sqlx::query(#sql) #bound .fetch_one(db).await.map_err(db_error)?;
            Row::decode(&row, 0).map_err(db_error)
        }
    }
}

/// `id: Uuid, ...` and `id, ...` for the primary key columns.
pub(crate) fn key_params(table: &Table) -> Result<(Vec<TokenStream>, Vec<TokenStream>), UnknownColumn> {
    let keys = table.columns_named(table.primary_key.iter().map(String::as_str))?;
    Ok(keys
        .into_iter()
        .map(|c| {
            let name = field(c);
            let ty = types::param_type(c);
            (quote!(#name: #ty), quote!(#name))
        })
        .unzip())
}

fn get_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    let sql = statements.add("get", sql::select_by(table, &keys));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// The row with this primary key, if any.
        pub async fn get<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<Option<Row>> {
            let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
            row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
        }
    })
}

fn get_many_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let [key] = table.primary_key.as_slice() else { return Ok(TokenStream::new()) };
    let column = table.column_named(key)?;
    let sql = statements.add("get_many", sql::select_many(table, key));
    let element = types::slice_element(column);
    let param = format_ident!("{}s", key);
    Ok(quote! {
        /// The rows whose keys are in the slice (missing keys are skipped), in key order.
        pub async fn get_many<'e>(db: impl sqlx::PgExecutor<'e>, #param: &[#element]) -> RepoResult<Vec<Row>> {
            let rows = sqlx::query(#sql).bind(#param).fetch_all(db).await.map_err(db_error)?;
            rows.iter().map(|r| Row::decode(r, 0)).collect::<Result<_, _>>().map_err(db_error)
        }
    })
}

/// `get_for_update`: the live row with this key, locked until the transaction ends. It takes a
/// connection rather than any executor: a lock taken outside a transaction ends with the
/// statement, so a pool would make the lock meaningless.
fn get_for_update_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let keys: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    let sql = statements.add("get_for_update", format!("{} FOR UPDATE", sql::select_by(table, &keys)));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// The row with this primary key, if any, locked (`FOR UPDATE`) until the transaction
        /// `conn` runs ends: other writers and lockers of the row wait for it.
        pub async fn get_for_update(conn: &mut sqlx::PgConnection, #(#params),*) -> RepoResult<Option<Row>> {
            let row = sqlx::query(#sql) #bound .fetch_optional(conn).await.map_err(db_error)?;
            row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
        }
    })
}

/// `get_many_for_update`: like `get_many`, locking the rows in key order. PostgreSQL locks the
/// rows of `ORDER BY ... FOR UPDATE` as the sorted rows come out, so two transactions locking
/// overlapping sets both lock in key order and cannot deadlock on each other.
fn get_many_for_update_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let [key] = table.primary_key.as_slice() else { return Ok(TokenStream::new()) };
    let column = table.column_named(key)?;
    let sql = statements.add("get_many_for_update", format!("{} FOR UPDATE", sql::select_many(table, key)));
    let element = types::slice_element(column);
    let param = format_ident!("{}s", key);
    Ok(quote! {
        /// The rows whose keys are in the slice (missing keys are skipped), in key order, locked
        /// (`FOR UPDATE`) in key order until the transaction `conn` runs ends: transactions that
        /// lock overlapping sets this way wait for each other instead of deadlocking.
        pub async fn get_many_for_update(conn: &mut sqlx::PgConnection, #param: &[#element]) -> RepoResult<Vec<Row>> {
            let rows = sqlx::query(#sql).bind(#param).fetch_all(conn).await.map_err(db_error)?;
            rows.iter().map(|r| Row::decode(r, 0)).collect::<Result<_, _>>().map_err(db_error)
        }
    })
}

/// `find_by_<columns>` for every unique constraint. Parameters are values, never `None`, even
/// for nullable columns: a unique constraint lets any number of rows hold NULL, so NULL finds
/// no single row (`list_by_<column>` pages through those, when the column is indexed).
fn find_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let functions = table.uniques.iter().map(|unique| {
        let columns = table.columns_named(unique.iter().map(String::as_str))?;
        let names: Vec<&str> = unique.iter().map(String::as_str).collect();
        let function_name = format!("find_by_{}", names.join("_and_"));
        let sql = statements.add(&function_name, sql::select_by(table, &names));
        let function = format_ident!("{}", function_name);
        let params = columns.iter().map(|c| {
            let name = field(c);
            let ty = types::value_param_type(c);
            quote!(#name: #ty)
        });
        let bound = binds(columns.iter().map(|c| {
            let name = field(c);
            quote!(#name)
        }));
        let mut doc = vec![format!("The row with this `{}`, if any (unique).", names.join(", "))];
        if columns.iter().any(|c| c.nullable) {
            doc.push("Rows holding NULL there are not unique and are never found here.".to_string());
        }
        let doc = doc_lines(&doc, false);
        Ok(quote! {
            #doc
            pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<Option<Row>> {
                let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
                row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
            }
        })
    });
    let functions = functions.collect::<Result<Vec<_>, UnknownColumn>>()?;
    Ok(quote! { #(#functions)* })
}

fn delete_fn(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if table.soft_delete {
        return soft_delete::delete_fn(table, statements);
    }
    let sql = statements.add("delete", sql::delete(table));
    let (params, args) = key_params(table)?;
    let bound = binds(args);
    Ok(quote! {
        /// Deletes the row with this key; `false` when there was none.
        pub async fn delete<'e>(db: impl sqlx::PgExecutor<'e>, #(#params),*) -> RepoResult<bool> {
            let done = sqlx::query(#sql) #bound .execute(db).await.map_err(db_error)?;
            Ok(done.rows_affected() > 0)
        }
    })
}

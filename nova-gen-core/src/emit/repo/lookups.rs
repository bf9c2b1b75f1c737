//! Lookups over unique expression indexes of the form `lower(<column>)`:
//! `find_by_lower_<column>(value)` finds the row whose column equals `value` ignoring case,
//! through the index (`WHERE lower(c) = lower($1)`, live rows only on a soft-deleting table,
//! which is the index's own predicate then).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Statements, field, sql, types};
use crate::emit::doc_line;
use crate::ir::{Column, Table};

/// The column `c` of a unique index whose single key is `lower(c)` and whose predicate, if
/// any, is the table's soft-delete condition (the only rows reads see anyway).
fn lower_unique_columns(table: &Table) -> Vec<&Column> {
    table
        .indexes
        .iter()
        .filter(|i| i.unique && i.predicate.as_deref().is_none_or(|p| table.live_condition().is_some_and(|l| p.eq_ignore_ascii_case(&l))))
        .filter_map(|i| match i.columns.as_slice() {
            [key] if key.expression => {
                let inner = key.name.replace(' ', "");
                let column = inner.strip_prefix("lower(")?.strip_suffix(')')?;
                table.column(column).filter(|c| !c.nullable && c.enumeration.is_none())
            }
            _ => None,
        })
        .collect()
}

pub fn find_by_lower_fns(table: &Table, statements: &mut Statements) -> TokenStream {
    let functions: Vec<TokenStream> = lower_unique_columns(table)
        .into_iter()
        .map(|column| {
            let name = field(column);
            let ty = types::param_type(column);
            let function = format_ident!("find_by_lower_{}", column.name);
            let sql = statements.add(
                &format!("find_by_lower_{}", column.name),
                format!(
                    "SELECT {} FROM {}{}",
                    sql::column_list(table),
                    table.name,
                    sql::live(table, vec![format!("lower({}) = lower($1)", column.name)])
                ),
            );
            let doc =
                doc_line(&format!("The row whose `{}` equals this one ignoring case, if any (unique on `lower({})`).", column.name, column.name));
            quote! {
                #doc
                pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #name: #ty) -> RepoResult<Option<Row>> {
                    let row = sqlx::query(#sql).bind(#name).fetch_optional(db).await.map_err(db_error)?;
                    row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
                }
            }
        })
        .collect();
    quote! { #(#functions)* }
}

//! Keyset-paginated lists: `list` over the whole table in key order, and one function per
//! index. An index on a single `timestamptz` or `date` column gives `list_by_<c>_between`
//! (a half-open time range, in time order); any other single-column index an equality
//! filter in key order; a multi-column index equality on all columns but the last, which
//! orders the page (the key breaks ties).
//!
//! A nullable filter takes an `Option` and `None` matches NULL; a nullable ordering column
//! keeps paging past its NULLs. Both need different SQL for NULL than for a value (`IS NULL`
//! is indexable, `IS NOT DISTINCT FROM` is not), so each such function picks one of a few
//! fixed statements at run time.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::sql::{Cursor, Page};
use super::{Statements, field, sql, types};
use crate::emit::doc_lines;
use crate::ir::{Column, ColumnType, ScalarType, Table, UnknownColumn};

/// What one list function filters on and orders by.
struct ListShape<'t> {
    name: String,
    filters: Vec<&'t Column>,
    range: Option<&'t Column>,
    /// The lead ordering column (if not the key), then the key columns.
    order: Vec<&'t Column>,
    descending: bool,
    doc: String,
}

pub fn list_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let keys = table.columns_named(table.primary_key.iter().map(String::as_str))?;
    let mut shapes = vec![ListShape {
        name: "list".into(),
        filters: vec![],
        range: None,
        order: keys.clone(),
        descending: false,
        doc: "All rows, a page at a time, in key order.".into(),
    }];
    for index in table.indexes.iter().filter(|i| i.is_plain()) {
        // A plain index has no expression keys, so every key names a column.
        let columns = table.columns_named(index.columns.iter().map(|c| c.name.as_str()))?;
        let shape = match (columns.as_slice(), index.columns.last()) {
            ([single], _) if is_time(single) => ListShape {
                name: format!("list_by_{}_between", single.name),
                filters: vec![],
                range: Some(single),
                order: ordering(Some(single), &keys),
                descending: false,
                doc: format!("Rows with `since <= {c} < until`, a page at a time, by `{c}` then key.", c = single.name),
            },
            ([single], _) => ListShape {
                name: format!("list_by_{}", single.name),
                filters: vec![single],
                range: None,
                order: keys.clone(),
                descending: false,
                doc: format!("Rows with this `{}`, a page at a time, in key order.", single.name),
            },
            ([filters @ .., last], Some(last_index)) => ListShape {
                name: format!("list_by_{}", filters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("_and_")),
                filters: filters.to_vec(),
                range: None,
                order: ordering(Some(last), &keys),
                descending: last_index.descending,
                doc: format!(
                    "Rows with these `{}`, a page at a time, by `{}`{} then key.",
                    filters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                    last.name,
                    if last_index.descending { " descending" } else { "" }
                ),
            },
            _ => continue,
        };
        let only_keys = shape.range.is_none() && shape.filters.iter().all(|f| table.is_primary_key(&f.name)) && shape.order.len() == keys.len();
        if only_keys || shapes.iter().any(|s| s.name == shape.name) {
            continue;
        }
        shapes.push(shape);
    }
    let functions = shapes.iter().map(|shape| list_fn(table, shape, statements));
    Ok(quote! { #(#functions)* })
}

fn is_time(column: &Column) -> bool {
    matches!(column.ty, ColumnType::Scalar(ScalarType::Timestamptz | ScalarType::Date))
}

/// `lead` (unless it is a key column), then the key columns.
fn ordering<'t>(lead: Option<&'t Column>, keys: &[&'t Column]) -> Vec<&'t Column> {
    let lead_name = lead.map(|l| l.name.as_str());
    lead.into_iter().chain(keys.iter().copied().filter(|k| Some(k.name.as_str()) != lead_name)).collect()
}

/// One fixed statement of a list function and when it applies.
struct Variant {
    sql: proc_macro2::Ident,
    /// Conditions on the arguments, all true when this statement is the one to run.
    guards: Vec<TokenStream>,
}

fn list_fn(table: &Table, shape: &ListShape<'_>, statements: &mut Statements) -> TokenStream {
    let lead = shape.order.first().copied();
    let lead_nullable = lead.is_some_and(|c| c.nullable);
    let nullable_filters: Vec<&Column> = shape.filters.iter().copied().filter(|c| c.nullable).collect();
    let order_names: Vec<&str> = shape.order.iter().map(|c| c.name.as_str()).collect();
    let mut cursors = vec![Cursor::First, Cursor::After];
    if lead_nullable {
        cursors.push(Cursor::AfterNull);
    }
    let mut variants = Vec::new();
    for mask in 0..(1usize << nullable_filters.len()) {
        let is_null = |c: &Column| nullable_filters.iter().position(|n| n.name == c.name).is_some_and(|i| mask & (1 << i) != 0);
        let filters: Vec<(&str, bool)> = shape.filters.iter().map(|c| (c.name.as_str(), is_null(c))).collect();
        for &cursor in &cursors {
            let page = Page {
                filters: &filters,
                range: shape.range.map(|c| c.name.as_str()),
                order: &order_names,
                lead_nullable,
                descending: shape.descending,
                cursor,
            };
            let mut name = shape.name.clone();
            let mut guards = Vec::new();
            for column in &nullable_filters {
                let n = field(column);
                if is_null(column) {
                    name.push_str(&format!(".{}_null", column.name));
                    guards.push(quote!(#n.is_none()));
                } else {
                    guards.push(quote!(#n.is_some()));
                }
            }
            match (cursor, lead) {
                (Cursor::First, _) => guards.push(quote!(after.is_none())),
                (Cursor::After, Some(lead)) if lead_nullable => {
                    name.push_str(".after");
                    let l = field(lead);
                    guards.push(quote!(after.is_some_and(|a| a.#l.is_some())));
                }
                (Cursor::After, _) => {
                    name.push_str(".after");
                    guards.push(quote!(after.is_some()));
                }
                (Cursor::AfterNull, lead) => {
                    name.push_str(&format!(".after_null_{}", lead.map_or("", |l| l.name.as_str())));
                    let l = lead.map(field);
                    guards.push(quote!(after.is_some_and(|a| a.#l.is_none())));
                }
            }
            variants.push(Variant { sql: statements.add(&name, sql::list_page(table, &page)), guards });
        }
    }
    let choice = choose(&variants);

    let mut params = Vec::new();
    let mut filter_binds = Vec::new();
    for column in &shape.filters {
        let n = field(column);
        let ty = types::param_type(column);
        params.push(quote!(#n: #ty));
        filter_binds.push(if column.nullable {
            quote! { if let Some(value) = #n { query = query.bind(value); } }
        } else {
            quote! { query = query.bind(#n); }
        });
    }
    if let Some(range) = shape.range {
        let ty = types::value_type(range.ty);
        params.push(quote!(since: #ty));
        params.push(quote!(until: #ty));
        filter_binds.push(quote! { query = query.bind(since).bind(until); });
    }
    let cursor_binds = shape.order.iter().map(|c| {
        let n = field(c);
        if c.nullable {
            quote! { if let Some(value) = after.#n.as_ref() { query = query.bind(value); } }
        } else {
            let value = types::field_ref(&quote!(after), c);
            quote! { query = query.bind(#value); }
        }
    });
    let function = format_ident!("{}", shape.name);
    let mut doc = vec![shape.doc.clone()];
    if !nullable_filters.is_empty() {
        doc.push(String::new());
        doc.push(format!(
            "`None` for {} matches rows where it is NULL.",
            nullable_filters.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(" or ")
        ));
    }
    if let Some(lead) = lead.filter(|l| l.nullable) {
        doc.push(String::new());
        doc.push(format!("Rows whose `{}` is NULL come {}.", lead.name, if shape.descending { "first" } else { "last" }));
    }
    doc.push(String::new());
    doc.push("`after` is the last row of the previous page (`None` for the first page); at most `limit` rows come back. To resume from a page token, load its row with `get`.".to_string());
    let doc = doc_lines(&doc, false);
    quote! {
        #doc
        pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* after: Option<&Row>, limit: i64) -> RepoResult<Vec<Row>> {
            let mut query = sqlx::query(#choice);
            #(#filter_binds)*
            if let Some(after) = after {
                #(#cursor_binds)*
            }
            let rows = query.bind(limit).fetch_all(db).await.map_err(db_error)?;
            rows.iter().map(|r| Row::decode(r, 0)).collect::<Result<_, _>>().map_err(db_error)
        }
    }
}

/// `if guards { SQL_A } else if ... { SQL_B } else { SQL_LAST }`: the variants cover every
/// case, so the last needs no test.
fn choose(variants: &[Variant]) -> TokenStream {
    match variants {
        [] => TokenStream::new(),
        [only] => {
            let sql = &only.sql;
            quote!(#sql)
        }
        [first, rest @ ..] => {
            let sql = &first.sql;
            let guards = &first.guards;
            let otherwise = choose(rest);
            // `else if` when more tests follow, `else { SQL }` for the last variant.
            let otherwise = if rest.len() > 1 { otherwise } else { quote!({ #otherwise }) };
            quote!(if #(#guards)&&* { #sql } else #otherwise)
        }
    }
}

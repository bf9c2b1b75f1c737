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
//!
//! A page continues from a typed cursor: one struct per distinct ordering (`KeyCursor` for
//! key order, `<Lead>Cursor` for a lead column then the key) holding exactly the ordering
//! values, built from the last row (`From<&Row>`) or decoded from a page token (serde), so no
//! caller has to make up a whole row to say where a page starts.

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, TokenStream};
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
    let cursors = cursor_structs(&shapes, &keys);
    let functions = shapes.iter().map(|shape| list_fn(table, shape, &cursor_name(&shape.order, &keys), statements));
    Ok(quote! { #cursors #(#functions)* })
}

/// `KeyCursor` for key order, `<Lead>Cursor` otherwise: the lead column alone tells the
/// ordering apart, since the key always follows it.
fn cursor_name(order: &[&Column], keys: &[&Column]) -> Ident {
    let is_key_order = order.len() == keys.len() && order.iter().zip(keys).all(|(o, k)| o.name == k.name);
    match order.first() {
        Some(lead) if !is_key_order => format_ident!("{}Cursor", lead.name.to_upper_camel_case()),
        _ => format_ident!("KeyCursor"),
    }
}

/// Whether serde can write and read the column's values as they are (enums, intervals and
/// decimals carry no serde implementation here): only then does a cursor derive serde.
fn serde_friendly(column: &Column) -> bool {
    column.enumeration.is_none()
        && matches!(
            column.ty,
            ColumnType::Scalar(
                ScalarType::Uuid
                    | ScalarType::Text
                    | ScalarType::Varchar(_)
                    | ScalarType::Citext
                    | ScalarType::Bool
                    | ScalarType::SmallInt
                    | ScalarType::Int
                    | ScalarType::BigInt
                    | ScalarType::Double
                    | ScalarType::Real
                    | ScalarType::Timestamptz
                    | ScalarType::Date
                    | ScalarType::Time
            )
        )
}

/// One cursor struct per distinct ordering of the table's list functions, with `From<&Row>`.
fn cursor_structs(shapes: &[ListShape<'_>], keys: &[&Column]) -> TokenStream {
    let mut emitted: Vec<(Ident, Vec<&str>)> = Vec::new();
    for shape in shapes {
        let name = cursor_name(&shape.order, keys);
        match emitted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, users)) => users.push(&shape.name),
            None => emitted.push((name, vec![&shape.name])),
        }
    }
    let items = emitted.iter().map(|(name, users)| {
        let Some(shape) = shapes.iter().find(|s| users.first() == Some(&s.name.as_str())) else { return TokenStream::new() };
        let fields = shape.order.iter().map(|c| {
            let n = field(c);
            let ty = types::row_type(c);
            quote!(pub #n: #ty,)
        });
        let copies = shape.order.iter().map(|c| {
            let n = field(c);
            if types::is_copy_column(c) { quote!(#n: row.#n,) } else { quote!(#n: row.#n.clone(),) }
        });
        let serde = shape.order.iter().all(|c| serde_friendly(c)).then(|| {
            quote! {
                #[derive(::nova_runtime::codegen::serde::Serialize, ::nova_runtime::codegen::serde::Deserialize)]
                #[serde(crate = "::nova_runtime::codegen::serde")]
            }
        });
        let columns = shape.order.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(", ");
        let functions = users.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
        let mut doc = vec![
            format!("Where a page of {functions} continues: the {columns} of the last row of the previous page."),
            "Build it from that row (`rows.last().map(Into::into)`) or keep it in a page token.".to_string(),
        ];
        if serde.is_some() {
            doc[1] = "Build it from that row (`rows.last().map(Into::into)`) or keep it in a page token (it is serde, for `nova_runtime::paging::encode_token`).".to_string();
        }
        let doc = doc_lines(&doc, false);
        let from_doc = crate::emit::doc_line(&format!("The position just after `row` in the order of {functions}."));
        quote! {
            #doc
            #[derive(Debug, Clone, PartialEq)]
            #serde
            pub struct #name { #(#fields)* }

            impl From<&Row> for #name {
                #from_doc
                fn from(row: &Row) -> Self {
                    #name { #(#copies)* }
                }
            }
        }
    });
    quote! { #(#items)* }
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

fn list_fn(table: &Table, shape: &ListShape<'_>, cursor: &Ident, statements: &mut Statements) -> TokenStream {
    let nullable_filters: Vec<&Column> = shape.filters.iter().copied().filter(|c| c.nullable).collect();
    let choice = choose(&list_variants(table, shape, &nullable_filters, statements));
    let (params, filter_binds) = list_params(shape);
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
    let doc = list_doc(shape, &nullable_filters, cursor);
    quote! {
        #doc
        pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, #(#params,)* after: Option<&#cursor>, limit: i64) -> RepoResult<Vec<Row>> {
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

/// One fixed statement per combination of NULL / value for each nullable filter and of where
/// the page starts (first page, after a value, after a NULL of a nullable lead): `IS NULL`
/// needs its own statement to use the index, and a fixed text per case keeps every statement
/// preparable (and in `STATEMENTS`).
fn list_variants(table: &Table, shape: &ListShape<'_>, nullable_filters: &[&Column], statements: &mut Statements) -> Vec<Variant> {
    let lead = shape.order.first().copied();
    let lead_nullable = lead.is_some_and(|c| c.nullable);
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
            for column in nullable_filters {
                let n = field(column);
                if is_null(column) {
                    name.push_str(&format!(".{}_null", column.name));
                    guards.push(quote!(#n.is_none()));
                } else {
                    guards.push(quote!(#n.is_some()));
                }
            }
            let (suffix, guard) = cursor_guard(cursor, lead);
            name.push_str(&suffix);
            guards.push(guard);
            variants.push(Variant { sql: statements.add(&name, sql::list_page(table, &page)), guards });
        }
    }
    variants
}

/// The statement-name suffix and the argument test of a page start.
fn cursor_guard(cursor: Cursor, lead: Option<&Column>) -> (String, TokenStream) {
    match (cursor, lead) {
        (Cursor::First, _) => (String::new(), quote!(after.is_none())),
        (Cursor::After, Some(lead)) if lead.nullable => {
            let l = field(lead);
            (".after".to_string(), quote!(after.is_some_and(|a| a.#l.is_some())))
        }
        (Cursor::After, _) => (".after".to_string(), quote!(after.is_some())),
        (Cursor::AfterNull, lead) => {
            let l = lead.map(field);
            (format!(".after_null_{}", lead.map_or("", |l| l.name.as_str())), quote!(after.is_some_and(|a| a.#l.is_none())))
        }
    }
}

/// The filter parameters of a list function (and a time range's `since`, `until`), with how
/// each is bound: a nullable filter's `None` binds nothing (its statement says `IS NULL`).
fn list_params(shape: &ListShape<'_>) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut params = Vec::new();
    let mut binds = Vec::new();
    for column in &shape.filters {
        let n = field(column);
        let ty = types::param_type(column);
        params.push(quote!(#n: #ty));
        binds.push(if column.nullable {
            quote! { if let Some(value) = #n { query = query.bind(value); } }
        } else {
            quote! { query = query.bind(#n); }
        });
    }
    if let Some(range) = shape.range {
        let ty = types::value_type(range.ty);
        params.push(quote!(since: #ty));
        params.push(quote!(until: #ty));
        binds.push(quote! { query = query.bind(since).bind(until); });
    }
    (params, binds)
}

fn list_doc(shape: &ListShape<'_>, nullable_filters: &[&Column], cursor: &Ident) -> TokenStream {
    let mut doc = vec![shape.doc.clone()];
    if !nullable_filters.is_empty() {
        doc.push(String::new());
        doc.push(format!(
            "`None` for {} matches rows where it is NULL.",
            nullable_filters.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(" or ")
        ));
    }
    if let Some(lead) = shape.order.first().filter(|l| l.nullable) {
        doc.push(String::new());
        doc.push(format!("Rows whose `{}` is NULL come {}.", lead.name, if shape.descending { "first" } else { "last" }));
    }
    doc.push(String::new());
    doc.push(format!(
        "`after` is where the previous page ended (`{cursor}::from(last row)`, or decoded from a page token; `None` for the first page); at most `limit` rows come back."
    ));
    doc_lines(&doc, false)
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

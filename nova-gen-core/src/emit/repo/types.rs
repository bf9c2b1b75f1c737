//! How column types appear in Rust: owned in rows, borrowed in parameters.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{Column, ColumnType, ScalarType};

/// Column types name their Rust types briefly; [`imports`] brings the names into scope.
fn scalar(ty: ScalarType) -> TokenStream {
    match ty {
        ScalarType::Uuid => quote!(Uuid),
        ScalarType::Text => quote!(String),
        ScalarType::Bool => quote!(bool),
        ScalarType::SmallInt => quote!(i16),
        ScalarType::Int => quote!(i32),
        ScalarType::BigInt => quote!(i64),
        ScalarType::Double => quote!(f64),
        ScalarType::Timestamptz => quote!(DateTime<Utc>),
        ScalarType::Date => quote!(NaiveDate),
        ScalarType::Jsonb => quote!(serde_json::Value),
        ScalarType::Bytea => quote!(Vec<u8>),
        ScalarType::Real => quote!(f32),
        ScalarType::Time => quote!(NaiveTime),
        ScalarType::Interval => quote!(sqlx::postgres::types::PgInterval),
        ScalarType::Varchar(_) => quote!(String),
        ScalarType::Numeric(..) => quote!(sqlx::types::Decimal),
        ScalarType::Inet => quote!(std::net::IpAddr),
        ScalarType::Citext => quote!(String),
        // Never read (see `Column::is_read`); text is what PostgreSQL would print.
        ScalarType::TsVector => quote!(String),
    }
}

/// The `use` items for the types the table's columns need (and no others, so nothing is unused).
pub fn imports(table: &crate::ir::Table) -> TokenStream {
    let mut scalars: Vec<ScalarType> = table
        .columns
        .iter()
        .filter(|c| c.is_read() && c.enumeration.is_none())
        .map(|c| match c.ty {
            ColumnType::Scalar(s) | ColumnType::Array(s) => s,
        })
        .collect();
    scalars.sort();
    scalars.dedup();
    let mut items = Vec::new();
    if scalars.contains(&ScalarType::Uuid) {
        items.push(quote!(
            use ::nova_runtime::codegen::uuid::Uuid;
        ));
    }
    let mut chrono: Vec<TokenStream> = Vec::new();
    if scalars.contains(&ScalarType::Timestamptz) {
        chrono.push(quote!(DateTime));
    }
    if scalars.contains(&ScalarType::Date) {
        chrono.push(quote!(NaiveDate));
    }
    if scalars.contains(&ScalarType::Time) {
        chrono.push(quote!(NaiveTime));
    }
    if scalars.contains(&ScalarType::Timestamptz) {
        chrono.push(quote!(Utc));
    }
    match chrono.as_slice() {
        [] => {}
        [one] => items.push(quote!(
            use ::nova_runtime::codegen::chrono::#one;
        )),
        many => items.push(quote!(
            use ::nova_runtime::codegen::chrono::{#(#many),*};
        )),
    }
    if scalars.contains(&ScalarType::Jsonb) {
        items.push(quote!(
            use ::nova_runtime::codegen::serde_json;
        ));
    }
    quote!(#(#items)*)
}

/// The non-null Rust type of a column.
pub fn value_type(ty: ColumnType) -> TokenStream {
    match ty {
        ColumnType::Scalar(s) => scalar(s),
        ColumnType::Array(s) => {
            let element = scalar(s);
            quote!(Vec<#element>)
        }
    }
}

/// The non-null Rust type of a column: its enum, or the type of its SQL type.
pub fn column_value_type(column: &Column) -> TokenStream {
    if column.enumeration.is_some() {
        let name = super::enums::type_name(column);
        return quote!(#name);
    }
    value_type(column.ty)
}

/// The field type of a column in a `Row`.
pub fn row_type(column: &Column) -> TokenStream {
    let ty = column_value_type(column);
    if column.nullable { quote!(Option<#ty>) } else { ty }
}

/// Whether values of this type are passed by value (cheap `Copy`) rather than borrowed.
pub fn is_copy(ty: ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Scalar(
            ScalarType::Uuid
                | ScalarType::Bool
                | ScalarType::SmallInt
                | ScalarType::Int
                | ScalarType::BigInt
                | ScalarType::Double
                | ScalarType::Timestamptz
                | ScalarType::Date
                | ScalarType::Real
                | ScalarType::Time
                | ScalarType::Interval
                | ScalarType::Numeric(..)
                | ScalarType::Inet
        )
    )
}

/// Whether a column's values are passed by value: `Copy` types and enums.
pub fn is_copy_column(column: &Column) -> bool {
    column.enumeration.is_some() || is_copy(column.ty)
}

/// The type of a key or filter parameter: by value when `Copy`, else borrowed (`&str`, `&[u8]`);
/// `Option` for a nullable column (`None` matches NULL).
pub fn param_type(column: &Column) -> TokenStream {
    let inner = value_param_type(column);
    if column.nullable { quote!(Option<#inner>) } else { inner }
}

/// The parameter type for a non-NULL value of the column, whether or not it is nullable.
pub fn value_param_type(column: &Column) -> TokenStream {
    match column.ty {
        _ if column.enumeration.is_some() => column_value_type(column),
        ty if is_copy(ty) => value_type(ty),
        ColumnType::Scalar(ScalarType::Text | ScalarType::Varchar(_) | ScalarType::Citext) => quote!(&str),
        ColumnType::Scalar(ScalarType::Bytea) => quote!(&[u8]),
        ColumnType::Scalar(ScalarType::Jsonb) => quote!(&serde_json::Value),
        ColumnType::Array(s) => {
            let element = scalar(s);
            quote!(&[#element])
        }
        ColumnType::Scalar(s) => scalar(s),
    }
}

/// The type of a slice of keys (for `get_many`).
pub fn slice_element(column: &Column) -> TokenStream {
    column_value_type(column)
}

/// `value.field` for `Copy` columns, `&value.field` otherwise: how a field is bound.
pub fn field_ref(value: &TokenStream, column: &Column) -> TokenStream {
    let name = crate::emit::names::ident(&column.name);
    if is_copy_column(column) { quote!(#value.#name) } else { quote!(&#value.#name) }
}

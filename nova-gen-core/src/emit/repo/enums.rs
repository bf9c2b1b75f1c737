//! Enum columns in Rust: one `enum` per enum column, stored as its name (text) or its number
//! (smallint) and read back through sqlx, so rows hold a value that is always one of the
//! declared ones. The database's CHECK constraint guards every other writer.

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::doc_line;
use crate::ir::{Column, EnumValue, Enumeration, Table};

/// The Rust name of a column's enum: the column's name in UpperCamelCase (`status` is
/// `Status`), kept clear of the module's own `Row` and `New`.
pub fn type_name(column: &Column) -> proc_macro2::Ident {
    let name = column.name.to_upper_camel_case();
    if matches!(name.as_str(), "Row" | "New") { format_ident!("{name}Value") } else { format_ident!("{name}") }
}

/// The enum types of the table's enum columns, in column order.
pub fn enum_types(table: &Table) -> TokenStream {
    let items = table.columns.iter().filter_map(|c| c.enumeration.as_ref().map(|e| enum_type(table, c, e)));
    quote! { #(#items)* }
}

fn enum_type(table: &Table, column: &Column, enumeration: &Enumeration) -> TokenStream {
    let ty = type_name(column);
    let variants: Vec<proc_macro2::Ident> = enumeration.values.iter().map(|v| format_ident!("{}", v.name.to_upper_camel_case())).collect();
    let names: Vec<&str> = enumeration.values.iter().map(|v| v.name.as_str()).collect();
    let count = variants.len();
    let qualified = format!("{}.{}", table.name, column.name);
    let unknown = format!("not a value of {qualified}: ");
    let storage = if enumeration.is_numbered() { "its number (smallint)" } else { "its name (text)" };
    let doc = doc_line(&format!("The values of `{qualified}`, stored as {storage} and checked by `{}_{}_check`.", table.name, column.name));
    let common = quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #ty { #(#variants,)* }

        impl #ty {
            /// Every value, in declaration order.
            pub const ALL: [#ty; #count] = [#(#ty::#variants),*];

            /// The value's name in the spec.
            pub const fn name(self) -> &'static str {
                match self { #(#ty::#variants => #names,)* }
            }

            /// The value with this name, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { #(#names => Some(#ty::#variants),)* _ => None }
            }
        }
    };
    let storage_impls =
        if enumeration.is_numbered() { numbered_storage(&ty, &variants, enumeration, &unknown) } else { named_storage(&ty, &unknown) };
    let proto = enumeration.proto.as_ref().map(|p| proto_conversions(&ty, &variants, p));
    let sql_macro = sql_macro(table, column, enumeration);
    quote! { #common #storage_impls #proto #sql_macro }
}

/// `number`/`from_number` and the sqlx impls of an enum stored as its numbers (smallint).
fn numbered_storage(ty: &proc_macro2::Ident, variants: &[proc_macro2::Ident], enumeration: &Enumeration, unknown: &str) -> TokenStream {
    let numbers: Vec<proc_macro2::Literal> =
        enumeration.values.iter().map(|v| proc_macro2::Literal::i16_unsuffixed(v.number.and_then(|n| i16::try_from(n).ok()).unwrap_or(0))).collect();
    quote! {
        impl #ty {
            /// The number stored for the value.
            pub const fn number(self) -> i16 {
                match self { #(#ty::#variants => #numbers,)* }
            }

            /// The value stored as this number, if any.
            pub fn from_number(number: i16) -> Option<Self> {
                match number { #(#numbers => Some(#ty::#variants),)* _ => None }
            }
        }

        impl sqlx::Type<sqlx::Postgres> for #ty {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <i16 as sqlx::Type<sqlx::Postgres>>::type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for #ty {
            fn encode_by_ref(&self, buf: &mut sqlx::postgres::PgArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i16 as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.number(), buf)
            }
        }

        impl sqlx::Decode<'_, sqlx::Postgres> for #ty {
            fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
                let number = <i16 as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Self::from_number(number).ok_or_else(|| format!("{}{number}", #unknown).into())
            }
        }
    }
}

/// The sqlx impls of an enum stored as its names (text).
fn named_storage(ty: &proc_macro2::Ident, unknown: &str) -> TokenStream {
    quote! {
        impl sqlx::Type<sqlx::Postgres> for #ty {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for #ty {
            fn encode_by_ref(&self, buf: &mut sqlx::postgres::PgArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.name(), buf)
            }
        }

        impl sqlx::Decode<'_, sqlx::Postgres> for #ty {
            fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
                let name = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Self::from_name(name).ok_or_else(|| format!("{}{name}", #unknown).into())
            }
        }
    }
}

/// `<column>_sql!(<value>)`: the SQL literal a value is stored as (`2`, or `'live'`), by name,
/// for `concat!` in hand-written static SQL (`WHERE status = ", status_sql!(live), "`). A name
/// that is not a value of the column does not compile, so SQL never holds a magic number.
/// Binding the enum (`.bind(Status::Live)`) needs no macro; this is for SQL text.
fn sql_macro(table: &Table, column: &Column, enumeration: &Enumeration) -> TokenStream {
    let exported = format_ident!("__{}__{}__sql", table.name, column.name);
    let local = format_ident!("{}_sql", column.name);
    let arms = enumeration.values.iter().map(|v| {
        let literal = v.sql_literal();
        let name = format_ident!("{}", v.name);
        quote! { (#name) => { #literal }; }
    });
    let ty = type_name(column);
    let doc = doc_line(&format!(
        "The SQL literal of a `{}.{}` value, by its spec name, for `concat!`: `{local}!({})` is `{}`; `{ty}` is the Rust value to bind.",
        table.name,
        column.name,
        enumeration.values.first().map_or("", |v| v.name.as_str()),
        enumeration.values.first().map(EnumValue::sql_literal).unwrap_or_default(),
    ));
    quote! {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #exported { #(#arms)* }

        #doc
        pub use crate::#exported as #local;
    }
}

/// `From<Column> for pb::E` and `TryFrom<pb::E> for Column` (the proto's `UNSPECIFIED` and
/// values the column lacks are the error, returned as is).
fn proto_conversions(ty: &proc_macro2::Ident, variants: &[proc_macro2::Ident], proto: &crate::ir::ProtoEnum) -> TokenStream {
    let pb = format_ident!("{}", proto.name);
    let proto_variants: Vec<proc_macro2::Ident> = proto.variants.iter().map(|v| format_ident!("{v}")).collect();
    let to_doc = doc_line(&format!("The proto's `{}` value of the same name.", proto.name));
    quote! {
        impl From<#ty> for crate::pb::#pb {
            #to_doc
            fn from(value: #ty) -> Self {
                match value { #(#ty::#variants => crate::pb::#pb::#proto_variants,)* }
            }
        }

        impl TryFrom<crate::pb::#pb> for #ty {
            type Error = crate::pb::#pb;

            /// The value of the same name; the proto value itself when the column has none
            /// (such as `UNSPECIFIED`).
            fn try_from(value: crate::pb::#pb) -> Result<Self, Self::Error> {
                match value {
                    #(crate::pb::#pb::#proto_variants => Ok(#ty::#variants),)*
                    #[allow(unreachable_patterns)]
                    other => Err(other),
                }
            }
        }
    }
}

//! Rules about how rows change after insert: `counter`, `touch` and `immutable` columns and
//! `append_only` tables. They decide what the generated `update` and `increment_<column>`
//! functions write, so a contradiction (a counter on an append-only table, a text counter)
//! is reported here rather than producing a repository that cannot compile or run.

use super::Validator;
use super::tables::type_name;
use crate::ir::{ColumnType, ScalarType};
use crate::raw::{RawColumn, RawService};

pub(crate) fn check_writes(v: &mut Validator<'_>) {
    let services: Vec<RawService> = v.loaded.ownership.services.clone();
    for table in services.iter().flat_map(|s| &s.tables) {
        let append_only = table.append_only.as_ref().filter(|a| a.value);
        for column in &table.columns {
            check_column(v, &table.name.value, column);
            if let Some(append_only) = append_only {
                let decl = &column.decl;
                let role = [("version", &decl.version), ("counter", &decl.counter), ("touch", &decl.touch)]
                    .into_iter()
                    .find_map(|(w, s)| s.as_ref().map(|s| (w, s)));
                if let Some((word, span)) = role {
                    v.report(
                        "spec::append-only-update",
                        span.clone(),
                        format!("`{word}` needs updates"),
                        format!("table `{}` is append-only, but column `{}` is changed by updates", table.name.value, column.name.value),
                        format!(
                            "remove `{word}` from the column, or `append_only = true` (at {}) from the table",
                            v.ownership_file().location(append_only.span.start)
                        ),
                    );
                }
            }
        }
        let touches: Vec<&RawColumn> = table.columns.iter().filter(|c| c.decl.touch.is_some()).collect();
        if let [_, second, ..] = touches.as_slice()
            && let Some(span) = &second.decl.touch
        {
            v.report(
                "spec::bad-touch",
                span.clone(),
                "second touch column",
                format!("table `{}` has more than one `touch` column", table.name.value),
                "keep one `touch` column (the one every update sets to now()) per table",
            );
        }
    }
}

fn check_column(v: &mut Validator<'_>, table: &str, column: &RawColumn) {
    let decl = &column.decl;
    let ty = decl.ty.value;
    let name = &column.name.value;
    if let Some(span) = &decl.counter {
        let integer = matches!(ty, ColumnType::Scalar(s) if s.is_integer());
        if !integer || decl.nullable || decl.primary_key.is_some() || decl.version.is_some() {
            v.report(
                "spec::bad-counter",
                span.clone(),
                "not a plain integer",
                format!(
                    "counter `{table}.{name}` must be a non-null smallint, int or bigint outside the key (it is `{}`)",
                    type_label(ty, decl.nullable)
                ),
                "declare it as \"bigint counter default 0\"",
            );
        }
    }
    if let Some(span) = &decl.touch
        && (ty != ColumnType::Scalar(ScalarType::Timestamptz) || decl.primary_key.is_some())
    {
        v.report(
            "spec::bad-touch",
            span.clone(),
            "not a timestamp",
            format!("touch column `{table}.{name}` must be a `timestamptz` outside the key (it is `{}`)", type_label(ty, decl.nullable)),
            "declare it as \"timestamptz touch default now()\"",
        );
    }
    if let Some(span) = &decl.immutable {
        let clash = [("pk", &decl.primary_key), ("version", &decl.version), ("counter", &decl.counter), ("touch", &decl.touch)]
            .into_iter()
            .find_map(|(w, s)| s.as_ref().map(|_| w));
        if let Some(word) = clash {
            v.report(
                "spec::bad-immutable",
                span.clone(),
                format!("contradicts `{word}`"),
                format!("column `{table}.{name}` is both `immutable` and `{word}`"),
                if word == "pk" {
                    "remove `immutable`: key columns are never updated anyway".to_string()
                } else {
                    format!("remove `immutable` or `{word}`")
                },
            );
        }
    }
}

fn type_label(ty: ColumnType, nullable: bool) -> String {
    format!("{}{}", type_name(ty), if nullable { "?" } else { "" })
}

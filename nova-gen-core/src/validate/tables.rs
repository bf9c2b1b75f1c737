//! Rules about tables: single ownership, names, keys, defaults, and references — in-service
//! references become foreign keys, cross-service ones must name the owner explicitly.

use std::collections::BTreeMap;

use super::Validator;
use super::names::name_problem;
use crate::diagnostic::Diagnostic;
use crate::ir::{ColumnType, DefaultValue, ScalarType};
use crate::load::toml_read::closest;
use crate::raw::{RawColumn, RawForeignKey, RawReference, RawService, RawTable};
use crate::source::{Located, Span};

pub(crate) fn check_tables(v: &mut Validator<'_>) {
    let services = v.loaded.ownership.services.clone();
    check_single_ownership(v, &services);
    for service in &services {
        for table in &service.tables {
            check_table(v, service, table);
            for key in &table.foreign_keys {
                check_foreign_key(v, service, table, key);
            }
            for column in &table.columns {
                check_column(v, table, column);
                if let Some(reference) = &column.decl.reference {
                    check_reference(v, &services, service, column, reference);
                }
            }
        }
    }
}

/// A table has exactly one owner: the structural fix for "auth and user both write users".
fn check_single_ownership(v: &mut Validator<'_>, services: &[RawService]) {
    let mut owners: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
    for service in services {
        for table in &service.tables {
            let name = table.name.value.as_str();
            match owners.get(name) {
                Some((owner, first)) => {
                    let diagnostic = Diagnostic::new("spec::duplicate-table", format!("table `{name}` is declared by both `{owner}` and `{}`", service.name.value))
                        .in_file(v.ownership_file())
                        .label(table.name.span.clone(), "declared again here")
                        .label(first.clone(), "first declared here")
                        .help(format!(
                            "a table has exactly one owning service: keep it in one, and let the other read it through the owner's API (a column `-> {owner}.{name}.<column>`)"
                        ));
                    v.push(diagnostic);
                }
                None => {
                    owners.insert(name, (service.name.value.as_str(), table.name.span.clone()));
                }
            }
        }
    }
}

fn check_table(v: &mut Validator<'_>, service: &RawService, table: &RawTable) {
    check_name(v, &table.name, "table");
    if table.columns.is_empty() {
        v.report(
            "spec::empty-table",
            table.name.span.clone(),
            "no columns",
            format!("table `{}` has no columns", table.name.value),
            format!("add columns: [{}.tables.{}] columns.id = \"uuid pk default gen_random_uuid()\"", service.name.value, table.name.value),
        );
        return;
    }
    if !table.columns.iter().any(|c| c.decl.primary_key.is_some()) {
        v.report(
            "spec::missing-primary-key",
            table.name.span.clone(),
            "no pk column",
            format!("table `{}` has no primary key", table.name.value),
            "mark the key column(s) with `pk`, e.g. columns.id = \"uuid pk default gen_random_uuid()\"",
        );
    }
    let versions: Vec<&RawColumn> = table.columns.iter().filter(|c| c.decl.version.is_some()).collect();
    if let [_, second, ..] = versions.as_slice() {
        v.report(
            "spec::bad-version",
            second.name.span.clone(),
            "second version column",
            format!("table `{}` has more than one version column", table.name.value),
            "keep one `version` column per table",
        );
    }
    check_soft_delete(v, table);
    check_idempotency_key(v, table);
    for list in table.uniques.iter().chain(&table.indexes) {
        let mut seen: Vec<&str> = Vec::new();
        for key in &list.columns {
            let column = &key.name;
            if key.expression {
                continue;
            }
            if seen.contains(&column.value.as_str()) {
                v.report(
                    "spec::bad-column-list",
                    column.span.clone(),
                    "listed twice",
                    format!("column `{}` is listed twice", column.value),
                    "list each column once",
                );
            }
            seen.push(&column.value);
            check_column_exists(v, table, column);
        }
    }
}

/// A composite foreign key: columns of this table, as many of the same types in a table of the
/// same service, which are that table's primary key or one of its (all-rows) uniques.
fn check_foreign_key(v: &mut Validator<'_>, service: &RawService, table: &RawTable, key: &RawForeignKey) {
    for column in &key.columns {
        check_column_exists(v, table, column);
    }
    let Some(target) = service.tables.iter().find(|t| t.name.value == key.table.value) else {
        let names: Vec<&str> = service.tables.iter().map(|t| t.name.value.as_str()).collect();
        let help = closest(&key.table.value, &names)
            .map_or_else(|| format!("foreign keys stay inside the service; its tables: {}", names.join(", ")), |b| format!("did you mean `{b}`?"));
        v.report(
            "spec::unknown-table",
            key.table.span.clone(),
            "no such table here",
            format!("service `{}` has no table `{}`", service.name.value, key.table.value),
            help,
        );
        return;
    };
    for column in &key.target_columns {
        check_column_exists(v, target, column);
    }
    if key.columns.len() != key.target_columns.len() {
        v.report(
            "spec::bad-foreign-key",
            key.table.span.clone(),
            format!("{} columns here, {} there", key.columns.len(), key.target_columns.len()),
            "a foreign key pairs as many columns on each side",
            "list the referencing and the referenced columns in the same order",
        );
        return;
    }
    let column_of = |t: &'_ RawTable, name: &str| t.columns.iter().find(|c| c.name.value == name).map(|c| (c.decl.ty.value, c.decl.nullable));
    for (from, to) in key.columns.iter().zip(&key.target_columns) {
        if let (Some((a, nullable)), Some((b, _))) = (column_of(table, &from.value), column_of(target, &to.value)) {
            if a != b {
                v.report(
                    "spec::reference-type-mismatch",
                    from.span.clone(),
                    format!("{} here, {} in {}.{}", type_name(a), type_name(b), target.name.value, to.value),
                    format!("`{}` is {} but references a {} column", from.value, type_name(a), type_name(b)),
                    "give both columns the same type",
                );
            }
            if !nullable && key.on_delete.as_ref().is_some_and(|d| d.value == crate::ir::OnDelete::SetNull) {
                v.report(
                    "spec::bad-on-delete",
                    from.span.clone(),
                    "NOT NULL",
                    format!("`set null` on `{}`, which cannot hold NULL", from.value),
                    "make the columns nullable or use `cascade` / `restrict`",
                );
            }
        }
    }
    let mut wanted: Vec<&str> = key.target_columns.iter().map(|c| c.value.as_str()).collect();
    wanted.sort_unstable();
    let mut primary: Vec<&str> = target.columns.iter().filter(|c| c.decl.primary_key.is_some()).map(|c| c.name.value.as_str()).collect();
    primary.sort_unstable();
    let soft = target.soft_delete.as_ref().is_some_and(|s| s.value);
    let unique = !soft
        && target.uniques.iter().any(|u| {
            let mut names: Vec<&str> = u.columns.iter().map(|k| k.name.value.as_str()).collect();
            names.sort_unstable();
            u.predicate.is_none() && u.columns.iter().all(|k| !k.expression) && names == wanted
        });
    if wanted != primary && !unique {
        v.report(
            "spec::reference-to-non-key",
            key.table.span.clone(),
            "neither its primary key nor a unique",
            format!("({}) is not a key of `{}`, so it cannot be referenced", wanted.join(", "), target.name.value),
            "reference the table's primary key, or declare unique = [\"...\"] over these columns there (on a table without soft delete)",
        );
    }
}

/// `soft_delete = true` needs the `deleted_at timestamptz?` column it sets.
fn check_soft_delete(v: &mut Validator<'_>, table: &RawTable) {
    let Some(flag) = table.soft_delete.as_ref().filter(|f| f.value) else { return };
    let column = table.columns.iter().find(|c| c.name.value == crate::ir::SOFT_DELETE_COLUMN);
    let fits = column.is_some_and(|c| c.decl.nullable && c.decl.ty.value == ColumnType::Scalar(ScalarType::Timestamptz) && c.decl.default.is_none());
    if !fits {
        let span = column.map_or(flag.span.clone(), |c| c.decl.ty.span.clone());
        v.report(
            "spec::bad-soft-delete",
            span,
            "needs deleted_at timestamptz?",
            format!("soft-deleting table `{}` needs a nullable `deleted_at` timestamp without default", table.name.value),
            "declare columns.deleted_at = \"timestamptz?\" (NULL while the row is live), or remove `soft_delete = true`",
        );
    }
}

/// `idempotency_key = "<column>"` names a column of the table that is unique on its own (a
/// `unique` column, or `unique = ["<column>"]`): only then does a repeated request id find
/// exactly one earlier row.
fn check_idempotency_key(v: &mut Validator<'_>, table: &RawTable) {
    let Some(key) = &table.idempotency_key else { return };
    let Some(column) = table.columns.iter().find(|c| c.name.value == key.value) else {
        v.report(
            "spec::bad-idempotency-key",
            key.span.clone(),
            "no such column",
            format!("idempotency key `{}` is not a column of table `{}`", key.value, table.name.value),
            format!("declare columns.{} = \"uuid unique\", or name an existing unique column", key.value),
        );
        return;
    };
    let unique_alone = column.decl.unique.is_some()
        || table
            .uniques
            .iter()
            .any(|u| u.predicate.is_none() && matches!(u.columns.as_slice(), [only] if !only.expression && only.name.value == key.value));
    if !unique_alone || column.decl.nullable {
        v.report(
            "spec::bad-idempotency-key",
            key.span.clone(),
            if column.decl.nullable { "nullable" } else { "not unique" },
            format!("idempotency key `{}` of table `{}` must be a non-null column unique on its own", key.value, table.name.value),
            format!("declare columns.{} = \"uuid unique\" (not nullable), or remove `idempotency_key`", key.value),
        );
    }
}

/// Table and column names become SQL and Rust identifiers.
fn check_name(v: &mut Validator<'_>, name: &Located<String>, what: &str) {
    if let Some(why) = name_problem(&name.value) {
        v.report(
            "spec::bad-name",
            name.span.clone(),
            why,
            format!("`{}` cannot name a {what}", name.value),
            "pick a lower_snake_case name that is not an SQL keyword",
        );
    }
}

fn check_column_exists(v: &mut Validator<'_>, table: &RawTable, column: &Located<String>) {
    if table.columns.iter().any(|c| c.name.value == column.value) {
        return;
    }
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.value.as_str()).collect();
    let help = match closest(&column.value, &names) {
        Some(best) => format!("did you mean `{best}`? Columns of `{}`: {}", table.name.value, names.join(", ")),
        None => format!("columns of `{}`: {}", table.name.value, names.join(", ")),
    };
    v.report(
        "spec::unknown-column",
        column.span.clone(),
        "no such column",
        format!("table `{}` has no column `{}`", table.name.value, column.value),
        help,
    );
}

fn check_column(v: &mut Validator<'_>, table: &RawTable, column: &RawColumn) {
    let decl = &column.decl;
    check_name(v, &column.name, "column");
    if decl.primary_key.is_some() && decl.nullable {
        v.report(
            "spec::nullable-key",
            decl.ty.span.clone(),
            "nullable",
            format!("primary key column `{}.{}` is nullable", table.name.value, column.name.value),
            "remove the `?`: key columns are never NULL",
        );
    }
    if let Some(version) = &decl.version
        && (decl.ty.value != ColumnType::Scalar(ScalarType::BigInt) || decl.nullable || decl.primary_key.is_some())
    {
        v.report(
            "spec::bad-version",
            version.clone(),
            "not a plain bigint",
            format!("version column `{}` must be a non-null `bigint` outside the key", column.name.value),
            "declare it as \"bigint version default 0\"",
        );
    }
    check_enum_and_generation(v, column);
    if let Some(reference) = &decl.reference
        && let Some(action) = &reference.on_delete
        && action.value == crate::ir::OnDelete::SetNull
        && !decl.nullable
    {
        v.report(
            "spec::bad-on-delete",
            action.span.clone(),
            "the column is NOT NULL",
            format!("`set null` on `{}`, which cannot hold NULL", column.name.value),
            "make the column nullable (add `?` to its type) or use `cascade` / `restrict`",
        );
    }
    if let Some(default) = &decl.default {
        if let DefaultValue::Variant(name) = &default.value {
            match &decl.enumeration {
                Some(values) if values.value.iter().any(|x| &x.name.value == name) => {}
                Some(values) => {
                    let names: Vec<&str> = values.value.iter().map(|x| x.name.value.as_str()).collect();
                    v.report(
                        "spec::bad-default",
                        default.span.clone(),
                        "not a value of the enum",
                        format!("`{name}` is not a value of this enum"),
                        format!("use one of: {}", names.join(", ")),
                    );
                }
                None => v.report(
                    "spec::bad-default",
                    default.span.clone(),
                    "not an allowed default",
                    format!("`{name}` is not an allowed default"),
                    "use now(), gen_random_uuid(), a number, true, false, a 'quoted' literal or an (expression); bare names are for enum columns",
                ),
            }
        } else if decl.enumeration.is_some() && !matches!(default.value, DefaultValue::Expression(_)) {
            v.report(
                "spec::bad-default",
                default.span.clone(),
                "not a value name",
                "the default of an enum column is one of its values, by name",
                "write e.g. `default active`",
            );
        } else if let Some(expected) = default_mismatch(decl.ty.value, &default.value) {
            v.report(
                "spec::bad-default",
                default.span.clone(),
                format!("not {expected}"),
                format!("this default does not fit column type `{}`", type_name(decl.ty.value)),
                format!("use {expected}"),
            );
        }
    }
}

/// Enum columns take no array or key role that needs more than a CHECK; identity and generated
/// columns are filled by the database, so they take no default and no value from inserts.
fn check_enum_and_generation(v: &mut Validator<'_>, column: &RawColumn) {
    let decl = &column.decl;
    if let Some(identity) = &decl.identity {
        let integer = matches!(decl.ty.value, ColumnType::Scalar(t) if t.is_integer());
        if !integer || decl.nullable || decl.default.is_some() || decl.generated.is_some() {
            v.report(
                "spec::bad-identity",
                identity.clone(),
                "not a plain integer",
                format!("identity column `{}` must be a non-null int or bigint without default", column.name.value),
                "declare it as \"bigint pk identity\"",
            );
        }
    }
    if let Some(generated) = &decl.generated
        && (decl.default.is_some() || decl.primary_key.is_some() || decl.version.is_some())
    {
        v.report(
            "spec::bad-generated",
            generated.span.clone(),
            "generated column with a default or key role",
            format!("generated column `{}` cannot have a default, be part of the key or be a version", column.name.value),
            "a generated column is computed from others: drop `default`, `pk` and `version` from it",
        );
    }
    if let ColumnType::Scalar(ScalarType::TsVector) = decl.ty.value
        && decl.generated.is_none()
    {
        v.report(
            "spec::bad-generated",
            decl.ty.span.clone(),
            "tsvector that is not generated",
            format!("tsvector column `{}` must be generated from other columns", column.name.value),
            "write e.g. \"tsvector generated (to_tsvector('simple', title || ' ' || body))\" and index it with `using gin`",
        );
    }
}

/// What a default for this type must be, when the given one does not fit.
fn default_mismatch(ty: ColumnType, default: &DefaultValue) -> Option<&'static str> {
    use ScalarType::*;
    let fits = match (ty, default) {
        (_, DefaultValue::Expression(_)) => true,
        (ColumnType::Scalar(Real), DefaultValue::Number(_)) => true,
        (ColumnType::Scalar(Varchar(_) | Time | Interval | Real | Inet | Citext | Numeric(..)), DefaultValue::Literal(_)) => true,
        (ColumnType::Scalar(Numeric(..)), DefaultValue::Number(_)) => true,
        (ColumnType::Array(_), DefaultValue::Literal(l)) => l.starts_with('{') && l.ends_with('}'),
        (ColumnType::Array(_), _) => false,
        (ColumnType::Scalar(Timestamptz | Date), DefaultValue::Now) => true,
        (ColumnType::Scalar(Uuid), DefaultValue::RandomUuid) => true,
        (ColumnType::Scalar(Bool), DefaultValue::Bool(_)) => true,
        (ColumnType::Scalar(t), DefaultValue::Number(n)) if t.is_integer() => !n.contains('.'),
        (ColumnType::Scalar(Double), DefaultValue::Number(_)) => true,
        (ColumnType::Scalar(Text | Jsonb | Date | Timestamptz | Uuid), DefaultValue::Literal(_)) => true,
        _ => false,
    };
    if fits {
        return None;
    }
    Some(match ty {
        ColumnType::Array(_) => "an array literal such as '{}'",
        ColumnType::Scalar(Timestamptz | Date) => "now() or a 'quoted' literal",
        ColumnType::Scalar(Uuid) => "gen_random_uuid() or a 'quoted' literal",
        ColumnType::Scalar(Bool) => "true or false",
        ColumnType::Scalar(t) if t.is_integer() => "a whole number",
        ColumnType::Scalar(Double) => "a number",
        ColumnType::Scalar(Bytea) => "no default (bytea columns take none)",
        ColumnType::Scalar(_) => "a 'quoted' literal",
    })
}

pub fn type_name(ty: ColumnType) -> String {
    let name = |s: ScalarType| match s {
        ScalarType::Varchar(n) => format!("varchar({n})"),
        ScalarType::Numeric(p, s) => format!("numeric({p}, {s})"),
        other => ScalarType::ALL.iter().find(|(_, t)| *t == other).map_or("?", |(n, _)| n).to_string(),
    };
    match ty {
        ColumnType::Scalar(s) => name(s),
        ColumnType::Array(s) => format!("{}[]", name(s)),
    }
}

fn check_reference(v: &mut Validator<'_>, services: &[RawService], service: &RawService, column: &RawColumn, reference: &RawReference) {
    let segments: Vec<&Located<String>> = reference.segments.iter().collect();
    let (target_service, table_name, column_name) = match segments.as_slice() {
        [table, col] => (service, *table, *col),
        [svc, table, col] => {
            if svc.value == service.name.value {
                v.report(
                    "spec::self-qualified-reference",
                    svc.span.clone(),
                    "this service",
                    "a reference inside the same service names no service",
                    format!("write `-> {}.{}`: it becomes a foreign key", table.value, col.value),
                );
                return;
            }
            if let Some(action) = reference.on_delete.as_ref().filter(|a| a.value == crate::ir::OnDelete::Restrict) {
                v.report(
                    "spec::cross-service-cascade",
                    action.span.clone(),
                    "no restrict across services",
                    "`restrict` on a reference to another service: nothing here can stop the owner's delete",
                    "write `cascade` (delete these rows) or `set null` (clear the column) to follow the owner's `<table>.deleted` event, or nothing to keep the rows",
                );
            }
            match services.iter().find(|s| s.name.value == svc.value) {
                Some(target) => (target, *table, *col),
                None => {
                    let names: Vec<&str> = services.iter().map(|s| s.name.value.as_str()).collect();
                    let help =
                        closest(&svc.value, &names).map_or_else(|| format!("services: {}", names.join(", ")), |b| format!("did you mean `{b}`?"));
                    v.report("spec::unknown-service", svc.span.clone(), "no such service", format!("there is no service `{}`", svc.value), help);
                    return;
                }
            }
        }
        _ => return,
    };
    let Some(table) = target_service.tables.iter().find(|t| t.name.value == table_name.value) else {
        report_unknown_table(v, services, service, target_service, table_name, column_name);
        return;
    };
    let Some(target) = table.columns.iter().find(|c| c.name.value == column_name.value) else {
        check_column_exists(v, table, column_name);
        return;
    };
    if target.decl.ty.value != column.decl.ty.value {
        v.report(
            "spec::reference-type-mismatch",
            reference.span.clone(),
            format!("`{}` is {}", column_name.value, type_name(target.decl.ty.value)),
            format!("`{}` is {} but references a {} column", column.name.value, type_name(column.decl.ty.value), type_name(target.decl.ty.value)),
            "give both columns the same type",
        );
    }
    // A soft-deleting table's uniques hold among live rows only: no foreign key can use them.
    let soft = table.soft_delete.as_ref().is_some_and(|s| s.value) && target_service.name.value == service.name.value;
    let is_key = (target.decl.unique.is_some() && !soft)
        || (target.decl.primary_key.is_some() && table.columns.iter().filter(|c| c.decl.primary_key.is_some()).count() == 1);
    if !is_key {
        v.report(
            "spec::reference-to-non-key",
            column_name.span.clone(),
            "neither the primary key nor unique",
            format!("`{}.{}` is not a key, so it cannot be referenced", table_name.value, column_name.value),
            "reference the table's single-column primary key or a `unique` column",
        );
    }
}

fn report_unknown_table(
    v: &mut Validator<'_>,
    services: &[RawService],
    service: &RawService,
    target: &RawService,
    table: &Located<String>,
    column: &Located<String>,
) {
    let owner = services.iter().find(|s| s.tables.iter().any(|t| t.name.value == table.value));
    let (message, help) = match owner {
        Some(owner) if owner.name.value != target.name.value && target.name.value == service.name.value => (
            format!("table `{}` belongs to service `{}`, not `{}`", table.value, owner.name.value, service.name.value),
            format!("write `-> {}.{}.{}`: references across services are logical, never foreign keys", owner.name.value, table.value, column.value),
        ),
        Some(owner) => (
            format!("service `{}` owns no table `{}`", target.name.value, table.value),
            format!("`{}` is owned by `{}`", table.value, owner.name.value),
        ),
        None => {
            let names: Vec<&str> = target.tables.iter().map(|t| t.name.value.as_str()).collect();
            let hint = closest(&table.value, &names)
                .map_or_else(|| format!("tables of `{}`: {}", target.name.value, names.join(", ")), |b| format!("did you mean `{b}`?"));
            (format!("there is no table `{}`", table.value), hint)
        }
    };
    v.report("spec::unknown-table", table.span.clone(), "no such table here", message, help);
}

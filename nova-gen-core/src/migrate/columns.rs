//! Planning the changes of one column of a table that already holds rows: the safe form of each
//! (no volatile-default rewrite, NOT NULL through a validated check, batched backfills), and
//! which ones are destructive.

use super::ddl;
use super::plan::{Change, Phase, Refusal, Step, destroy_notes};
use crate::catalog::CatalogColumn;

fn step(phase: Phase, sql: String) -> Step {
    Step { phase, sql, notes: Vec::new(), squawk_ignore: None }
}

/// The column as first added: no NOT NULL, no default; both come in later steps.
fn bare(column: &CatalogColumn) -> CatalogColumn {
    CatalogColumn { not_null: false, default: None, ..column.clone() }
}

/// A new column on an existing table.
pub fn add_column(table: &str, column: &CatalogColumn) -> Change {
    let name = &column.name;
    let mut change = Change { summary: format!("adds column {table}.{name}"), slug: format!("add-{table}-{name}"), refusal: None, steps: Vec::new() };
    if column.generated.is_some() || column.identity.is_some() {
        let reason = format!("filling {table}.{name} for every existing row rewrites {table} under an ACCESS EXCLUSIVE lock (reads and writes wait)");
        change.steps.push(Step {
            phase: Phase::Transactional,
            sql: ddl::add_column(table, column),
            notes: destroy_notes(&reason),
            squawk_ignore: Some("adding-field-with-default"),
        });
        change.refusal = Some(Refusal::Destructive(reason));
    } else {
        match column.default.as_deref() {
            Some(default) if ddl::is_volatile(default) => add_with_volatile_default(table, column, default, &mut change),
            // PostgreSQL 11+ stores a non-volatile default once: no rewrite.
            Some(_) => change.steps.push(step(Phase::Transactional, ddl::add_column(table, column))),
            None if !column.not_null => change.steps.push(step(Phase::Transactional, ddl::add_column(table, column))),
            None => {
                let reason = format!(
                    "the new column {table}.{name} is NOT NULL without a default: existing rows have no value for it, so the migration fails if {table} holds any row (give it a default, or make it nullable)"
                );
                change.steps.push(Step {
                    phase: Phase::Transactional,
                    sql: ddl::add_column(table, column),
                    notes: destroy_notes(&reason),
                    squawk_ignore: Some("adding-required-field"),
                });
                change.refusal = Some(Refusal::Destructive(reason));
            }
        }
    }
    if let Some(first) = change.steps.first_mut()
        && first.squawk_ignore.is_none()
        && is_varchar(&column.sql_type)
    {
        first.notes.push(VARCHAR_NOTE.to_string());
        first.squawk_ignore = Some("prefer-text-field");
    }
    if let Some(comment) = &column.comment {
        change.steps.push(step(Phase::Transactional, ddl::comment_on_column(table, name, Some(comment))));
    }
    change
}

/// squawk prefers `text`; a `varchar(n)` is written because the spec declares it (a legacy
/// schema's type), and lengthening it later is binary-coercible (no rewrite, see below).
pub const VARCHAR_NOTE: &str = "varchar(n) as the spec declares; a longer limit later needs no rewrite.";

pub fn is_varchar(sql_type: &str) -> bool {
    sql_type.starts_with("VARCHAR")
}

/// Adding a column with a volatile default would compute it for every row under an exclusive
/// lock. Instead: add it bare, set the default for new rows, fill old rows in batches.
fn add_with_volatile_default(table: &str, column: &CatalogColumn, default: &str, change: &mut Change) {
    let name = &column.name;
    change.steps.push(Step {
        phase: Phase::Transactional,
        sql: ddl::add_column(table, &bare(column)),
        notes: vec![format!("{default} differs per row: added bare and filled in batches, not by rewriting {table} under lock.")],
        squawk_ignore: None,
    });
    change.steps.push(step(Phase::Transactional, ddl::set_default(table, name, Some(default))));
    if column.not_null {
        change.steps.push(step(Phase::Transactional, ddl::add_constraint(table, &ddl::not_null_check(table, name), true)));
    }
    change.steps.push(step(Phase::Online, ddl::backfill(table, name, default)));
    if column.not_null {
        change.steps.extend(not_null_from_check(table, name));
    }
}

/// `SET NOT NULL` once a validated check proves it: PostgreSQL then skips the scan under its
/// exclusive lock. The helper check goes afterwards.
fn not_null_from_check(table: &str, column: &str) -> Vec<Step> {
    let check = ddl::not_null_check_name(table, column);
    vec![
        step(Phase::Validate, ddl::validate_constraint(table, &check)),
        step(Phase::Validate, ddl::alter_column(table, column, "SET NOT NULL")),
        Step {
            phase: Phase::Validate,
            sql: ddl::drop_constraint(table, &check),
            notes: vec![format!("The helper check is redundant once {table}.{column} is NOT NULL.")],
            squawk_ignore: Some("ban-drop-constraint"),
        },
    ]
}

/// Changes to a column present before and after.
pub fn alter_column(table: &str, before: &CatalogColumn, after: &CatalogColumn) -> Vec<Change> {
    let mut changes = Vec::new();
    let name = &after.name;
    if before.generated != after.generated || before.identity != after.identity {
        changes.push(Change {
            summary: format!("changes how {table}.{name} is generated"),
            slug: format!("alter-{table}-{name}"),
            refusal: Some(Refusal::Unsupported(format!(
                "nova-gen cannot change a generated or identity column in place ({table}.{name}): add a new column, move the data, drop the old one"
            ))),
            steps: Vec::new(),
        });
    }
    if before.sql_type != after.sql_type {
        changes.push(change_type(table, before, after));
    } else if before.default != after.default {
        let mut set = step(Phase::Transactional, ddl::set_default(table, name, after.default.as_deref()));
        if after.default.is_none() {
            set.notes =
                vec![format!("The spec removes the default of {table}.{name}: inserts give a value (the generated repository requires one).")];
            set.squawk_ignore = Some("ban-drop-default");
        }
        changes.push(Change {
            summary: format!("{} the default of {table}.{name}", if after.default.is_none() { "drops" } else { "changes" }),
            slug: format!("alter-{table}-{name}-default"),
            refusal: None,
            steps: vec![set],
        });
    }
    if before.not_null && !after.not_null {
        changes.push(Change {
            summary: format!("makes {table}.{name} nullable"),
            slug: format!("make-{table}-{name}-optional"),
            refusal: None,
            steps: vec![Step {
                phase: Phase::Transactional,
                sql: ddl::alter_column(table, name, "DROP NOT NULL"),
                notes: vec![format!("The spec makes {table}.{name} optional; the repositories generated from the same spec read it as an Option.")],
                squawk_ignore: Some("ban-drop-not-null"),
            }],
        });
    }
    if !before.not_null && after.not_null {
        changes.push(set_not_null(table, after));
    }
    changes
}

/// How a type change treats the values already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeChange {
    /// Binary-coercible: no rewrite, no check (`VARCHAR(n)` to a longer one or to `TEXT`).
    Free,
    /// Every value fits, but the table is rewritten under an ACCESS EXCLUSIVE lock.
    Widening,
    /// Values are converted: some may not fit, precision may be lost.
    Conversion,
}

fn classify_type_change(from: &str, to: &str) -> TypeChange {
    let varchar_length = |t: &str| t.strip_prefix("VARCHAR(").and_then(|r| r.strip_suffix(')')).and_then(|n| n.parse::<u32>().ok());
    match (from, to) {
        (f, "TEXT") if varchar_length(f).is_some() => TypeChange::Free,
        (f, t) if varchar_length(f).zip(varchar_length(t)).is_some_and(|(a, b)| b >= a) => TypeChange::Free,
        ("SMALLINT", "INTEGER" | "BIGINT") | ("INTEGER", "BIGINT") | ("REAL", "DOUBLE PRECISION") => TypeChange::Widening,
        _ => TypeChange::Conversion,
    }
}

fn change_type(table: &str, before: &CatalogColumn, after: &CatalogColumn) -> Change {
    let name = &after.name;
    let (from, to) = (&before.sql_type, &after.sql_type);
    let kind = classify_type_change(from, to);
    let reason = match kind {
        TypeChange::Free => String::new(),
        TypeChange::Widening => format!(
            "changing {table}.{name} from {from} to {to} rewrites {table} under an ACCESS EXCLUSIVE lock (reads and writes wait until it ends); for a large table add a new column, backfill it and switch instead"
        ),
        TypeChange::Conversion => format!(
            "converting {table}.{name} from {from} to {to} fails on values that do not convert and may lose precision, and rewrites {table} under an ACCESS EXCLUSIVE lock"
        ),
    };
    let mut steps = Vec::new();
    // A default of the old type may not convert: set it again for the new type.
    if before.default.is_some() {
        steps.push(Step {
            phase: Phase::Transactional,
            sql: ddl::set_default(table, name, None),
            notes: vec![format!(
                "The default of the old type may not convert; {} in the same transaction.",
                if after.default.is_some() { "set again below" } else { "the spec gives none" }
            )],
            squawk_ignore: Some("ban-drop-default"),
        });
    }
    let notes =
        if kind == TypeChange::Free { vec![format!("{from} to {to} is binary-coercible: no rewrite, no scan.")] } else { destroy_notes(&reason) };
    steps.push(Step { phase: Phase::Transactional, sql: ddl::change_type(table, name, to), notes, squawk_ignore: Some("changing-column-type") });
    if let Some(default) = &after.default {
        steps.push(step(Phase::Transactional, ddl::set_default(table, name, Some(default))));
    }
    Change {
        summary: format!("changes the type of {table}.{name} from {from} to {to}"),
        slug: format!("alter-{table}-{name}-type"),
        refusal: (kind != TypeChange::Free).then_some(Refusal::Destructive(reason)),
        steps,
    }
}

/// NOT NULL on a column that may hold NULLs: a check added NOT VALID, NULLs filled with the
/// default (when there is one), the check validated, then SET NOT NULL without a scan.
fn set_not_null(table: &str, column: &CatalogColumn) -> Change {
    let name = &column.name;
    let mut steps = vec![step(Phase::Transactional, ddl::add_constraint(table, &ddl::not_null_check(table, name), true))];
    let refusal = match &column.default {
        Some(default) => {
            steps.push(Step {
                phase: Phase::Online,
                sql: ddl::backfill(table, name, default),
                notes: vec![format!("Existing NULLs in {table}.{name} become the default, {default}.")],
                squawk_ignore: None,
            });
            None
        }
        None => Some(Refusal::Destructive(format!(
            "the column {table}.{name} becomes NOT NULL without a default: the migration fails while any row holds NULL there (set those rows first; the migration does not)"
        ))),
    };
    if let Some(Refusal::Destructive(reason)) = &refusal {
        steps[0].notes = destroy_notes(reason);
    }
    steps.extend(not_null_from_check(table, name));
    Change { summary: format!("makes {table}.{name} NOT NULL"), slug: format!("require-{table}-{name}"), refusal, steps }
}

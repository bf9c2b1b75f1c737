//! The planner: the difference between the catalog a service's history has produced and the
//! catalog its spec describes, as ordered changes, each made of SQL steps written the way that
//! does not lock a live table (see the README's "Safe patterns").
//!
//! Steps fall into three phases, rendered as up to three migration files:
//! - [`Phase::Transactional`]: metadata-only changes, new tables, constraints added `NOT VALID`
//!   (one transaction, atomic);
//! - [`Phase::Online`]: index builds and drops `CONCURRENTLY`, batched backfills (a
//!   `-- no-transaction` file whose every statement can be re-run);
//! - [`Phase::Validate`]: `VALIDATE CONSTRAINT`, constraints over the indexes built online,
//!   `SET NOT NULL` over a validated check (one transaction, after the others committed:
//!   validating in the transaction that added the constraint would hold its lock for the scan).
//!
//! The order is fixed and independent of how the spec was edited: foreign keys, constraints
//! and indexes that go away first, then tables and columns that go away, new tables, new
//! columns, changed columns, new constraints, new indexes, comments; tables by name, columns
//! in table order, constraints and indexes by name.

use std::collections::BTreeMap;

use super::ddl;
use crate::catalog::{Catalog, CatalogColumn, CatalogTable, Constraint, ConstraintKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Transactional,
    Online,
    Validate,
}

/// One SQL statement of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub phase: Phase,
    pub sql: String,
    /// Comment lines written above the statement.
    pub notes: Vec<String>,
    /// A squawk rule this statement breaks on purpose (the notes say why).
    pub squawk_ignore: Option<&'static str>,
}

/// Why a change is not written without being asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Destroys or may reject existing data, or rewrites a table under an exclusive lock:
    /// written only with `--allow-destructive`. The text says what it destroys.
    Destructive(String),
    /// nova cannot write it (yet): never written.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What the spec does, as a verb phrase: `adds column posts.pinned`.
    pub summary: String,
    /// A migration name for this change alone: `add-posts-pinned`.
    pub slug: String,
    pub refusal: Option<Refusal>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The steps of one phase, in change order.
    pub fn steps(&self, phase: Phase) -> impl Iterator<Item = &Step> {
        self.changes.iter().flat_map(|c| c.steps.iter()).filter(move |s| s.phase == phase)
    }

    /// The changes with a summary of their own (see [`part_of_another`]).
    pub fn described(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.summary.is_empty())
    }

    /// A migration name to suggest: the change's own for a single change.
    pub fn suggested_name(&self) -> String {
        let described: Vec<&Change> = self.described().collect();
        match described.as_slice() {
            [only] => only.slug.clone(),
            _ => "update-schema".to_string(),
        }
    }
}

/// The changes that turn `from` into `to`.
pub fn plan(from: &Catalog, to: &Catalog) -> Plan {
    let mut planner = Planner { from, to, changes: Vec::new() };
    planner.create_extensions();
    planner.drop_foreign_keys();
    planner.drop_constraints();
    planner.drop_indexes();
    planner.drop_tables();
    planner.drop_columns();
    planner.create_tables();
    planner.add_columns();
    planner.alter_columns();
    planner.add_constraints();
    planner.create_indexes();
    planner.comments();
    planner.drop_extensions();
    Plan { changes: planner.changes }
}

struct Planner<'a> {
    from: &'a Catalog,
    to: &'a Catalog,
    changes: Vec<Change>,
}

fn step(phase: Phase, sql: String) -> Step {
    Step { phase, sql, notes: Vec::new(), squawk_ignore: None }
}

/// A statement squawk flags, written deliberately: the notes say why.
fn deliberate(phase: Phase, sql: String, rule: &'static str, notes: Vec<String>) -> Step {
    Step { phase, sql, notes, squawk_ignore: Some(rule) }
}

/// Steps that belong to a change described elsewhere in the plan (the drop half of a
/// redefinition): no summary of their own.
fn part_of_another(steps: Vec<Step>) -> Change {
    Change { summary: String::new(), slug: String::new(), refusal: None, steps }
}

fn change(summary: String, slug: String, steps: Vec<Step>) -> Change {
    Change { summary, slug, refusal: None, steps }
}

fn destructive(summary: String, slug: String, reason: String, steps: Vec<Step>) -> Change {
    Change { summary, slug, refusal: Some(Refusal::Destructive(reason)), steps }
}

fn is_foreign_key(constraint: &Constraint) -> bool {
    matches!(constraint.kind, ConstraintKind::ForeignKey { .. })
}

impl<'a> Planner<'a> {
    /// Extensions a new column type needs, before any table or column uses them. `citext` is
    /// a trusted extension (PostgreSQL 13+): the owner role that runs migrations may create it.
    fn create_extensions(&mut self) {
        for name in self.to.extensions.difference(&self.from.extensions) {
            let steps = vec![step(Phase::Transactional, ddl::create_extension(name))];
            self.changes.push(change(format!("adds extension {name}"), format!("add-{name}"), steps));
        }
    }

    /// Extensions no column needs any more, once the columns that used them are gone.
    fn drop_extensions(&mut self) {
        for name in self.from.extensions.difference(&self.to.extensions) {
            let notes = vec![format!(
                "No column of this database uses the {name} extension any more; the service's database holds nothing but its migrations' objects."
            )];
            let steps = vec![deliberate(Phase::Transactional, ddl::drop_extension(name), "ban-drop-extension", notes)];
            self.changes.push(change(format!("drops extension {name}"), format!("drop-{name}"), steps));
        }
    }

    /// Tables present on both sides, by name.
    fn kept_tables(&self) -> impl Iterator<Item = (&'a String, &'a CatalogTable, &'a CatalogTable)> {
        let to = self.to;
        self.from.tables.iter().filter_map(move |(name, old)| to.tables.get(name).map(|new| (name, old, new)))
    }

    fn dropped_tables(&self) -> impl Iterator<Item = (&'a String, &'a CatalogTable)> {
        let to = self.to;
        self.from.tables.iter().filter(move |(name, _)| !to.tables.contains_key(*name))
    }

    fn created_tables(&self) -> impl Iterator<Item = (&'a String, &'a CatalogTable)> {
        let from = self.from;
        self.to.tables.iter().filter(move |(name, _)| !from.tables.contains_key(*name))
    }

    /// Foreign keys removed or redefined on kept tables, and those of dropped tables (so that
    /// dropped tables can go in any order).
    fn drop_foreign_keys(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for (name, constraint) in old.constraints.iter().filter(|(_, c)| is_foreign_key(c)) {
                let replaced = new.constraints.get(name).is_some_and(|n| n != constraint);
                if !new.constraints.contains_key(name) || replaced {
                    let verb = if replaced { "changes" } else { "drops" };
                    let notes =
                        vec![format!("The spec {} foreign key {name}; no row changes.", if replaced { "redefines" } else { "no longer declares" })];
                    // A redefined key is added back below: only one change for it.
                    let steps = vec![deliberate(Phase::Transactional, ddl::drop_constraint(table, name), "ban-drop-constraint", notes)];
                    if replaced {
                        changes.push(part_of_another(steps));
                    } else {
                        changes.push(change(format!("{verb} foreign key {name}"), format!("drop-{name}"), steps));
                    }
                }
            }
        }
        for (table, old) in self.dropped_tables() {
            for name in old.constraints.iter().filter(|(_, c)| is_foreign_key(c)).map(|(n, _)| n) {
                let notes = vec![format!("Table {table} is dropped below; its foreign keys go first so that tables can be dropped in any order.")];
                changes.push(part_of_another(vec![deliberate(
                    Phase::Transactional,
                    ddl::drop_constraint(table, name),
                    "ban-drop-constraint",
                    notes,
                )]));
            }
        }
        self.changes.extend(changes);
    }

    /// Unique, check and primary-key constraints removed or redefined on kept tables.
    fn drop_constraints(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            if old.primary_key != new.primary_key
                && let Some(pk) = &old.primary_key
            {
                changes.push(self.primary_key_change(table, pk, new));
            }
            for (name, constraint) in old.constraints.iter().filter(|(_, c)| !is_foreign_key(c)) {
                match new.constraints.get(name) {
                    Some(same) if same == constraint => {}
                    // Redefined: dropped here, added back (NOT VALID, then validated) below.
                    Some(_) => changes.push(part_of_another(vec![deliberate(
                        Phase::Transactional,
                        ddl::drop_constraint(table, name),
                        "ban-drop-constraint",
                        vec![format!("The spec redefines {name}; the new definition is added below and validated.")],
                    )])),
                    None => match replacing_unique_index(constraint, new) {
                        Some(index) => changes.push(narrow_unique(table, name, index)),
                        None => changes.push(drop_guarantee(table, name, constraint)),
                    },
                }
            }
        }
        self.changes.extend(changes);
    }

    fn primary_key_change(&self, table: &str, old: &Constraint, new: &CatalogTable) -> Change {
        let reason = format!("changing the primary key of {table} changes row identity (foreign keys and clients that use it break)");
        let steps = vec![deliberate(Phase::Transactional, ddl::drop_constraint(table, &old.name), "ban-drop-constraint", destroy_notes(&reason))];
        let mut change = destructive(format!("changes the primary key of {table}"), format!("rekey-{table}"), reason, steps);
        if let Some(pk) = &new.primary_key
            && let ConstraintKind::PrimaryKey { columns } = &pk.kind
        {
            change.steps.push(step(Phase::Online, ddl::drop_index_concurrently(&pk.name)));
            change.steps.push(step(Phase::Online, ddl::constraint_index_concurrently(table, &pk.name, columns)));
            change.steps.push(step(Phase::Validate, ddl::add_constraint_using_index(table, pk)));
        }
        change
    }

    /// Indexes removed from kept tables (redefined ones are dropped where they are rebuilt).
    fn drop_indexes(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for name in old.indexes.keys().filter(|name| !new.indexes.contains_key(*name)) {
                // Dropping a column drops its indexes; nothing to do for those.
                let notes = vec![format!("No longer declared on {table}; dropped without blocking writes.")];
                changes.push(change(
                    format!("drops index {name}"),
                    format!("drop-{name}"),
                    vec![Step { phase: Phase::Online, sql: ddl::drop_index_concurrently(name), notes, squawk_ignore: None }],
                ));
            }
        }
        self.changes.extend(changes);
    }

    fn drop_tables(&mut self) {
        let mut changes = Vec::new();
        for (table, _) in self.dropped_tables() {
            let reason = format!("destroys every row of {table}");
            let steps = vec![deliberate(Phase::Transactional, ddl::drop_table(table), "ban-drop-table", destroy_notes(&reason))];
            changes.push(destructive(format!("drops table {table}"), format!("drop-{table}"), reason, steps));
        }
        self.changes.extend(changes);
    }

    fn drop_columns(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for column in old.columns.iter().filter(|c| !new.columns.iter().any(|n| n.name == c.name)) {
                let reason = format!("destroys every value of {table}.{} (and the indexes and constraints that use it)", column.name);
                let steps = vec![deliberate(Phase::Transactional, ddl::drop_column(table, &column.name), "ban-drop-column", destroy_notes(&reason))];
                changes.push(destructive(format!("drops column {table}.{}", column.name), format!("drop-{table}-{}", column.name), reason, steps));
            }
        }
        self.changes.extend(changes);
    }

    /// New tables are empty: created whole, indexes built plainly; their foreign keys are
    /// added with the other constraints, once every table exists.
    fn create_tables(&mut self) {
        let mut changes = Vec::new();
        for (name, table) in self.created_tables() {
            let mut create = step(Phase::Transactional, ddl::create_table(name, table));
            if table.columns.iter().any(|c| super::columns::is_varchar(&c.sql_type)) {
                create.notes.push(super::columns::VARCHAR_NOTE.to_string());
            }
            let mut steps = vec![create];
            steps.extend(
                table.indexes.iter().map(|(index, definition)| step(Phase::Transactional, ddl::create_index(name, index, definition, false))),
            );
            if let Some(comment) = &table.comment {
                steps.push(step(Phase::Transactional, ddl::comment_on_table(name, Some(comment))));
            }
            for column in table.columns.iter().filter(|c| c.comment.is_some()) {
                steps.push(step(Phase::Transactional, ddl::comment_on_column(name, &column.name, column.comment.as_deref())));
            }
            changes.push(change(format!("adds table {name}"), format!("add-{name}"), steps));
        }
        self.changes.extend(changes);
    }

    fn add_columns(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for column in new.columns.iter().filter(|c| !old.columns.iter().any(|o| o.name == c.name)) {
                changes.push(super::columns::add_column(table, column));
            }
        }
        self.changes.extend(changes);
    }

    fn alter_columns(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for column in &new.columns {
                if let Some(before) = old.columns.iter().find(|o| o.name == column.name) {
                    changes.extend(super::columns::alter_column(table, before, column));
                }
            }
        }
        self.changes.extend(changes);
    }

    /// Constraints new or redefined: on kept tables added without a scan under lock (NOT VALID
    /// then VALIDATE; unique ones over an index built concurrently); foreign keys of new tables
    /// plainly (the new table is empty).
    fn add_constraints(&mut self) {
        let mut changes = Vec::new();
        let empty = BTreeMap::new();
        for (table, new) in &self.to.tables {
            let old = self.from.tables.get(table);
            let existing = old.map_or(&empty, |o| &o.constraints);
            let mut added: Vec<&Constraint> = new.constraints.values().filter(|c| existing.get(&c.name) != Some(*c)).collect();
            if old.is_none() {
                added.retain(|c| is_foreign_key(c));
            }
            // Unique constraints first: a new foreign key may rely on one.
            added.sort_by_key(|c| (is_foreign_key(c), c.name.clone()));
            for constraint in added {
                let redefined = existing.contains_key(&constraint.name);
                changes.push(add_constraint(table, constraint, old.is_some(), redefined));
            }
        }
        self.changes.extend(changes);
    }

    fn create_indexes(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            for (name, index) in &new.indexes {
                let redefined = old.indexes.get(name).is_some_and(|o| o != index);
                if old.indexes.contains_key(name) && !redefined {
                    continue;
                }
                let steps = vec![
                    Step {
                        phase: Phase::Online,
                        sql: ddl::drop_index_concurrently(name),
                        notes: vec![if redefined {
                            format!("The spec redefines {name}: rebuilt without blocking writes.")
                        } else {
                            "Re-runnable: a build that failed part way leaves an INVALID index, dropped here.".to_string()
                        }],
                        squawk_ignore: None,
                    },
                    step(Phase::Online, ddl::create_index(table, name, index, true)),
                ];
                let (verb, slug) = if redefined { ("changes", "rebuild") } else { ("adds", "add") };
                changes.push(change(format!("{verb} index {name}"), format!("{slug}-{name}"), steps));
            }
        }
        self.changes.extend(changes);
    }

    fn comments(&mut self) {
        let mut changes = Vec::new();
        for (table, old, new) in self.kept_tables() {
            if old.comment != new.comment {
                let steps = vec![step(Phase::Transactional, ddl::comment_on_table(table, new.comment.as_deref()))];
                changes.push(change(format!("changes the comment of table {table}"), format!("document-{table}"), steps));
            }
            for column in &new.columns {
                let before = old.columns.iter().find(|o| o.name == column.name);
                // A new column's comment comes with the column.
                if before.is_some_and(|b| b.comment != column.comment) {
                    let steps = vec![step(Phase::Transactional, ddl::comment_on_column(table, &column.name, column.comment.as_deref()))];
                    changes.push(change(
                        format!("changes the comment of {table}.{}", column.name),
                        format!("document-{table}-{}", column.name),
                        steps,
                    ));
                }
            }
        }
        self.changes.extend(changes);
    }
}

/// A partial unique index over exactly the columns of a dropped unique constraint: the
/// guarantee moves to the rows the predicate selects (a soft-deleting table's live rows).
fn replacing_unique_index<'t>(constraint: &Constraint, new: &'t CatalogTable) -> Option<&'t String> {
    let ConstraintKind::Unique { columns } = &constraint.kind else { return None };
    new.indexes.iter().find(|(_, i)| i.unique && i.predicate.is_some() && i.method == "btree" && &i.keys == columns).map(|(name, _)| name)
}

/// The unique constraint goes only once its partial replacement is built (the index is built
/// concurrently in the online file, the constraint dropped in the validate file), so that no
/// moment is without a guarantee for live rows.
fn narrow_unique(table: &str, name: &str, index: &str) -> Change {
    let notes = vec![format!(
        "{index} (built above, without blocking writes) keeps these values of {table} unique among the rows its predicate selects; {name} held among all rows."
    )];
    let steps = vec![deliberate(Phase::Validate, ddl::drop_constraint(table, name), "ban-drop-constraint", notes)];
    change(format!("narrows unique constraint {name} to {index}"), format!("narrow-{name}"), steps)
}

/// The comment lines above a destructive statement.
pub fn destroy_notes(reason: &str) -> Vec<String> {
    vec![format!("DESTRUCTIVE (written with --allow-destructive): {reason}.")]
}

/// A unique or check constraint the spec no longer declares.
fn drop_guarantee(table: &str, name: &str, constraint: &Constraint) -> Change {
    let (what, consequence) = match &constraint.kind {
        ConstraintKind::Unique { columns } => ("unique constraint", format!("duplicate values of ({}) become possible", columns.join(", "))),
        ConstraintKind::Check { expression } => ("check", format!("rows violating ({expression}) become possible")),
        _ => ("constraint", "the guarantee it gave is gone".to_string()),
    };
    let reason = format!("drops the {what} {name}: {consequence}, and code that relies on it breaks");
    let steps = vec![deliberate(Phase::Transactional, ddl::drop_constraint(table, name), "ban-drop-constraint", destroy_notes(&reason))];
    destructive(format!("drops {what} {name}"), format!("drop-{name}"), reason, steps)
}

fn add_constraint(table: &str, constraint: &Constraint, table_exists: bool, redefined: bool) -> Change {
    let kind = describe(constraint);
    let summary = format!("{} {kind} {}", if redefined { "changes" } else { "adds" }, constraint.name);
    let slug = format!("{}-{}", if redefined { "change" } else { "add" }, constraint.name);
    if !table_exists {
        return change(summary, slug, vec![step(Phase::Transactional, ddl::add_constraint(table, constraint, false))]);
    }
    let steps = match &constraint.kind {
        ConstraintKind::Unique { columns } => vec![
            Step {
                phase: Phase::Online,
                sql: ddl::drop_index_concurrently(&constraint.name),
                notes: vec!["The unique index is built without blocking writes, then becomes the constraint.".to_string()],
                squawk_ignore: None,
            },
            step(Phase::Online, ddl::constraint_index_concurrently(table, &constraint.name, columns)),
            step(Phase::Validate, ddl::add_constraint_using_index(table, constraint)),
        ],
        // Primary keys are handled with their drop (see `primary_key_change`).
        ConstraintKind::PrimaryKey { .. } => Vec::new(),
        ConstraintKind::Check { .. } | ConstraintKind::ForeignKey { .. } => vec![
            step(Phase::Transactional, ddl::add_constraint(table, constraint, true)),
            step(Phase::Validate, ddl::validate_constraint(table, &constraint.name)),
        ],
    };
    change(summary, slug, steps)
}

fn describe(constraint: &Constraint) -> &'static str {
    match constraint.kind {
        ConstraintKind::PrimaryKey { .. } => "primary key",
        ConstraintKind::Unique { .. } => "unique constraint",
        ConstraintKind::Check { .. } => "check",
        ConstraintKind::ForeignKey { .. } => "foreign key",
    }
}

/// The catalog a plan leaves behind: `to`, with the columns of kept tables in the order the
/// database holds them (kept columns where they were, new ones appended in spec order).
pub fn resulting_catalog(from: &Catalog, to: &Catalog) -> Catalog {
    let mut result = to.clone();
    for (name, table) in result.tables.iter_mut() {
        let Some(old) = from.tables.get(name) else { continue };
        let position = |column: &CatalogColumn| old.columns.iter().position(|o| o.name == column.name).unwrap_or(usize::MAX);
        // A stable sort keeps new columns (all at usize::MAX) in spec order.
        table.columns.sort_by_key(position);
    }
    result
}

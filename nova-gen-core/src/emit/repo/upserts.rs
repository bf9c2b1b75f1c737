//! Inserts that meet an existing row on purpose: `insert_if_absent` (`ON CONFLICT DO NOTHING`:
//! a retried or concurrent first write inserts once) and `upsert` (`ON CONFLICT DO UPDATE`: one
//! statement, so two writers never both insert and no read-then-write race exists). Each is
//! offered for the primary key and for every declared unique (`_by_<columns>`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Statements, binds, field, sql, types};
use crate::emit::doc_lines;
use crate::ir::{Table, UnknownColumn};

/// A conflict target: the function suffix (`""` or `_by_a_and_b`), its columns, and whether
/// it is the primary key.
struct Target<'a> {
    suffix: String,
    columns: Vec<&'a str>,
    primary: bool,
}

fn targets(table: &Table) -> Vec<Target<'_>> {
    let primary = Target { suffix: String::new(), columns: table.primary_key.iter().map(String::as_str).collect(), primary: true };
    let uniques = table.uniques.iter().map(|unique| Target {
        suffix: format!("_by_{}", unique.join("_and_")),
        columns: unique.iter().map(String::as_str).collect(),
        primary: false,
    });
    std::iter::once(primary).chain(uniques).collect()
}

/// `(a, b)`, with the live condition on a soft-deleting table's uniques: those are partial
/// unique indexes (`WHERE deleted_at IS NULL`), which PostgreSQL infers only from a target
/// that repeats the predicate. The primary key is a plain constraint on every row.
fn conflict_target(table: &Table, target: &Target<'_>) -> String {
    let columns = target.columns.join(", ");
    match table.live_condition() {
        Some(live) if !target.primary => format!("({columns}) WHERE {live}"),
        _ => format!("({columns})"),
    }
}

/// `INSERT ... ON CONFLICT <target> DO NOTHING RETURNING <columns>`: a row only when inserted.
pub fn insert_if_absent_sql(table: &Table, target: &str) -> String {
    let insert = sql::insert(table);
    let (head, returning) = insert.split_once(" RETURNING ").unwrap_or((insert.as_str(), ""));
    format!("{head} ON CONFLICT {target} DO NOTHING RETURNING {returning}")
}

/// The `SET` list of an upsert: every column `New` gives that an update may change (see
/// [`sql::patch_columns`]) and that is not part of the conflict target. A column `New` leaves
/// to its default (`None`) keeps the stored value: the default is for new rows. The touch column
/// is stamped and the version bumped, as by `update`; counters and immutable columns keep theirs.
/// Empty when nothing would change.
pub fn upsert_set_list(table: &Table, target: &[&str]) -> Vec<String> {
    let inserted = sql::insert_columns(table);
    let flags = sql::defaulted_nullable(table);
    let t = &table.name;
    let mut sets: Vec<String> = Vec::new();
    for column in sql::patch_columns(table) {
        let c = column.name.as_str();
        if target.contains(&c) {
            continue;
        }
        let Some(position) = inserted.iter().position(|i| i.name == c) else { continue };
        let value = position + 1;
        let set = match &column.default {
            Some(_) if column.nullable => {
                let flag = inserted.len() + 1 + flags.iter().position(|f| f.name == c).unwrap_or(0);
                format!("{c} = CASE WHEN ${flag} THEN {t}.{c} ELSE ${value} END")
            }
            Some(_) => format!("{c} = COALESCE(${value}, {t}.{c})"),
            None => format!("{c} = EXCLUDED.{c}"),
        };
        sets.push(set);
    }
    if sets.is_empty() {
        return sets;
    }
    if let Some(touch) = &table.touch_column {
        sets.push(format!("{touch} = now()"));
    }
    if let Some(version) = &table.version_column {
        sets.push(format!("{version} = {t}.{version} + 1"));
    }
    sets
}

/// `INSERT ... ON CONFLICT <target> DO UPDATE SET ... RETURNING (xmax = 0), <columns>`: a new
/// row version has no deleting transaction (`xmax = 0`) only when it was inserted; an updated
/// one carries the updating transaction there.
pub fn upsert_sql(table: &Table, target: &str, sets: &[String]) -> String {
    let insert = sql::insert(table);
    let (head, returning) = insert.split_once(" RETURNING ").unwrap_or((insert.as_str(), ""));
    format!("{head} ON CONFLICT {target} DO UPDATE SET {} RETURNING (xmax = 0), {returning}", sets.join(", "))
}

/// The binds of `sql::insert`, for the `New` named `new`. A nullable column with a default
/// holds `Option<Option<T>>`: bound as the inner value, with its flag (after the values)
/// saying "use the default".
pub(crate) fn insert_binds(table: &Table) -> TokenStream {
    let values = sql::insert_columns(table).into_iter().map(|c| {
        let name = field(c);
        if c.nullable && c.default.is_some() {
            if types::is_copy_column(c) { quote!(new.#name.flatten()) } else { quote!(new.#name.as_ref().and_then(|v| v.as_ref())) }
        } else {
            types::field_ref(&quote!(new), c)
        }
    });
    let flags = sql::defaulted_nullable(table).into_iter().map(|c| {
        let name = field(c);
        quote!(new.#name.is_none())
    });
    binds(values.chain(flags))
}

fn nullable_note(table: &Table, target: &Target<'_>) -> Result<Option<String>, UnknownColumn> {
    let nullable = table.columns_named(target.columns.iter().copied())?.iter().any(|c| c.nullable);
    Ok(nullable.then(|| "A NULL in the key conflicts with nothing: such a row is always inserted.".to_string()))
}

pub fn insert_if_absent_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    let bound = insert_binds(table);
    let functions = targets(table).into_iter().map(|target| {
        let name = format!("insert_if_absent{}", target.suffix);
        let sql = statements.add(&name, insert_if_absent_sql(table, &conflict_target(table, &target)));
        let function = format_ident!("{}", name);
        let mut doc = vec![format!(
            "Inserts the row unless one with the same `{}` exists: the stored row when inserted, `None` when not (read it with `{}`).",
            target.columns.join(", "),
            if target.primary { "get".to_string() } else { format!("find{}", target.suffix) }
        )];
        doc.push(
            "Retried or concurrent first writes insert exactly once, and none fails; a conflict on another unique is still an error.".to_string(),
        );
        if target.primary && table.soft_delete {
            doc.push("A deleted row still holds its key: it counts as existing.".to_string());
        }
        doc.extend(nullable_note(table, &target)?);
        let doc = doc_lines(&doc, false);
        Ok(quote! {
            #doc
            pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, new: &New) -> RepoResult<Option<Row>> {
                let row = sqlx::query(#sql) #bound .fetch_optional(db).await.map_err(db_error)?;
                row.map(|r| Row::decode(&r, 0)).transpose().map_err(db_error)
            }
        })
    });
    let functions = functions.collect::<Result<Vec<_>, UnknownColumn>>()?;
    Ok(quote! { #(#functions)* })
}

/// `INSERT ... ON CONFLICT (<key>) DO UPDATE SET <key> = EXCLUDED.<key> RETURNING (xmax = 0),
/// <columns>`. The update writes nothing new; it is there because `DO NOTHING` returns no row
/// on a conflict, and a second statement to read the first row would not see one a concurrent
/// request committed after this statement's snapshot: `DO UPDATE` waits for it and returns it.
pub fn insert_idempotent_sql(table: &Table, key: &str) -> String {
    let target = Target { suffix: String::new(), columns: vec![key], primary: table.is_primary_key(key) };
    let insert = sql::insert(table);
    let (head, returning) = insert.split_once(" RETURNING ").unwrap_or((insert.as_str(), ""));
    format!("{head} ON CONFLICT {} DO UPDATE SET {key} = EXCLUDED.{key} RETURNING (xmax = 0), {returning}", conflict_target(table, &target))
}

/// `insert_idempotent`, for a table with an `idempotency_key`: a retried request gets its first
/// row back (and `false`) instead of a second row or a unique violation.
pub fn insert_idempotent_fn(table: &Table, statements: &mut Statements) -> TokenStream {
    let Some(key) = table.idempotency_key.as_deref() else { return TokenStream::new() };
    let sql = statements.add("insert_idempotent", insert_idempotent_sql(table, key));
    let bound = insert_binds(table);
    let doc = doc_lines(
        &[
            format!(
                "Inserts the row once per `{key}`: the stored row and `true` when inserted, or the row an earlier request with the same `{key}` stored and `false` (its values, not `new`'s: compare them to tell a retry from a reused id)."
            ),
            "Concurrent requests with one id insert exactly once and all get that row; a conflict on another unique is still an error.".to_string(),
        ],
        false,
    );
    quote! {
        #doc
        pub async fn insert_idempotent<'e>(db: impl sqlx::PgExecutor<'e>, new: &New) -> RepoResult<(Row, bool)> {
            let row = sqlx::query(#sql) #bound .fetch_one(db).await.map_err(db_error)?;
            let created: bool = row.try_get(0).map_err(db_error)?;
            Ok((Row::decode(&row, 1).map_err(db_error)?, created))
        }
    }
}

/// `upsert` and `upsert_by_<unique>`. None for append-only tables (never updated), for targets
/// whose rows have nothing to change, and by the primary key of a soft-deleting table: the key
/// conflicts with deleted rows too, and updating one would bring it back half-deleted.
pub fn upsert_fns(table: &Table, statements: &mut Statements) -> Result<TokenStream, UnknownColumn> {
    if table.append_only {
        return Ok(TokenStream::new());
    }
    let bound = insert_binds(table);
    let functions = targets(table).into_iter().filter(|t| !(t.primary && table.soft_delete)).map(|target| {
        let sets = upsert_set_list(table, &target.columns);
        if sets.is_empty() {
            return Ok(None);
        }
        let name = format!("upsert{}", target.suffix);
        let sql = statements.add(&name, upsert_sql(table, &conflict_target(table, &target), &sets));
        let function = format_ident!("{}", name);
        let mut doc = vec![
            format!(
                "Inserts the row, or updates the one with the same `{}` in the same statement; returns the stored row and `true` when it was inserted.",
                target.columns.join(", ")
            ),
            "On update, the columns `new` leaves to their default (`None`) keep their values, as do the key, counters and immutable columns; every other column takes `new`'s value, NULL included. A conflict on another unique is still an error.".to_string(),
        ];
        doc.extend(nullable_note(table, &target)?);
        let doc = doc_lines(&doc, false);
        Ok(Some(quote! {
            #doc
            pub async fn #function<'e>(db: impl sqlx::PgExecutor<'e>, new: &New) -> RepoResult<(Row, bool)> {
                let row = sqlx::query(#sql) #bound .fetch_one(db).await.map_err(db_error)?;
                let inserted: bool = row.try_get(0).map_err(db_error)?;
                Ok((Row::decode(&row, 1).map_err(db_error)?, inserted))
            }
        }))
    });
    let functions = functions.collect::<Result<Vec<Option<TokenStream>>, UnknownColumn>>()?.into_iter().flatten();
    Ok(quote! { #(#functions)* })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::repo::sql::tests::{column, table};
    use crate::ir::{DefaultValue, ScalarType};

    fn target<'a>(columns: &[&'a str], primary: bool) -> Target<'a> {
        Target { suffix: String::new(), columns: columns.to_vec(), primary }
    }

    #[test]
    fn upserts_update_the_given_columns_and_keep_defaulted_ones() {
        let posts = table();
        let sets = upsert_set_list(&posts, &["id"]);
        // `likes` is a counter and `created_at` immutable: kept; `updated_at` is the touch column.
        assert_eq!(sets, ["body = EXCLUDED.body", "pinned_at = EXCLUDED.pinned_at", "updated_at = now()", "version = posts.version + 1"]);
        let sql = upsert_sql(&posts, &conflict_target(&posts, &target(&["id"], true)), &sets);
        assert!(sql.contains(" ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, "), "{sql}");
        assert!(sql.ends_with(" RETURNING (xmax = 0), id, body, pinned_at, likes, created_at, updated_at, version"), "{sql}");
    }

    #[test]
    fn a_default_left_out_keeps_the_stored_value_and_a_null_flag_is_honoured() {
        let mut posts = table();
        posts.columns.push(column("title", ScalarType::Text, false, Some(DefaultValue::Literal("untitled".into()))));
        posts.columns.push(column("rank", ScalarType::Int, true, Some(DefaultValue::Number("5".into()))));
        let sets = upsert_set_list(&posts, &["id"]);
        // `title` is the 7th inserted column; `rank`'s flag follows the 8 values.
        assert!(sets.contains(&"title = COALESCE($7, posts.title)".to_string()), "{sets:?}");
        assert!(sets.contains(&"rank = CASE WHEN $9 THEN posts.rank ELSE $8 END".to_string()), "{sets:?}");
    }

    #[test]
    fn nothing_to_update_means_no_upsert() {
        let mut pairs = table();
        pairs.columns.truncate(2);
        pairs.primary_key = vec!["id".into(), "body".into()];
        pairs.version_column = None;
        assert!(upsert_set_list(&pairs, &["id", "body"]).is_empty());
        assert!(upsert_fns(&pairs, &mut Statements::default()).unwrap().is_empty());
    }

    #[test]
    fn live_uniques_are_targeted_with_their_predicate() {
        let mut posts = table();
        posts.soft_delete = true;
        assert_eq!(conflict_target(&posts, &target(&["body"], false)), "(body) WHERE deleted_at IS NULL");
        assert_eq!(conflict_target(&posts, &target(&["id"], true)), "(id)", "the primary key is a plain constraint");
        let sql = insert_if_absent_sql(&posts, "(body) WHERE deleted_at IS NULL");
        assert!(sql.contains(") ON CONFLICT (body) WHERE deleted_at IS NULL DO NOTHING RETURNING id, body, "), "{sql}");
    }

    #[test]
    fn idempotent_inserts_return_the_existing_row_through_a_no_op_update() {
        let mut posts = table();
        posts.columns.push(column("request_id", ScalarType::Uuid, false, None));
        posts.uniques = vec![vec!["request_id".into()]];
        let sql = insert_idempotent_sql(&posts, "request_id");
        assert!(sql.contains(" ON CONFLICT (request_id) DO UPDATE SET request_id = EXCLUDED.request_id RETURNING (xmax = 0), id, "), "{sql}");
        // On a soft-deleting table the unique is a partial index over live rows: the target says so.
        posts.soft_delete = true;
        let sql = insert_idempotent_sql(&posts, "request_id");
        assert!(sql.contains(" ON CONFLICT (request_id) WHERE deleted_at IS NULL DO UPDATE "), "{sql}");
        // Only tables that declare a key get the function.
        posts.idempotency_key = None;
        assert!(insert_idempotent_fn(&posts, &mut Statements::default()).is_empty());
        posts.idempotency_key = Some("request_id".into());
        assert!(insert_idempotent_fn(&posts, &mut Statements::default()).to_string().contains("insert_idempotent"));
    }
}

//! Reads `specs/ownership.toml` into the located [`RawSpec`]: shapes and syntaxes only.
//! Whether names resolve (tables, columns, RPCs, services) is `validate`'s job.

use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::load::column::parse_column;
use crate::load::scan::{self, Inside};
use crate::load::toml_read::Reader;
use crate::raw::{
    RawBreaker, RawColumn, RawColumnList, RawDefaults, RawForeignKey, RawKey, RawPerId, RawPolicy, RawRetry, RawRetryBudget, RawRetryParams, RawRpc,
    RawService, RawSlo, RawSpec, RawTable, RawTargetPolicy,
};
use crate::source::{Located, SourceFile};

const SERVICE_KEYS: [&str; 16] = [
    "proto",
    "database",
    "port",
    "calls",
    "allow_cycle",
    "checks_users",
    "publishes",
    "consumes",
    "slo",
    "deadline",
    "retry",
    "stale_if_error",
    "breaker",
    "retry_budget",
    "rpc",
    "tables",
];
const DEFAULTS_KEYS: [&str; 8] = ["deadline", "retry", "stale_if_error", "breaker", "retry_budget", "slo", "access", "token_issuer"];
const RPC_KEYS: [&str; 13] = [
    "cache",
    "stale_if_error",
    "entity",
    "deadline",
    "retry",
    "fail_closed",
    "slo",
    "access",
    "permission",
    "services",
    "acting",
    "shared",
    "per_id",
];
const PER_ID_KEYS: [&str; 5] = ["items", "id", "missing", "single", "max"];
const BREAKER_KEYS: [&str; 7] = ["window", "min_calls", "failure_rate", "slow_call", "slow_rate", "open_for", "half_open_calls"];
const BUDGET_KEYS: [&str; 2] = ["max_tokens", "token_ratio"];
const SLO_KEYS: [&str; 4] = ["p95", "error_rate", "for", "severity"];
const RETRY_KEYS: [&str; 4] = ["max_attempts", "initial_backoff", "max_backoff", "multiplier"];
const TABLE_KEYS: [&str; 9] = ["doc", "columns", "unique", "indexes", "checks", "soft_delete", "foreign_keys", "append_only", "idempotency_key"];

/// Parses the file. TOML syntax errors are fatal (the structure is unknown); problems with
/// single values are returned beside the spec, which then lacks those values, so that the
/// semantic rules can still run and every problem is reported in one go.
pub fn read_ownership(file: &SourceFile) -> Result<(RawSpec, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (document, errors) = DeTable::parse_recoverable(&file.text);
    if !errors.is_empty() {
        return Err(first_syntax_errors(&errors).into_iter().map(|e| syntax_error(file, e)).collect());
    }
    let mut reader = Reader::new(file);
    let spec = read_document(&mut reader, document.get_ref());
    Ok((spec, reader.diagnostics))
}

/// The errors worth showing, in file order: every duplicate key up to the first real syntax
/// error, and that one. The parser's recovery cannot know where a broken construct (an inline
/// table missing its `}`) really ends, so everything after the first syntax error is usually an
/// echo of it (one missing brace gave hundreds of errors) and would bury the real one.
fn first_syntax_errors(errors: &[toml::de::Error]) -> Vec<&toml::de::Error> {
    let mut sorted: Vec<&toml::de::Error> = errors.iter().collect();
    sorted.sort_by_key(|e| e.span().map_or(0, |s| s.start));
    let mut shown = Vec::new();
    for error in sorted {
        shown.push(error);
        if !is_duplicate_key(error) {
            break;
        }
    }
    shown
}

fn is_duplicate_key(error: &toml::de::Error) -> bool {
    error.message().contains("duplicate key")
}

fn syntax_error(file: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim().to_string();
    let help = if is_duplicate_key(error) {
        "each key may appear only once; a table is owned by exactly one service, so it is declared once"
    } else {
        "fix the TOML syntax here (see https://toml.io); nova-gen stops at the first syntax error, so run it again afterwards"
    };
    match unclosed_inline_table_before(&file.text, span.start) {
        Some(end) => Diagnostic::new("spec::toml-syntax", "invalid TOML: an inline table is not closed")
            .in_file(file)
            .label(end..end, "`}` missing here?")
            .label(span, format!("noticed here: {message}"))
            .help("end the inline table with `}` (an inline table may span lines, so the parser only notices at the next key)"),
        None => Diagnostic::new("spec::toml-syntax", format!("invalid TOML: {message}")).in_file(file).label(span, message).help(help),
    }
}

/// Where the last line with content before `offset` ends, when that line opens more `{` than
/// it closes: an inline table missing its `}` is then reported at the next key ("missing
/// comma"), and the place to fix is the end of that line.
fn unclosed_inline_table_before(text: &str, offset: usize) -> Option<usize> {
    let mut line_end = text.get(..offset)?.rfind('\n')?;
    loop {
        let line_start = text[..line_end].rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..line_end].trim_end_matches('\r');
        let code = line.split('#').next().unwrap_or(line).trim_end();
        if !code.trim_start().is_empty() {
            return (code.matches('{').count() > code.matches('}').count()).then_some(line_start + code.len());
        }
        line_end = line_start.checked_sub(1)?;
    }
}

fn read_document(reader: &mut Reader<'_>, document: &DeTable<'_>) -> RawSpec {
    let mut defaults = RawDefaults::default();
    let mut services = Vec::new();
    for (key, value) in document.iter() {
        let name = key.get_ref().to_string();
        if name == "defaults" {
            if let Some((table, span)) = reader.as_table(value, "defaults") {
                reader.reject_unknown_keys(table, &DEFAULTS_KEYS, "[defaults]");
                defaults = RawDefaults {
                    span: Some(span),
                    token_issuer: reader.string(table, "token_issuer"),
                    policy: read_policy(reader, table),
                    target: read_target(reader, table),
                    slo: read_slo(reader, table),
                };
            }
            continue;
        }
        if let Some((table, _)) = reader.as_table(value, &name) {
            services.push(read_service(reader, Located::new(name, key.span()), table));
        }
    }
    RawSpec { file: reader.file.clone(), defaults, services }
}

fn read_service(reader: &mut Reader<'_>, name: Located<String>, table: &DeTable<'_>) -> RawService {
    reader.reject_unknown_keys(table, &SERVICE_KEYS, &format!("service `{}`", name.value));
    let mut rpcs = Vec::new();
    if let Some((rpc_table, _)) = reader.table(table, "rpc") {
        for (key, value) in rpc_table.iter() {
            let rpc_name = key.get_ref().to_string();
            if let Some((policy_table, _)) = reader.as_table(value, &format!("rpc.{rpc_name}")) {
                reader.reject_unknown_keys(policy_table, &RPC_KEYS, &format!("the policy of `{rpc_name}`"));
                rpcs.push(RawRpc {
                    name: Located::new(rpc_name, key.span()),
                    policy: read_policy(reader, policy_table),
                    slo: read_slo(reader, policy_table),
                });
            }
        }
    }
    let mut tables = Vec::new();
    if let Some((tables_table, _)) = reader.table(table, "tables") {
        for (key, value) in tables_table.iter() {
            let table_name = key.get_ref().to_string();
            if let Some((t, _)) = reader.as_table(value, &format!("tables.{table_name}")) {
                tables.push(read_table(reader, Located::new(table_name, key.span()), t));
            }
        }
    }
    RawService {
        proto: reader.string(table, "proto"),
        database: reader.string(table, "database"),
        port: reader.integer(table, "port"),
        calls: reader.strings(table, "calls"),
        allow_cycle: reader.strings(table, "allow_cycle"),
        checks_users: reader.boolean(table, "checks_users"),
        publishes: reader.strings(table, "publishes"),
        consumes: reader.strings(table, "consumes"),
        slo: read_slo(reader, table),
        policy: read_policy(reader, table),
        target: read_target(reader, table),
        name,
        rpcs,
        tables,
    }
}

fn read_policy(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawPolicy {
    RawPolicy {
        deadline: reader.duration(table, "deadline"),
        retry: read_retry(reader, table),
        cache: reader.duration(table, "cache"),
        stale_if_error: reader.duration(table, "stale_if_error"),
        entity: reader.string(table, "entity"),
        fail_closed: reader.boolean(table, "fail_closed"),
        access: reader.string(table, "access"),
        permission: reader.string(table, "permission"),
        services: table.get_key_value("services").map(|(_, value)| Located::new(reader.strings(table, "services"), value.span())),
        acting: reader.strings(table, "acting"),
        shared: reader.boolean(table, "shared"),
        per_id: reader.table(table, "per_id").map(|(per_id, span)| {
            reader.reject_unknown_keys(per_id, &PER_ID_KEYS, "`per_id`");
            let raw = RawPerId {
                items: reader.string(per_id, "items"),
                id: reader.string(per_id, "id"),
                missing: reader.string(per_id, "missing"),
                single: reader.string(per_id, "single"),
                max: reader.integer(per_id, "max"),
            };
            Located::new(raw, span)
        }),
    }
}

fn read_target(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawTargetPolicy {
    let breaker = reader.table(table, "breaker").map(|(breaker, span)| {
        reader.reject_unknown_keys(breaker, &BREAKER_KEYS, "`breaker`");
        let raw = RawBreaker {
            window: reader.integer(breaker, "window"),
            min_calls: reader.integer(breaker, "min_calls"),
            failure_rate: reader.percent(breaker, "failure_rate"),
            slow_call: reader.duration(breaker, "slow_call"),
            slow_rate: reader.percent(breaker, "slow_rate"),
            open_for: reader.duration(breaker, "open_for"),
            half_open_calls: reader.integer(breaker, "half_open_calls"),
        };
        Located::new(raw, span)
    });
    let retry_budget = reader.table(table, "retry_budget").map(|(budget, span)| {
        reader.reject_unknown_keys(budget, &BUDGET_KEYS, "`retry_budget`");
        Located::new(RawRetryBudget { max_tokens: reader.integer(budget, "max_tokens"), token_ratio: reader.float(budget, "token_ratio") }, span)
    });
    RawTargetPolicy { breaker, retry_budget }
}

fn read_retry(reader: &mut Reader<'_>, table: &DeTable<'_>) -> Option<Located<RawRetry>> {
    let (_, value) = table.get_key_value("retry")?;
    match value.get_ref() {
        DeValue::Boolean(false) => Some(Located::new(RawRetry::Disabled, value.span())),
        DeValue::Table(retry) => {
            reader.reject_unknown_keys(retry, &RETRY_KEYS, "`retry`");
            let params = RawRetryParams {
                max_attempts: reader.integer(retry, "max_attempts"),
                initial_backoff: reader.duration(retry, "initial_backoff"),
                max_backoff: reader.duration(retry, "max_backoff"),
                multiplier: reader.float(retry, "multiplier"),
            };
            Some(Located::new(RawRetry::Enabled(params), value.span()))
        }
        _ => {
            reader.error(
                "spec::wrong-type",
                value.span(),
                "expected a table or false",
                "`retry` must be a table of retry settings or `false`",
                "write `retry = false` to disable retries, or `retry = { max_attempts = 3 }` to change them",
            );
            None
        }
    }
}

fn read_slo(reader: &mut Reader<'_>, table: &DeTable<'_>) -> RawSlo {
    let Some((slo, _)) = reader.table(table, "slo") else { return RawSlo::default() };
    reader.reject_unknown_keys(slo, &SLO_KEYS, "`slo`");
    RawSlo {
        p95: reader.duration(slo, "p95"),
        error_rate: reader.percent(slo, "error_rate"),
        alert_for: reader.duration(slo, "for"),
        severity: reader.string(slo, "severity"),
    }
}

fn read_table(reader: &mut Reader<'_>, name: Located<String>, table: &DeTable<'_>) -> RawTable {
    reader.reject_unknown_keys(table, &TABLE_KEYS, &format!("table `{}`", name.value));
    let mut columns = Vec::new();
    if let Some((columns_table, _)) = reader.table(table, "columns") {
        for (key, value) in columns_table.iter() {
            let column_name = key.get_ref().to_string();
            let Some(text) = reader.as_string(value, &format!("columns.{column_name}")) else { continue };
            if let Some(decl) = parse_column(reader, &text.value, text.span) {
                columns.push(RawColumn { name: Located::new(column_name, key.span()), decl });
            }
        }
    }
    let uniques = reader.strings(table, "unique").iter().map(|s| read_column_list(reader, s)).collect();
    let indexes = reader.strings(table, "indexes").iter().map(|s| read_column_list(reader, s)).collect();
    let checks = reader.strings(table, "checks");
    for check in &checks {
        if check.value.trim().is_empty() {
            reader.error(
                "spec::bad-check",
                check.span.clone(),
                "empty",
                "a check needs a boolean expression",
                "write e.g. checks = [\"length(username) between 3 and 32\"]",
            );
        }
    }
    let checks = checks.into_iter().filter(|c| !c.value.trim().is_empty()).collect();
    let foreign_keys = reader.strings(table, "foreign_keys").iter().filter_map(|s| read_foreign_key(reader, s)).collect();
    let append_only = reader.boolean(table, "append_only");
    RawTable {
        append_only,
        doc: reader.string(table, "doc"),
        soft_delete: reader.boolean(table, "soft_delete"),
        idempotency_key: reader.string(table, "idempotency_key"),
        checks,
        foreign_keys,
        name,
        columns,
        uniques,
        indexes,
    }
}

/// `"a, lower(b) desc [using gin] [where <predicate>]"`: keys (column names, or expressions
/// holding a parenthesis) with an optional `asc`/`desc` each, an index method and a predicate.
fn read_column_list(reader: &mut Reader<'_>, text: &Located<String>) -> RawColumnList {
    let inside = Inside::new(&reader.file.text, &text.value, &text.span);
    let at = |start: usize, end: usize| inside.at(start, end);
    let value = text.value.as_str();
    let lower = value.to_ascii_lowercase();
    let where_at = scan::find_top_level(&lower, " where ");
    let keys_end = where_at.unwrap_or(value.len());
    let using_at = scan::find_top_level(&lower[..keys_end], " using ");
    let predicate = where_at.map(|w| {
        let start = w + " where ".len();
        let trimmed = value[start..].trim();
        let lead = value[start..].len() - value[start..].trim_start().len();
        Located::new(trimmed.to_string(), at(start + lead, start + lead + trimmed.len()))
    });
    let method = using_at.map(|u| {
        let start = u + " using ".len();
        let trimmed = value[start..keys_end].trim();
        Located::new(trimmed.to_ascii_lowercase(), at(start, start + trimmed.len()))
    });
    if let Some(m) = &method
        && !matches!(m.value.as_str(), "btree" | "gin")
    {
        reader.error(
            "spec::bad-column-list",
            m.span.clone(),
            "unknown index method",
            format!("`using {}` is not supported", m.value),
            "write `using gin` (jsonb, arrays, tsvector) or leave it out for a btree",
        );
    }
    if predicate.as_ref().is_some_and(|p| p.value.is_empty()) {
        reader.error(
            "spec::bad-column-list",
            text.span.clone(),
            "empty predicate",
            "`where` needs a condition",
            "write e.g. \"email where deleted_at is null\"",
        );
    }
    let keys_text = &value[..using_at.unwrap_or(keys_end)];
    let mut columns = Vec::new();
    for (offset, part) in scan::split_top_level(keys_text, |b| b == b',') {
        let leading = part.len() - part.trim_start().len();
        let start = offset + leading;
        let span = at(start, start + part.trim().len());
        let trimmed = part.trim();
        let (key, descending) = match trimmed.rsplit_once(char::is_whitespace) {
            Some((k, order)) if order.eq_ignore_ascii_case("desc") => (k.trim(), true),
            Some((k, order)) if order.eq_ignore_ascii_case("asc") => (k.trim(), false),
            _ => (trimmed, false),
        };
        let expression = key.contains('(');
        if key.is_empty() || (!expression && key.split_whitespace().count() != 1) {
            reader.error(
                "spec::bad-column-list",
                span,
                "expected a column name",
                format!("`{trimmed}` is not a column name or an expression with an optional asc/desc"),
                "separate keys with commas, e.g. \"conversation_id, created_at desc\" or \"lower(email) where deleted_at is null\"",
            );
            continue;
        }
        let key_span = at(start, start + key.len());
        columns.push(RawKey { name: Located::new(key.to_string(), key_span), descending, expression });
    }
    RawColumnList { span: text.span.clone(), columns, method, predicate }
}

/// `"a, b -> t(c, d) [cascade | set null | restrict]"`.
fn read_foreign_key(reader: &mut Reader<'_>, text: &Located<String>) -> Option<RawForeignKey> {
    let inside = Inside::new(&reader.file.text, &text.value, &text.span);
    let at = |start: usize, end: usize| inside.at(start, end);
    let value = text.value.as_str();
    let names = |part: &str, base: usize| -> Vec<Located<String>> {
        let mut offset = base;
        let mut list = Vec::new();
        for name in part.split(',') {
            let lead = name.len() - name.trim_start().len();
            list.push(Located::new(name.trim().to_string(), at(offset + lead, offset + lead + name.trim().len())));
            offset += name.len() + 1;
        }
        list
    };
    let parsed = value.split_once("->").and_then(|(left, right)| {
        let right_start = left.len() + 2;
        let open = right.find('(')?;
        let close = right.find(')')?;
        let table = right[..open].trim();
        let table_start = right_start + right[..open].len() - right[..open].trim_start().len();
        let action = right[close + 1..].split_whitespace().collect::<Vec<_>>().join(" ");
        let action_start = right_start + close + 1 + (right[close + 1..].len() - right[close + 1..].trim_start().len());
        let on_delete = match action.as_str() {
            "" => None,
            "cascade" => Some(crate::ir::OnDelete::Cascade),
            "restrict" => Some(crate::ir::OnDelete::Restrict),
            "set null" => Some(crate::ir::OnDelete::SetNull),
            _ => return None,
        };
        Some(RawForeignKey {
            span: text.span.clone(),
            columns: names(left, 0),
            table: Located::new(table.to_string(), at(table_start, table_start + table.len())),
            target_columns: names(&right[open + 1..close], right_start + open + 1),
            on_delete: on_delete.map(|a| Located::new(a, at(action_start, action_start + action.len()))),
        })
    });
    if parsed.is_none() {
        reader.error(
            "spec::bad-foreign-key",
            text.span.clone(),
            "not a foreign key",
            format!("`{value}` is not a foreign key"),
            "write \"a, b -> table(c, d)\", optionally followed by cascade, set null or restrict",
        );
    }
    parsed
}

//! Reads `specs/ownership.toml` into the located [`RawSpec`]: shapes and syntaxes only.
//! Whether names resolve (tables, columns, RPCs, services) is `validate`'s job.

use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::load::column::parse_column;
use crate::load::toml_read::Reader;
use crate::raw::{
    RawBreaker, RawColumn, RawColumnList, RawDefaults, RawPolicy, RawRetry, RawRetryBudget, RawRetryParams, RawRpc, RawService, RawSlo, RawSpec,
    RawTable, RawTargetPolicy,
};
use crate::source::{Located, SourceFile, Span};

const SERVICE_KEYS: [&str; 13] =
    ["proto", "database", "port", "calls", "allow_cycle", "slo", "deadline", "retry", "stale_if_error", "breaker", "retry_budget", "rpc", "tables"];
const DEFAULTS_KEYS: [&str; 6] = ["deadline", "retry", "stale_if_error", "breaker", "retry_budget", "slo"];
const RPC_KEYS: [&str; 7] = ["cache", "stale_if_error", "entity", "deadline", "retry", "fail_closed", "slo"];
const BREAKER_KEYS: [&str; 7] = ["window", "min_calls", "failure_rate", "slow_call", "slow_rate", "open_for", "half_open_calls"];
const BUDGET_KEYS: [&str; 2] = ["max_tokens", "token_ratio"];
const SLO_KEYS: [&str; 4] = ["p95", "error_rate", "for", "severity"];
const RETRY_KEYS: [&str; 4] = ["max_attempts", "initial_backoff", "max_backoff", "multiplier"];
const TABLE_KEYS: [&str; 5] = ["doc", "columns", "unique", "indexes", "append_only"];

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
                rpcs.push(RawRpc { name: Located::new(rpc_name, key.span()), policy: read_policy(reader, policy_table), slo: read_slo(reader, policy_table) });
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
    let append_only = reader.boolean(table, "append_only");
    RawTable { doc: reader.string(table, "doc"), name, columns, uniques, indexes, append_only }
}

/// `"a, b desc"`: column names with an optional `asc`/`desc` each.
fn read_column_list(reader: &mut Reader<'_>, text: &Located<String>) -> RawColumnList {
    let verbatim = reader.file.text.get(text.span.start + 1..text.span.end.saturating_sub(1)) == Some(text.value.as_str());
    let at = |start: usize, end: usize| -> Span { if verbatim { text.span.start + 1 + start..text.span.start + 1 + end } else { text.span.clone() } };
    let mut columns = Vec::new();
    let mut offset = 0;
    for part in text.value.split(',') {
        let leading = part.len() - part.trim_start().len();
        let words: Vec<&str> = part.split_whitespace().collect();
        let start = offset + leading;
        let span = at(start, start + part.trim().len());
        match words.as_slice() {
            [name] => columns.push((Located::new(name.to_string(), span), false)),
            [name, order] if *order == "asc" || *order == "desc" => {
                columns.push((Located::new(name.to_string(), at(start, start + name.len())), *order == "desc"));
            }
            _ => reader.error(
                "spec::bad-column-list",
                span,
                "expected a column name",
                format!("`{}` is not a column name with an optional asc/desc", part.trim()),
                "separate columns with commas, e.g. \"conversation_id, created_at desc\"",
            ),
        }
        offset += part.len() + 1;
    }
    RawColumnList { span: text.span.clone(), columns }
}

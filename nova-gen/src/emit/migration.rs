//! `migrations/<service>/0001_init.sql`: the schema of a service's own database, from the spec,
//! rendered through the askama template `templates/migration.sql`.

use askama::Template;

use crate::emit::{EmitError, Header};
use crate::ir::{Column, ColumnType, DefaultValue, OnDelete, Reference, ScalarType, Service, Table};

#[derive(Template)]
#[template(path = "migration.sql", escape = "none")]
struct MigrationView<'a> {
    header: String,
    service: &'a str,
    database: &'a str,
    tables: Vec<TableView>,
    foreign_keys: Vec<String>,
}

struct TableView {
    name: String,
    /// Column definitions and table constraints, in order.
    lines: Vec<String>,
    /// Indexes and comments that follow the table.
    statements: Vec<String>,
}

pub fn emit_initial_migration(service: &Service) -> Result<String, EmitError> {
    let view = MigrationView {
        header: Header::Sql.text(),
        service: &service.name,
        database: &service.database,
        tables: service.tables.iter().map(table_view).collect(),
        foreign_keys: service.tables.iter().flat_map(foreign_keys).collect(),
    };
    let mut text = view.render().map_err(|e| EmitError::new(format!("rendering the migration of {}: {e}", service.name)))?;
    text.push('\n');
    Ok(text)
}

fn table_view(table: &Table) -> TableView {
    let mut lines: Vec<String> = table.columns.iter().map(column_line).collect();
    lines.push(format!("CONSTRAINT {}_pkey PRIMARY KEY ({})", table.name, table.primary_key.join(", ")));
    for unique in &table.uniques {
        lines.push(format!("CONSTRAINT {}_{}_key UNIQUE ({})", table.name, unique.join("_"), unique.join(", ")));
    }
    let mut statements: Vec<String> = table
        .indexes
        .iter()
        .map(|index| {
            let names: Vec<&str> = index.columns.iter().map(|c| c.name.as_str()).collect();
            let columns: Vec<String> = index.columns.iter().map(|c| if c.descending { format!("{} DESC", c.name) } else { c.name.clone() }).collect();
            format!("CREATE INDEX {}_{}_idx ON {} ({});", table.name, names.join("_"), table.name, columns.join(", "))
        })
        .collect();
    if let Some(doc) = &table.doc {
        statements.push(format!("COMMENT ON TABLE {} IS {};", table.name, string_literal(doc)));
    }
    for column in &table.columns {
        if let Some(Reference::Remote { service, table: target, column: target_column }) = &column.reference {
            let comment = format!(
                "Logical reference to {service}.{target}.{target_column}: no foreign key across services; checked through the {service} service's API."
            );
            statements.push(format!("COMMENT ON COLUMN {}.{} IS {};", table.name, column.name, string_literal(&comment)));
        }
    }
    TableView { name: table.name.clone(), lines, statements }
}

fn column_line(column: &Column) -> String {
    let mut line = format!("{} {}", column.name, sql_type(column.ty));
    if !column.nullable {
        line.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        line.push_str(" DEFAULT ");
        line.push_str(&default_sql(default));
    }
    line
}

fn foreign_keys(table: &Table) -> Vec<String> {
    table
        .columns
        .iter()
        .filter_map(|column| match &column.reference {
            Some(Reference::Local { table: target, column: target_column, on_delete }) => Some(format!(
                "ALTER TABLE {} ADD CONSTRAINT {}_{}_fkey FOREIGN KEY ({}) REFERENCES {target} ({target_column}){};",
                table.name,
                table.name,
                column.name,
                column.name,
                match on_delete {
                    OnDelete::Cascade => " ON DELETE CASCADE",
                    OnDelete::Restrict => "",
                }
            )),
            _ => None,
        })
        .collect()
}

pub fn sql_type(ty: ColumnType) -> String {
    let scalar = |s: ScalarType| match s {
        ScalarType::Uuid => "UUID",
        ScalarType::Text => "TEXT",
        ScalarType::Bool => "BOOLEAN",
        ScalarType::SmallInt => "SMALLINT",
        ScalarType::Int => "INTEGER",
        ScalarType::BigInt => "BIGINT",
        ScalarType::Double => "DOUBLE PRECISION",
        ScalarType::Timestamptz => "TIMESTAMPTZ",
        ScalarType::Date => "DATE",
        ScalarType::Jsonb => "JSONB",
        ScalarType::Bytea => "BYTEA",
    };
    match ty {
        ColumnType::Scalar(s) => scalar(s).to_string(),
        ColumnType::Array(s) => format!("{}[]", scalar(s)),
    }
}

pub fn default_sql(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Now => "now()".to_string(),
        DefaultValue::RandomUuid => "gen_random_uuid()".to_string(),
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Literal(l) => string_literal(l),
    }
}

/// `'text'`, with quotes doubled.
fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

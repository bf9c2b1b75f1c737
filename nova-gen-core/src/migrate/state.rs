//! `migrations/<service>/schema.json`: the catalog the service's migration history produces,
//! written by `nova-gen migrate` with every migration, so that `check` and `migrate` know it
//! without a database. A test applies every history to a real PostgreSQL and compares.

use super::MigrateError;
use crate::catalog::Catalog;

const WRITTEN_BY: &str = "nova-gen migrate: the schema the migrations of this directory produce. Do not edit.";

#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile {
    written_by: String,
    #[serde(flatten)]
    catalog: Catalog,
}

/// Pretty JSON with a trailing newline; maps are ordered, so the text is deterministic.
pub fn render(catalog: &Catalog) -> Result<String, MigrateError> {
    let file = StateFile { written_by: WRITTEN_BY.to_string(), catalog: catalog.clone() };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| MigrateError::Render(format!("writing schema state: {e}")))?;
    text.push('\n');
    Ok(text)
}

pub fn parse(text: &str) -> Result<Catalog, serde_json::Error> {
    serde_json::from_str::<StateFile>(text).map(|f| f.catalog)
}

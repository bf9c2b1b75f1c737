//! `src/db.rs`: the service's migrations, embedded, and how to open its database.

use quote::quote;

use crate::emit::{EmitError, rust_file};
use crate::ir::Service;
use crate::layout::out;
use crate::load::migrations::MigrationFile;

pub fn emit_db(service: &Service, migrations: &[&MigrationFile]) -> Result<String, EmitError> {
    let entries = migrations.iter().map(|m| {
        let version = m.version;
        let description = &m.description;
        // Relative to generated/<service>/src/db.rs.
        let path = format!("../../../{}/{}", out::migrations(&service.name), m.file_name);
        quote! {
            Migration { version: #version, description: #description, sql: include_str!(#path) },
        }
    });
    rust_file(quote! {
        //! The service's own database: its migrations (from migrations/<service>/, embedded at
        //! build time) and the connection that applies them.
        use ::nova_runtime::codegen::sqlx::PgPool;
        use ::nova_runtime::db::{DatabaseConfig, DbError, Migration};

        /// Every migration of the service, in version order.
        pub static MIGRATIONS: &[Migration] = &[#(#entries)*];

        /// Connects to the service's database (creating it if the config allows) and applies
        /// pending migrations.
        pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, DbError> {
            ::nova_runtime::db::connect_and_migrate(config, MIGRATIONS).await
        }
    })
}

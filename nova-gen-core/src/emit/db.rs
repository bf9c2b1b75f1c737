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
        let no_transaction = m.no_transaction;
        // Relative to generated/<service>/src/db.rs.
        let path = format!("../../../{}/{}", out::migrations(&service.name), m.file_name);
        quote! {
            Migration { version: #version, description: #description, sql: include_str!(#path), no_transaction: #no_transaction },
        }
    });
    rust_file(quote! {
        //! The service's own database: its migrations (from migrations/<service>/, embedded at
        //! build time), the pool the service uses, and the connection that applies them.
        use ::nova_runtime::codegen::sqlx::PgPool;
        use ::nova_runtime::db::{Database, DatabaseConfig, DbError, Migration};

        /// Every migration of the service, in version order.
        pub static MIGRATIONS: &[Migration] = &[#(#entries)*];

        /// The service's database, without connecting: the server waits for it, creates it if
        /// the config allows, and applies pending migrations once it answers.
        pub fn open(config: &DatabaseConfig) -> Result<Database, DbError> {
            Database::open(config, MIGRATIONS)
        }

        /// Connects to the service's database now (creating it if the config allows) and
        /// applies pending migrations; fails at once when it is unreachable.
        pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, DbError> {
            ::nova_runtime::db::connect_and_migrate(config, MIGRATIONS).await
        }
    })
}

//! Phase 1: databases and roles (`db up`), and what each service is started with.

use crate::db::secrets::Secrets;
use crate::db::{self, DbNames, Server};
use crate::emit::names;
use crate::layout::Layout;
use crate::{Analysis, Failure};

use super::DevOptions;

/// One service as `dev` runs it.
#[derive(Debug, Clone)]
pub struct DevService {
    pub name: String,
    /// The cargo package of its binary (`nova-auth-service`).
    pub package: String,
    pub grpc_port: u16,
    /// `/metrics` is served on the gRPC port + 1000 (see `ServiceConfig`).
    pub metrics_port: u16,
    /// Set for the child on top of the caller's environment.
    pub env: Vec<(String, String)>,
}

/// Runs `db up` (printing one line per service) and returns the services in spec order with
/// their environment: the least-privilege login role's URL (the database exists and is
/// migrated, so the service neither creates nor migrates it) and a data directory under the
/// repository's `var/`.
pub fn provision(layout: &Layout, analysis: &Analysis, options: &DevOptions) -> Result<Vec<DevService>, Failure> {
    println!("dev: provisioning databases on {}", redact(&options.db_url));
    let (report, _) = db::commands::up(analysis, &options.db_url, None, &options.secrets)?;
    // The first line of each service's block says what changed; the rest (URLs) is for `db up`.
    for line in report.lines().filter(|line| !line.starts_with(' ')) {
        println!("  {line}");
    }
    let server = Server::parse(&options.db_url).map_err(Failure::Internal)?;
    let mut secrets = Secrets::load(&options.secrets).map_err(Failure::Internal)?;
    let mut services = Vec::new();
    for service in &analysis.spec.services {
        let mut env = vec![(
            "NOVA_DATA_DIR".to_string(),
            layout.root.join("var").join(&service.name).display().to_string(),
        )];
        if service.database.is_some() {
            let names = DbNames::of(service, None);
            let password = secrets.password(&names.service, &names.login);
            env.push(("NOVA_DATABASE_URL".to_string(), login_url(&server, &names, &password)));
            env.push(("NOVA_DATABASE_CREATE".to_string(), "false".to_string()));
        }
        services.push(DevService {
            name: service.name.clone(),
            package: names::handwritten_package(service),
            grpc_port: service.port,
            metrics_port: service.port.saturating_add(1000),
            env,
        });
    }
    Ok(services)
}

/// The login role's URL with its password (generated passwords are alphanumeric).
fn login_url(server: &Server, names: &DbNames, password: &str) -> String {
    server.url_for(&names.login, &names.database).replace("<password>", password)
}

/// `postgres://user:secret@host` without the secret, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://admin:hunter2@db:5432"), "postgres://admin:***@db:5432");
        assert_eq!(redact("postgres://postgres@127.0.0.1:5432"), "postgres://postgres@127.0.0.1:5432");
    }
}

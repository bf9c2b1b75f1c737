//! Phase 1: databases and roles (`db up`), the local CA and certificates (`pki`), a Redis user,
//! and what each service is started with (NATS's URL among it).

use crate::db::secrets::Secrets;
use crate::db::{self, DbNames, Server};
use nova_gen_core::layout::Layout;
use nova_gen_core::names;
use nova_gen_core::{Analysis, Failure};

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

/// What `dev` runs: the services, and the environment of a client of the system (the seeder,
/// or anyone trying it) acting as the edge.
#[derive(Debug, Clone)]
pub struct DevSystem {
    pub services: Vec<DevService>,
    pub client_env: Vec<(String, String)>,
    pub pki: super::pki::Pki,
}

/// The Redis user `dev`'s services reach the cache as, allowed only the `nova:` keys and channel.
const REDIS_USER: &str = "nova-dev";

/// Runs `db up` (printing one line per service), makes or reuses the local CA and the
/// certificates, a Redis user of the services' own, and returns the services in spec order
/// with their environment: the least-privilege login role's URL (the database exists and is
/// migrated, so the service neither creates nor migrates it), a data directory under the
/// repository's `var/`, its certificate, the Redis URL with credentials, the cache sealing key,
/// `nats_url` (`NOVA_NATS_URL`, see [`super::nats`]) and, for the token issuer, the key its
/// signing keys are encrypted with.
pub fn provision(layout: &Layout, analysis: &Analysis, options: &DevOptions, nats_url: &str) -> Result<DevSystem, Failure> {
    println!("dev: provisioning databases on {}", redact(&options.db_url));
    let (report, _) = db::commands::up(analysis, &options.db_url, None, &options.secrets)?;
    // The first line of each service's block says what changed; the rest (URLs) is for `db up`.
    for line in report.lines().filter(|line| !line.starts_with(' ')) {
        println!("  {line}");
    }
    let server = Server::parse(&options.db_url).map_err(|e| Failure::Command(e.into()))?;
    let mut secrets = Secrets::load(&options.secrets).map_err(|e| Failure::Command(e.into()))?;
    let names: Vec<String> = analysis.spec.services.iter().map(|s| s.name.clone()).collect();
    let pki = super::pki::ensure(&layout.root, &names)?;
    let redis_url = redis_user(&options.redis_url, &mut secrets);
    // Every service (and the seeder) seals cached entries with the same key, so that replicas
    // and callers share them.
    let shared = vec![("NOVA_REDIS_URL".to_string(), redis_url), ("NOVA_CACHE_KEY".to_string(), secrets.key("cache"))];
    let mut services = Vec::new();
    for service in &analysis.spec.services {
        let mut env = vec![("NOVA_DATA_DIR".to_string(), layout.root.join("var").join(&service.name).display().to_string())];
        env.extend(pki.env(&pki.service(&service.name)));
        env.extend(shared.iter().cloned());
        env.push(("NOVA_NATS_URL".to_string(), nats_url.to_string()));
        if analysis.spec.token_issuer == Some(service.id) {
            env.push(("NOVA_AUTH_KEY_ENCRYPTION_KEY".to_string(), secrets.key("auth-key-encryption")));
        }
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
    secrets.save().map_err(|e| Failure::Command(e.into()))?;
    let mut client_env = pki.env(&pki.edge);
    client_env.extend(shared);
    Ok(DevSystem { services, client_env, pki })
}

/// The URL the services reach Redis with: as a user of their own (`ACL SETUSER` through
/// `admin_url`, keys and channels under `nova:` only, no dangerous commands), or, when Redis
/// cannot create one (no ACLs, no rights), `admin_url` itself with a warning.
fn redis_user(admin_url: &str, secrets: &mut Secrets) -> String {
    let password = secrets.named_password(&format!("redis:{REDIS_USER}"));
    let created = redis::Client::open(admin_url).and_then(|client| client.get_connection()).and_then(|mut connection| {
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg(REDIS_USER)
            .arg("reset")
            .arg("on")
            .arg(format!(">{password}"))
            .arg("~nova:*")
            .arg("&nova:*")
            .arg("+@all")
            .arg("-@dangerous")
            .arg("+info")
            .query::<()>(&mut connection)
    });
    match created {
        Ok(()) => {
            let host = admin_url.strip_prefix("redis://").unwrap_or(admin_url);
            let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
            format!("redis://{REDIS_USER}:{password}@{host}")
        }
        Err(error) => {
            println!("dev: warning: cannot create the Redis user {REDIS_USER} ({error}); the services use {}", redact(admin_url));
            admin_url.to_string()
        }
    }
}

/// The login role's URL with its password (generated passwords are alphanumeric).
fn login_url(server: &Server, names: &DbNames, password: &str) -> String {
    server.url_for(&names.login, &names.database).replace("<password>", password)
}

/// `postgres://user:secret@host` without the secret, for printing.
pub(super) fn redact(url: &str) -> String {
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

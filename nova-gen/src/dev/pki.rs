//! Phase 1b: the local certificate authority and certificates `dev` runs the services with, so
//! that a laptop runs the same mutual TLS as production (where cert-manager issues them). Kept
//! under `.nova/pki/` (git-ignored), reused across runs: a CA, one certificate per service
//! (`spiffe://nova.local/svc/<name>`, DNS `nova-<name>`), and `edge` (`.../client/edge`) for
//! whatever fronts end users: the seeder, grpcurl, a test client.

use std::path::{Path, PathBuf};

use nova_runtime::identity::Peer;
use nova_runtime::tls::mint::Authority;
use nova_runtime::tls::{TlsError, TlsMaterial};

use nova_gen_core::Failure;

/// Where `dev` keeps them, relative to the repository root.
pub const DIR: &str = ".nova/pki";

/// Why the local CA or a certificate could not be made or loaded. Everything under [`DIR`] is
/// made again when missing, so deleting the directory is always a way out.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot create {}: {source}; check the permissions of the repository's .nova directory", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}; check its permissions and the free disk space", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot make the private key {} readable by its owner only: {source}; keep the repository on a file system with Unix permissions", path.display())]
    Protect { path: PathBuf, source: std::io::Error },
    #[error("cannot mint the local certificate authority: {source}; this is a bug in nova-gen or its TLS library, please report it")]
    MintCa { source: TlsError },
    #[error("cannot issue a certificate for {peer}: {source}; delete {DIR} and run `nova-gen dev` again to start from a new CA")]
    Issue { peer: String, source: TlsError },
    #[error("cannot load the edge certificate: {source}; delete {DIR} and run `nova-gen dev` again to issue new certificates")]
    Edge { source: TlsError },
}

impl From<PkiError> for Failure {
    fn from(error: PkiError) -> Self {
        Failure::Command(Box::new(error))
    }
}

/// The files of one identity.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The CA and the identities `dev` made (or found).
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: PathBuf,
    pub edge: Identity,
    dir: PathBuf,
}

impl Pki {
    /// The files of the service `name`.
    pub fn service(&self, name: &str) -> Identity {
        Identity { cert: self.dir.join(format!("{name}.pem")), key: self.dir.join(format!("{name}.key")) }
    }

    /// The `NOVA_TLS_*` variables presenting `identity`.
    pub fn env(&self, identity: &Identity) -> Vec<(String, String)> {
        vec![
            ("NOVA_TLS_CA".to_string(), self.ca.display().to_string()),
            ("NOVA_TLS_CERT".to_string(), identity.cert.display().to_string()),
            ("NOVA_TLS_KEY".to_string(), identity.key.display().to_string()),
        ]
    }

    /// The edge's identity loaded, for `dev`'s own health checks.
    pub fn edge_material(&self) -> Result<TlsMaterial, Failure> {
        Ok(TlsMaterial::from_files(&self.ca, &self.edge.cert, &self.edge.key).map_err(|source| PkiError::Edge { source })?)
    }
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), PkiError> {
    std::fs::write(path, text).map_err(|source| PkiError::Write { path: path.to_path_buf(), source })?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| PkiError::Protect { path: path.to_path_buf(), source })?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

/// The CA under `root/.nova/pki` (made if missing) and a certificate for each of `services` and
/// for the edge (issued when missing, or when the CA is new). Prints what it made.
pub fn ensure(root: &Path, services: &[String]) -> Result<Pki, Failure> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|source| PkiError::CreateDir { path: dir.clone(), source })?;
    let (ca_cert, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let existing = std::fs::read_to_string(&ca_cert).ok().zip(std::fs::read_to_string(&ca_key).ok());
    let (authority, fresh) = match existing.map(|(cert, key)| Authority::from_pem(&cert, &key)) {
        Some(Ok(authority)) => (authority, false),
        _ => {
            let authority = Authority::new().map_err(|source| PkiError::MintCa { source })?;
            write(&ca_cert, authority.cert_pem(), false)?;
            write(&ca_key, &authority.key_pem(), true)?;
            println!("dev: a new local certificate authority in {}", dir.display());
            (authority, true)
        }
    };
    let mut wanted: Vec<(Peer, String)> = services.iter().map(|s| (Peer::Service(s.clone()), s.clone())).collect();
    wanted.push((Peer::Client("edge".to_string()), "edge".to_string()));
    let mut issued = Vec::new();
    for (peer, file) in wanted {
        let (cert, key) = (dir.join(format!("{file}.pem")), dir.join(format!("{file}.key")));
        // Still signed by this CA and naming this identity: keep it.
        let valid = !fresh && TlsMaterial::from_files(&ca_cert, &cert, &key).is_ok_and(|m| m.identity() == &peer);
        if valid {
            continue;
        }
        let minted = authority.issue(&peer).map_err(|source| PkiError::Issue { peer: peer.to_string(), source })?;
        write(&cert, &minted.cert_pem, false)?;
        write(&key, &minted.key_pem, true)?;
        issued.push(file);
    }
    if !issued.is_empty() {
        println!("dev: certificates issued in {}: {}", dir.display(), issued.join(", "));
    }
    Ok(Pki { ca: ca_cert, edge: Identity { cert: dir.join("edge.pem"), key: dir.join("edge.key") }, dir })
}

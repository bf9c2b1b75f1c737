//! Passwords of the services' login roles: from the environment
//! (`NOVA_<SERVICE>_DB_PASSWORD`), else from a local secrets file that `db up` creates with
//! random passwords (git-ignored, readable by its owner only). Nothing secret is committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::Rng as _;
use rand::distr::Alphanumeric;

/// Where `db up` keeps generated passwords, relative to the repository root.
pub const DEFAULT_FILE: &str = ".nova/secrets.toml";

/// Why the secrets file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read the secrets file {}: {source}; check its permissions, or pass another file with --secrets", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the secrets file {} is not valid: {source}; fix it (it holds [passwords] and [keys] tables of strings), or pass another file with --secrets",
        path.display()
    )]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("cannot create {} for the secrets file: {source}; check its permissions, or pass another file with --secrets", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot render the secrets for {} as TOML: {source}; this is a bug in nova-gen, please report it", path.display())]
    Render { path: PathBuf, source: toml::ser::Error },
    #[error("cannot write the secrets file {}: {source}; check its permissions and the free disk space, or pass another file with --secrets", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "cannot make the secrets file {} readable by its owner only: {source}; it holds passwords, so keep it on a file system with Unix permissions",
        path.display()
    )]
    Protect { path: PathBuf, source: std::io::Error },
}

#[derive(Debug)]
pub struct Secrets {
    path: PathBuf,
    /// Login role -> password.
    passwords: BTreeMap<String, String>,
    keys: BTreeMap<String, String>,
    changed: bool,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct SecretsFile {
    #[serde(default)]
    passwords: BTreeMap<String, String>,
    /// Named secret keys (base64 of 32 random bytes): `nova-gen dev`'s cache sealing key, auth's
    /// signing-key encryption key.
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

/// The environment variable that overrides a service's login password.
pub fn env_var(service: &str) -> String {
    format!("NOVA_{}_DB_PASSWORD", service.to_ascii_uppercase().replace('-', "_"))
}

impl Secrets {
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let file = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str::<SecretsFile>(&text).map_err(|source| SecretsError::Parse { path: path.to_path_buf(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SecretsFile::default(),
            Err(source) => return Err(SecretsError::Read { path: path.to_path_buf(), source }),
        };
        Ok(Secrets { path: path.to_path_buf(), passwords: file.passwords, keys: file.keys, changed: false })
    }

    /// The password of `role` (service `service`): the environment's, the file's, or a new one
    /// (kept in the file).
    pub fn password(&mut self, service: &str, role: &str) -> String {
        if let Ok(password) = std::env::var(env_var(service))
            && !password.is_empty()
        {
            return password;
        }
        if let Some(password) = self.passwords.get(role) {
            return password.clone();
        }
        let password: String = rand::rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect();
        self.passwords.insert(role.to_string(), password.clone());
        self.changed = true;
        password
    }

    /// The secret key `name` (base64 of 32 random bytes): the file's, or a new one (kept in it).
    pub fn key(&mut self, name: &str) -> String {
        use base64::Engine as _;
        if let Some(key) = self.keys.get(name) {
            return key.clone();
        }
        let bytes: [u8; 32] = rand::rng().random();
        let key = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.keys.insert(name.to_string(), key.clone());
        self.changed = true;
        key
    }

    /// A password kept under `name` in the file (not a database role's), e.g. the local Redis
    /// user's.
    pub fn named_password(&mut self, name: &str) -> String {
        if let Some(password) = self.passwords.get(name) {
            return password.clone();
        }
        let password: String = rand::rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect();
        self.passwords.insert(name.to_string(), password.clone());
        self.changed = true;
        password
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the file if a password was generated (owner-only permissions).
    pub fn save(&self) -> Result<(), SecretsError> {
        if !self.changed {
            return Ok(());
        }
        let path = || self.path.clone();
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SecretsError::CreateDir { path: parent.to_path_buf(), source })?;
        }
        let file = SecretsFile { passwords: self.passwords.clone(), keys: self.keys.clone() };
        let text = toml::to_string(&file).map_err(|source| SecretsError::Render { path: path(), source })?;
        let text = format!("# Local passwords and keys written by `nova-gen db up` and `nova-gen dev`. Never commit this file.\n{text}");
        std::fs::write(&self.path, text).map_err(|source| SecretsError::Write { path: path(), source })?;
        restrict_permissions(&self.path)
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| SecretsError::Protect { path: path.to_path_buf(), source })
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<(), SecretsError> {
    Ok(())
}

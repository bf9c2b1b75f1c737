//! Where the key that signs CDN addresses comes from: `NOVA_MEDIA_URL_SIGNING_KEY` (base64,
//! standard alphabet, of at least 32 bytes: production sets it from a secret store, the same
//! value in every replica and in the CDN's verifier), or else the file
//! `<data_dir>/url-signing.key` (32 random bytes, mode 0600), created on first start. The file
//! keeps a laptop and the tests working, but a data directory is not a secret store and the
//! CDN needs the key too, so the service warns when it uses one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nova_runtime::config::ConfigError;
use ring::rand::{SecureRandom, SystemRandom};

use crate::cdn::UrlSigningKey;

/// The variable production sets.
pub const ENV: &str = "NOVA_MEDIA_URL_SIGNING_KEY";
/// The file under the data directory holding the key when [`ENV`] is unset.
pub const FILE: &str = "url-signing.key";
/// Length of a key the service creates.
const NEW_KEY_BYTES: usize = 32;

/// A configuration error about the key that never quotes the key itself.
fn refused(value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { name: ENV.to_string(), value: value.to_string(), reason: reason.into() }
}

/// The key from [`ENV`], or else from `<data_dir>/url-signing.key` (created if missing, with a
/// warning). A value that is not base64 of at least 32 bytes, or a file shorter than that, is an
/// error naming what to fix.
pub fn load(data_dir: &Path) -> Result<UrlSigningKey, ConfigError> {
    match std::env::var(ENV) {
        Ok(value) if !value.trim().is_empty() => from_base64(&value),
        Err(std::env::VarError::NotUnicode(_)) => Err(refused("(not UTF-8)", "must be the base64 of at least 32 random bytes")),
        _ => {
            let path = data_dir.join(FILE);
            let key = from_file(&path)?;
            tracing::warn!(
                file = %path.display(),
                "{ENV} is not set: CDN addresses are signed with a key kept next to the service's data, which \
                 other replicas and the CDN's verifier do not have; production must set {ENV} (base64 of at least \
                 32 random bytes) from a secret store"
            );
            Ok(key)
        }
    }
}

/// The key as [`ENV`] holds it.
pub fn from_base64(value: &str) -> Result<UrlSigningKey, ConfigError> {
    let hidden = "(hidden)";
    let bytes = STANDARD.decode(value.trim()).map_err(|_| refused(hidden, "must be the base64 (standard alphabet) of at least 32 random bytes"))?;
    UrlSigningKey::new(&bytes).map_err(|reason| refused(hidden, format!("decoded, it {reason}")))
}

/// The key in `path`, creating the file with 32 random bytes (mode 0600) if it is missing.
/// Processes sharing the directory agree: the file appears whole or not at all (written aside,
/// then hard-linked into place, which fails if another process linked first).
pub fn from_file(path: &Path) -> Result<UrlSigningKey, ConfigError> {
    let shown = path.display().to_string();
    if !path.exists() {
        create(path)
            .map_err(|e| refused("(unset)", format!("cannot create the key file {shown}: {e}; set {ENV} or make the data directory writable")))?;
    }
    let bytes = std::fs::read(path).map_err(|e| refused("(unset)", format!("cannot read the key file {shown}: {e}")))?;
    warn_if_readable_by_others(path);
    UrlSigningKey::new(&bytes).map_err(|reason| {
        refused(
            "(unset)",
            format!(
                "the key file {shown} {reason}: restore it, or remove it to start with a new key (addresses signed with the old one stop working)"
            ),
        )
    })
}

/// Writes a new random key to `path` (mode 0600) unless it exists by then.
fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let random = SystemRandom::new();
    let mut bytes = [0u8; NEW_KEY_BYTES];
    random.fill(&mut bytes).map_err(|_| std::io::Error::other("the system's random source failed"))?;
    let aside = aside(path, &random);
    let linked = write_private(&aside, &bytes).and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    match linked {
        // Another process created it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// A temporary name next to `path`, unique to this attempt.
fn aside(path: &Path, random: &SystemRandom) -> PathBuf {
    let mut suffix = [0u8; 8];
    let _ = random.fill(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    path.with_extension(format!("{suffix}.tmp"))
}

/// Creates `path` (it must not exist) readable by its owner only, writes `bytes` and syncs.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the CDN address signing key file is readable by other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp_dir() -> PathBuf {
        let mut name = [0u8; 8];
        SystemRandom::new().fill(&mut name).unwrap();
        let name: String = name.iter().map(|b| format!("{b:02x}")).collect();
        std::env::temp_dir().join(format!("nova-media-key-{name}"))
    }

    #[test]
    fn the_file_is_created_once_private_and_read_back() {
        let dir = temp_dir();
        let path = dir.join(FILE);
        from_file(&path).unwrap();
        let first = std::fs::read(&path).unwrap();
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        from_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first, "an existing key is kept");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing left aside");
        std::fs::write(&path, [1u8; 16]).unwrap();
        let error = from_file(&path).unwrap_err();
        assert!(error.reason.contains("at least 32 bytes"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_variable_must_be_base64_of_32_bytes_and_is_never_quoted() {
        assert!(from_base64(&STANDARD.encode([3u8; 32])).is_ok());
        assert!(from_base64(&STANDARD.encode([3u8; 48])).is_ok());
        for bad in [STANDARD.encode([3u8; 31]), "not base64!".to_string()] {
            let error = from_base64(&bad).unwrap_err();
            assert_eq!((error.name.as_str(), error.value.as_str()), (ENV, "(hidden)"));
        }
    }
}

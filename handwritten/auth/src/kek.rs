//! The key-encryption key (KEK) that seals the private signing keys in `jwt_signing_keys`, so
//! that a copy of the database (a backup, a replica, a leaked dump) cannot sign tokens.
//!
//! Sealed form: one version byte ([`SEALED_V1`]: AES-256-GCM), the 12-byte random nonce, then
//! the ciphertext with its 16-byte tag; the associated data is the key's `kid`, so a sealed key
//! moved to another row does not open. The KEK comes from `NOVA_AUTH_KEY_ENCRYPTION_KEY`
//! (base64 of 32 bytes: production sets it from a secret store); without it, from the file
//! `<data_dir>/jwt-kek` (32 raw bytes, mode 0600), created on first start. That fallback keeps
//! a laptop and the tests working, but a pod's data directory is not a secret store, so the
//! service warns about it.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ::nova_runtime::config::ConfigError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Where production puts the KEK: base64 (standard alphabet) of 32 bytes.
pub const ENV: &str = "NOVA_AUTH_KEY_ENCRYPTION_KEY";
/// The file under the data directory holding the KEK when [`ENV`] is unset.
pub const FILE: &str = "jwt-kek";
/// The first byte of a sealed key: format 1, AES-256-GCM with a 96-bit random nonce.
pub const SEALED_V1: u8 = 1;
/// Length of the key itself.
const KEY_LEN: usize = 32;
/// Length of the AES-GCM tag appended to the ciphertext.
const TAG_LEN: usize = 16;

/// The key-encryption key. Its `Debug` shows nothing of the key.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
    /// Where it came from, for log lines (`NOVA_AUTH_KEY_ENCRYPTION_KEY` or the file's path).
    origin: String,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEncryptionKey").field("origin", &self.origin).finish_non_exhaustive()
    }
}

/// A configuration error about the KEK that never quotes the secret itself.
fn refused(value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { name: ENV.to_string(), value: value.to_string(), reason: reason.into() }
}

impl KeyEncryptionKey {
    /// The KEK from [`ENV`], or else from `<data_dir>/jwt-kek` (created if missing, with a
    /// warning that production must set the variable). A value that is not base64 of exactly
    /// 32 bytes, or a file that does not hold exactly 32 bytes, is an error naming what to fix.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        match std::env::var(ENV) {
            Ok(value) if !value.trim().is_empty() => Self::from_base64(&value),
            Err(std::env::VarError::NotUnicode(_)) => Err(refused("(not UTF-8)", "must be the base64 of 32 bytes")),
            _ => {
                let path = data_dir.join(FILE);
                let kek = Self::from_file(&path)?;
                ::tracing::warn!(
                    file = %path.display(),
                    "{ENV} is not set: signing keys are sealed with a key kept next to the service's data; \
                     production must set {ENV} (base64 of 32 random bytes) from a secret store"
                );
                Ok(kek)
            }
        }
    }

    /// The KEK encoded as [`ENV`] holds it.
    pub fn from_base64(value: &str) -> Result<Self, ConfigError> {
        let hidden = "(hidden)";
        let bytes = STANDARD.decode(value.trim()).map_err(|_| refused(hidden, "must be the base64 (standard alphabet) of 32 random bytes"))?;
        if bytes.len() != KEY_LEN {
            return Err(refused(hidden, format!("must be the base64 of exactly {KEY_LEN} bytes; it decodes to {} bytes", bytes.len())));
        }
        Self::from_bytes(&bytes, ENV.to_string()).map_err(|reason| refused(hidden, reason))
    }

    /// The KEK in `path`, creating the file with 32 random bytes (mode 0600) if it is missing.
    /// Replicas sharing the directory agree: the file appears whole or not at all (written
    /// aside, then hard-linked into place, which fails if another process linked first).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        if !path.exists() {
            create(path).map_err(|e| {
                refused("(unset)", format!("cannot create the key-encryption key file {shown}: {e}; set {ENV} or make the data directory writable"))
            })?;
        }
        let bytes = std::fs::read(path).map_err(|e| refused("(unset)", format!("cannot read the key-encryption key file {shown}: {e}")))?;
        if bytes.len() != KEY_LEN {
            return Err(refused(
                "(unset)",
                format!(
                    "the key-encryption key file {shown} must hold exactly {KEY_LEN} bytes but holds {}: restore it from a backup \
                     (or remove it to start with a new key: signing keys sealed with the old one can then only verify)",
                    bytes.len()
                ),
            ));
        }
        warn_if_readable_by_others(path);
        Self::from_bytes(&bytes, shown).map_err(|reason| refused("(unset)", reason))
    }

    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: &[u8], origin: String) -> Result<Self, String> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| format!("must be exactly {KEY_LEN} bytes"))?;
        Ok(KeyEncryptionKey { key: LessSafeKey::new(key), origin })
    }

    /// Where the key came from: the variable's name or the file's path.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `plaintext` sealed for the key `kid`: version byte, nonce, ciphertext and tag.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce)?;
        let mut in_out = plaintext.to_vec();
        self.key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(kid.as_bytes()), &mut in_out)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// What [`KeyEncryptionKey::seal`] sealed for `kid`; `None` when `sealed` is not in a format
    /// this version knows, was sealed under another KEK or for another `kid`, or was altered.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self.key.open_in_place(nonce, Aad::from(kid.as_bytes()), &mut in_out).ok()?;
        Some(plaintext.to_vec())
    }
}

/// Writes 32 random bytes to `path` (mode 0600) unless it exists by then.
fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; KEY_LEN];
    SystemRandom::new().fill(&mut bytes).map_err(|_| std::io::Error::other("the system's random source failed"))?;
    let aside = aside(path);
    let written = write_private(&aside, &bytes);
    let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    match linked {
        // Another replica (or process) created it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// A temporary name next to `path`, unique to this attempt.
fn aside(path: &Path) -> PathBuf {
    let mut suffix = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut suffix);
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
        ::tracing::warn!(file = %path.display(), "the key-encryption key file is readable by other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_kek_and_kid() {
        let kek = KeyEncryptionKey::from_bytes(&[7u8; 32], "test".into()).unwrap();
        let other = KeyEncryptionKey::from_bytes(&[8u8; 32], "test".into()).unwrap();
        let sealed = kek.seal("kid-1", b"secret seed").unwrap();
        assert_eq!(sealed[0], SEALED_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + b"secret seed".len() + TAG_LEN);
        assert_ne!(kek.seal("kid-1", b"secret seed").unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(kek.open("kid-1", &sealed).as_deref(), Some(&b"secret seed"[..]));
        assert_eq!(kek.open("kid-2", &sealed), None, "the kid is authenticated");
        assert_eq!(other.open("kid-1", &sealed), None, "another KEK");
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(kek.open("kid-1", &altered), None);
        assert_eq!(kek.open("kid-1", &[2u8; 40]), None, "an unknown version");
        assert_eq!(kek.open("kid-1", &[]), None);
    }

    #[test]
    fn the_variable_must_hold_32_bytes_and_the_error_names_it_without_the_value() {
        assert!(KeyEncryptionKey::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
        let short = STANDARD.encode([1u8; 16]);
        let error = KeyEncryptionKey::from_base64(&short).unwrap_err().to_string();
        assert!(error.contains(ENV) && error.contains("exactly 32 bytes") && error.contains("16 bytes"), "{error}");
        assert!(!error.contains(&short), "the value is never quoted: {error}");
        let error = KeyEncryptionKey::from_base64("not base64!").unwrap_err().to_string();
        assert!(error.contains(ENV) && error.contains("base64"), "{error}");
    }

    #[test]
    fn the_file_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(FILE);
        let first = KeyEncryptionKey::from_file(&path).unwrap();
        let sealed = first.seal("k", b"x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = KeyEncryptionKey::from_file(&path).unwrap();
        assert_eq!(again.open("k", &sealed).as_deref(), Some(&b"x"[..]), "the same key after a restart");
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");

        std::fs::write(&path, [0u8; 5]).unwrap();
        let error = KeyEncryptionKey::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("exactly 32 bytes") && error.contains("holds 5"), "{error}");
    }
}

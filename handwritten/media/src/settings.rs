//! What the media service needs besides its database and its peers: where objects are stored,
//! the CDN base of their addresses and the key and lifetime of their signatures (see `cdn`),
//! and the upload parameters. `start` reads them from the
//! environment; tests and embedders build them directly and call `start_with`.

use std::path::PathBuf;
use std::sync::Arc;

use nova_runtime::config::{ConfigError, env_or};

use crate::cdn::{self, UrlSigningKey};
use crate::signing_key;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;

/// Default size of an upload's chunks: below tonic's 4 MiB message limit with room for the
/// rest of the request.
pub const DEFAULT_CHUNK_SIZE_BYTES: u64 = 2 * 1024 * 1024;
/// Largest chunk size accepted from configuration (the gRPC message limit is 4 MiB).
pub const MAX_CHUNK_SIZE_BYTES: u64 = 3 * 1024 * 1024;
/// How long an upload may stay incomplete, by default.
pub const DEFAULT_UPLOAD_TTL_SECONDS: i64 = 24 * 3600;
/// How often expired uploads are swept, by default.
pub const DEFAULT_SWEEP_INTERVAL_SECONDS: u64 = 600;
/// How long a CDN address stays valid, by default (at least; see `cdn::expiry`).
pub const DEFAULT_URL_TTL_SECONDS: u64 = 3600;
/// The shortest lifetime allowed: callers cache GetMediaCdnUrl for 5 minutes and may serve an
/// expired entry for 5 more while media is down, and the address must still work after that.
pub const MIN_URL_TTL_SECONDS: u64 = 900;

/// Settings of the media service (see the module doc).
#[derive(Clone)]
pub struct MediaSettings {
    /// Where originals, variants and staged chunks are kept.
    pub store: Arc<dyn ObjectStore>,
    /// Prefix of every CDN address, e.g. `https://cdn.example.com/`; the object key follows,
    /// then the signature (see `cdn`).
    pub cdn_base_url: String,
    /// Signs CDN addresses; the CDN's verifier holds the same key.
    pub url_signing_key: UrlSigningKey,
    /// How long a CDN address stays valid (at least; rounded up to 5 minutes).
    pub url_ttl_seconds: u64,
    /// Size of every chunk of an upload but the last; 1 ..= `MAX_CHUNK_SIZE_BYTES`.
    pub chunk_size_bytes: u64,
    /// How long after initiation an upload can still be completed.
    pub upload_ttl_seconds: i64,
    /// How often expired uploads are swept (their staged chunks deleted); 0 never.
    pub sweep_interval_seconds: u64,
}

impl std::fmt::Debug for MediaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSettings")
            .field("store", &self.store.to_string())
            .field("cdn_base_url", &self.cdn_base_url)
            .field("url_ttl_seconds", &self.url_ttl_seconds)
            .field("chunk_size_bytes", &self.chunk_size_bytes)
            .field("upload_ttl_seconds", &self.upload_ttl_seconds)
            .field("sweep_interval_seconds", &self.sweep_interval_seconds)
            .finish()
    }
}

/// An S3-compatible bucket (AWS, MinIO, moto, ...).
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl MediaSettings {
    /// Defaults with objects under `store`, addresses signed with `url_signing_key`.
    pub fn new(store: Arc<dyn ObjectStore>, url_signing_key: UrlSigningKey) -> Self {
        MediaSettings {
            store,
            cdn_base_url: "http://127.0.0.1:8080/media/".to_string(),
            url_signing_key,
            url_ttl_seconds: DEFAULT_URL_TTL_SECONDS,
            chunk_size_bytes: DEFAULT_CHUNK_SIZE_BYTES,
            upload_ttl_seconds: DEFAULT_UPLOAD_TTL_SECONDS,
            sweep_interval_seconds: DEFAULT_SWEEP_INTERVAL_SECONDS,
        }
    }

    /// From the environment: S3-compatible storage when `NOVA_MEDIA_S3_BUCKET` is set
    /// (`NOVA_MEDIA_S3_ENDPOINT`, `NOVA_MEDIA_S3_REGION` (default `us-east-1`),
    /// `NOVA_MEDIA_S3_ACCESS_KEY_ID`, `NOVA_MEDIA_S3_SECRET_ACCESS_KEY`), else the directory
    /// `NOVA_MEDIA_STORAGE_DIR` (default `data_dir`, the service's own directory, which is
    /// `var/media` unless `NOVA_DATA_DIR` says otherwise; created if missing);
    /// `NOVA_MEDIA_CDN_BASE_URL`, `NOVA_MEDIA_URL_SIGNING_KEY` (else a key file in `data_dir`,
    /// see `signing_key`), `NOVA_MEDIA_URL_TTL_SECONDS`, `NOVA_MEDIA_CHUNK_SIZE_BYTES`,
    /// `NOVA_MEDIA_UPLOAD_TTL_SECONDS`, `NOVA_MEDIA_SWEEP_INTERVAL_SECONDS`.
    pub fn from_env(data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        let bucket: String = env_or("NOVA_MEDIA_S3_BUCKET", "")?;
        let store = if bucket.is_empty() {
            let dir: PathBuf = env_or("NOVA_MEDIA_STORAGE_DIR", data_dir.to_path_buf())?;
            local_store(dir)?
        } else {
            let optional = |name: &str| -> Result<Option<String>, ConfigError> {
                let value: String = env_or(name, "")?;
                Ok(Some(value).filter(|v| !v.is_empty()))
            };
            s3_store(&S3Settings {
                bucket,
                endpoint: optional("NOVA_MEDIA_S3_ENDPOINT")?,
                region: env_or("NOVA_MEDIA_S3_REGION", "us-east-1")?,
                access_key_id: optional("NOVA_MEDIA_S3_ACCESS_KEY_ID")?,
                secret_access_key: optional("NOVA_MEDIA_S3_SECRET_ACCESS_KEY")?,
            })?
        };
        let mut settings = MediaSettings::new(store, signing_key::load(data_dir)?);
        settings.cdn_base_url = env_or("NOVA_MEDIA_CDN_BASE_URL", settings.cdn_base_url)?;
        if let Err(reason) = cdn::base_path(&settings.cdn_base_url) {
            return Err(invalid("NOVA_MEDIA_CDN_BASE_URL", &settings.cdn_base_url, reason));
        }
        settings.url_ttl_seconds = env_or("NOVA_MEDIA_URL_TTL_SECONDS", DEFAULT_URL_TTL_SECONDS)?;
        if settings.url_ttl_seconds < MIN_URL_TTL_SECONDS {
            return Err(invalid(
                "NOVA_MEDIA_URL_TTL_SECONDS",
                &settings.url_ttl_seconds.to_string(),
                format!("must be at least {MIN_URL_TTL_SECONDS}: callers cache addresses for up to 10 minutes"),
            ));
        }
        settings.chunk_size_bytes = env_or("NOVA_MEDIA_CHUNK_SIZE_BYTES", DEFAULT_CHUNK_SIZE_BYTES)?;
        settings.upload_ttl_seconds = env_or("NOVA_MEDIA_UPLOAD_TTL_SECONDS", DEFAULT_UPLOAD_TTL_SECONDS)?;
        settings.sweep_interval_seconds = env_or("NOVA_MEDIA_SWEEP_INTERVAL_SECONDS", DEFAULT_SWEEP_INTERVAL_SECONDS)?;
        if settings.chunk_size_bytes == 0 || settings.chunk_size_bytes > MAX_CHUNK_SIZE_BYTES {
            return Err(invalid(
                "NOVA_MEDIA_CHUNK_SIZE_BYTES",
                &settings.chunk_size_bytes.to_string(),
                format!("must be between 1 and {MAX_CHUNK_SIZE_BYTES}"),
            ));
        }
        Ok(settings)
    }
}

/// A store in the directory `dir`, created if missing.
pub fn local_store(dir: PathBuf) -> Result<Arc<dyn ObjectStore>, ConfigError> {
    let shown = dir.display().to_string();
    std::fs::create_dir_all(&dir).map_err(|e| invalid("NOVA_MEDIA_STORAGE_DIR", &shown, e.to_string()))?;
    let store = LocalFileSystem::new_with_prefix(&dir).map_err(|e| invalid("NOVA_MEDIA_STORAGE_DIR", &shown, e.to_string()))?;
    Ok(Arc::new(store))
}

/// A store in an S3-compatible bucket, addressed path-style (what MinIO and moto expect);
/// plain `http://` endpoints are allowed for local servers.
pub fn s3_store(s3: &S3Settings) -> Result<Arc<dyn ObjectStore>, ConfigError> {
    let mut builder = AmazonS3Builder::new().with_bucket_name(&s3.bucket).with_region(&s3.region).with_virtual_hosted_style_request(false);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    let store = builder.build().map_err(|e| invalid("NOVA_MEDIA_S3_BUCKET", &s3.bucket, e.to_string()))?;
    Ok(Arc::new(store))
}

fn invalid(name: &str, value: &str, reason: String) -> ConfigError {
    ConfigError { name: name.to_string(), value: value.to_string(), reason }
}

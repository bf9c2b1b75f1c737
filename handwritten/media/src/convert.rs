//! Rows to messages, and the small parsers requests need.

use nova_media::repo::{media, media_variants, upload_chunks, uploads};
use nova_media::{LogicError, pb};
use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::convert::{optional_timestamp, timestamp};
use sha2::{Digest, Sha256};

/// The message of a media row.
pub fn media_message(row: &media::Row) -> pb::Media {
    pb::Media {
        id: row.id.to_string(),
        owner_id: row.owner_id.to_string(),
        kind: pb::MediaKind::from(row.kind) as i32,
        status: pb::MediaStatus::from(row.status) as i32,
        mime_type: row.mime_type.clone(),
        size_bytes: row.size_bytes,
        width: row.width.unwrap_or(0),
        height: row.height.unwrap_or(0),
        duration: row
            .duration_ms
            .map(|ms| nova_runtime::codegen::prost_types::Duration { seconds: ms / 1000, nanos: ((ms % 1000) * 1_000_000) as i32 }),
        sha256: row.sha256.clone().unwrap_or_default(),
        title: row.title.clone(),
        alt_text: row.alt_text.clone(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
        file_name: row.file_name.clone(),
    }
}

/// The message of a variant row.
pub fn variant_message(row: &media_variants::Row) -> pb::MediaVariant {
    pb::MediaVariant {
        media_id: row.media_id.to_string(),
        preset: pb::VariantPreset::from(row.preset) as i32,
        mime_type: row.mime_type.clone(),
        width: row.width,
        height: row.height,
        size_bytes: row.size_bytes,
        created_at: Some(timestamp(row.created_at)),
    }
}

/// The message of an upload, with its received chunks (`chunks`: this upload's rows); an
/// upload still in progress at `now` past its expiry is reported EXPIRED.
pub fn upload_message(row: &uploads::Row, sha256: &str, chunks: &[upload_chunks::Row], now: DateTime<Utc>) -> pb::Upload {
    let received: Vec<i32> = chunks.iter().map(|c| c.chunk_number).collect();
    let missing = (1..=row.total_chunks).filter(|n| !received.contains(n)).collect();
    let status = match row.status {
        uploads::Status::InProgress if row.expires_at <= now => uploads::Status::Expired,
        status => status,
    };
    pb::Upload {
        id: row.id.to_string(),
        media_id: row.media_id.to_string(),
        status: pb::UploadStatus::from(status) as i32,
        chunk_size_bytes: row.chunk_size_bytes,
        total_chunks: row.total_chunks,
        expires_at: Some(timestamp(row.expires_at)),
        size_bytes: row.size_bytes,
        received_chunks: received,
        missing_chunks: missing,
        sha256: sha256.to_string(),
    }
}

/// The processing status of a media row (images and audio/video alike: the media row holds it).
pub fn processing_message(row: &media::Row) -> pb::ProcessingStatus {
    let (state, progress) = match row.status {
        media::Status::PendingUpload => (pb::ProcessingState::Queued, 0),
        media::Status::Processing => (pb::ProcessingState::Running, 0),
        media::Status::Ready => (pb::ProcessingState::Succeeded, 100),
        media::Status::Failed => (pb::ProcessingState::Failed, 100),
    };
    pb::ProcessingStatus {
        media_id: row.id.to_string(),
        state: state as i32,
        progress_percent: progress,
        error_message: row.processing_error.clone().unwrap_or_default(),
        attempts: row.processing_attempts,
        started_at: optional_timestamp(row.processing_started_at),
        finished_at: optional_timestamp(row.processing_finished_at),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A hex SHA-256 from a request (any case), lower-cased; INVALID_ARGUMENT naming `field`.
pub fn parse_sha256(field: &str, value: &str) -> Result<String, LogicError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LogicError::invalid_argument(format!("{field}: must be 64 hexadecimal digits (a SHA-256), got {} characters", value.len())));
    }
    Ok(value.to_ascii_lowercase())
}

/// A proto enum field's value, or INVALID_ARGUMENT naming `field`.
pub fn enum_value<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, LogicError> {
    E::try_from(value).map_err(|_| LogicError::invalid_argument(format!("{field}: unknown value {value}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sha256_is_lower_hex_and_parsing_normalises_case() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(parse_sha256("sha256", upper).unwrap(), sha256_hex(b"abc"));
        let error = parse_sha256("sha256", "xyz").unwrap_err();
        assert!(error.to_string().starts_with("sha256:"), "{error}");
    }
}

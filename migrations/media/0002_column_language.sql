-- Migration 0002 of the media service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate media --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE media ADD CONSTRAINT media_kind_check CHECK (kind IN (1, 2, 3)) NOT VALID;

ALTER TABLE media ADD CONSTRAINT media_status_check CHECK (status IN (1, 2, 3, 4)) NOT VALID;

ALTER TABLE media_variants ADD CONSTRAINT media_variants_preset_check CHECK (preset IN (1, 2, 3, 4, 8)) NOT VALID;

ALTER TABLE uploads ADD CONSTRAINT uploads_status_check CHECK (status IN (1, 2, 3)) NOT VALID;

ALTER TABLE videos ADD CONSTRAINT videos_state_check CHECK (state IN (1, 2, 3, 4)) NOT VALID;

COMMENT ON COLUMN media.kind IS 'MediaKind numbers';

COMMENT ON COLUMN media.status IS 'MediaStatus numbers';

COMMENT ON COLUMN media_variants.preset IS 'VariantPreset numbers';

COMMENT ON COLUMN uploads.status IS 'UploadStatus numbers';

COMMENT ON COLUMN videos.state IS 'ProcessingState numbers';

-- Migration 0007 of the media service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate media --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE media ADD COLUMN rendition_key TEXT;

COMMENT ON COLUMN media.rendition_key IS 'the object served for the original: re-encoded at full size, without metadata (EXIF, GPS, text); NULL until an image is processed';

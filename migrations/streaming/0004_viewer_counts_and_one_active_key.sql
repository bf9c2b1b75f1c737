-- Migration 0004 of the streaming service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate streaming --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE streams ADD COLUMN current_viewer_count INTEGER NOT NULL DEFAULT 0;

COMMENT ON COLUMN streams.current_viewer_count IS 'open viewer sessions; moved only by the session that opens or closes';

ALTER TABLE streams ADD COLUMN peak_viewer_count INTEGER NOT NULL DEFAULT 0;

COMMENT ON COLUMN streams.peak_viewer_count IS 'highest current_viewer_count ever reached';

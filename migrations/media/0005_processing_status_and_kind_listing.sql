-- Migration 0005 of the media service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate media --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE media ADD COLUMN processing_error TEXT;

COMMENT ON COLUMN media.processing_error IS 'why the last processing attempt failed; NULL otherwise';

ALTER TABLE media ADD COLUMN processing_attempts INTEGER NOT NULL DEFAULT 0;

ALTER TABLE media ADD COLUMN processing_started_at TIMESTAMPTZ;

COMMENT ON COLUMN media.processing_started_at IS 'when the last processing attempt started';

ALTER TABLE media ADD COLUMN processing_finished_at TIMESTAMPTZ;

COMMENT ON COLUMN media.processing_finished_at IS 'when the last processing attempt ended';

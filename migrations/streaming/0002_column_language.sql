-- Migration 0002 of the streaming service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate streaming --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE streams ADD CONSTRAINT streams_status_check CHECK (status IN (1, 2, 3, 4)) NOT VALID;

ALTER TABLE streams ADD CONSTRAINT streams_visibility_check CHECK (visibility IN (1, 2, 3)) NOT VALID;

COMMENT ON COLUMN streams.status IS 'StreamStatus numbers';

COMMENT ON COLUMN streams.visibility IS 'StreamVisibility numbers';

-- Migration 0005 of the search service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate search --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE search_documents ADD COLUMN username TEXT NOT NULL DEFAULT '';

COMMENT ON COLUMN search_documents.username IS 'user documents: the username as last pushed with one';

ALTER TABLE search_documents ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0;

COMMENT ON COLUMN search_documents.source_version IS 'the owner''s version of the last change applied: older changes are ignored';

ALTER TABLE search_documents ADD COLUMN deleted_at TIMESTAMPTZ;

COMMENT ON COLUMN search_documents.deleted_at IS 'tombstone: removed at source_version; only a newer upsert brings the document back';

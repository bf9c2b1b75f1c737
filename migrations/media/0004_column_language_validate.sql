-- Migration 0004 of the media service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate media --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- media_storage_key_live_key (built above, without blocking writes) keeps these values of media unique among the rows its predicate selects; media_storage_key_key held among all rows.
-- squawk-ignore ban-drop-constraint
ALTER TABLE media DROP CONSTRAINT media_storage_key_key;

ALTER TABLE media VALIDATE CONSTRAINT media_kind_check;

ALTER TABLE media VALIDATE CONSTRAINT media_status_check;

ALTER TABLE media_variants VALIDATE CONSTRAINT media_variants_preset_check;

ALTER TABLE uploads VALIDATE CONSTRAINT uploads_status_check;

ALTER TABLE videos VALIDATE CONSTRAINT videos_state_check;

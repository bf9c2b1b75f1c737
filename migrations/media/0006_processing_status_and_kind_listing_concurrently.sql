-- no-transaction
-- Migration 0006 of the media service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate media --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS media_owner_id_kind_created_at_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS media_owner_id_kind_created_at_idx ON media (owner_id, kind, created_at DESC);

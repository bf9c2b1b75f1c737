-- no-transaction
-- Migration 0005 of the streaming service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate streaming --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS stream_keys_stream_id_partial_key;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS stream_keys_stream_id_partial_key ON stream_keys (stream_id) WHERE revoked_at is null;

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS streams_current_viewer_count_id_partial_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS streams_current_viewer_count_id_partial_idx ON streams (current_viewer_count DESC, id DESC) WHERE status = 2 and visibility = 1;

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS viewer_sessions_stream_id_joined_at_partial_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS viewer_sessions_stream_id_joined_at_partial_idx ON viewer_sessions (stream_id, joined_at) WHERE left_at is null;

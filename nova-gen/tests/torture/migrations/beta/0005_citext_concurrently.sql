-- no-transaction
-- Migration 0005 of the beta service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate beta --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS everything_handle_live_key;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS everything_handle_live_key ON everything (handle) WHERE deleted_at IS NULL;

-- no-transaction
-- Migration 0003 of the auth service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate auth --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS users_email_live_key;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_live_key ON users (email) WHERE deleted_at IS NULL;

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS users_username_live_key;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_username_live_key ON users (username) WHERE deleted_at IS NULL;

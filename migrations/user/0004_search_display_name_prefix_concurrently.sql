-- no-transaction
-- Migration 0004 of the user service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate user --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS profiles_lower_display_name_collate_ucs_basic_user_id_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS profiles_lower_display_name_collate_ucs_basic_user_id_idx ON profiles ((lower(display_name) collate ucs_basic), user_id);

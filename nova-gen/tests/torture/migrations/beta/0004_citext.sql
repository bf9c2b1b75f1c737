-- Migration 0004 of the beta service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate beta --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE EXTENSION IF NOT EXISTS citext;

ALTER TABLE everything ADD COLUMN handle CITEXT;

COMMENT ON COLUMN everything.handle IS 'case-insensitive: Ada and ada are the same handle';

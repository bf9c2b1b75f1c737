-- Migration 0003 of the beta service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate beta --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE everything ADD COLUMN price NUMERIC(12,2) NOT NULL DEFAULT 0;

ALTER TABLE everything ADD COLUMN client_ip INET;

ALTER TABLE everything ADD COLUMN history NUMERIC(8,0)[];

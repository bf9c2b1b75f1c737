-- Migration 0003 of the streaming service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate streaming --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

ALTER TABLE streams VALIDATE CONSTRAINT streams_status_check;

ALTER TABLE streams VALIDATE CONSTRAINT streams_visibility_check;

-- Migration 0004 of the auth service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate auth --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- users_email_live_key (built above, without blocking writes) keeps these values of users unique among the rows its predicate selects; users_email_key held among all rows.
-- squawk-ignore ban-drop-constraint
ALTER TABLE users DROP CONSTRAINT users_email_key;

-- users_username_live_key (built above, without blocking writes) keeps these values of users unique among the rows its predicate selects; users_username_key held among all rows.
-- squawk-ignore ban-drop-constraint
ALTER TABLE users DROP CONSTRAINT users_username_key;

ALTER TABLE users VALIDATE CONSTRAINT users_email_check;

ALTER TABLE users VALIDATE CONSTRAINT users_status_check;

ALTER TABLE users VALIDATE CONSTRAINT users_username_check;

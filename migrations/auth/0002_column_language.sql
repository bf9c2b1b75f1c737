-- Migration 0002 of the auth service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate auth --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email = lower(email)) NOT VALID;

ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN (1, 2, 3)) NOT VALID;

ALTER TABLE users ADD CONSTRAINT users_username_check CHECK (length(username) between 3 and 32) NOT VALID;

COMMENT ON COLUMN users.email IS 'lower case; unique among live accounts, so a deleted account''s email can register again';

COMMENT ON COLUMN users.status IS 'AccountStatus numbers';

-- Migration 0002 of the user service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate user --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE profiles ADD CONSTRAINT profiles_visibility_check CHECK (visibility IN (1, 2)) NOT VALID;

ALTER TABLE user_settings ADD CONSTRAINT user_settings_direct_message_policy_check CHECK (direct_message_policy IN (1, 2, 3)) NOT VALID;

COMMENT ON COLUMN profiles.visibility IS 'ProfileVisibility numbers';

COMMENT ON COLUMN user_settings.direct_message_policy IS 'DirectMessagePolicy numbers';

-- Migration 0003 of the user service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate user --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

ALTER TABLE profiles VALIDATE CONSTRAINT profiles_visibility_check;

ALTER TABLE user_settings VALIDATE CONSTRAINT user_settings_direct_message_policy_check;

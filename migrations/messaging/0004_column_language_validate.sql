-- Migration 0004 of the messaging service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate messaging --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- conversations_direct_key_live_key (built above, without blocking writes) keeps these values of conversations unique among the rows its predicate selects; conversations_direct_key_key held among all rows.
-- squawk-ignore ban-drop-constraint
ALTER TABLE conversations DROP CONSTRAINT conversations_direct_key_key;

ALTER TABLE conversation_members VALIDATE CONSTRAINT conversation_members_role_check;

ALTER TABLE conversations VALIDATE CONSTRAINT conversations_kind_check;

ALTER TABLE messages VALIDATE CONSTRAINT messages_kind_check;

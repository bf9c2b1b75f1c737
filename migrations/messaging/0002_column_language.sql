-- Migration 0002 of the messaging service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate messaging --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE conversation_members ADD CONSTRAINT conversation_members_role_check CHECK (role IN (1, 2, 3)) NOT VALID;

ALTER TABLE conversations ADD CONSTRAINT conversations_kind_check CHECK (kind IN (1, 2)) NOT VALID;

ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind IN (1, 2, 3)) NOT VALID;

COMMENT ON COLUMN conversation_members.role IS 'MemberRole numbers';

COMMENT ON COLUMN conversations.kind IS 'ConversationKind numbers';

COMMENT ON COLUMN messages.kind IS 'MessageKind numbers';

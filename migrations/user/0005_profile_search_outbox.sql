-- Migration 0005 of the user service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate user --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE profile_search_outbox (
    id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY,
    user_id UUID NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT profile_search_outbox_pkey PRIMARY KEY (id)
);

CREATE INDEX profile_search_outbox_user_id_idx ON profile_search_outbox (user_id);

COMMENT ON TABLE profile_search_outbox IS 'Profiles changed since search last acknowledged them (a transactional outbox): written in the transaction of the change, deleted once search indexed the profile''s current state.';

COMMENT ON COLUMN profile_search_outbox.username IS 'the username auth reported when the profile was created; empty when unknown';

ALTER TABLE profile_search_outbox ADD CONSTRAINT profile_search_outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES profiles (user_id) ON DELETE CASCADE;

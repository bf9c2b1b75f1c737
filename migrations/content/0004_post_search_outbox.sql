-- Migration 0004 of the content service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate content --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE post_search_outbox (
    id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY,
    post_id UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT post_search_outbox_pkey PRIMARY KEY (id)
);

CREATE INDEX post_search_outbox_post_id_idx ON post_search_outbox (post_id);

COMMENT ON TABLE post_search_outbox IS 'Posts changed since search last acknowledged them (a transactional outbox): written in the transaction of the change, deleted once search indexed the post''s current state.';

ALTER TABLE post_search_outbox ADD CONSTRAINT post_search_outbox_post_id_fkey FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE CASCADE;

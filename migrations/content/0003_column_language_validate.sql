-- Migration 0003 of the content service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate content --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

ALTER TABLE bookmarks VALIDATE CONSTRAINT bookmarks_collection_id_fkey;

ALTER TABLE posts VALIDATE CONSTRAINT posts_visibility_check;

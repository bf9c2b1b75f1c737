-- Migration 0002 of the content service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate content --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

-- The spec redefines foreign key bookmarks_collection_id_fkey; no row changes.
-- squawk-ignore ban-drop-constraint
ALTER TABLE bookmarks DROP CONSTRAINT bookmarks_collection_id_fkey;

ALTER TABLE bookmarks ADD CONSTRAINT bookmarks_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES bookmark_collections (id) ON DELETE SET NULL NOT VALID;

ALTER TABLE posts ADD CONSTRAINT posts_visibility_check CHECK (visibility IN (1, 2, 3)) NOT VALID;

COMMENT ON COLUMN bookmarks.collection_id IS 'NULL: saved outside any collection';

COMMENT ON COLUMN posts.visibility IS 'PostVisibility numbers';

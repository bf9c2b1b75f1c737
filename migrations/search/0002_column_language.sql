-- Migration 0002 of the search service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate search --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

-- DESTRUCTIVE (written with --allow-destructive): filling search_documents.search_vector for every existing row rewrites search_documents under an ACCESS EXCLUSIVE lock (reads and writes wait).
-- squawk-ignore adding-field-with-default
ALTER TABLE search_documents ADD COLUMN search_vector TSVECTOR NOT NULL GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED;

COMMENT ON COLUMN search_documents.search_vector IS 'full-text index of title and body';

ALTER TABLE search_documents ADD CONSTRAINT search_documents_kind_check CHECK (kind IN (1, 2, 3)) NOT VALID;

ALTER TABLE search_queries ADD CONSTRAINT search_queries_scope_check CHECK (scope IN (1, 2, 3, 4)) NOT VALID;

COMMENT ON COLUMN search_documents.kind IS 'DocumentKind numbers';

COMMENT ON COLUMN search_queries.scope IS 'SearchScope numbers';

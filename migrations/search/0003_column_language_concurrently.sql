-- no-transaction
-- Migration 0003 of the search service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate search --name <what-changes>`.
-- Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.
SET lock_timeout = '5s';
SET statement_timeout = '0';

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS search_documents_hashtags_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS search_documents_hashtags_idx ON search_documents USING gin (hashtags);

-- Re-runnable: a build that failed part way leaves an INVALID index, dropped here.
DROP INDEX CONCURRENTLY IF EXISTS search_documents_search_vector_idx;

CREATE INDEX CONCURRENTLY IF NOT EXISTS search_documents_search_vector_idx ON search_documents USING gin (search_vector);

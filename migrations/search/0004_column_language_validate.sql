-- Migration 0004 of the search service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate search --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

ALTER TABLE search_documents VALIDATE CONSTRAINT search_documents_kind_check;

ALTER TABLE search_queries VALIDATE CONSTRAINT search_queries_scope_check;

-- Migration 0006 of the content service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate content --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

-- Table post_search_outbox is dropped below; its foreign keys go first so that tables can be dropped in any order.
-- squawk-ignore ban-drop-constraint
ALTER TABLE post_search_outbox DROP CONSTRAINT post_search_outbox_post_id_fkey;

-- DESTRUCTIVE (written with --allow-destructive): destroys every row of post_search_outbox.
-- squawk-ignore ban-drop-table
DROP TABLE post_search_outbox;

CREATE TABLE nova_aggregate_versions (
    aggregate TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT nova_aggregate_versions_pkey PRIMARY KEY (aggregate, aggregate_id)
);

COMMENT ON TABLE nova_aggregate_versions IS 'Each aggregate''s last event version; its row lock orders two writers of one aggregate.';

COMMENT ON COLUMN nova_aggregate_versions.aggregate IS '<service>.<table>';

COMMENT ON COLUMN nova_aggregate_versions.aggregate_id IS 'The row''s key as text.';

COMMENT ON COLUMN nova_aggregate_versions.version IS 'The last version written.';

CREATE TABLE nova_outbox (
    seq BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY,
    event_id UUID NOT NULL,
    subject TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    envelope BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT nova_outbox_pkey PRIMARY KEY (seq)
);

COMMENT ON TABLE nova_outbox IS 'Events written with the change they describe, until the relay has published them (nova_runtime::events::relay).';

COMMENT ON COLUMN nova_outbox.seq IS 'Commit-independent order of the rows; the relay publishes in it.';

COMMENT ON COLUMN nova_outbox.event_id IS 'UUIDv7; JetStream''s Nats-Msg-Id.';

COMMENT ON COLUMN nova_outbox.subject IS 'nova.<service>.<table>.<event>';

COMMENT ON COLUMN nova_outbox.aggregate IS '<service>.<table>';

COMMENT ON COLUMN nova_outbox.aggregate_id IS 'The row''s key as text.';

COMMENT ON COLUMN nova_outbox.version IS 'The aggregate''s event count.';

COMMENT ON COLUMN nova_outbox.envelope IS 'nova_runtime::events::Envelope, protobuf.';

COMMENT ON COLUMN nova_outbox.created_at IS 'When the change committed.';

-- Migration 0005 of the messaging service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate messaging --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE nova_consumed_versions (
    aggregate TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT nova_consumed_versions_pkey PRIMARY KEY (aggregate, aggregate_id)
);

COMMENT ON TABLE nova_consumed_versions IS 'The newest event version applied per aggregate: an older event is acknowledged without effect.';

COMMENT ON COLUMN nova_consumed_versions.aggregate IS '<service>.<table> of the publisher.';

COMMENT ON COLUMN nova_consumed_versions.aggregate_id IS 'The row''s key as text.';

COMMENT ON COLUMN nova_consumed_versions.version IS 'The newest version applied.';

CREATE TABLE nova_event_inbox (
    consumer TEXT NOT NULL,
    event_id UUID NOT NULL,
    handled_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT nova_event_inbox_pkey PRIMARY KEY (consumer, event_id)
);

CREATE INDEX nova_event_inbox_handled_at_idx ON nova_event_inbox (handled_at);

COMMENT ON TABLE nova_event_inbox IS 'Events this service has handled: a redelivery finds its row and has no effect.';

COMMENT ON COLUMN nova_event_inbox.consumer IS 'The consuming service.';

COMMENT ON COLUMN nova_event_inbox.event_id IS 'The event''s id.';

COMMENT ON COLUMN nova_event_inbox.handled_at IS 'When it was applied (old rows are pruned).';

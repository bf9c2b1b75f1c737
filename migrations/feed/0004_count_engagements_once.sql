-- Migration 0004 of the feed service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate feed --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE counted_engagements (
    user_id UUID NOT NULL,
    post_id UUID NOT NULL,
    event_type SMALLINT NOT NULL,
    counted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT counted_engagements_pkey PRIMARY KEY (user_id, post_id, event_type),
    CONSTRAINT counted_engagements_event_type_check CHECK (event_type IN (1, 2, 3, 4, 5))
);

COMMENT ON TABLE counted_engagements IS 'The engagements that moved a post''s scores: one per user, post and kind (a view again once 24 hours passed since the one that counted), so that one account cannot pump a post.';

COMMENT ON COLUMN counted_engagements.user_id IS 'Logical reference to auth.users.id: no foreign key across services; checked through the auth service''s API.';

COMMENT ON COLUMN counted_engagements.post_id IS 'Logical reference to content.posts.id: no foreign key across services; checked through the content service''s API.';

COMMENT ON COLUMN counted_engagements.event_type IS 'EngagementType numbers';

COMMENT ON COLUMN counted_engagements.counted_at IS 'when it last counted: a view counts again 24 hours later';

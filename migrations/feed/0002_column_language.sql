-- Migration 0002 of the feed service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate feed --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

ALTER TABLE engagement_events ADD CONSTRAINT engagement_events_event_type_check CHECK (event_type IN (1, 2, 3, 4, 5)) NOT VALID;

ALTER TABLE trending_scores ADD CONSTRAINT trending_scores_time_window_check CHECK (time_window IN (1, 2, 3)) NOT VALID;

ALTER TABLE user_feed_preferences ADD CONSTRAINT user_feed_preferences_default_feed_kind_check CHECK (default_feed_kind IN (1, 2)) NOT VALID;

COMMENT ON COLUMN engagement_events.event_type IS 'EngagementType numbers';

COMMENT ON COLUMN trending_scores.time_window IS 'TrendingWindow numbers';

COMMENT ON COLUMN user_feed_preferences.default_feed_kind IS 'FeedKind numbers';

-- Migration 0003 of the feed service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate feed --name <what-changes>`.
-- One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.
SET lock_timeout = '5s';
SET statement_timeout = '0';

ALTER TABLE engagement_events VALIDATE CONSTRAINT engagement_events_event_type_check;

ALTER TABLE trending_scores VALIDATE CONSTRAINT trending_scores_time_window_check;

ALTER TABLE user_feed_preferences VALIDATE CONSTRAINT user_feed_preferences_default_feed_kind_check;

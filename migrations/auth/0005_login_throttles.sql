-- Migration 0005 of the auth service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate auth --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE login_throttles (
    source TEXT NOT NULL,
    email TEXT NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    CONSTRAINT login_throttles_pkey PRIMARY KEY (source, email)
);

CREATE INDEX login_throttles_window_started_at_idx ON login_throttles (window_started_at);

COMMENT ON TABLE login_throttles IS 'Failed sign-ins per (email as typed, source address) and per source address, whether or not the email has an account, so that throttled answers cannot tell the two apart.';

COMMENT ON COLUMN login_throttles.source IS 'the client''s address (an IPv6 client by its /64), or ''unknown'' when the call carries none';

COMMENT ON COLUMN login_throttles.email IS 'the email as typed, trimmed and lower-cased; '''' for the row counting every email from the source';

COMMENT ON COLUMN login_throttles.window_started_at IS 'the first failure of the current window';

COMMENT ON COLUMN login_throttles.failures IS 'failures since window_started_at';

COMMENT ON COLUMN login_throttles.locked_until IS 'sign-ins for this key are refused until then';

COMMENT ON COLUMN users.failed_login_attempts IS 'unused since sign-in failures are counted per email and source in login_throttles; kept for replicas of the previous release';

COMMENT ON COLUMN users.locked_until IS 'unused: sign-in throttling never locks an account (see login_throttles); kept for replicas of the previous release';

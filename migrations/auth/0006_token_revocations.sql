-- Migration 0006 of the auth service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate auth --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

CREATE TABLE token_revocations (
    id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY,
    session_id UUID,
    user_id UUID,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT token_revocations_pkey PRIMARY KEY (id),
    CONSTRAINT token_revocations_session_id_user_id_check CHECK (num_nonnulls(session_id, user_id) = 1)
);

CREATE INDEX token_revocations_expires_at_idx ON token_revocations (expires_at);

CREATE INDEX token_revocations_session_id_idx ON token_revocations (session_id);

CREATE INDEX token_revocations_user_id_idx ON token_revocations (user_id);

COMMENT ON TABLE token_revocations IS 'Access tokens that must stop verifying before they expire (Logout, a reused refresh token, ChangePassword, DeleteUser), as every service reads them through GetTokenVerification. Writers serialise on an advisory lock, so ids appear in commit order and a cursor never skips one.';

COMMENT ON COLUMN token_revocations.id IS 'the cursor of GetTokenVerification';

COMMENT ON COLUMN token_revocations.session_id IS 'every token of this session';

COMMENT ON COLUMN token_revocations.user_id IS 'every token of this user issued (iat) at or before revoked_at';

COMMENT ON COLUMN token_revocations.expires_at IS 'no token it covers is valid after this (revocation plus the access-token lifetime): pruned then';

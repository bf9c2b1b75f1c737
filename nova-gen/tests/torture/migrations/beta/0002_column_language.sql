-- Migration 0002 of the beta service, written by `nova-gen migrate` from specs/ownership.toml.
-- Committed migrations never change (nova.sum records them): to change the schema, edit the
-- spec and run `nova-gen migrate beta --name <what-changes>`.
-- One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.
SET lock_timeout = '5s';
SET statement_timeout = '1min';

-- varchar(n) as the spec declares; a longer limit later needs no rewrite.
CREATE TABLE everything (
    id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY,
    title TEXT NOT NULL,
    state SMALLINT NOT NULL DEFAULT 1,
    mood TEXT,
    -- squawk-ignore prefer-text-field
    code VARCHAR(12),
    ratio REAL NOT NULL DEFAULT 1.5,
    opens_at TIME,
    ttl INTERVAL NOT NULL DEFAULT '1 day',
    tags TEXT[] NOT NULL DEFAULT '{}',
    flags BOOLEAN[] NOT NULL DEFAULT '{}',
    scores DOUBLE PRECISION[],
    days DATE[],
    rank INTEGER DEFAULT 5,
    expires_at TIMESTAMPTZ NOT NULL DEFAULT now() + interval '24 hours',
    pinned BOOLEAN NOT NULL DEFAULT false,
    body TEXT NOT NULL DEFAULT '',
    search TSVECTOR NOT NULL GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED,
    shelf_owner UUID,
    -- squawk-ignore prefer-text-field
    shelf_name VARCHAR(64),
    link_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ,
    version BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT everything_pkey PRIMARY KEY (id),
    CONSTRAINT everything_mood_check CHECK (mood IN ('calm', 'busy')),
    CONSTRAINT everything_ratio_check CHECK (ratio >= 0),
    CONSTRAINT everything_state_check CHECK (state IN (1, 2, 3)),
    CONSTRAINT everything_title_check CHECK (length(title) between 1 and 200)
);

CREATE UNIQUE INDEX everything_code_partial_key ON everything (code) WHERE code is not null;

CREATE INDEX everything_created_at_partial_idx ON everything (created_at DESC) WHERE pinned;

CREATE UNIQUE INDEX everything_lower_title_live_key ON everything ((lower(title))) WHERE deleted_at IS NULL;

CREATE INDEX everything_search_idx ON everything USING gin (search);

CREATE INDEX everything_tags_idx ON everything USING gin (tags);

CREATE UNIQUE INDEX everything_title_live_key ON everything (title) WHERE deleted_at IS NULL;

COMMENT ON COLUMN everything.title IS 'unique among live rows';

COMMENT ON COLUMN everything.rank IS 'NULL means unranked; the default when not given';

-- varchar(n) as the spec declares; a longer limit later needs no rewrite.
CREATE TABLE shelves (
    owner_id UUID NOT NULL,
    -- squawk-ignore prefer-text-field
    name VARCHAR(64) NOT NULL,
    kind TEXT NOT NULL DEFAULT 'public',
    CONSTRAINT shelves_pkey PRIMARY KEY (owner_id, name),
    CONSTRAINT shelves_kind_check CHECK (kind IN ('public', 'private'))
);

COMMENT ON TABLE shelves IS 'Named shelves of links; composite keys for the foreign key below.';

COMMENT ON COLUMN shelves.kind IS 'stored as text';

ALTER TABLE everything ADD CONSTRAINT everything_link_id_fkey FOREIGN KEY (link_id) REFERENCES links (id) ON DELETE SET NULL;

ALTER TABLE everything ADD CONSTRAINT everything_shelf_owner_shelf_name_fkey FOREIGN KEY (shelf_owner, shelf_name) REFERENCES shelves (owner_id, name) ON DELETE SET NULL;

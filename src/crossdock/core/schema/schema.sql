-- The core's declared schema (after procrastinate's, which schema.py adds first).
CREATE TABLE crossdock_events (
    id bigserial PRIMARY KEY,
    event_type text NOT NULL,
    key text,
    payload jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    fanned_out_at timestamptz
);
CREATE INDEX crossdock_events_type_idx ON crossdock_events (event_type, published_at);
-- The dashboard's counts per minute (see migration 0005).
CREATE INDEX crossdock_events_published_idx ON crossdock_events (published_at);

CREATE TABLE crossdock_event_receipts (
    event_id bigint NOT NULL REFERENCES crossdock_events (id) ON DELETE CASCADE,
    handler text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, handler)
);

-- Payloads are compressed with lz4 where the server has it (pglz cost four times the CPU);
-- a server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE crossdock_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END;
$$;

-- Admin API tokens: only a SHA-256 of each token is kept (see crossdock.core.tokens).
CREATE TABLE crossdock_admin_tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('read', 'admin')),
    token_sha256 bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- The dashboard's jobs finished per minute read only these (see migration 0005).
CREATE INDEX crossdock_job_events_finished_idx ON procrastinate_events (at)
    WHERE type IN ('succeeded', 'failed');

-- Sources (where deliveries come from), their routing rules, the deliveries received
-- (accepted and rejected) and each handler run on them.
CREATE TABLE webhooks_sources (
    name text PRIMARY KEY,
    provider text NOT NULL,
    -- Secret references ("env:NAME" or a literal); several while a secret is rotated.
    secrets text[] NOT NULL,
    -- Provider options, e.g. the generic hmac provider's header, algorithm and encoding.
    options jsonb NOT NULL DEFAULT '{}',
    max_body_bytes integer NOT NULL DEFAULT 26214400,
    retry_max_tries integer NOT NULL DEFAULT 8,
    retry_base_seconds double precision NOT NULL DEFAULT 5,
    retry_max_seconds double precision NOT NULL DEFAULT 3600,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_sources_name_check CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    CONSTRAINT webhooks_sources_secrets_check CHECK (cardinality(secrets) > 0)
);

CREATE TABLE webhooks_routes (
    id bigserial PRIMARY KEY,
    source text NOT NULL REFERENCES webhooks_sources (name) ON DELETE CASCADE,
    position integer NOT NULL DEFAULT 0,
    -- NULL matches any event type / action.
    event_type text,
    action text,
    filters jsonb NOT NULL DEFAULT '[]',
    handler text NOT NULL,
    config jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_routes_source_idx ON webhooks_routes (source, position, id);

CREATE TABLE webhooks_deliveries (
    id bigserial PRIMARY KEY,
    source text NOT NULL REFERENCES webhooks_sources (name) ON DELETE CASCADE,
    provider text NOT NULL,
    provider_delivery_id text,
    event_type text,
    action text,
    status text NOT NULL,
    -- Why a rejected delivery was refused (bad_signature, too_large, malformed).
    reason text,
    headers jsonb NOT NULL DEFAULT '{}',
    -- NULL for rejected deliveries: their bodies are never kept.
    body bytea,
    body_size integer NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    next_attempt_at timestamptz,
    tries integer NOT NULL DEFAULT 0,
    -- Bumped by a replay of a processed delivery, so that its handlers run again.
    generation integer NOT NULL DEFAULT 0,
    last_error text,
    -- Until when a worker holds the delivery (the queue's lease); a dead worker's expires.
    claimed_until timestamptz,
    CONSTRAINT webhooks_deliveries_status_check
        CHECK (status IN ('received', 'processed', 'failed', 'dead', 'rejected')),
    CONSTRAINT webhooks_deliveries_body_check
        CHECK (status <> 'rejected' OR body IS NULL)
);
-- A provider's redelivery of the same id is a duplicate; rejected rows do not count.
CREATE UNIQUE INDEX webhooks_deliveries_provider_id_idx
    ON webhooks_deliveries (source, provider_delivery_id) WHERE status <> 'rejected';
CREATE INDEX webhooks_deliveries_status_idx ON webhooks_deliveries (status, received_at);
CREATE INDEX webhooks_deliveries_source_idx ON webhooks_deliveries (source, received_at);
-- The queue: what a worker may claim (received, or failed and waiting for its next try).
-- New deliveries are claimed oldest first; failed ones when their next try is due. Two indexes,
-- so that thousands of failures waiting for a later try (an endpoint down for hours) are never
-- scanned by a claim of new deliveries.
CREATE INDEX webhooks_deliveries_received_idx ON webhooks_deliveries (id)
    WHERE status = 'received';
CREATE INDEX webhooks_deliveries_due_idx ON webhooks_deliveries (next_attempt_at, id)
    WHERE status = 'failed';

-- Storing deliveries wakes the workers (once per statement, so once per group commit).
CREATE FUNCTION webhooks_notify_received() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crossdock_webhooks', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhooks_deliveries_notify AFTER INSERT ON webhooks_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_notify_received();

CREATE TABLE webhooks_attempts (
    id bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhooks_deliveries (id) ON DELETE CASCADE,
    generation integer NOT NULL,
    try integer NOT NULL,
    -- "route:<id>", or "default:bus" for a source without routes.
    route text NOT NULL,
    handler text NOT NULL,
    status text NOT NULL,
    duration_ms double precision NOT NULL,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_attempts_status_check CHECK (status IN ('succeeded', 'failed'))
);
-- A handler that succeeded on a delivery is never run on it again (in that generation).
CREATE UNIQUE INDEX webhooks_attempts_success_idx
    ON webhooks_attempts (delivery_id, generation, route) WHERE status = 'succeeded';
CREATE INDEX webhooks_attempts_delivery_idx ON webhooks_attempts (delivery_id, id);

-- Bodies are compressed with lz4 where the server has it (pglz cost four times the CPU); a
-- server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE webhooks_deliveries ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END;
$$;

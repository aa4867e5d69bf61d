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
    -- The repository the body names, normalized (github.com/org/repo), once a worker read it.
    repository text,
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
-- The admin graph's list: newest first, by event type, and a search by a provider's delivery
-- id that finds refused requests too (accepted ones through the unique index above).
CREATE INDEX webhooks_deliveries_received_at_idx ON webhooks_deliveries (received_at, id);
CREATE INDEX webhooks_deliveries_event_type_idx
    ON webhooks_deliveries (event_type, received_at, id);
CREATE INDEX webhooks_deliveries_rejected_id_idx ON webhooks_deliveries (provider_delivery_id)
    WHERE status = 'rejected';
-- A repository's deliveries, newest first (the admin graph's Repository.deliveries).
CREATE INDEX webhooks_deliveries_repository_idx
    ON webhooks_deliveries (repository, received_at, id) WHERE repository IS NOT NULL;
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

-- Outbound webhooks: applications (tenants) and their endpoints, the catalogue of event
-- types, the messages published, one destination per (message, endpoint) that the sending
-- workers claim as a queue, and each HTTP attempt.
CREATE TABLE webhooks_out_applications (
    name text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_out_applications_name_check
        CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$')
);

CREATE TABLE webhooks_out_event_types (
    name text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    -- The JSON Schema a payload of this type must match; NULL takes any JSON value.
    schema jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_out_event_types_name_check
        CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$')
);

CREATE TABLE webhooks_out_endpoints (
    id bigserial PRIMARY KEY,
    app text NOT NULL REFERENCES webhooks_out_applications (name) ON DELETE CASCADE,
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- NULL receives every event type; else only these.
    event_types text[],
    -- NULL receives every message; else only messages sent on one of these channels.
    channels text[],
    -- Requests per second; NULL is no limit.
    rate_limit double precision,
    -- Requests in flight at once; NULL is no cap.
    max_concurrency integer,
    timeout_seconds double precision NOT NULL DEFAULT 15,
    headers jsonb NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at timestamptz,
    -- Standard Webhooks keys: "whsec_<base64>" (HMAC, v1) or "whsk_<base64>" (ed25519, v1a).
    secret text NOT NULL,
    -- The key before the last rotation, still signed with until previous_secret_expires_at.
    previous_secret text,
    previous_secret_expires_at timestamptz,
    -- Since when every attempt failed (NULL after a success): auto-disable reads it.
    failing_since timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_out_endpoints_rate_limit_check CHECK (rate_limit > 0),
    CONSTRAINT webhooks_out_endpoints_concurrency_check CHECK (max_concurrency > 0),
    CONSTRAINT webhooks_out_endpoints_timeout_check CHECK (timeout_seconds > 0)
);
CREATE INDEX webhooks_out_endpoints_app_idx ON webhooks_out_endpoints (app, id);

CREATE TABLE webhooks_out_messages (
    id bigserial PRIMARY KEY,
    -- The webhook-id every attempt of this message carries, so receivers dedupe on it.
    uid text NOT NULL DEFAULT 'msg_' || replace(gen_random_uuid()::text, '-', ''),
    app text NOT NULL REFERENCES webhooks_out_applications (name) ON DELETE CASCADE,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    channels text[] NOT NULL DEFAULT '{}',
    -- The same key within the idempotency window is the same message; the store clears a
    -- key past the window before it stores the next message with it.
    idempotency_key text,
    ordering_key text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhooks_out_messages_uid_idx ON webhooks_out_messages (uid);
CREATE UNIQUE INDEX webhooks_out_messages_idempotency_idx
    ON webhooks_out_messages (app, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX webhooks_out_messages_created_idx ON webhooks_out_messages (created_at);
CREATE INDEX webhooks_out_messages_app_idx ON webhooks_out_messages (app, created_at);

-- One row per (message, endpoint): the sending queue. pending waits for next_attempt_at;
-- sending is held by a worker until claimed_until (a dead worker's claim expires);
-- succeeded, failed (stopped: 410 Gone, endpoint disabled) and exhausted (no try left) are
-- final until a recover.
CREATE TABLE webhooks_out_destinations (
    id bigserial PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES webhooks_out_messages (id) ON DELETE CASCADE,
    endpoint_id bigint NOT NULL REFERENCES webhooks_out_endpoints (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending',
    -- The message's, copied so that the head of each key is found on one index.
    ordering_key text,
    -- When a pending destination is due; NULL behind the unfinished head of its key.
    next_attempt_at timestamptz,
    claimed_until timestamptz,
    -- Tries counted when claimed, so that a message that kills its worker still runs out.
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT webhooks_out_destinations_status_check
        CHECK (status IN ('pending', 'sending', 'succeeded', 'failed', 'exhausted'))
);
CREATE UNIQUE INDEX webhooks_out_destinations_message_idx
    ON webhooks_out_destinations (message_id, endpoint_id);
-- What is due: a pending destination queued behind the head of its ordering key has no
-- next_attempt_at until the head finishes, so a key held back by a failing head is never
-- scanned by a claim.
CREATE INDEX webhooks_out_destinations_due_idx ON webhooks_out_destinations (next_attempt_at, id)
    WHERE status = 'pending';
-- What is in flight: each endpoint's concurrency, and the claims of dead workers to take over.
CREATE INDEX webhooks_out_destinations_sending_idx
    ON webhooks_out_destinations (endpoint_id, claimed_until) WHERE status = 'sending';
-- The unfinished destinations of each (endpoint, ordering key): the lowest id is the head, the
-- only one of its key a worker may claim.
CREATE INDEX webhooks_out_destinations_ordering_idx
    ON webhooks_out_destinations (endpoint_id, ordering_key, id)
    WHERE ordering_key IS NOT NULL AND status IN ('pending', 'sending');
-- recover: an endpoint's stopped and exhausted destinations.
CREATE INDEX webhooks_out_destinations_finished_idx
    ON webhooks_out_destinations (endpoint_id, created_at)
    WHERE status IN ('failed', 'exhausted');

CREATE TABLE webhooks_out_attempts (
    id bigserial PRIMARY KEY,
    destination_id bigint NOT NULL REFERENCES webhooks_out_destinations (id) ON DELETE CASCADE,
    -- Denormalised from the destination: attempts are listed by message.
    message_id bigint NOT NULL,
    endpoint_id bigint NOT NULL,
    status text NOT NULL,
    response_code integer,
    -- The start of the response body only (the store truncates it).
    response_body text,
    duration_ms double precision NOT NULL,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_out_attempts_status_check CHECK (status IN ('succeeded', 'failed'))
);
CREATE INDEX webhooks_out_attempts_message_idx ON webhooks_out_attempts (message_id, id);
CREATE INDEX webhooks_out_attempts_destination_idx ON webhooks_out_attempts (destination_id);

-- New and recovered destinations wake the sending workers (once per statement).
CREATE FUNCTION webhooks_out_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crossdock_webhooks_out', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhooks_out_destinations_notify AFTER INSERT ON webhooks_out_destinations
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_out_notify();

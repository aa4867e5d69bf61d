-- name: insert_application
INSERT INTO webhooks_out_applications (name, description)
VALUES (%(name)s, %(description)s)
ON CONFLICT (name) DO NOTHING
RETURNING *

-- name: select_application
SELECT * FROM webhooks_out_applications WHERE name = %(name)s

-- name: list_applications
SELECT * FROM webhooks_out_applications ORDER BY name

-- name: delete_application
-- Its endpoints, messages, destinations and attempts go with it (ON DELETE CASCADE).
DELETE FROM webhooks_out_applications WHERE name = %(name)s RETURNING name

-- name: insert_event_type
INSERT INTO webhooks_out_event_types (name, description, schema)
VALUES (%(name)s, %(description)s, %(schema)s)
ON CONFLICT (name) DO NOTHING
RETURNING *

-- name: update_event_type
UPDATE webhooks_out_event_types SET description = %(description)s, schema = %(schema)s
WHERE name = %(name)s
RETURNING *

-- name: select_event_type
SELECT * FROM webhooks_out_event_types WHERE name = %(name)s

-- name: list_event_types
SELECT * FROM webhooks_out_event_types ORDER BY name

-- name: event_type_usage
-- What still uses an event type: endpoints filtering on it, messages of it not yet delivered.
SELECT
    (SELECT count(*) FROM webhooks_out_endpoints WHERE %(name)s = ANY (event_types))
        AS endpoints,
    (SELECT count(DISTINCT m.id) FROM webhooks_out_messages m
     JOIN webhooks_out_destinations d ON d.message_id = m.id
     WHERE m.event_type = %(name)s AND d.status IN ('pending', 'sending')) AS undelivered

-- name: delete_event_type
DELETE FROM webhooks_out_event_types WHERE name = %(name)s RETURNING name

-- name: insert_endpoint
INSERT INTO webhooks_out_endpoints
    (app, url, description, event_types, channels, rate_limit, max_concurrency,
     timeout_seconds, headers, secret)
VALUES (%(app)s, %(url)s, %(description)s, %(event_types)s, %(channels)s, %(rate_limit)s,
        %(max_concurrency)s, %(timeout_seconds)s, %(headers)s, %(secret)s)
RETURNING *

-- name: update_endpoint
UPDATE webhooks_out_endpoints
SET url = %(url)s, description = %(description)s, event_types = %(event_types)s,
    channels = %(channels)s, rate_limit = %(rate_limit)s,
    max_concurrency = %(max_concurrency)s, timeout_seconds = %(timeout_seconds)s,
    headers = %(headers)s, updated_at = now()
WHERE id = %(id)s
RETURNING *

-- name: select_endpoint
SELECT * FROM webhooks_out_endpoints WHERE id = %(id)s

-- name: list_endpoints
-- By (app, id), on webhooks_out_endpoints_app_idx; a page starts after (after_app, after_id)
-- and a NULL limit is no limit.
SELECT * FROM webhooks_out_endpoints
WHERE (%(app)s::text IS NULL OR app = %(app)s)
  AND (%(after_id)s::bigint IS NULL OR (app, id) > (%(after_app)s::text, %(after_id)s::bigint))
ORDER BY app, id
LIMIT %(limit)s

-- name: delete_endpoint
DELETE FROM webhooks_out_endpoints WHERE id = %(id)s RETURNING id

-- name: rotate_secret
-- The key in use becomes the previous one, still signed with until the overlap ends.
UPDATE webhooks_out_endpoints
SET previous_secret = secret, secret = %(secret)s,
    previous_secret_expires_at = now() + make_interval(secs => %(overlap)s),
    updated_at = now()
WHERE id = %(id)s
RETURNING *

-- name: lock_endpoint_secrets
-- Every endpoint's stored keys, locked while they are encrypted again.
SELECT id, secret, previous_secret FROM webhooks_out_endpoints ORDER BY id FOR UPDATE

-- name: store_endpoint_secrets
UPDATE webhooks_out_endpoints SET secret = %(secret)s, previous_secret = %(previous)s
WHERE id = %(id)s

-- name: enable_endpoint
UPDATE webhooks_out_endpoints
SET enabled = true, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL,
    updated_at = now()
WHERE id = %(id)s
RETURNING *

-- name: disable_endpoint
-- Returns a row only when the endpoint was enabled: the caller announces it once.
UPDATE webhooks_out_endpoints
SET enabled = false, disabled_reason = %(reason)s, disabled_at = now(), updated_at = now()
WHERE id = %(id)s AND enabled
RETURNING id

-- name: stop_pending
-- A disabled endpoint's waiting messages stop; recover queues them again.
UPDATE webhooks_out_destinations
SET status = 'failed', next_attempt_at = NULL, claimed_until = NULL, finished_at = now(),
    last_error = %(reason)s
WHERE endpoint_id = %(id)s AND status = 'pending'

-- name: clear_expired_key
-- A key past its window no longer names its message: the next send with it is new.
UPDATE webhooks_out_messages SET idempotency_key = NULL
WHERE app = %(app)s AND idempotency_key = %(key)s
  AND created_at <= now() - make_interval(secs => %(window)s)

-- name: select_idempotent
SELECT * FROM webhooks_out_messages WHERE app = %(app)s AND idempotency_key = %(key)s

-- name: lock_ordering_key
-- Publishing and finishing a head of one (application, ordering key) take turns, so that
-- each sees the other's rows: a new destination waits behind an unfinished head, and a
-- finished head hands its turn to the next one (in a statement after this lock). Application
-- names have no '/', so the pair maps to one lock.
SELECT pg_advisory_xact_lock(hashtextextended(%(app)s || '/' || %(key)s, 15))

-- name: publish
-- The message and its destinations in one statement: one per enabled endpoint of the app
-- whose event-type filter and channels let it through. A key already taken inserts nothing.
-- A destination behind an unfinished one of its ordering key waits (no next_attempt_at).
WITH message AS (
    INSERT INTO webhooks_out_messages
        (app, event_type, payload, channels, idempotency_key, ordering_key)
    VALUES (%(app)s, %(event_type)s, %(payload)s, %(channels)s, %(key)s, %(ordering_key)s)
    ON CONFLICT (app, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
), fanned AS (
    INSERT INTO webhooks_out_destinations (message_id, endpoint_id, ordering_key, next_attempt_at)
    SELECT m.id, e.id, m.ordering_key,
           CASE WHEN m.ordering_key IS NULL OR NOT EXISTS (
               SELECT 1 FROM webhooks_out_destinations h
               WHERE h.endpoint_id = e.id AND h.ordering_key = m.ordering_key
                 AND h.status IN ('pending', 'sending'))
           THEN m.created_at END
    FROM message m
    JOIN webhooks_out_endpoints e ON e.app = m.app
    WHERE e.enabled
      AND (e.event_types IS NULL OR m.event_type = ANY(e.event_types))
      AND (e.channels IS NULL OR e.channels && m.channels)
    ORDER BY e.id
    RETURNING id
)
SELECT message.*, (SELECT count(*) FROM fanned) AS destinations FROM message

-- name: select_message
SELECT * FROM webhooks_out_messages WHERE id = %(id)s

-- name: list_messages
-- Newest first by (created_at, id), on the (app, created_at) index with an application, the
-- created_at index without; a page starts before (before_at, before_id). A status keeps the
-- messages with a destination in it (the destinations' (message_id, endpoint_id) index).
SELECT * FROM webhooks_out_messages m
WHERE (%(app)s::text IS NULL OR m.app = %(app)s)
  AND (%(event_type)s::text IS NULL OR m.event_type = %(event_type)s)
  AND (%(before_id)s::bigint IS NULL
       OR (m.created_at, m.id) < (%(before_at)s::timestamptz, %(before_id)s::bigint))
  AND (%(status)s::text IS NULL OR EXISTS (
      SELECT 1 FROM webhooks_out_destinations d
      WHERE d.message_id = m.id AND d.status = %(status)s))
ORDER BY m.created_at DESC, m.id DESC
LIMIT %(limit)s

-- name: claim_due
-- The queue. Due pending destinations and those whose worker's claim expired, oldest first,
-- locked with SKIP LOCKED so that workers never wait on each other. Of an ordering key only
-- the head (its endpoint's oldest unfinished destination of the key) is claimed, so a
-- failing head holds back its key and nothing else. An endpoint with a concurrency cap gets
-- no more than the cap less what is in flight (workers claiming at the same instant may
-- together pass it by a batch), and the due rows of an endpoint at its cap are skipped by the
-- scan, so that its backlog never hides the others'. Each is counted a try and leased until
-- claimed_until.
WITH saturated AS (
    SELECT e.id FROM webhooks_out_endpoints e
    WHERE e.max_concurrency IS NOT NULL
      AND (SELECT count(*) FROM webhooks_out_destinations s
           WHERE s.endpoint_id = e.id AND s.status = 'sending' AND s.claimed_until > now())
          >= e.max_concurrency
), due AS (
    SELECT id FROM webhooks_out_destinations
    WHERE status = 'pending' AND next_attempt_at <= now()
      AND endpoint_id <> ALL (ARRAY(SELECT id FROM saturated))
    ORDER BY next_attempt_at, id
    LIMIT %(scan)s
), expired AS (
    SELECT id FROM webhooks_out_destinations
    WHERE status = 'sending' AND claimed_until <= now()
    LIMIT %(scan)s
), ranked AS (
    SELECT d.id, e.max_concurrency,
           row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.id) AS position,
           (SELECT count(*) FROM webhooks_out_destinations s
            WHERE e.max_concurrency IS NOT NULL AND s.endpoint_id = d.endpoint_id
              AND s.status = 'sending' AND s.claimed_until > now()) AS in_flight
    FROM webhooks_out_destinations d
    JOIN webhooks_out_endpoints e ON e.id = d.endpoint_id AND e.enabled
    WHERE d.id IN (SELECT id FROM due UNION ALL SELECT id FROM expired)
      AND (d.ordering_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM webhooks_out_destinations h
          WHERE h.endpoint_id = d.endpoint_id AND h.ordering_key = d.ordering_key
            AND h.status IN ('pending', 'sending') AND h.id < d.id))
), claimable AS (
    SELECT d.id FROM webhooks_out_destinations d
    JOIN ranked r ON r.id = d.id
    WHERE (r.max_concurrency IS NULL OR r.position + r.in_flight <= r.max_concurrency)
      AND (d.status = 'pending' OR (d.status = 'sending' AND d.claimed_until <= now()))
    ORDER BY d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhooks_out_destinations d
SET status = 'sending', attempts = d.attempts + 1,
    claimed_until = now() + make_interval(secs => %(lease)s)
FROM claimable
WHERE d.id = claimable.id
RETURNING d.id, d.message_id, d.endpoint_id, d.attempts, d.claimed_until

-- name: claimed_messages
SELECT * FROM webhooks_out_messages WHERE id = ANY(%(ids)s::bigint[])

-- name: claimed_endpoints
SELECT * FROM webhooks_out_endpoints WHERE id = ANY(%(ids)s::bigint[])

-- name: record_attempt
-- One statement per attempt: the attempt, its destination's next state (succeeded, failed,
-- exhausted, or pending again in retry_in seconds) and its endpoint's failing streak (which
-- starts at the first failure after a success; only a change writes the endpoint's row).
WITH settled AS (
    UPDATE webhooks_out_destinations
    SET status = %(next)s, claimed_until = NULL, last_error = %(error)s,
        next_attempt_at = CASE WHEN %(next)s = 'pending'
                               THEN now() + make_interval(secs => %(retry_in)s) END,
        finished_at = CASE WHEN %(next)s = 'pending' THEN NULL ELSE now() END
    WHERE id = %(id)s
    RETURNING id, message_id, endpoint_id, ordering_key
), attempt AS (
    INSERT INTO webhooks_out_attempts
        (destination_id, message_id, endpoint_id, status, response_code, response_body,
         duration_ms, error, started_at)
    SELECT s.id, s.message_id, s.endpoint_id, %(status)s, %(response_code)s,
           %(response_body)s, %(duration_ms)s, %(error)s, coalesce(%(started_at)s, now())
    FROM settled s
    RETURNING id
), streak AS (
    UPDATE webhooks_out_endpoints e
    SET failing_since = CASE WHEN %(status)s = 'succeeded' THEN NULL ELSE now() END
    FROM settled s
    WHERE e.id = s.endpoint_id
      AND (CASE WHEN %(status)s = 'succeeded' THEN e.failing_since IS NOT NULL
                ELSE e.failing_since IS NULL END)
    RETURNING e.id, e.failing_since
)
SELECT s.endpoint_id, s.ordering_key, m.app,
       CASE WHEN %(status)s = 'succeeded' THEN NULL
            ELSE coalesce(e.failing_since, (SELECT failing_since FROM streak)) END
           AS failing_since
FROM settled s
JOIN webhooks_out_messages m ON m.id = s.message_id
JOIN webhooks_out_endpoints e ON e.id = s.endpoint_id

-- name: promote_next
-- A head finished: the oldest unfinished destination of its key at its endpoint is due now.
UPDATE webhooks_out_destinations SET next_attempt_at = now()
WHERE id = (SELECT id FROM webhooks_out_destinations
            WHERE endpoint_id = %(endpoint_id)s AND ordering_key = %(key)s
              AND status IN ('pending', 'sending')
            ORDER BY id LIMIT 1)
  AND status = 'pending' AND next_attempt_at IS NULL

-- name: reschedule
-- Give claimed destinations back untried (rate limit, concurrency cap, shutdown): the try
-- counted at the claim is taken back.
UPDATE webhooks_out_destinations
SET status = 'pending', claimed_until = NULL, attempts = greatest(attempts - 1, 0),
    next_attempt_at = now() + make_interval(secs => %(delay)s)
WHERE id = ANY(%(ids)s::bigint[]) AND status = 'sending'

-- name: wake_workers
SELECT pg_notify('crossdock_webhooks_out', '')

-- name: listen
LISTEN crossdock_webhooks_out

-- name: next_due
SELECT min(next_attempt_at) AS at FROM webhooks_out_destinations WHERE status = 'pending'

-- name: list_attempts
-- The attempts of several messages, each message's oldest first.
SELECT * FROM webhooks_out_attempts WHERE message_id = ANY(%(ids)s::bigint[])
ORDER BY message_id, id

-- name: list_destinations
SELECT d.*, e.url FROM webhooks_out_destinations d
JOIN webhooks_out_endpoints e ON e.id = d.endpoint_id
WHERE d.message_id = ANY(%(ids)s::bigint[]) ORDER BY d.message_id, d.endpoint_id

-- name: requeue
-- Destinations queued again from the first try, for resend and recover: those of one message
-- (at one endpoint whatever it ended as, or due now if it waits for a retry, when
-- any_state; otherwise each failed and exhausted one), or an endpoint's failed and exhausted
-- ones of messages since a time. Only enabled endpoints; one a worker holds now is left to
-- it, and so is one whose ordering key a worker is sending at that endpoint now (queued, it
-- would become the key's head beside the one in flight: two of one key sent at once). Those
-- of a key wait for their turn (promote_next).
UPDATE webhooks_out_destinations d
SET status = 'pending', attempts = 0, finished_at = NULL, last_error = NULL,
    next_attempt_at = CASE WHEN d.ordering_key IS NULL THEN now() END
FROM webhooks_out_endpoints e
WHERE e.id = d.endpoint_id AND e.enabled
  AND (%(message_id)s::bigint IS NULL OR d.message_id = %(message_id)s)
  AND (%(endpoint_id)s::bigint IS NULL OR d.endpoint_id = %(endpoint_id)s)
  AND (%(since)s::timestamptz IS NULL OR d.created_at >= %(since)s)
  AND CASE WHEN %(any_state)s THEN d.status <> 'sending'
           ELSE d.status IN ('failed', 'exhausted') END
  AND (d.ordering_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM webhooks_out_destinations s
      WHERE s.endpoint_id = d.endpoint_id AND s.ordering_key = d.ordering_key
        AND s.status = 'sending'))
RETURNING e.app, d.endpoint_id, d.ordering_key

-- name: endpoint_health
-- How the attempts at each endpoint went for the last messages of its application (on the
-- messages' (app, created_at) and the attempts' (message_id, id) indexes, so an endpoint's
-- look costs the same however old the application is).
SELECT e.id AS endpoint_id, count(a.id) AS attempts,
       count(a.id) FILTER (WHERE a.status = 'succeeded') AS succeeded,
       max(a.started_at) AS last_attempt_at
FROM webhooks_out_endpoints e
CROSS JOIN LATERAL (SELECT m.id FROM webhooks_out_messages m WHERE m.app = e.app
                    ORDER BY m.created_at DESC LIMIT %(messages)s) recent
JOIN webhooks_out_attempts a ON a.message_id = recent.id AND a.endpoint_id = e.id
WHERE e.id = ANY(%(ids)s::bigint[])
GROUP BY e.id

-- name: prune_messages
-- Messages created before a time whose every destination is final (or that had none),
-- oldest first, a batch at a time; their destinations and attempts go with them.
WITH doomed AS (
    SELECT m.id FROM webhooks_out_messages m
    WHERE m.created_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM webhooks_out_destinations d
                      WHERE d.message_id = m.id AND d.status IN ('pending', 'sending'))
    ORDER BY m.created_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM webhooks_out_messages AS m USING doomed WHERE m.id = doomed.id

-- name: insert_source
INSERT INTO webhooks_sources
    (name, provider, secrets, options, max_body_bytes,
     retry_max_tries, retry_base_seconds, retry_max_seconds)
VALUES (%(name)s, %(provider)s, %(secrets)s, %(options)s, %(max_body_bytes)s,
        %(retry_max_tries)s, %(retry_base_seconds)s, %(retry_max_seconds)s)
ON CONFLICT (name) DO NOTHING
RETURNING created_at

-- name: select_source
SELECT * FROM webhooks_sources WHERE name = %(name)s

-- name: select_source_for_update
SELECT * FROM webhooks_sources WHERE name = %(name)s FOR UPDATE

-- name: update_source
UPDATE webhooks_sources
SET secrets = %(secrets)s, max_body_bytes = %(max_body_bytes)s,
    retry_max_tries = %(retry_max_tries)s, retry_base_seconds = %(retry_base_seconds)s,
    retry_max_seconds = %(retry_max_seconds)s
WHERE name = %(name)s

-- name: delete_source
-- Its routes, deliveries and their attempts go with it (ON DELETE CASCADE).
WITH counted AS (SELECT count(*) AS deliveries FROM webhooks_deliveries
                 WHERE source = %(name)s),
     deleted AS (DELETE FROM webhooks_sources WHERE name = %(name)s RETURNING name)
SELECT deleted.name, counted.deliveries FROM deleted, counted

-- name: list_sources
SELECT * FROM webhooks_sources ORDER BY name

-- name: insert_route
INSERT INTO webhooks_routes (source, position, event_type, action, filters, handler, config)
VALUES (%(source)s, %(position)s, %(event_type)s, %(action)s, %(filters)s, %(handler)s,
        %(config)s)
RETURNING id

-- name: list_routes
SELECT * FROM webhooks_routes WHERE source = %(source)s ORDER BY position, id

-- name: prune_deliveries
-- Finished deliveries (processed, dead, rejected) received before a time, oldest first, a
-- batch at a time; rows another transaction holds are left for the next run. Their attempts
-- go with them (ON DELETE CASCADE).
WITH doomed AS (
    SELECT id FROM webhooks_deliveries
    WHERE status IN ('processed', 'dead', 'rejected') AND received_at < %(before)s
    ORDER BY received_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM webhooks_deliveries AS d USING doomed WHERE d.id = doomed.id

-- name: backlog
-- Both counts come from the partial indexes on waiting deliveries.
SELECT (SELECT count(*) FROM webhooks_deliveries WHERE status = 'received') AS received,
       (SELECT count(*) FROM webhooks_deliveries WHERE status = 'failed') AS failed,
       coalesce(extract(epoch FROM now() - (SELECT min(received_at) FROM webhooks_deliveries
                                             WHERE status = 'received')), 0) AS oldest

-- name: delete_route
DELETE FROM webhooks_routes WHERE id = %(id)s RETURNING id

-- name: insert_deliveries
-- Every delivery of a group commit in one statement. Within the batch and against stored
-- rows, a repeated (source, provider delivery id) inserts nothing and returns no row.
-- Parameters: the rows but their bodies as one JSON array (one orjson call), the bodies as
-- a binary bytea[] (%(body)b). Arrays as text were checked and escaped element by element
-- with regular expressions, every byte of every body included, and even binary arrays of
-- the other columns cost a Python call per element: more CPU than the rest of a request.
INSERT INTO webhooks_deliveries
    (source, provider, provider_delivery_id, event_type, action, status, headers, body,
     body_size)
SELECT r.source, r.provider, r.provider_delivery_id, r.event_type, r.action, 'received',
       r.headers, b.body, r.body_size
FROM ROWS FROM (jsonb_to_recordset(%(rows)s::jsonb)
                AS (source text, provider text, provider_delivery_id text, event_type text,
                    action text, headers jsonb, body_size integer))
     WITH ORDINALITY AS r (source, provider, provider_delivery_id, event_type, action,
                           headers, body_size, position)
JOIN unnest(%(body)b::bytea[]) WITH ORDINALITY AS b (body, position) USING (position)
ORDER BY position
ON CONFLICT (source, provider_delivery_id) WHERE status <> 'rejected' DO NOTHING
RETURNING id, source, provider_delivery_id

-- name: insert_rejection
INSERT INTO webhooks_deliveries
    (source, provider, provider_delivery_id, status, reason, headers, body_size)
VALUES (%(source)s, %(provider)s, %(provider_delivery_id)s, 'rejected', %(reason)s,
        %(headers)s, %(body_size)s)
RETURNING id

-- name: select_delivery
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error
FROM webhooks_deliveries WHERE id = %(id)s

-- name: select_delivery_with_body
SELECT * FROM webhooks_deliveries WHERE id = %(id)s

-- name: list_deliveries
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error
FROM webhooks_deliveries
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
ORDER BY id
LIMIT %(limit)s

-- name: list_deliveries_newest_first
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error
FROM webhooks_deliveries
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
ORDER BY id DESC
LIMIT %(limit)s

-- name: list_attempts
SELECT * FROM webhooks_attempts WHERE delivery_id = %(delivery_id)s ORDER BY id

-- name: claim_batch
-- The queue: the oldest runnable deliveries that no live worker holds, each counted a try
-- before any handler runs (so a delivery that kills its worker still dies) and leased to
-- this worker until claimed_until; a worker that dies leaves its claims to expire.
-- New deliveries and due retries are looked up apart, each on its own partial index, so that
-- failures waiting for a later try are never scanned; the oldest of both make the batch.
WITH fresh AS (
    SELECT id FROM webhooks_deliveries
    WHERE status = 'received' AND (claimed_until IS NULL OR claimed_until <= now())
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM webhooks_deliveries
    WHERE status = 'failed' AND next_attempt_at <= now()
      AND (claimed_until IS NULL OR claimed_until <= now())
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), runnable AS (
    SELECT id FROM (SELECT id FROM fresh UNION ALL SELECT id FROM due) AS both_kinds
    ORDER BY id
    LIMIT %(limit)s
)
UPDATE webhooks_deliveries d
SET tries = d.tries + 1, claimed_until = now() + make_interval(secs => %(lease)s)
FROM runnable
WHERE d.id = runnable.id
RETURNING d.*

-- name: extend_claims
-- Ids go in binary (%(ids)b), here and below: as text each is checked by a regular expression.
UPDATE webhooks_deliveries SET claimed_until = now() + make_interval(secs => %(lease)s)
WHERE id = ANY(%(ids)b::bigint[]) AND claimed_until IS NOT NULL

-- name: succeeded_routes
-- The routes already done on each delivery, in its current generation.
SELECT a.delivery_id, a.route FROM webhooks_attempts a
JOIN webhooks_deliveries d ON d.id = a.delivery_id AND d.generation = a.generation
WHERE a.delivery_id = ANY(%(ids)b::bigint[]) AND a.status = 'succeeded'

-- name: insert_attempts
-- A batch's attempts as one JSON array: array parameters cost Python calls per element.
INSERT INTO webhooks_attempts
    (delivery_id, generation, try, route, handler, status, duration_ms, error)
SELECT delivery_id, generation, try, route, handler, status, duration_ms, error
FROM jsonb_to_recordset(%(attempts)s::jsonb)
     AS (delivery_id bigint, generation integer, try integer, route text, handler text,
         status text, duration_ms double precision, error text)

-- name: mark_processed
-- With the repository each body names (NULL: none, or already recorded) in the same write:
-- a second UPDATE of the batch's rows cost a sixth of the worker's throughput.
UPDATE webhooks_deliveries AS d
SET status = 'processed', processed_at = now(), next_attempt_at = NULL, last_error = NULL,
    claimed_until = NULL, repository = coalesce(r.repository, d.repository)
FROM unnest(%(ids)b::bigint[], %(repositories)s::text[]) AS r (id, repository)
WHERE d.id = r.id
RETURNING d.source, extract(epoch FROM d.processed_at - d.received_at) AS lag_seconds

-- name: record_repositories
-- The repositories the bodies of a batch's unprocessed deliveries name (the processed ones
-- get theirs with mark_processed), one statement per batch.
UPDATE webhooks_deliveries AS d SET repository = r.repository
FROM unnest(%(ids)s::bigint[], %(repositories)s::text[]) AS r (id, repository)
WHERE d.id = r.id AND d.repository IS DISTINCT FROM r.repository

-- name: mark_failed
UPDATE webhooks_deliveries
SET status = 'failed', last_error = %(error)s, claimed_until = NULL,
    next_attempt_at = now() + make_interval(secs => %(delay)s)
WHERE id = %(id)s

-- name: mark_dead
UPDATE webhooks_deliveries
SET status = 'dead', last_error = %(error)s, next_attempt_at = NULL, claimed_until = NULL
WHERE id = %(id)s

-- name: replay
-- A processed delivery starts a new generation (its handlers run again); a failed or dead
-- one resumes (handlers that succeeded are not repeated).
UPDATE webhooks_deliveries
SET generation = generation + CASE WHEN status = 'processed' THEN 1 ELSE 0 END,
    status = 'received', tries = 0, last_error = NULL, next_attempt_at = NULL,
    processed_at = NULL, claimed_until = NULL
WHERE id = ANY(%(ids)b::bigint[]) AND status <> 'rejected'
RETURNING id

-- name: listen
-- A worker's own connection: woken by the receiver's commits and by replays.
LISTEN crossdock_webhooks

-- name: wake_workers
-- Replayed deliveries are runnable at once: tell the waiting workers (at commit).
SELECT pg_notify('crossdock_webhooks', '')

-- name: window_ids
SELECT id FROM webhooks_deliveries
WHERE source = %(source)s AND received_at >= %(since)s AND received_at < %(until)s
  AND status <> 'rejected'
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY id

-- name: count_by_status
SELECT status, count(*) AS n FROM webhooks_deliveries GROUP BY status

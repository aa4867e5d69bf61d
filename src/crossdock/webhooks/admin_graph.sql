-- The webhooks admin subgraph: pages of deliveries, and batches for its loaders.

-- name: deliveries_page
-- Newest first by (received_at, id): with a status or a source, the (status, received_at) or
-- (source, received_at) index gives the rows in order; NULL filters are folded away.
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error
FROM webhooks_deliveries
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(after_at)s::timestamptz IS NULL
       OR (received_at, id) < (%(after_at)s::timestamptz, %(after_id)s::bigint))
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s;

-- name: deliveries_by_id
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error
FROM webhooks_deliveries WHERE id = ANY(%(ids)s);

-- name: bodies
SELECT id, body FROM webhooks_deliveries WHERE id = ANY(%(ids)s);

-- name: attempts
SELECT * FROM webhooks_attempts WHERE delivery_id = ANY(%(ids)s) ORDER BY delivery_id, id;

-- name: routes
SELECT * FROM webhooks_routes WHERE source = ANY(%(sources)s) ORDER BY source, position, id;

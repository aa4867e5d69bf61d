-- The webhooks admin subgraph: pages of deliveries, and batches for its loaders.

-- name: deliveries_page
-- Newest first by (received_at, id): a status, a source or an event type picks its index
-- ((status, received_at), (source, received_at), (event_type, received_at, id)), and none the
-- (received_at, id) one; a time range and the cursor bound the same scan. NULL filters are
-- folded away. A search's ids (deliveries_search) make it a lookup by primary key.
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error, repository
FROM webhooks_deliveries
WHERE (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(received_after)s::timestamptz IS NULL OR received_at >= %(received_after)s)
  AND (%(received_before)s::timestamptz IS NULL OR received_at < %(received_before)s)
  AND (%(after_at)s::timestamptz IS NULL
       OR (received_at, id) < (%(after_at)s::timestamptz, %(after_id)s::bigint))
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s;

-- name: deliveries_search
-- The deliveries a search names: by our id, or by the provider's delivery id, accepted (the
-- unique (source, provider_delivery_id) index, probed once per source) or refused (their own
-- partial index). Bodies are never searched.
SELECT id FROM webhooks_deliveries WHERE id = %(id)s::bigint
UNION
SELECT id FROM webhooks_deliveries
WHERE source = ANY(ARRAY(SELECT name FROM webhooks_sources))
  AND provider_delivery_id = %(provider_id)s::text AND status <> 'rejected'
UNION
SELECT id FROM webhooks_deliveries
WHERE provider_delivery_id = %(provider_id)s::text AND status = 'rejected';

-- name: deliveries_by_id
SELECT id, source, provider, provider_delivery_id, event_type, action, status, reason,
       headers, body_size, received_at, processed_at, next_attempt_at, tries, generation,
       last_error, repository
FROM webhooks_deliveries WHERE id = ANY(%(ids)s);

-- name: bodies
SELECT id, body FROM webhooks_deliveries WHERE id = ANY(%(ids)s);

-- name: attempts
SELECT * FROM webhooks_attempts WHERE delivery_id = ANY(%(ids)s) ORDER BY delivery_id, id;

-- name: routes
SELECT * FROM webhooks_routes WHERE source = ANY(%(sources)s) ORDER BY source, position, id;

-- name: repository_deliveries
-- A page of each repository's deliveries, newest first by (received_at, id), each after its
-- own cursor: one scan of webhooks_deliveries_repository_idx per repository, one statement
-- for all the repositories of a query.
SELECT k.position, d.id, d.source, d.provider, d.provider_delivery_id, d.event_type,
       d.action, d.status, d.reason, d.headers, d.body_size, d.received_at, d.processed_at,
       d.next_attempt_at, d.tries, d.generation, d.last_error, d.repository
FROM unnest(%(urls)s::text[], %(after_at)s::timestamptz[], %(after_id)s::bigint[])
     WITH ORDINALITY AS k (url, after_at, after_id, position)
CROSS JOIN LATERAL (
    SELECT * FROM webhooks_deliveries
    WHERE repository = k.url
      AND (k.after_at IS NULL OR (received_at, id) < (k.after_at, k.after_id))
    ORDER BY received_at DESC, id DESC
    LIMIT %(limit)s
) AS d
ORDER BY k.position, d.received_at DESC, d.id DESC;

-- name: insert_event
INSERT INTO crossdock_events (event_type, key, payload)
VALUES (%(event_type)s, %(key)s, %(payload)s)
RETURNING id

-- name: insert_events
-- Several events in one statement; ids are drawn in input order. The arrays go in binary
-- (%(name)b placeholders): as text, each payload's quotes are escaped by regular expressions.
INSERT INTO crossdock_events (event_type, key, payload)
SELECT event_type, key, payload
FROM unnest(%(event_type)b::text[], %(key)b::text[], %(payload)b::jsonb[])
     WITH ORDINALITY AS input (event_type, key, payload, position)
ORDER BY position
RETURNING id

-- name: claim_fanout
UPDATE crossdock_events SET fanned_out_at = now()
WHERE id = ANY(%(ids)b::bigint[]) AND fanned_out_at IS NULL
RETURNING id, event_type, key

-- name: insert_receipt
INSERT INTO crossdock_event_receipts (event_id, handler)
VALUES (%(event_id)s, %(handler)s)
ON CONFLICT DO NOTHING

-- name: select_event
SELECT id, event_type, key, payload, published_at FROM crossdock_events WHERE id = %(id)s

-- name: insert_event
INSERT INTO crossdock_events (event_type, key, payload)
VALUES (%(event_type)s, %(key)s, %(payload)s)
RETURNING id

-- name: insert_events
-- Several events in one statement, given as one JSON array (one orjson call: as an array
-- parameter, each payload cost Python calls, and as text, regular expressions, per element);
-- ids are drawn in input order.
INSERT INTO crossdock_events (event_type, key, payload)
SELECT e.event_type, e.key, e.payload
FROM ROWS FROM (jsonb_to_recordset(%(events)s::jsonb)
                AS (event_type text, key text, payload jsonb))
     WITH ORDINALITY AS e (event_type, key, payload, position)
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

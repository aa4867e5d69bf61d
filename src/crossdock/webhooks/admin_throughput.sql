-- The webhooks admin subgraph: deliveries and outbound messages minute by minute, and what
-- waits now. Each per-minute query gives one row per minute of the window (the current minute
-- last, its count so far), zeros included: the counts are grouped by minute first, then joined
-- to the window's minutes.

-- name: deliveries_per_minute
-- Deliveries received in each minute, by where they stand now. Every status is named so that
-- the (status, received_at) index reads only the window (one range per status).
WITH counted AS (
    SELECT date_trunc('minute', received_at) AS minute, count(*) AS received,
           count(*) FILTER (WHERE status = 'received') AS pending,
           count(*) FILTER (WHERE status = 'processed') AS processed,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'dead') AS dead,
           count(*) FILTER (WHERE status = 'rejected') AS rejected
    FROM webhooks_deliveries
    WHERE status IN ('received', 'processed', 'failed', 'dead', 'rejected')
      AND received_at >= date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute'
    GROUP BY 1)
SELECT minute, COALESCE(received, 0) AS received, COALESCE(pending, 0) AS pending,
       COALESCE(processed, 0) AS processed, COALESCE(failed, 0) AS failed,
       COALESCE(dead, 0) AS dead, COALESCE(rejected, 0) AS rejected
FROM generate_series(date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute',
                     date_trunc('minute', now()), interval '1 minute') AS minute
LEFT JOIN counted USING (minute)
ORDER BY minute;

-- name: outbound_per_minute
-- Outbound messages created in each minute, one count per endpoint a message goes to (a
-- destination), by where that sending stands now: sent, failed (stopped or out of tries) or
-- still pending. Read through the messages' created_at index and the destinations' message
-- index; the outbound tables are only read here.
WITH counted AS (
    SELECT date_trunc('minute', m.created_at) AS minute,
           count(*) FILTER (WHERE d.status = 'succeeded') AS sent,
           count(*) FILTER (WHERE d.status IN ('failed', 'exhausted')) AS failed,
           count(*) FILTER (WHERE d.status IN ('pending', 'sending')) AS pending
    FROM webhooks_out_messages AS m
    JOIN webhooks_out_destinations AS d ON d.message_id = m.id
    WHERE m.created_at >= date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute'
    GROUP BY 1)
SELECT minute, COALESCE(sent, 0) AS sent, COALESCE(failed, 0) AS failed,
       COALESCE(pending, 0) AS pending
FROM generate_series(date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute',
                     date_trunc('minute', now()), interval '1 minute') AS minute
LEFT JOIN counted USING (minute)
ORDER BY minute;

-- name: delivery_backlog
-- Deliveries waiting: received and not yet processed (the partial index on received ones),
-- failed and waiting for their next try (the partial index on failed ones), and how long the
-- oldest received one has waited.
SELECT (SELECT count(*) FROM webhooks_deliveries WHERE status = 'received') AS pending,
       (SELECT count(*) FROM webhooks_deliveries WHERE status = 'failed') AS retrying,
       COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(received_at))
                 FROM webhooks_deliveries WHERE status = 'received'), 0)::float8
           AS oldest_pending_seconds;

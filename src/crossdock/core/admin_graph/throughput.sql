-- The core's admin subgraph: what went through the queue and the bus, minute by minute, and
-- what waits in the queue now. Each per-minute query gives one row per minute of the window
-- (the current minute last, its count so far), zeros included: the counts are grouped by
-- minute first, then joined to the window's minutes.

-- name: jobs_per_minute
-- Jobs that ended in each minute, by outcome, from procrastinate's events: the partial index
-- on the time of the succeeded and failed ones (core migration 0005) reads only the window.
WITH counted AS (
    SELECT date_trunc('minute', at) AS minute,
           count(*) FILTER (WHERE type = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE type = 'failed') AS failed
    FROM procrastinate_events
    WHERE type IN ('succeeded', 'failed')
      AND at >= date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute'
    GROUP BY 1)
SELECT minute, COALESCE(succeeded, 0) AS succeeded, COALESCE(failed, 0) AS failed
FROM generate_series(date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute',
                     date_trunc('minute', now()), interval '1 minute') AS minute
LEFT JOIN counted USING (minute)
ORDER BY minute;

-- name: events_per_minute
-- Events published on the bus in each minute (the index on published_at, core migration 0005).
WITH counted AS (
    SELECT date_trunc('minute', published_at) AS minute, count(*) AS published
    FROM crossdock_events
    WHERE published_at >= date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute'
    GROUP BY 1)
SELECT minute, COALESCE(published, 0) AS published
FROM generate_series(date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute',
                     date_trunc('minute', now()), interval '1 minute') AS minute
LEFT JOIN counted USING (minute)
ORDER BY minute;

-- name: job_backlog
-- Jobs queued and running now (procrastinate's partial index on todo and doing jobs), and how
-- long the oldest queued job that is due has waited: since it was queued, queued again for a
-- retry, or scheduled for, whichever is latest. A job scheduled for later is queued but not
-- waiting yet.
SELECT count(*) FILTER (WHERE j.status = 'todo') AS queued,
       count(*) FILTER (WHERE j.status = 'doing') AS running,
       COALESCE(EXTRACT(EPOCH FROM now() - min(GREATEST(j.scheduled_at, queued.at))
                FILTER (WHERE j.scheduled_at IS NULL OR j.scheduled_at <= now())),
                0)::float8 AS oldest_queued_seconds
FROM procrastinate_jobs AS j
LEFT JOIN LATERAL (
    SELECT max(e.at) AS at FROM procrastinate_events AS e
    WHERE e.job_id = j.id AND e.type IN ('deferred', 'deferred_for_retry', 'retried')
) AS queued ON j.status = 'todo'
WHERE j.status IN ('todo', 'doing');

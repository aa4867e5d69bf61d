-- The core's admin subgraph: jobs, the event bus. Pages are keyset pages, newest first.

-- name: jobs_page
-- NULL filters match every job (the planner folds them away: each query is planned with its
-- values). The primary key orders the page.
SELECT id, queue_name, task_name, lock, args, status::text AS status, scheduled_at, attempts
FROM procrastinate_jobs
WHERE (%(status)s::text IS NULL OR status = %(status)s::procrastinate_job_status)
  AND (%(queue)s::text IS NULL OR queue_name = %(queue)s)
  AND (%(after)s::bigint IS NULL OR id < %(after)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: jobs_by_id
SELECT id, queue_name, task_name, lock, args, status::text AS status, scheduled_at, attempts
FROM procrastinate_jobs WHERE id = ANY(%(ids)s);

-- name: job_times
-- When each job was last started and when it last ended, from procrastinate's own events.
SELECT job_id,
       max(at) FILTER (WHERE type = 'started') AS started_at,
       max(at) FILTER (WHERE type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
           AS finished_at
FROM procrastinate_events WHERE job_id = ANY(%(ids)s)
GROUP BY job_id;

-- name: job_events
-- Each job's history as procrastinate records it (on its job_id index), oldest first.
SELECT job_id, type::text AS type, at
FROM procrastinate_events WHERE job_id = ANY(%(ids)s)
ORDER BY job_id, at, id;

-- name: retry_job
-- A job that ended without success goes back to the queue, due now, its tries counted anew.
UPDATE procrastinate_jobs
SET status = 'todo', scheduled_at = NULL, attempts = 0, abort_requested = false,
    worker_id = NULL
WHERE id = %(id)s AND status IN ('failed', 'cancelled', 'aborted')
RETURNING id;

-- name: events_page
SELECT id, event_type, key, payload, published_at, fanned_out_at
FROM crossdock_events
WHERE (%(type)s::text IS NULL OR event_type = %(type)s)
  AND (%(after)s::bigint IS NULL OR id < %(after)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: receipts
SELECT event_id, handler, handled_at FROM crossdock_event_receipts
WHERE event_id = ANY(%(ids)s) ORDER BY event_id, handled_at;

-- name: bus_lag
-- Events not yet fanned out to their handlers, and how long the oldest has waited.
SELECT count(*) AS pending,
       COALESCE(EXTRACT(EPOCH FROM now() - min(published_at)), 0)::float8 AS oldest_seconds
FROM crossdock_events WHERE fanned_out_at IS NULL;

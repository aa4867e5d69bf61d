-- The deliveries table becomes the processing queue: workers claim runnable rows with
-- FOR UPDATE SKIP LOCKED and hold them for a lease (claimed_until), so the claim of a worker
-- that died expires by itself; a statement that stores deliveries wakes the workers.
ALTER TABLE webhooks_deliveries ADD COLUMN claimed_until timestamptz;

-- New deliveries are claimed oldest first; failed ones when their next try is due. Two indexes,
-- so that thousands of failures waiting for a later try (an endpoint down for hours) are never
-- scanned by a claim of new deliveries.
CREATE INDEX webhooks_deliveries_received_idx ON webhooks_deliveries (id)
    WHERE status = 'received';
CREATE INDEX webhooks_deliveries_due_idx ON webhooks_deliveries (next_attempt_at, id)
    WHERE status = 'failed';

CREATE FUNCTION webhooks_notify_received() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crossdock_webhooks', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhooks_deliveries_notify AFTER INSERT ON webhooks_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_notify_received();

-- Processing jobs queued before this migration: their deliveries are in the queue already.
DELETE FROM procrastinate_jobs WHERE task_name = 'webhooks.process' AND status = 'todo';

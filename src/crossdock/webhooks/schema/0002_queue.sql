-- The deliveries table becomes the processing queue: workers claim runnable rows with
-- FOR UPDATE SKIP LOCKED and hold them for a lease (claimed_until), so the claim of a worker
-- that died expires by itself; a statement that stores deliveries wakes the workers.
ALTER TABLE webhooks_deliveries ADD COLUMN claimed_until timestamptz;

CREATE INDEX webhooks_deliveries_runnable_idx ON webhooks_deliveries (id)
    WHERE status IN ('received', 'failed');

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

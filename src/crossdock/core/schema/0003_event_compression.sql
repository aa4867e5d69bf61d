-- Event payloads are compressed with lz4 where the server has it: pglz cost about 80 us of
-- server CPU per 10 KB payload (a webhook's), lz4 about 20 us. A server built without lz4
-- keeps pglz.
DO $$
BEGIN
    ALTER TABLE crossdock_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END;
$$;

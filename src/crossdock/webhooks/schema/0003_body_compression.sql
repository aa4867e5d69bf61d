-- Bodies are compressed with lz4 where the server has it: pglz cost about 80 us of server
-- CPU per 10 KB body, lz4 about 20 us, for a smaller result (docs/webhooks.md). A server
-- built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE webhooks_deliveries ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END;
$$;

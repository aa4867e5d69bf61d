-- The repository a delivery is about, normalized as GitSlice names repositories
-- (github.com/org/repo), recorded by the worker from the body: the admin graph's
-- Repository.deliveries, newest first, reads it through the index. Deliveries processed
-- before this migration, refused requests and senders that name no repository have none.
ALTER TABLE webhooks_deliveries ADD COLUMN repository text;
CREATE INDEX webhooks_deliveries_repository_idx
    ON webhooks_deliveries (repository, received_at, id) WHERE repository IS NOT NULL;

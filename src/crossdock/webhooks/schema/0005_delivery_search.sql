-- The deliveries list of the admin graph: newest first with no filter or a time range only, by
-- event type, and a search by a provider's delivery id that finds refused requests too (the
-- accepted ones are found through webhooks_deliveries_provider_id_idx, one probe per source).
-- On 100,000 deliveries a page went from a sequential scan and a sort (14-26 ms) to an index
-- scan (under 0.1 ms); storing a delivery costs about 3 us more (docs/webhooks.md).
CREATE INDEX webhooks_deliveries_received_at_idx ON webhooks_deliveries (received_at, id);
CREATE INDEX webhooks_deliveries_event_type_idx
    ON webhooks_deliveries (event_type, received_at, id);
-- Only refused requests: they are few (a bad signature, a body too large), and their provider
-- ids are not in the unique index.
CREATE INDEX webhooks_deliveries_rejected_id_idx ON webhooks_deliveries (provider_delivery_id)
    WHERE status = 'rejected';

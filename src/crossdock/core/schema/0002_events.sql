-- The event bus's log: each published event, and which handlers have finished with it.
CREATE TABLE crossdock_events (
    id bigserial PRIMARY KEY,
    event_type text NOT NULL,
    key text,
    payload jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    fanned_out_at timestamptz
);
CREATE INDEX crossdock_events_type_idx ON crossdock_events (event_type, published_at);

CREATE TABLE crossdock_event_receipts (
    event_id bigint NOT NULL REFERENCES crossdock_events (id) ON DELETE CASCADE,
    handler text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, handler)
);

-- Every webhook delivery behind a run, not only the one whose event queued its job: a pull
-- already waiting takes in the deliveries that come before it starts (each queued it again),
-- so each of them lists the run. A delivery waits in gitslice_waiting_deliveries until the
-- slice's next pull of its default branch starts and takes it. A comment command records the
-- delivery it came with, so the runs it starts name it too.
CREATE TABLE gitslice_run_deliveries (
    run_id bigint NOT NULL REFERENCES gitslice_runs (id) ON DELETE CASCADE,
    delivery_id bigint NOT NULL,
    PRIMARY KEY (run_id, delivery_id)
);
CREATE INDEX gitslice_run_deliveries_delivery_idx ON gitslice_run_deliveries (delivery_id);
INSERT INTO gitslice_run_deliveries (run_id, delivery_id)
SELECT id, delivery_id FROM gitslice_runs WHERE delivery_id IS NOT NULL;
-- A delivery's run is read through gitslice_run_deliveries now.
DROP INDEX gitslice_runs_delivery_idx;

CREATE TABLE gitslice_waiting_deliveries (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    delivery_id bigint NOT NULL,
    PRIMARY KEY (slice_name, delivery_id)
);

ALTER TABLE gitslice_commands ADD COLUMN delivery_id bigint;

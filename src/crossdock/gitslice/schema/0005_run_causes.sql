-- What started a sync run (the job that ran it, the webhook delivery that queued that job) and
-- which run wrote each commit map entry, so a run's commits, a job's runs and a delivery's runs
-- are each read along an index.
ALTER TABLE gitslice_runs ADD COLUMN job_id bigint, ADD COLUMN delivery_id bigint;
CREATE INDEX gitslice_runs_job_idx ON gitslice_runs (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX gitslice_runs_delivery_idx ON gitslice_runs (delivery_id)
    WHERE delivery_id IS NOT NULL;
ALTER TABLE gitslice_commit_map
    ADD COLUMN run_id bigint REFERENCES gitslice_runs (id) ON DELETE SET NULL;
CREATE INDEX gitslice_commit_map_run_idx ON gitslice_commit_map (run_id)
    WHERE run_id IS NOT NULL;

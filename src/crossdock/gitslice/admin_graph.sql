-- The GitSlice admin subgraph: slices, pages of sync runs, the commit map, linked pull
-- requests and copied reviews and issues, read in batches for its loaders.

-- name: slices
SELECT name, upstream_url, upstream_branch, slice_url, slice_branch, mode, forge, upstream_repo,
       slice_repo, last_upstream_sha, last_slice_sha, pull_interval_seconds, created_at,
       updated_at
FROM gitslice_slices WHERE (%(name)s::text IS NULL OR name = %(name)s) ORDER BY name;

-- name: runs_page
-- Newest first along gitslice_runs_slice_idx (slice_name, id).
SELECT id, slice_name, kind, state, upstream_ref, slice_ref, upstream_sha, slice_sha, commits,
       error, started_at, finished_at, job_id, delivery_id
FROM gitslice_runs
WHERE slice_name = %(slice)s AND (%(after)s::bigint IS NULL OR id < %(after)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: recent_runs_page
-- Every slice's, newest first along the primary key.
SELECT id, slice_name, kind, state, upstream_ref, slice_ref, upstream_sha, slice_sha, commits,
       error, started_at, finished_at, job_id, delivery_id
FROM gitslice_runs
WHERE %(after)s::bigint IS NULL OR id < %(after)s
ORDER BY id DESC
LIMIT %(limit)s;

-- name: runs_by_id
SELECT id, slice_name, kind, state, upstream_ref, slice_ref, upstream_sha, slice_sha, commits,
       error, started_at, finished_at, job_id, delivery_id
FROM gitslice_runs WHERE id = ANY(%(ids)s);

-- name: runs_by_job
-- Along gitslice_runs_job_idx.
SELECT id, slice_name, kind, state, upstream_ref, slice_ref, upstream_sha, slice_sha, commits,
       error, started_at, finished_at, job_id, delivery_id
FROM gitslice_runs WHERE job_id = ANY(%(keys)s) ORDER BY id DESC;

-- name: runs_by_delivery
-- Every run a delivery is behind (along gitslice_run_deliveries_delivery_idx), ``cause`` the
-- delivery asked for.
SELECT caused.delivery_id AS cause, id, slice_name, kind, state, upstream_ref, slice_ref,
       upstream_sha, slice_sha, commits, error, started_at, finished_at, job_id,
       run.delivery_id
FROM gitslice_run_deliveries AS caused JOIN gitslice_runs AS run ON run.id = caused.run_id
WHERE caused.delivery_id = ANY(%(keys)s) ORDER BY id DESC;

-- name: run_deliveries
-- The deliveries behind each run (along the primary key), oldest first.
SELECT run_id, delivery_id FROM gitslice_run_deliveries WHERE run_id = ANY(%(keys)s)
ORDER BY run_id, delivery_id;

-- name: run_commits
-- The map entries each run wrote (along gitslice_commit_map_run_idx), ``first`` per run.
SELECT run_id, upstream_sha, slice_sha FROM (
    SELECT run_id, upstream_sha, slice_sha,
           row_number() OVER (PARTITION BY run_id ORDER BY upstream_sha) AS n
    FROM gitslice_commit_map WHERE run_id = ANY(%(keys)s)
) AS written
WHERE n <= %(first)s
ORDER BY run_id, upstream_sha;

-- name: map_by_upstream
SELECT slice_name, upstream_sha, slice_sha FROM gitslice_commit_map
WHERE slice_name = %(slice)s AND upstream_sha = ANY(%(shas)s);

-- name: map_by_slice
SELECT slice_name, upstream_sha, slice_sha FROM gitslice_commit_map
WHERE slice_name = %(slice)s AND slice_sha = ANY(%(shas)s);

-- name: links
SELECT slice_name, upstream_pr, slice_pr, upstream_branch, slice_branch, upstream_url, state,
       created_at, updated_at
FROM gitslice_pull_links WHERE slice_name = ANY(%(keys)s)
ORDER BY slice_name, upstream_pr DESC;

-- name: copies
SELECT slice_name, kind, upstream_id, slice_id, slice_url, created_at, delivery_id
FROM gitslice_copies WHERE slice_name = ANY(%(keys)s)
ORDER BY slice_name, created_at DESC;

-- name: copies_by_delivery
-- Along gitslice_copies_delivery_idx.
SELECT slice_name, kind, upstream_id, slice_id, slice_url, created_at, delivery_id
FROM gitslice_copies WHERE delivery_id = ANY(%(keys)s)
ORDER BY delivery_id, created_at DESC;

-- name: map_counts
SELECT slice_name, count(*) AS mapped FROM gitslice_commit_map
WHERE slice_name = ANY(%(keys)s) GROUP BY slice_name;

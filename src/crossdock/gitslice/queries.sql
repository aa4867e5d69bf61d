-- GitSlice's queries (see store.py).

-- name: insert_slice
INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url, slice_branch, mode,
                             ignores, folders, push_branch_template, push_commit_msg_regex,
                             command_users)
VALUES (%(name)s, %(upstream_url)s, %(upstream_branch)s, %(slice_url)s, %(slice_branch)s,
        %(mode)s, %(ignores)s, %(folders)s, %(push_branch_template)s, %(push_commit_msg_regex)s,
        %(command_users)s)
ON CONFLICT (name) DO NOTHING

-- name: update_slice
UPDATE gitslice_slices SET upstream_url = %(upstream_url)s, upstream_branch = %(upstream_branch)s,
    slice_url = %(slice_url)s, slice_branch = %(slice_branch)s, mode = %(mode)s,
    ignores = %(ignores)s, folders = %(folders)s, push_branch_template = %(push_branch_template)s,
    push_commit_msg_regex = %(push_commit_msg_regex)s, command_users = %(command_users)s,
    updated_at = now()
WHERE name = %(name)s

-- name: select_slice
SELECT * FROM gitslice_slices WHERE name = %(name)s

-- name: select_slices
SELECT * FROM gitslice_slices ORDER BY name

-- name: lock_slice
SELECT pg_advisory_lock(hashtext('gitslice:' || %(name)s))

-- name: unlock_slice
SELECT pg_advisory_unlock(hashtext('gitslice:' || %(name)s))

-- name: interrupt_runs
UPDATE gitslice_runs SET state = 'interrupted', finished_at = now(),
    error = 'the process running it stopped before it finished'
WHERE slice_name = %(name)s AND state = 'running'

-- name: insert_run
INSERT INTO gitslice_runs (slice_name, kind, upstream_ref, slice_ref)
VALUES (%(name)s, %(kind)s, %(upstream_ref)s, %(slice_ref)s)
RETURNING id

-- name: finish_run
UPDATE gitslice_runs SET state = %(state)s, upstream_sha = %(upstream_sha)s,
    slice_sha = %(slice_sha)s, commits = %(commits)s, error = %(error)s, finished_at = now()
WHERE id = %(id)s

-- name: select_runs
SELECT * FROM gitslice_runs WHERE slice_name = %(name)s ORDER BY id DESC LIMIT %(limit)s

-- name: insert_mappings
INSERT INTO gitslice_commit_map (slice_name, upstream_sha, slice_sha, rules_digest)
SELECT %(name)s, m.upstream_sha, m.slice_sha, m.rules_digest
FROM unnest(%(upstream)s::text[], %(slice)s::text[], %(digests)s::text[])
    AS m (upstream_sha, slice_sha, rules_digest)
ON CONFLICT (slice_name, upstream_sha) DO UPDATE
    SET slice_sha = EXCLUDED.slice_sha, rules_digest = EXCLUDED.rules_digest

-- name: select_by_upstream
SELECT upstream_sha, slice_sha, rules_digest FROM gitslice_commit_map
WHERE slice_name = %(name)s AND upstream_sha = ANY(%(shas)s)

-- name: select_by_slice
SELECT upstream_sha, slice_sha, rules_digest FROM gitslice_commit_map
WHERE slice_name = %(name)s AND slice_sha = ANY(%(shas)s)

-- name: select_by_prefix
SELECT upstream_sha, slice_sha, rules_digest FROM gitslice_commit_map
WHERE slice_name = %(name)s AND (upstream_sha LIKE %(prefix)s OR slice_sha LIKE %(prefix)s)
LIMIT 5

-- name: count_mappings
SELECT count(*) AS n FROM gitslice_commit_map WHERE slice_name = %(name)s

-- name: delete_mappings
DELETE FROM gitslice_commit_map WHERE slice_name = %(name)s

-- name: delete_tips
DELETE FROM gitslice_tips WHERE slice_name = %(name)s

-- name: upsert_tip
INSERT INTO gitslice_tips (slice_name, upstream_ref, upstream_sha, slice_sha)
VALUES (%(name)s, %(ref)s, %(upstream_sha)s, %(slice_sha)s)
ON CONFLICT (slice_name, upstream_ref) DO UPDATE
    SET upstream_sha = EXCLUDED.upstream_sha, slice_sha = EXCLUDED.slice_sha

-- name: select_tips
SELECT upstream_ref, upstream_sha, slice_sha FROM gitslice_tips WHERE slice_name = %(name)s

-- name: set_synced
UPDATE gitslice_slices SET last_upstream_sha = %(upstream_sha)s, last_slice_sha = %(slice_sha)s,
    updated_at = now()
WHERE name = %(name)s

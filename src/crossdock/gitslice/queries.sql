-- GitSlice's queries (see store.py).

-- name: insert_slice
INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url, slice_branch, mode,
                             ignores, folders, push_branch_template, push_commit_msg_regex,
                             command_users, forge, forge_api_url, upstream_repo, slice_repo,
                             pr_draft, pr_labels, command_permission, close_on_merge,
                             pull_interval_seconds)
VALUES (%(name)s, %(upstream_url)s, %(upstream_branch)s, %(slice_url)s, %(slice_branch)s,
        %(mode)s, %(ignores)s, %(folders)s, %(push_branch_template)s, %(push_commit_msg_regex)s,
        %(command_users)s, %(forge)s, %(forge_api_url)s, %(upstream_repo)s, %(slice_repo)s,
        %(pr_draft)s, %(pr_labels)s, %(command_permission)s, %(close_on_merge)s,
        %(pull_interval_seconds)s)
ON CONFLICT (name) DO NOTHING

-- name: update_slice
UPDATE gitslice_slices SET upstream_url = %(upstream_url)s, upstream_branch = %(upstream_branch)s,
    slice_url = %(slice_url)s, slice_branch = %(slice_branch)s, mode = %(mode)s,
    ignores = %(ignores)s, folders = %(folders)s, push_branch_template = %(push_branch_template)s,
    push_commit_msg_regex = %(push_commit_msg_regex)s, command_users = %(command_users)s,
    forge = %(forge)s, forge_api_url = %(forge_api_url)s, upstream_repo = %(upstream_repo)s,
    slice_repo = %(slice_repo)s, pr_draft = %(pr_draft)s, pr_labels = %(pr_labels)s,
    command_permission = %(command_permission)s, close_on_merge = %(close_on_merge)s,
    pull_interval_seconds = %(pull_interval_seconds)s, updated_at = now()
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
INSERT INTO gitslice_runs (slice_name, kind, upstream_ref, slice_ref, job_id, delivery_id)
VALUES (%(name)s, %(kind)s, %(upstream_ref)s, %(slice_ref)s, %(job_id)s, %(delivery_id)s)
RETURNING id

-- name: take_waiting_deliveries
-- The deliveries waiting for the slice's next pull, taken by the pull that starts.
DELETE FROM gitslice_waiting_deliveries WHERE slice_name = %(name)s RETURNING delivery_id

-- name: insert_waiting_delivery
INSERT INTO gitslice_waiting_deliveries (slice_name, delivery_id)
VALUES (%(name)s, %(delivery_id)s)
ON CONFLICT DO NOTHING

-- name: insert_run_deliveries
INSERT INTO gitslice_run_deliveries (run_id, delivery_id)
SELECT %(run_id)s, unnest(%(deliveries)s::bigint[])
ON CONFLICT DO NOTHING

-- name: finish_run
UPDATE gitslice_runs SET state = %(state)s, upstream_sha = %(upstream_sha)s,
    slice_sha = %(slice_sha)s, commits = %(commits)s, error = %(error)s, finished_at = now()
WHERE id = %(id)s

-- name: select_push_slice_commit
SELECT slice_sha FROM gitslice_runs
WHERE slice_name = %(name)s AND kind = 'push' AND state = 'succeeded'
  AND upstream_sha = %(sha)s AND slice_sha IS NOT NULL
ORDER BY id DESC LIMIT 1

-- name: select_runs
SELECT * FROM gitslice_runs WHERE slice_name = %(name)s ORDER BY id DESC LIMIT %(limit)s

-- name: insert_mappings
INSERT INTO gitslice_commit_map (slice_name, upstream_sha, slice_sha, rules_digest, run_id)
SELECT %(name)s, m.upstream_sha, m.slice_sha, m.rules_digest, %(run_id)s
FROM unnest(%(upstream)s::text[], %(slice)s::text[], %(digests)s::text[])
    AS m (upstream_sha, slice_sha, rules_digest)
ON CONFLICT (slice_name, upstream_sha) DO UPDATE
    SET slice_sha = EXCLUDED.slice_sha, rules_digest = EXCLUDED.rules_digest,
        run_id = coalesce(EXCLUDED.run_id, gitslice_commit_map.run_id)

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

-- name: upsert_credential
INSERT INTO gitslice_credentials (slice_name, side, kind, secret, username, email, app_id,
                                  installation_id)
VALUES (%(name)s, %(side)s, %(kind)s, %(secret)s, %(username)s, %(email)s, %(app_id)s,
        %(installation_id)s)
ON CONFLICT (slice_name, side) DO UPDATE SET kind = EXCLUDED.kind, secret = EXCLUDED.secret,
    username = EXCLUDED.username, email = EXCLUDED.email, app_id = EXCLUDED.app_id,
    installation_id = EXCLUDED.installation_id, updated_at = now()

-- name: select_credentials
SELECT * FROM gitslice_credentials WHERE slice_name = %(name)s ORDER BY side

-- name: delete_credential
DELETE FROM gitslice_credentials WHERE slice_name = %(name)s AND side = %(side)s

-- name: upsert_link
INSERT INTO gitslice_pull_links (slice_name, upstream_pr, slice_pr, upstream_branch,
                                 slice_branch, upstream_url)
VALUES (%(name)s, %(upstream_pr)s, %(slice_pr)s, %(upstream_branch)s, %(slice_branch)s,
        %(upstream_url)s)
ON CONFLICT (slice_name, upstream_pr) DO UPDATE
    SET slice_pr = COALESCE(EXCLUDED.slice_pr, gitslice_pull_links.slice_pr),
        updated_at = now()
RETURNING *

-- name: select_link_by_upstream
SELECT * FROM gitslice_pull_links WHERE slice_name = %(name)s AND upstream_pr = %(number)s

-- name: select_link_by_slice
SELECT * FROM gitslice_pull_links WHERE slice_name = %(name)s AND slice_pr = %(number)s
ORDER BY updated_at DESC LIMIT 1

-- name: select_links
SELECT * FROM gitslice_pull_links WHERE slice_name = %(name)s ORDER BY created_at DESC

-- name: set_link_state
UPDATE gitslice_pull_links SET state = %(state)s, updated_at = now()
WHERE slice_name = %(name)s AND upstream_pr = %(number)s AND state <> %(state)s
RETURNING *

-- name: select_copy
SELECT * FROM gitslice_copies
WHERE slice_name = %(name)s AND kind = %(kind)s AND upstream_id = %(upstream_id)s

-- name: insert_copy
INSERT INTO gitslice_copies (slice_name, kind, upstream_id, slice_id, slice_url, delivery_id)
VALUES (%(name)s, %(kind)s, %(upstream_id)s, %(slice_id)s, %(slice_url)s, %(delivery_id)s)
ON CONFLICT (slice_name, kind, upstream_id) DO NOTHING

-- name: insert_command
INSERT INTO gitslice_commands (slice_name, comment_id, pull_number, author, command,
                               delivery_id)
VALUES (%(name)s, %(comment_id)s, %(pull_number)s, %(author)s, %(command)s, %(delivery_id)s)
ON CONFLICT (slice_name, comment_id) DO NOTHING

-- name: finish_command
UPDATE gitslice_commands SET state = %(state)s, result = %(result)s,
    finished_at = CASE WHEN %(state)s IN ('queued', 'running') THEN NULL ELSE now() END
WHERE slice_name = %(name)s AND comment_id = %(comment_id)s

-- name: select_command
SELECT * FROM gitslice_commands WHERE slice_name = %(name)s AND comment_id = %(comment_id)s

-- name: claim_due_pulls
UPDATE gitslice_slices SET pull_scheduled_at = now()
WHERE pull_interval_seconds IS NOT NULL
  AND (pull_scheduled_at IS NULL
       OR pull_scheduled_at + make_interval(secs => pull_interval_seconds) <= now())
RETURNING name

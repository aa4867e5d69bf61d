-- GitSlice: slices, their sync runs, and the upstream <-> slice commit map.
CREATE TABLE gitslice_slices (
    name text PRIMARY KEY,
    upstream_url text NOT NULL,
    upstream_branch text NOT NULL,
    slice_url text NOT NULL,
    slice_branch text NOT NULL,
    mode text NOT NULL DEFAULT 'history' CHECK (mode IN ('history', 'squash')),
    ignores text[] NOT NULL DEFAULT '{}',
    folders text[] NOT NULL DEFAULT '{}',
    push_branch_template text NOT NULL DEFAULT '<branch_name>',
    push_commit_msg_regex text,
    -- Who may run /git-slice comment commands (forge logins); none: commands are off.
    command_users text[] NOT NULL DEFAULT '{}',
    last_upstream_sha text,
    last_slice_sha text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gitslice_runs (
    id bigserial PRIMARY KEY,
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('pull', 'pull_branch', 'push', 'reindex')),
    state text NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    upstream_ref text,
    slice_ref text,
    upstream_sha text,
    slice_sha text,
    commits integer NOT NULL DEFAULT 0,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX gitslice_runs_slice_idx ON gitslice_runs (slice_name, id);

CREATE TABLE gitslice_commit_map (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    upstream_sha text NOT NULL,
    slice_sha text NOT NULL,
    rules_digest text,
    PRIMARY KEY (slice_name, upstream_sha)
);
CREATE INDEX gitslice_commit_map_slice_sha_idx ON gitslice_commit_map (slice_name, slice_sha);

-- Upstream tips already sliced, per branch: a pull walks from the new head down to these.
CREATE TABLE gitslice_tips (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    upstream_ref text NOT NULL,
    upstream_sha text NOT NULL,
    slice_sha text NOT NULL,
    PRIMARY KEY (slice_name, upstream_ref)
);

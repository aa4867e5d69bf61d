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
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The forge repositories the slice is (none: no pull requests, reviews or commands).
    forge text CHECK (forge IN ('github')),
    forge_api_url text,
    upstream_repo text,
    slice_repo text,
    pr_draft boolean NOT NULL DEFAULT true,
    pr_labels text[] NOT NULL DEFAULT '{}',
    -- The least role on the slice repository that may run comment commands.
    command_permission text NOT NULL DEFAULT 'write'
        CHECK (command_permission IN ('admin', 'maintain', 'write', 'triage', 'read')),
    close_on_merge boolean NOT NULL DEFAULT true,
    -- A periodic pull: every so many seconds (none: only on events and by hand).
    pull_interval_seconds integer CHECK (pull_interval_seconds > 0),
    pull_scheduled_at timestamptz
);

CREATE TABLE gitslice_runs (
    id bigserial PRIMARY KEY,
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN (
        'pull', 'pull_branch', 'push', 'reindex', 'raise_pr', 'pull_review', 'pull_issue',
        'command')),
    state text NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    upstream_ref text,
    slice_ref text,
    upstream_sha text,
    slice_sha text,
    commits integer NOT NULL DEFAULT 0,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- The job that ran it, and the first webhook delivery behind it (if any).
    job_id bigint,
    delivery_id bigint
);
CREATE INDEX gitslice_runs_slice_idx ON gitslice_runs (slice_name, id);
CREATE INDEX gitslice_runs_job_idx ON gitslice_runs (job_id) WHERE job_id IS NOT NULL;

-- Every webhook delivery behind a run: the one that queued its job, and those a waiting pull
-- took in (each queued it again before it started).
CREATE TABLE gitslice_run_deliveries (
    run_id bigint NOT NULL REFERENCES gitslice_runs (id) ON DELETE CASCADE,
    delivery_id bigint NOT NULL,
    PRIMARY KEY (run_id, delivery_id)
);
CREATE INDEX gitslice_run_deliveries_delivery_idx ON gitslice_run_deliveries (delivery_id);

-- Deliveries that asked for a pull of a slice's default branch, until the next one starts.
CREATE TABLE gitslice_waiting_deliveries (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    delivery_id bigint NOT NULL,
    PRIMARY KEY (slice_name, delivery_id)
);

CREATE TABLE gitslice_commit_map (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    upstream_sha text NOT NULL,
    slice_sha text NOT NULL,
    rules_digest text,
    -- The run that wrote the entry last (a reindex rewrites them all).
    run_id bigint REFERENCES gitslice_runs (id) ON DELETE SET NULL,
    PRIMARY KEY (slice_name, upstream_sha)
);
CREATE INDEX gitslice_commit_map_slice_sha_idx ON gitslice_commit_map (slice_name, slice_sha);
CREATE INDEX gitslice_commit_map_run_idx ON gitslice_commit_map (run_id)
    WHERE run_id IS NOT NULL;

-- Upstream tips already sliced, per branch: a pull walks from the new head down to these.
CREATE TABLE gitslice_tips (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    upstream_ref text NOT NULL,
    upstream_sha text NOT NULL,
    slice_sha text NOT NULL,
    PRIMARY KEY (slice_name, upstream_ref)
);

-- A side's credentials: a token, or a GitHub App (id, private key, installation). ``secret``
-- is a reference (``env:NAME``) or a value encrypted with the service's key (``fernet:...``),
-- never a plain token.
CREATE TABLE gitslice_credentials (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    side text NOT NULL CHECK (side IN ('upstream', 'slice')),
    kind text NOT NULL CHECK (kind IN ('token', 'app')),
    secret text NOT NULL,
    username text,
    email text,
    app_id bigint,
    installation_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slice_name, side),
    CHECK ((kind = 'app') = (app_id IS NOT NULL))
);

-- An upstream pull request raised for a slice branch, and the slice pull request it came from.
CREATE TABLE gitslice_pull_links (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    upstream_pr integer NOT NULL,
    slice_pr integer,
    upstream_branch text NOT NULL,
    slice_branch text NOT NULL,
    upstream_url text NOT NULL,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'merged')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slice_name, upstream_pr)
);
-- Only one link of a slice pull request is open: it may be raised again once closed upstream.
CREATE UNIQUE INDEX gitslice_pull_links_slice_pr_idx ON gitslice_pull_links (slice_name, slice_pr)
    WHERE slice_pr IS NOT NULL AND state = 'open';

-- What was copied from upstream onto the slice (a review, an issue, an issue's comment), so a
-- second copy of the same thing is the first one.
CREATE TABLE gitslice_copies (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('review', 'review_comment', 'issue', 'issue_comment')),
    upstream_id bigint NOT NULL,
    slice_id bigint NOT NULL,
    slice_url text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The webhook delivery behind the job that copied it (none: by hand, or before 0007).
    delivery_id bigint,
    PRIMARY KEY (slice_name, kind, upstream_id)
);
CREATE INDEX gitslice_copies_delivery_idx ON gitslice_copies (delivery_id)
    WHERE delivery_id IS NOT NULL;

-- A /git-slice comment command, taken once per comment however often its webhook comes.
CREATE TABLE gitslice_commands (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    comment_id bigint NOT NULL,
    pull_number integer NOT NULL,
    author text NOT NULL,
    command text NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'refused')),
    result text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- The webhook delivery the comment came with (none: taken before deliveries were kept).
    delivery_id bigint,
    PRIMARY KEY (slice_name, comment_id)
);

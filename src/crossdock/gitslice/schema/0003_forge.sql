-- GitSlice on the forge: which forge repositories a slice is, its credentials, the pull
-- requests linked across the two sides, what was copied from upstream, and the comment
-- commands taken.
ALTER TABLE gitslice_slices
    ADD COLUMN forge text CHECK (forge IN ('github')),
    ADD COLUMN forge_api_url text,
    ADD COLUMN upstream_repo text,
    ADD COLUMN slice_repo text,
    ADD COLUMN pr_draft boolean NOT NULL DEFAULT true,
    ADD COLUMN pr_labels text[] NOT NULL DEFAULT '{}',
    ADD COLUMN command_permission text NOT NULL DEFAULT 'write'
        CHECK (command_permission IN ('admin', 'maintain', 'write', 'triage', 'read')),
    ADD COLUMN close_on_merge boolean NOT NULL DEFAULT true,
    ADD COLUMN pull_interval_seconds integer CHECK (pull_interval_seconds > 0),
    ADD COLUMN pull_scheduled_at timestamptz;

ALTER TABLE gitslice_runs DROP CONSTRAINT gitslice_runs_kind_check;
ALTER TABLE gitslice_runs ADD CONSTRAINT gitslice_runs_kind_check CHECK (kind IN (
    'pull', 'pull_branch', 'push', 'reindex', 'raise_pr', 'pull_review', 'pull_issue',
    'command'));

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
CREATE UNIQUE INDEX gitslice_pull_links_slice_pr_idx ON gitslice_pull_links (slice_name, slice_pr)
    WHERE slice_pr IS NOT NULL;

-- What was copied from upstream onto the slice (a review, an issue, an issue's comment), so a
-- second copy of the same thing is the first one.
CREATE TABLE gitslice_copies (
    slice_name text NOT NULL REFERENCES gitslice_slices (name) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('review', 'review_comment', 'issue', 'issue_comment')),
    upstream_id bigint NOT NULL,
    slice_id bigint NOT NULL,
    slice_url text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slice_name, kind, upstream_id)
);

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
    PRIMARY KEY (slice_name, comment_id)
);

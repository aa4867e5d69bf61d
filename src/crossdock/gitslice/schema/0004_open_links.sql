-- A slice pull request may be raised upstream again once its upstream pull request is closed:
-- only one of its links is open at a time, the closed ones stay as its history.
DROP INDEX gitslice_pull_links_slice_pr_idx;
CREATE UNIQUE INDEX gitslice_pull_links_slice_pr_idx ON gitslice_pull_links (slice_name, slice_pr)
    WHERE slice_pr IS NOT NULL AND state = 'open';

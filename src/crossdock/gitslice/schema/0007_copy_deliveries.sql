-- The webhook delivery behind each copy from upstream (a review's, or a /git-slice comment's
-- that asked for a review or an issue), so a delivery lists what it copied even when the copy
-- made no run of its own (a review copied before: the copy is the first one's).
ALTER TABLE gitslice_copies ADD COLUMN delivery_id bigint;
CREATE INDEX gitslice_copies_delivery_idx ON gitslice_copies (delivery_id)
    WHERE delivery_id IS NOT NULL;

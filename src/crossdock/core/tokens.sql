-- name: insert_token
INSERT INTO crossdock_admin_tokens (name, role, token_sha256)
VALUES (%(name)s, %(role)s, %(token_sha256)s)
RETURNING id, name, role, created_at, last_used_at;

-- name: use_token
-- The token's row, its last use set to now when it was last set more than a minute ago: a
-- read-only transaction commits without waiting for a disk flush, so a token used many times a
-- second (a dashboard, a script) costs one write a minute, not one per request.
WITH found AS (
    SELECT id, name, role, created_at, last_used_at FROM crossdock_admin_tokens
    WHERE token_sha256 = %(token_sha256)s
), touched AS (
    UPDATE crossdock_admin_tokens AS token SET last_used_at = now()
    FROM found
    WHERE token.id = found.id
      AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
    RETURNING token.id, token.last_used_at
)
SELECT found.id, found.name, found.role, found.created_at,
       COALESCE(touched.last_used_at, found.last_used_at) AS last_used_at
FROM found LEFT JOIN touched ON touched.id = found.id;

-- name: list_tokens
SELECT id, name, role, created_at, last_used_at FROM crossdock_admin_tokens ORDER BY id;

-- name: delete_token
DELETE FROM crossdock_admin_tokens WHERE id = %(id)s RETURNING id;

-- name: delete_named_tokens
DELETE FROM crossdock_admin_tokens WHERE name = %(name)s;

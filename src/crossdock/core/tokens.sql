-- name: insert_token
INSERT INTO crossdock_admin_tokens (name, role, token_sha256)
VALUES (%(name)s, %(role)s, %(token_sha256)s)
RETURNING id, name, role, created_at, last_used_at;

-- name: use_token
-- The token's row, its last use set to now (one statement per authenticated request).
UPDATE crossdock_admin_tokens SET last_used_at = now()
WHERE token_sha256 = %(token_sha256)s
RETURNING id, name, role, created_at, last_used_at;

-- name: list_tokens
SELECT id, name, role, created_at, last_used_at FROM crossdock_admin_tokens ORDER BY id;

-- name: delete_token
DELETE FROM crossdock_admin_tokens WHERE id = %(id)s RETURNING id;

-- name: delete_named_tokens
DELETE FROM crossdock_admin_tokens WHERE name = %(name)s;

-- Admin API tokens: only a SHA-256 of each token is kept (see crossdock.core.tokens).
CREATE TABLE crossdock_admin_tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('read', 'admin')),
    token_sha256 bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

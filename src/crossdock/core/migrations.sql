-- The migrations ledger; created by the migrator itself before any migration runs.

-- name: create_table
CREATE TABLE IF NOT EXISTS crossdock_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)

-- name: select_applied
SELECT component, version, checksum FROM crossdock_migrations

-- name: insert_applied
INSERT INTO crossdock_migrations (component, version, name, checksum)
VALUES (%(component)s, %(version)s, %(name)s, %(checksum)s)

-- name: lock
SELECT pg_advisory_lock(hashtext('crossdock_migrations'))

-- name: unlock
SELECT pg_advisory_unlock(hashtext('crossdock_migrations'))

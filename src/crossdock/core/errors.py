"""The core's errors.

CrossdockError
├── ConfigError            a setting or the config file is invalid
├── DatabaseError          the database failed us
│   ├── DatabaseUnreachable    no server answers at DATABASE_URL
│   └── PendingMigrations      the database needs `crossdock db upgrade` first
├── MigrationError         a migration is missing, changed or failed
├── JobError               the job queue refused a job
├── PortInUse              a server could not bind its port
└── TokenError             an admin token is unknown or its role is invalid

Each service defines its own root under CrossdockError (``GatewayError``, ...).
"""

from __future__ import annotations


class CrossdockError(Exception):
    """Something went wrong in crossdock."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self)


class ConfigError(CrossdockError):
    """A setting is invalid."""


class DatabaseError(CrossdockError):
    """The database failed."""


class DatabaseUnreachable(DatabaseError):
    """No PostgreSQL server answers at the configured address."""


class PendingMigrations(DatabaseError):
    """The database has migrations to apply: run `crossdock db upgrade`."""

    #: Like a setting to fix: the person runs a command (or sets auto-migration) first.
    exit_code = 2


class MigrationError(CrossdockError):
    """A migration is missing, was changed after it was applied, or failed."""


class JobError(CrossdockError):
    """The job queue refused a job."""


class PortInUse(CrossdockError):
    """A server could not bind its port."""


class TokenError(CrossdockError):
    """No admin token with that id, or an invalid role."""

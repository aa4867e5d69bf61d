"""The core's errors.

CrossdockError
├── ConfigError            a setting, an option or the config file is invalid
│   └── SecretUndecryptable    no key of the service decrypts a stored secret (core/secretbox.py)
├── DatabaseError          the database failed us
│   ├── DatabaseUnreachable    no server answers at DATABASE_URL
│   └── PendingMigrations      the database needs `crossdock db upgrade` first
├── MigrationError         a migration is missing, changed or failed
├── JobError               the job queue refused a job
├── RetryLater             a job should be tried again at ``retry_at``, not before
├── PortInUse              a server could not bind its port
├── TokenError             an admin token is unknown or its role is invalid
├── KeySetError            a JWKS could not be fetched or read (the last good keys stay)
├── JwtError               a JSON Web Token is not valid (core/jwt.py; its HTTP status)
├── AccessDenied           a request's admin token or JWT does not let it in (core/adminauth.py)
├── AdminGraphError        an admin subgraph refused a request (a bad cursor, an unknown job)
└── NotLive                a service's running part is not in this process (core/live.py)

Each service defines its own root under CrossdockError (``GatewayError``, ...).

``exit_code`` is what the ``crossdock`` command exits with when the error reaches it: 2 for
a problem with what the person gave (a setting, an option, an address), 1 for an operation
that failed. A service's error of the first kind subclasses :class:`ConfigError` or sets it.
"""

from __future__ import annotations

import datetime
from typing import ClassVar


class CrossdockError(Exception):
    """Something went wrong in crossdock."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self)


class ConfigError(CrossdockError):
    """A setting is invalid."""

    exit_code = 2


class SecretUndecryptable(ConfigError):
    """A stored secret cannot be decrypted with the service's keys."""


class DatabaseError(CrossdockError):
    """The database failed."""


class DatabaseUnreachable(DatabaseError):
    """No PostgreSQL server answers at the configured address."""

    exit_code = 2


class PendingMigrations(DatabaseError):
    """The database has migrations to apply: run `crossdock db upgrade`."""

    #: Like a setting to fix: the person runs a command (or sets auto-migration) first.
    exit_code = 2


class MigrationError(CrossdockError):
    """A migration is missing, was changed after it was applied, or failed."""


class JobError(CrossdockError):
    """The job queue refused a job."""


class RetryLater(CrossdockError):
    """The job cannot go on before a given time (a rate limit's reset): try it again then."""

    def __init__(self, message: str | None = None, *, retry_at: datetime.datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class PortInUse(CrossdockError):
    """A server could not bind its port."""

    exit_code = 2


class TokenError(CrossdockError):
    """No admin token with that id, or an invalid role."""


class KeySetError(CrossdockError):
    """A JSON Web Key Set could not be fetched or read."""


class JwtError(CrossdockError):
    """The JSON Web Token is not valid."""

    def __init__(self, message: str | None = None, *, status: int = 401) -> None:
        super().__init__(message)
        #: The HTTP status of the answer: 400 for a malformed header, else 401.
        self.status = status


class AccessDenied(CrossdockError):
    """The request's credentials do not let it in."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        #: The HTTP status of the answer (401, 403, 503).
        self.status = status
        #: The GraphQL ``extensions.code`` of the answer.
        self.code = code

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The answer's headers: a 401 says how to authenticate."""
        return [(b"www-authenticate", b'Bearer realm="crossdock"')] if self.status == 401 else []  # noqa: PLR2004


class AdminGraphError(CrossdockError):
    """The admin graph cannot do what the request asks."""


class NotLive(CrossdockError):
    """The service's running part is not in this process."""

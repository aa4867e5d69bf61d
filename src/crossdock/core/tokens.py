"""Admin API tokens: created by a command, kept hashed, with a read or an admin role.

A token is ``cdx_`` and 32 random bytes (base64url), shown once when it is created. The
database keeps its SHA-256 only. A slow password hash (bcrypt, argon2) exists to make guessing
a low-entropy password costly; a 256-bit random token cannot be guessed at any speed, so a
fast hash loses nothing, and it lets a request find its token with one indexed lookup. A
stolen copy of the table gives no usable token.

:mod:`crossdock.core.adminauth` checks a request's token (or JWT) and its role, for the admin
graph and the admin APIs alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import secrets
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg_pool

from crossdock.core.errors import DatabaseError, TokenError
from crossdock.core.sql import load_queries

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from crossdock.core.asgi import Scope
    from crossdock.core.database import Connection, Database

PREFIX = "cdx_"
_queries = load_queries("crossdock.core", "tokens.sql")
#: Methods a read token may use; every other method needs an admin token.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Role(StrEnum):
    """What a token may do: ``read`` (GET) or ``admin`` (everything)."""

    READ = "read"
    ADMIN = "admin"

    def allows(self, method: str) -> bool:
        """Whether a token with this role may make a request with ``method``."""
        return self is Role.ADMIN or method in READ_METHODS


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AdminToken:
    """A token as stored: never its value."""

    id: int
    name: str
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AdminToken:
        """Build from a ``crossdock_admin_tokens`` row."""
        return cls(id=row["id"], name=row["name"], role=Role(row["role"]),
                   created_at=row["created_at"], last_used_at=row["last_used_at"])

    def public(self) -> dict[str, Any]:
        """The token as JSON (id, name, role, created and last used times)."""
        return {"id": self.id, "name": self.name, "role": str(self.role),
                "created_at": self.created_at.isoformat(),
                "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None}


def role(value: str) -> Role:
    """The role named ``value``; :class:`TokenError` if there is none."""
    try:
        return Role(value)
    except ValueError as exc:
        raise TokenError(f"unknown role {value!r} (roles: read, admin)") from exc


def digest(token: str) -> bytes:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).digest()


class TokenStore:
    """Admin tokens in PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, *, role: Role, name: str = "",
                     replace: bool = False) -> tuple[AdminToken, str]:
        """A new token and its value (shown once: only its hash is kept).

        With ``replace``, the tokens of the same name are revoked in the same transaction
        (``crossdock up`` makes a fresh demo token each run without piling them up).
        """
        value = PREFIX + secrets.token_urlsafe(32)
        async with self._transaction() as conn:
            if replace:
                await conn.execute(_queries["delete_named_tokens"], {"name": name})
            cursor = await conn.execute(_queries["insert_token"], {
                "name": name, "role": str(role), "token_sha256": digest(value)})
            row = await cursor.fetchone()
        assert row is not None  # INSERT ... RETURNING returns the row
        return AdminToken.from_row(row), value

    async def authenticate(self, value: str) -> AdminToken | None:
        """The token ``value`` is, its last use now (to the minute); None when it is unknown
        or revoked.

        Looking up by hash compares no secret byte by byte: a near miss tells nothing.
        """
        if not value.startswith(PREFIX):
            return None
        async with self._transaction() as conn:
            cursor = await conn.execute(_queries["use_token"], {"token_sha256": digest(value)})
            row = await cursor.fetchone()
        return AdminToken.from_row(row) if row is not None else None

    async def list(self) -> list[AdminToken]:
        """Every token that can still be used, oldest first."""
        async with self._transaction() as conn:
            cursor = await conn.execute(_queries["list_tokens"])
            return [AdminToken.from_row(row) for row in await cursor.fetchall()]

    async def revoke(self, token_id: int) -> None:
        """Delete a token: requests that carry it get 401 from now on."""
        async with self._transaction() as conn:
            cursor = await conn.execute(_queries["delete_token"], {"id": token_id})
            if await cursor.fetchone() is None:
                raise TokenError(f"no admin token with id {token_id}")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        try:
            async with self.database.transaction() as conn:
                yield conn
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise DatabaseError(f"the admin tokens are unavailable: {exc}") from exc


def bearer(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if there is one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None

"""What the outbound tables' stores share: the named queries, one transaction per method,
driver errors as the service's, and handing an ordering key its turn."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from crossdock.core.database import Connection, Database
from crossdock.core.secretbox import SecretBox
from crossdock.core.sql import load_queries
from crossdock.webhooks.errors import InvalidOutbound, UnknownApplication, WebhooksError
from crossdock.webhooks.outbound.store.keys import secret_box
from crossdock.webhooks.store import translated

queries = load_queries("crossdock.webhooks.outbound", "queries.sql")


class Tables:
    """The outbound tables on ``database``; each method opens its own transaction. Endpoints'
    signing secrets are encrypted with ``secrets`` (default: the process's, see ``keys``)."""

    def __init__(self, database: Database, *, secrets: SecretBox | None = None) -> None:
        self.database = database
        self._secrets = secrets

    @property
    def secrets(self) -> SecretBox:
        """What endpoints' signing secrets are encrypted with."""
        return self._secrets or secret_box()

    @contextlib.asynccontextmanager
    async def _transaction(self, *, app: str = "",
                           within: Connection | None = None) -> AsyncIterator[Connection]:
        """One transaction (a savepoint ``within`` a caller's); ``app`` names the application
        a missing one is reported as."""
        try:
            if within is not None:
                async with within.transaction():
                    yield within
                return
            async with self.database.pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise outbound_error(exc, app) from exc

    async def _one(self, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        async with self._transaction() as conn:
            return await fetch_one(conn, name, params)

    async def _all(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._transaction() as conn:
            return await fetch_all(conn, name, params)


async def hand_turn(conn: Connection, *, app: str, key: str, endpoint_id: int) -> None:
    """Make the oldest unfinished destination of ``key`` at the endpoint due, if it waits."""
    await execute(conn, "lock_ordering_key", {"app": app, "key": key})
    await execute(conn, "promote_next", {"endpoint_id": endpoint_id, "key": key})


#: Storing an endpoint or a message of an application that is not there.
_UNKNOWN_APP = {"webhooks_out_endpoints_app_fkey", "webhooks_out_messages_app_fkey"}
_BROKEN_RULES = {
    "webhooks_out_applications_name_check": "an application name",
    "webhooks_out_event_types_name_check": "an event type name",
}


def outbound_error(exc: psycopg.Error, app: str = "") -> WebhooksError:
    """The service's error for a driver error, the outbound tables' rules included."""
    constraint = exc.diag.constraint_name or ""
    if constraint in _UNKNOWN_APP:
        return UnknownApplication(f"no application named {app!r}")
    if constraint in _BROKEN_RULES:
        return InvalidOutbound(f"{_BROKEN_RULES[constraint]} starts with a letter or digit and "
                               "has only letters, digits, '_', '.' and '-'")
    if constraint.startswith("webhooks_out_endpoints_") and constraint.endswith("_check"):
        return InvalidOutbound("rate_limit, max_concurrency and timeout_seconds must be positive")
    return translated(exc)


async def execute(conn: Connection, name: str, params: dict[str, Any]) -> int:
    cursor = await conn.execute(queries[name], params)
    return cursor.rowcount


async def fetch_one(conn: Connection, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    cursor = await conn.execute(queries[name], params)
    return await cursor.fetchone()


async def fetch_all(conn: Connection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = await conn.execute(queries[name], params)
    return await cursor.fetchall()

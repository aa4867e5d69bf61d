"""The PostgreSQL connection pool every service shares, and its errors translated into ours."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Self

import psycopg
import psycopg_pool
from psycopg.rows import dict_row

from crossdock.core.errors import DatabaseUnreachable

Connection = psycopg.AsyncConnection[dict[str, Any]]


def describe_target(url: str) -> str:
    """``host:port/dbname`` (or the socket folder) of a conninfo, with no password."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an invalid DATABASE_URL"
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or 5432)
    dbname = str(params.get("dbname") or params.get("user") or "")
    return f"{host}:{port}/{dbname}"


def unreachable(url: str, exc: BaseException) -> DatabaseUnreachable:
    """A one-line error that says where we looked and what to check."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # psycopg says "connection to server at ..., port ... failed: Connection refused" first.
    reason = lines[0].rsplit("failed: ", 1)[-1] if lines else type(exc).__name__
    return DatabaseUnreachable(
        f"cannot reach PostgreSQL at {describe_target(url)} ({reason}); check that the server "
        "is running and that DATABASE_URL is right, or unset DATABASE_URL to use the embedded "
        "server"
    )


async def connect(url: str, *, autocommit: bool = False) -> Connection:
    """One connection outside the pool (for migrations, LISTEN, admin work)."""
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=autocommit, row_factory=dict_row, connect_timeout=5
        )
    except psycopg.OperationalError as exc:
        raise unreachable(url, exc) from exc


class Database:
    """A pool of async connections to one database."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10,
                 timeout: float = 30.0) -> None:
        """``timeout``: the seconds a caller waits for a connection before PoolTimeout (while
        PostgreSQL is unreachable, each caller waits this long)."""
        self.url = url
        self.pool: psycopg_pool.AsyncConnectionPool[Connection] = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row},
            check=psycopg_pool.AsyncConnectionPool.check_connection,
            timeout=timeout,
            name="crossdock",
        )

    async def open(self, *, wait: bool = True, within: float = 10.0) -> None:
        """Open the pool; raise :class:`DatabaseUnreachable` if no connection comes."""
        try:
            await self.pool.open(wait=wait, timeout=within)
        except psycopg_pool.PoolTimeout as exc:
            await self.pool.close()
            raise unreachable(self.url, exc) from exc

    async def close(self) -> None:
        """Close the pool and every connection in it."""
        await self.pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; a transaction is committed when the block exits cleanly."""
        async with self.pool.connection() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    async def ping(self) -> bool:
        """True when a connection answers ``SELECT 1``."""
        try:
            async with self.pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            return False
        return True

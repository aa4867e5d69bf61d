"""Helpers for entrypoints: settings from the environment, a database URL, an event loop.

``database_url`` is where every command gets its database: ``DATABASE_URL`` when set, otherwise
the embedded server (started or joined for the duration of the block), so every command works
on a fresh machine. It also makes sure the schema is current before a command touches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from crossdock.core.embedded import embedded_postgres, require_installed
from crossdock.core.settings import CoreSettings

T = TypeVar("T")


@contextlib.contextmanager
def database_url(settings: CoreSettings, *, migrate: bool = True) -> Iterator[str]:
    """The configured database URL, or the embedded server's while the block runs.

    With ``migrate`` (every command but ``crossdock db ...`` and ``crossdock up``, which
    migrate on their own), pending migrations are applied on the embedded database; on
    ``DATABASE_URL`` they are applied only with ``CROSSDOCK_AUTO_MIGRATE``, else the command
    stops with :class:`~crossdock.core.errors.PendingMigrations`.
    """
    if settings.database_url:
        if migrate:
            run(_bring_current(settings.database_url, apply=settings.auto_migrate))
        yield settings.database_url
        return
    require_installed()
    folder = (settings.data_dir / "postgres").resolve()
    sys.stderr.write(f"crossdock: using the embedded PostgreSQL in {folder}\n")
    sys.stderr.flush()
    with embedded_postgres(settings.data_dir) as url:
        if migrate:
            run(_bring_current(url, apply=True))
        yield url


async def _bring_current(url: str, *, apply: bool) -> None:
    from crossdock.core.database import connect
    from crossdock.core.migrations import Migrator
    from crossdock.core.services import components

    conn = await connect(url)
    try:
        await Migrator(components()).bring_current(conn, apply=apply, target=url)
    finally:
        await conn.close()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)

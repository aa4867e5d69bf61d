"""Helpers for entrypoints: settings from the environment, a database URL, an event loop.

``database_url`` gives ``DATABASE_URL`` when set and otherwise starts the embedded server for
the duration of the block, so every command works on a fresh machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from crossdock.core.embedded import embedded_postgres
from crossdock.core.settings import CoreSettings

T = TypeVar("T")


@contextlib.contextmanager
def database_url(settings: CoreSettings) -> Iterator[str]:
    """The configured database URL, or the embedded server's while the block runs."""
    if settings.database_url:
        yield settings.database_url
        return
    with embedded_postgres(settings.data_dir) as url:
        yield url


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)

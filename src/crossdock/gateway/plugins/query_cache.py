"""Where automatic persisted queries are kept: the port, and the in-memory LRU cache.

The APQ plugin (:mod:`.apq`) reads and writes a :class:`QueryCache` by the query's SHA-256
hash. :class:`MemoryQueryCache` is the gateway's own (Apollo Router's
``apq.router.cache.in_memory``); :mod:`.redis_cache` shares the queries between gateways.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class QueryCache(Protocol):
    """Query texts by their SHA-256 hash (lower-case hex)."""

    async def get(self, sha256: str) -> str | None:
        """The query registered under ``sha256``, or None."""
        ...

    async def put(self, sha256: str, query: str) -> None:
        """Registers ``query`` under ``sha256`` (already checked to be its hash)."""
        ...

    async def aclose(self) -> None:
        """Releases the cache's connections."""
        ...


class MemoryQueryCache:
    """The ``limit`` most recently used queries, in this process."""

    __slots__ = ("_queries", "limit")

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._queries: OrderedDict[str, str] = OrderedDict()

    def get_now(self, sha256: str) -> str | None:
        """:meth:`get` without awaiting (the tiered Redis cache asks memory first)."""
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    def put_now(self, sha256: str, query: str) -> None:
        """:meth:`put` without awaiting."""
        self._queries[sha256] = query
        self._queries.move_to_end(sha256)
        if len(self._queries) > self.limit:
            self._queries.popitem(last=False)

    async def get(self, sha256: str) -> str | None:
        """The query registered under ``sha256``, or None."""
        return self.get_now(sha256)

    async def put(self, sha256: str, query: str) -> None:
        """Registers ``query`` under ``sha256``, dropping the least recently used past the
        limit."""
        self.put_now(sha256, query)

    async def aclose(self) -> None:
        """Nothing to release."""

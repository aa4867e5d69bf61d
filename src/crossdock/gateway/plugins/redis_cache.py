"""APQ queries shared between gateways through Redis (``apq.router.cache.redis``).

Needs the ``redis`` extra (redis-py's asyncio client). Each gateway keeps its in-memory LRU
cache in front: a query it has seen is served without a round trip, one registered by
another gateway is read from Redis once and then kept. Redis being down or slow is never a
failed request: a read that fails (or passes ``timeout``) is a miss, so the client sends the
query again, and a write that fails is dropped; the first failure after a success is logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio
from redis.exceptions import RedisError

from crossdock.core.logging import get_logger

if TYPE_CHECKING:
    from crossdock.gateway.plugins.query_cache import MemoryQueryCache

log = get_logger("crossdock.gateway")


class RedisQueryCache:
    """Queries in Redis under ``<namespace>:apq:<sha256>``, with ``memory`` in front."""

    def __init__(self, url: str, memory: MemoryQueryCache, *, namespace: str | None = None,
                 timeout: float = 0.5, ttl: float | None = None) -> None:
        self.memory = memory
        self.prefix = f"{namespace}:apq:" if namespace else "apq:"
        self.ttl = int(ttl * 1000) if ttl else None
        # Connections are made on first use, in the loop that serves requests.
        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._failing = False

    async def get(self, sha256: str) -> str | None:
        """The query under ``sha256``: from memory, else from Redis (then kept in memory)."""
        query = self.memory.get_now(sha256)
        if query is not None:
            return query
        try:
            found = await self.client.get(self.prefix + sha256)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._failing = False
        if found is None:
            return None
        query = found.decode("utf-8") if isinstance(found, bytes) else str(found)
        self.memory.put_now(sha256, query)
        return query

    async def put(self, sha256: str, query: str) -> None:
        """Registers ``query`` in memory and in Redis (a failed write is dropped)."""
        self.memory.put_now(sha256, query)
        try:
            await self.client.set(self.prefix + sha256, query, px=self.ttl)
        except (RedisError, OSError) as exc:
            self._failed(exc)
        else:
            self._failing = False

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning("apq_redis_unavailable", error=str(exc) or type(exc).__name__)

    async def aclose(self) -> None:
        """Closes the connections to Redis."""
        await self.client.aclose()

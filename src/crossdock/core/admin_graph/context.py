"""What an admin subgraph's resolvers get: the runtime, the caller, per-request loaders.

A :class:`~strawberry.dataloader.DataLoader` batches the loads that one request's resolvers make
in the same tick into one query (a page of 20 deliveries asks for their attempts once, not 20
times). Loaders live as long as one request: a second request never sees the first's cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import psycopg
import psycopg_pool
from strawberry.dataloader import DataLoader

from crossdock.core.errors import CrossdockError, DatabaseError

if TYPE_CHECKING:
    from typing import LiteralString

    import strawberry

    from crossdock.core.adminauth import Caller
    from crossdock.core.runtime import Runtime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Loads the values of a batch of keys, in the keys' order.
Batch = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


@dataclasses.dataclass(kw_only=True)
class AdminContext:
    """One admin subgraph request's context (``info.context`` in a resolver)."""

    runtime: Runtime
    caller: Caller
    _loaders: dict[str, DataLoader[Any, Any]] = dataclasses.field(default_factory=dict)

    def loader(self, name: str, batch: Batch[K, V]) -> DataLoader[K, V]:
        """The request's loader called ``name``, made with ``batch`` on first use."""
        if name not in self._loaders:
            async def load(keys: list[K]) -> Sequence[V]:
                return await batch(keys)

            self._loaders[name] = DataLoader(load_fn=load)
        return cast("DataLoader[K, V]", self._loaders[name])

    async def by_id(self, name: str, query: LiteralString, value: str,
                    shape: Callable[[dict[str, Any]], V]) -> V | None:
        """The row whose id is ``value`` (an ``ID``), shaped; None when there is none.

        ``query`` takes ``ids``; the loader ``name`` batches the request's lookups into one.
        """
        async def batch(ids: Sequence[int]) -> list[V | None]:
            found = {row["id"]: shape(row) for row in await self.rows(query, {"ids": list(ids)})}
            return [found.get(key) for key in ids]

        try:
            key = int(value)
        except ValueError:
            return None
        return await self.loader(name, batch).load(key)

    async def rows(self, query: LiteralString, params: dict[str, Any] | None = None,
                   ) -> list[dict[str, Any]]:
        """The rows of one query, in a transaction of its own (a mutation's is committed)."""
        try:
            async with self.runtime.database.transaction() as conn:
                cursor = await conn.execute(query, params)
                return await cursor.fetchall() if cursor.description else []
        except psycopg.DataError as exc:
            # A value the client gave that PostgreSQL cannot take (a NUL in a text, a number
            # out of range): the request is refused, the database is fine.
            raise CrossdockError(f"a value the database cannot take: {_first_line(exc)}") from exc
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise DatabaseError(f"the admin graph's query failed: {exc}") from exc


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def context_of(info: strawberry.Info[Any, Any]) -> AdminContext:
    """The admin context of a resolver's ``info``."""
    context = info.context
    assert isinstance(context, AdminContext)  # the app always passes one
    return context

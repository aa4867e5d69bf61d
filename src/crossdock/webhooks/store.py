"""The webhooks tables behind small methods: sources, routes, deliveries and attempts.

Every method takes the caller's connection, so the receiver and the processor choose what
goes in one transaction; :func:`connection` and :func:`transaction` hand one out. This module is
the service's one adapter to the driver: every database error leaves it as a
:class:`~crossdock.webhooks.errors.WebhooksError` (a broken rule of a table as its domain error,
a lost or busy database as :class:`StoreUnavailable`, anything else as :class:`StoreError`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, LiteralString

import orjson
import psycopg
from psycopg.types.json import Jsonb

from crossdock.core.backoff import Backoff
from crossdock.core.database import Connection, Database, connect
from crossdock.core.sql import load_queries
from crossdock.webhooks.errors import (
    DeliveryNotFound,
    InvalidInput,
    InvalidSource,
    RouteNotFound,
    SourceExists,
    StoreError,
    StoreUnavailable,
    UnknownSource,
    WebhooksError,
)
from crossdock.webhooks.models import (
    Attempt,
    AttemptStatus,
    Delivery,
    DeliveryStatus,
    Route,
    Source,
)
from crossdock.webhooks.routing import filters_from_json, filters_to_json

queries = load_queries("crossdock.webhooks", "queries.sql")

#: The rules of the tables a caller can break, by constraint name, as the service's errors.
#: (A taken name is found without one: the insert skips it, and says so by returning nothing.)
_BROKEN_RULES: dict[str, Callable[[], WebhooksError]] = {
    "webhooks_sources_name_check": lambda: InvalidSource(
        "a source name starts with a letter or digit and has only letters, digits, '_', '.' "
        "and '-'"),
    "webhooks_sources_secrets_check": lambda: InvalidSource("a source needs at least one secret"),
}


def translated(exc: psycopg.Error) -> WebhooksError:
    """The service's error for a driver error."""
    if isinstance(exc, psycopg.OperationalError):  # the pool's timeout is one too
        return StoreUnavailable(f"the database is unavailable: {_first_line(exc)}")
    broken = _BROKEN_RULES.get(exc.diag.constraint_name or "")
    if broken is not None:
        return broken()
    if isinstance(exc, psycopg.DataError):  # a value given (a NUL in a text), not the database
        return InvalidInput(f"a value the database cannot take: {_first_line(exc)}")
    return StoreError(f"the database refused the statement: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@contextlib.asynccontextmanager
async def connection(database: Database, *, within: float | None = None) -> AsyncIterator[
        Connection]:
    """A pooled connection (waiting ``within`` seconds at most for one); errors translated."""
    try:
        async with database.pool.connection(timeout=within) as conn:
            yield conn
    except psycopg.Error as exc:
        raise translated(exc) from exc


@contextlib.asynccontextmanager
async def transaction(database: Database, *, within: float | None = None) -> AsyncIterator[
        Connection]:
    """A pooled connection inside one transaction; a failed commit is translated too."""
    async with connection(database, within=within) as conn, conn.transaction():
        yield conn


@contextlib.asynccontextmanager
async def listening(
    database: Database, listen: LiteralString = queries["listen"],
) -> AsyncIterator[Connection]:
    """A connection of its own that is told of new runnable deliveries (or what ``listen``,
    a ``LISTEN`` statement, names); errors translated.

    :class:`~crossdock.core.errors.DatabaseUnreachable` when no server answers.
    """
    listener = await connect(database.url, autocommit=True)
    try:
        async with listener:
            await listener.execute(listen)
            yield listener
    except psycopg.Error as exc:
        raise translated(exc) from exc


async def wait_for_deliveries(listener: Connection, *, within: float) -> None:
    """Return at the next commit of runnable deliveries, or after ``within`` seconds."""
    try:
        async for _ in listener.notifies(timeout=within, stop_after=1):
            pass
    except psycopg.Error as exc:
        raise translated(exc) from exc


def _source(row: dict[str, Any]) -> Source:
    return Source(
        name=row["name"], provider=row["provider"], secrets=tuple(row["secrets"]),
        options=row["options"], max_body_bytes=row["max_body_bytes"],
        retry=Backoff(max_tries=row["retry_max_tries"], base_seconds=row["retry_base_seconds"],
                      max_seconds=row["retry_max_seconds"]),
        created_at=row["created_at"],
    )


def _route(row: dict[str, Any]) -> Route:
    return Route(id=row["id"], source=row["source"], handler=row["handler"],
                 event_type=row["event_type"], action=row["action"],
                 filters=filters_from_json(row["filters"]), config=row["config"],
                 position=row["position"])


async def _execute(conn: Connection, name: str, params: dict[str, Any] | None = None) -> int:
    """Run a query; how many rows it changed."""
    try:
        cursor = await conn.execute(queries[name], params)
    except psycopg.Error as exc:
        raise translated(exc) from exc
    return cursor.rowcount


async def _one(conn: Connection, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        cursor = await conn.execute(queries[name], params)
        return await cursor.fetchone()
    except psycopg.Error as exc:
        raise translated(exc) from exc


async def _all(conn: Connection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        cursor = await conn.execute(queries[name], params)
        return await cursor.fetchall()
    except psycopg.Error as exc:
        raise translated(exc) from exc


async def add_source(conn: Connection, source: Source) -> Source:
    """Store a new source; :class:`SourceExists` if the name is taken."""
    row = await _one(conn, "insert_source", {
        "name": source.name, "provider": source.provider, "secrets": list(source.secrets),
        "options": Jsonb(source.options), "max_body_bytes": source.max_body_bytes,
        "retry_max_tries": source.retry.max_tries,
        "retry_base_seconds": source.retry.base_seconds,
        "retry_max_seconds": source.retry.max_seconds,
    })
    if row is None:
        raise SourceExists(f"a source named {source.name!r} exists already")
    return await get_source(conn, source.name)


async def get_source(conn: Connection, name: str, *, for_update: bool = False) -> Source:
    """A source by name, locked until the transaction ends if asked; :class:`UnknownSource`."""
    row = await _one(conn, "select_source_for_update" if for_update else "select_source",
                     {"name": name})
    if row is None:
        raise UnknownSource(f"no webhook source named {name!r}")
    return _source(row)


async def find_source(conn: Connection, name: str) -> Source | None:
    """A source by name, or None."""
    row = await _one(conn, "select_source", {"name": name})
    return _source(row) if row else None


async def update_source(conn: Connection, source: Source) -> None:
    """Store a source's secrets, size limit and retry schedule."""
    await _execute(conn, "update_source", {
        "name": source.name, "secrets": list(source.secrets),
        "max_body_bytes": source.max_body_bytes,
        "retry_max_tries": source.retry.max_tries,
        "retry_base_seconds": source.retry.base_seconds,
        "retry_max_seconds": source.retry.max_seconds,
    })


async def delete_source(conn: Connection, name: str) -> int:
    """Delete a source with its routes and deliveries; how many deliveries went."""
    row = await _one(conn, "delete_source", {"name": name})
    if row is None:
        raise UnknownSource(f"no webhook source named {name!r}")
    return int(row["deliveries"])


async def prune_deliveries(conn: Connection, *, before: dt.datetime, limit: int) -> int:
    """Delete up to ``limit`` finished deliveries received before ``before``; how many."""
    return await _execute(conn, "prune_deliveries", {"before": before, "limit": limit})


async def backlog(conn: Connection) -> tuple[int, int, float]:
    """Deliveries received and failed (waiting), and the oldest received one's age (s)."""
    row = await _one(conn, "backlog", {})
    assert row is not None
    return int(row["received"]), int(row["failed"]), float(row["oldest"])


async def delete_route(conn: Connection, route_id: int) -> None:
    """Delete a routing rule; :class:`RouteNotFound` if there is none."""
    if await _one(conn, "delete_route", {"id": route_id}) is None:
        raise RouteNotFound(f"no route with id {route_id}")


async def list_sources(conn: Connection) -> list[Source]:
    """Every source, by name."""
    return [_source(row) for row in await _all(conn, "list_sources", {})]


async def add_route(conn: Connection, route: Route) -> Route:
    """Store a routing rule for an existing source."""
    await get_source(conn, route.source)
    row = await _one(conn, "insert_route", {
        "source": route.source, "position": route.position, "event_type": route.event_type,
        "action": route.action, "filters": Jsonb(filters_to_json(route.filters)),
        "handler": route.handler, "config": Jsonb(route.config),
    })
    assert row is not None
    routes = await list_routes(conn, route.source)
    return next(r for r in routes if r.id == row["id"])


async def list_routes(conn: Connection, source: str) -> list[Route]:
    """A source's routes in order."""
    return [_route(row) for row in await _all(conn, "list_routes", {"source": source})]


async def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Store accepted deliveries in one statement; each one's id, None for a duplicate."""
    described = orjson.dumps([{name: row[name] for name in _DELIVERY_COLUMNS} for row in rows])
    inserted = await _all(conn, "insert_deliveries", {
        "rows": described.decode(), "body": [row["body"] for row in rows]})
    stored = {(row["source"], row["provider_delivery_id"]): int(row["id"]) for row in inserted}
    # A key repeated within the batch was stored once: its first request gets the id.
    return [stored.pop((row["source"], row["provider_delivery_id"]), None) for row in rows]


_DELIVERY_COLUMNS = ("source", "provider", "provider_delivery_id", "event_type", "action",
                     "headers", "body_size")


async def insert_rejection(conn: Connection, **values: Any) -> int:
    """Store a rejected request's metadata (never its body)."""
    values["headers"] = Jsonb(values["headers"])
    row = await _one(conn, "insert_rejection", values)
    assert row is not None
    return int(row["id"])


async def get_delivery(conn: Connection, delivery_id: int, *, body: bool = False) -> Delivery:
    """A delivery by id; :class:`DeliveryNotFound` if there is none."""
    row = await _one(conn, "select_delivery_with_body" if body else "select_delivery",
                     {"id": delivery_id})
    if row is None:
        raise DeliveryNotFound(f"no delivery with id {delivery_id}")
    return Delivery.from_row(row)


async def list_deliveries(
    conn: Connection,
    *,
    status: DeliveryStatus | None = None,
    source: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> list[Delivery]:
    """Deliveries, filtered, oldest (or newest) first."""
    query = "list_deliveries_newest_first" if newest_first else "list_deliveries"
    rows = await _all(conn, query, {
        "status": str(status) if status else None, "source": source,
        "since": since, "until": until, "limit": limit,
    })
    return [Delivery.from_row(row) for row in rows]


async def list_attempts(conn: Connection, delivery_id: int) -> list[Attempt]:
    """A delivery's attempts, oldest first."""
    rows = await _all(conn, "list_attempts", {"delivery_id": delivery_id})
    return [Attempt.from_row(row) for row in rows]


async def claim_batch(conn: Connection, *, limit: int, lease: float) -> list[Delivery]:
    """Claim up to ``limit`` runnable deliveries for ``lease`` seconds, counting a try on each."""
    rows = await _all(conn, "claim_batch", {"limit": limit, "lease": lease})
    return sorted((Delivery.from_row(row) for row in rows), key=lambda d: d.id)


async def extend_claims(conn: Connection, ids: Sequence[int], *, lease: float) -> None:
    """Renew this worker's claim on deliveries it is still working on."""
    await _execute(conn, "extend_claims", {"ids": list(ids), "lease": lease})


async def succeeded_routes(conn: Connection, ids: Sequence[int]) -> dict[int, set[str]]:
    """Per delivery, the routes whose handler already succeeded (current generation)."""
    done: dict[int, set[str]] = {}
    for row in await _all(conn, "succeeded_routes", {"ids": list(ids)}):
        done.setdefault(int(row["delivery_id"]), set()).add(row["route"])
    return done


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AttemptRecord:
    """One handler run, as :func:`record_attempts` stores it."""

    delivery: Delivery
    route: Route
    status: AttemptStatus
    duration_ms: float
    error: str | None = None


async def record_attempts(conn: Connection, attempts: Sequence[AttemptRecord]) -> None:
    """Record handler runs in one statement."""
    if not attempts:
        return
    described = orjson.dumps([{
        "delivery_id": a.delivery.id, "generation": a.delivery.generation,
        "try": a.delivery.tries, "route": a.route.key, "handler": a.route.handler,
        "status": str(a.status), "duration_ms": a.duration_ms, "error": a.error,
    } for a in attempts])
    await _execute(conn, "insert_attempts", {"attempts": described.decode()})


async def mark_processed(conn: Connection, ids: Sequence[int],
                         repositories: Mapping[int, str]) -> list[tuple[str, float]]:
    """Mark processed, recording the ``repositories`` their bodies name (by id); each one's
    source and seconds from receipt to now (processing lag)."""
    rows = await _all(conn, "mark_processed", {
        "ids": list(ids), "repositories": [repositories.get(key) for key in ids]})
    return [(row["source"], float(row["lag_seconds"])) for row in rows]


async def record_repositories(conn: Connection, repositories: Mapping[int, str]) -> None:
    """Record the repository each delivery's body names (by delivery id)."""
    if repositories:
        await _execute(conn, "record_repositories", {"ids": list(repositories),
                                                     "repositories": list(repositories.values())})


async def mark_failed(conn: Connection, delivery_id: int, *, error: str, delay: float) -> None:
    """Mark failed, with the time of the next try."""
    await _execute(conn, "mark_failed", {"id": delivery_id, "error": error, "delay": delay})


async def mark_dead(conn: Connection, delivery_id: int, *, error: str) -> None:
    """Mark dead: no try is left."""
    await _execute(conn, "mark_dead", {"id": delivery_id, "error": error})


async def reset_for_replay(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Make deliveries runnable again; returns the ids that were (rejected ones are not)."""
    rows = await _all(conn, "replay", {"ids": list(ids)})
    if rows:
        await _execute(conn, "wake_workers")
    return sorted(int(row["id"]) for row in rows)


async def window_ids(
    conn: Connection,
    *,
    source: str,
    since: dt.datetime,
    until: dt.datetime,
    status: DeliveryStatus | None,
) -> list[int]:
    """Ids of a source's deliveries received in ``[since, until)``."""
    rows = await _all(conn, "window_ids", {"source": source, "since": since, "until": until,
                                           "status": str(status) if status else None})
    return [int(row["id"]) for row in rows]


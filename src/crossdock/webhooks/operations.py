"""What the CLI and the admin API both offer, on an open database and job queue."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from crossdock.core.backoff import Backoff
from crossdock.core.database import Database
from crossdock.webhooks import processing, store
from crossdock.webhooks.errors import SourceError, WebhooksError
from crossdock.webhooks.models import (
    DeliveryStatus,
    Route,
    Source,
    check_secret,
)
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.routing import parse_filter
from crossdock.webhooks.secrets import describe
from crossdock.webhooks.settings import DEFAULT_MAX_BODY_BYTES

#: The demo source's secret: ``crossdock up`` is for a newcomer's machine, not production.
DEMO_SECRET = "crossdock-demo-secret"  # noqa: S105


def demo_source() -> Source:
    """The GitHub source ``crossdock up`` creates with demo data."""
    return build_source("demo", "github", [DEMO_SECRET])


def build_source(
    name: str,
    provider: str,
    secrets: Sequence[str],
    *,
    options: dict[str, Any] | None = None,
    max_body_bytes: int | None = None,
    retry: Backoff | None = None,
) -> Source:
    """A validated source (provider and options checked, at least one secret)."""
    if not secrets:
        raise SourceError("a source needs at least one --secret (env:NAME or a literal)")
    make_provider(provider, options or {})
    for secret in secrets:
        check_secret(provider, secret)
    if max_body_bytes is not None and max_body_bytes <= 0:
        raise SourceError("max_body_bytes must be positive")
    return Source(name=name, provider=provider, secrets=tuple(secrets), options=options or {},
                  max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
                  retry=retry or Backoff())


async def add_source(database: Database, source: Source) -> Source:
    """Store a new source."""
    async with database.transaction() as conn:
        return await store.add_source(conn, source)


async def update_source(
    database: Database,
    name: str,
    *,
    add_secrets: Sequence[str] = (),
    remove_secrets: Sequence[str] = (),
    max_body_bytes: int | None = None,
    retry: Mapping[str, float] | None = None,
) -> Source:
    """Change a source: rotate its secrets, its size limit, its retry schedule.

    ``retry`` changes some of ``max_tries``, ``base_seconds`` and ``max_seconds``.

    A rotation adds the new secret, lets senders move to it, then removes the old one:
    while both are there, either verifies. The receiver sees the change within its source
    cache's lifetime (``CROSSDOCK_WEBHOOKS_SOURCE_CACHE_SECONDS``, 5 s).
    """
    if max_body_bytes is not None and max_body_bytes <= 0:
        raise SourceError("max_body_bytes must be positive")
    retry = dict(retry or {})
    if set(retry) - _RETRY_FIELDS:
        raise SourceError(f"retry takes {', '.join(sorted(_RETRY_FIELDS))}")
    if any(not isinstance(value, int | float) or value <= 0 for value in retry.values()):
        raise SourceError("retry values must be positive numbers")
    if not isinstance(retry.get("max_tries", 1), int):
        raise SourceError("retry max_tries must be an integer")
    async with database.transaction() as conn:
        source = await store.get_source(conn, name, for_update=True)
        for secret in remove_secrets:
            if secret not in source.secrets:
                shown = describe(secret)  # a literal is never echoed
                raise SourceError(f"source {name!r} has no secret {shown}"
                                  + ("" if shown == secret else " with that value"))
        for secret in add_secrets:
            check_secret(source.provider, secret)
        secrets = [s for s in source.secrets if s not in remove_secrets]
        secrets += [s for s in dict.fromkeys(add_secrets) if s not in secrets]
        if not secrets:
            raise SourceError(f"source {name!r} would have no secret left: add the new one "
                              "before removing the last")
        changed = dataclasses.replace(
            source, secrets=tuple(secrets),
            max_body_bytes=max_body_bytes or source.max_body_bytes,
            retry=dataclasses.replace(source.retry, **retry))  # type: ignore[arg-type]
        await store.update_source(conn, changed)
        return changed


_RETRY_FIELDS = {"max_tries", "base_seconds", "max_seconds"}


async def remove_source(database: Database, name: str) -> int:
    """Delete a source with its routes and deliveries; how many deliveries went."""
    async with database.transaction() as conn:
        return await store.delete_source(conn, name)


async def prune(database: Database, *, older_than_days: float, batch: int = 5000) -> int:
    """Delete finished deliveries received more than ``older_than_days`` ago; how many.

    Deliveries still waiting (received, failed) are never pruned. Each batch is its own
    transaction, so a large backlog does not hold locks or one huge transaction.
    """
    if older_than_days < 0:
        raise WebhooksError("the age to prune at must not be negative")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)
    pruned = 0
    while True:
        async with database.transaction() as conn:
            deleted = await store.prune_deliveries(conn, before=before, limit=batch)
        pruned += deleted
        if deleted < batch:
            return pruned


async def remove_route(database: Database, route_id: int) -> None:
    """Delete a routing rule."""
    async with database.transaction() as conn:
        await store.delete_route(conn, route_id)


async def list_sources(database: Database) -> list[Source]:
    """Every source."""
    async with database.connection() as conn:
        return await store.list_sources(conn)


async def add_route(
    database: Database,
    *,
    source: str,
    handler: str,
    event_type: str | None = None,
    action: str | None = None,
    filters: Sequence[str] = (),
    config: dict[str, Any] | None = None,
    position: int = 0,
) -> Route:
    """Store a routing rule."""
    route = Route(id=None, source=source, handler=handler, event_type=event_type,
                  action=action, filters=tuple(parse_filter(f) for f in filters),
                  config=config or {}, position=position)
    async with database.transaction() as conn:
        return await store.add_route(conn, route)


async def list_routes(database: Database, source: str) -> list[Route]:
    """A source's routing rules."""
    async with database.connection() as conn:
        await store.get_source(conn, source)
        return await store.list_routes(conn, source)


async def list_deliveries(
    database: Database,
    *,
    status: DeliveryStatus | None = None,
    source: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deliveries as JSON."""
    async with database.connection() as conn:
        found = await store.list_deliveries(conn, status=status, source=source, limit=limit)
    return [delivery.public() for delivery in found]


async def show_delivery(database: Database, delivery_id: int) -> dict[str, Any]:
    """One delivery with its attempts."""
    async with database.connection() as conn:
        delivery = await store.get_delivery(conn, delivery_id)
        attempts = await store.list_attempts(conn, delivery_id)
    return {**delivery.public(), "attempts": [attempt.public() for attempt in attempts]}


async def replay(
    database: Database,
    *,
    ids: Sequence[int] = (),
    source: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    status: DeliveryStatus | None = None,
) -> list[int]:
    """Replay deliveries by id, or a source's deliveries in ``[since, until)``."""
    if ids and source:
        raise WebhooksError("replay either ids or a --source window, not both")
    if not ids:
        if not source or since is None:
            raise WebhooksError("replay needs delivery ids, or --source and --since")
        until = until or dt.datetime.now(dt.UTC)
        async with database.connection() as conn:
            await store.get_source(conn, source)
            ids = await store.window_ids(conn, source=source, since=since, until=until,
                                         status=status)
    else:
        async with database.connection() as conn:
            for delivery_id in ids:
                await store.get_delivery(conn, delivery_id)
    if not ids:
        return []
    return await processing.replay(database, ids)

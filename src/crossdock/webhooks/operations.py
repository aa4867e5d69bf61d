"""What the CLI and the admin API both offer, on an open database and job queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from crossdock.core.database import Database
from crossdock.webhooks import processing, store
from crossdock.webhooks.errors import SourceError, WebhooksError
from crossdock.webhooks.models import DeliveryStatus, RetrySchedule, Route, Source
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.routing import parse_filter
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
    retry: RetrySchedule | None = None,
) -> Source:
    """A validated source (provider and options checked, at least one secret)."""
    if not secrets:
        raise SourceError("a source needs at least one --secret (env:NAME or a literal)")
    make_provider(provider, options or {})
    if max_body_bytes is not None and max_body_bytes <= 0:
        raise SourceError("max_body_bytes must be positive")
    return Source(name=name, provider=provider, secrets=tuple(secrets), options=options or {},
                  max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
                  retry=retry or RetrySchedule())


async def add_source(database: Database, source: Source) -> Source:
    """Store a new source."""
    async with database.transaction() as conn:
        return await store.add_source(conn, source)


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

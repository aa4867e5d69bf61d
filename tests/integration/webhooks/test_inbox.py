"""The group commit's writers: a writer keeps its connection for rows that follow soon."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crossdock.core.database import Database
from crossdock.webhooks import operations
from crossdock.webhooks.inbox import DeliveryWriter

pytestmark = pytest.mark.anyio


def _row(delivery_id: str) -> dict[str, Any]:
    body = b'{"action":"opened"}'
    return {"source": "gh", "provider": "github", "provider_delivery_id": delivery_id,
            "event_type": "issues", "action": "opened", "headers": {}, "body": body,
            "body_size": len(body)}


def _connections_taken(database: Database) -> int:
    return int(database.pool.get_stats().get("requests_num", 0))


async def _idle(writer: DeliveryWriter, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while writer._tasks:
            await asyncio.sleep(0.01)


async def test_rows_within_the_linger_share_the_writer_and_its_connection(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", ["s"]))
    writer = DeliveryWriter(database, timeout=2, linger=0.5)
    before = _connections_taken(database)

    first = await writer.store(_row("a"))
    second = await writer.store(_row("b"))  # the writer still lingers with its connection

    assert first is not None
    assert second is not None
    assert second > first
    assert _connections_taken(database) - before == 1
    assert len(writer._tasks) == 1


async def test_after_the_linger_the_writer_ends_and_a_new_one_serves(database: Database) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", ["s"]))
    writer = DeliveryWriter(database, timeout=2, linger=0.05)
    before = _connections_taken(database)

    assert await writer.store(_row("a")) is not None
    await _idle(writer)
    assert database.pool.get_stats()["pool_available"] == database.pool.get_stats()["pool_size"]
    assert await writer.store(_row("b")) is not None
    assert await writer.store(_row("a")) is None  # a duplicate, on the new writer
    assert _connections_taken(database) - before == 2

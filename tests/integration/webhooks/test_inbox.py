"""The group commit's writers: connections kept for rows that follow, and a deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from crossdock.core.database import Database
from crossdock.webhooks import operations
from crossdock.webhooks.errors import CommitTimeout
from crossdock.webhooks.inbox import DeliveryWriter
from tests.integration.webhooks.conftest import SECRET

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
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
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
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    writer = DeliveryWriter(database, timeout=2, linger=0.05)
    before = _connections_taken(database)

    assert await writer.store(_row("a")) is not None
    await _idle(writer)
    assert database.pool.get_stats()["pool_available"] == database.pool.get_stats()["pool_size"]
    assert await writer.store(_row("b")) is not None
    assert await writer.store(_row("a")) is None  # a duplicate, on the new writer
    assert _connections_taken(database) - before == 2


async def test_a_row_whose_request_gave_up_before_a_writer_took_it_is_not_written(
    database: Database, database_url: str,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    # Time enough for the one writer to take the first row on a busy machine.
    writer = DeliveryWriter(database, timeout=2, commit_timeout=2.0, writers=1, linger=0)
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("LOCK TABLE webhooks_deliveries IN ACCESS EXCLUSIVE MODE")
        taken = asyncio.create_task(writer.store(_row("taken")))
        async with asyncio.timeout(10):  # the one writer has taken it and waits on the lock
            while not await _waits_on_a_lock(blocker):
                await asyncio.sleep(0.02)
        waiting = asyncio.create_task(writer.store(_row("waiting")))
        async with asyncio.timeout(10):  # without a deadline, both would wait for the lock
            results = await asyncio.gather(taken, waiting, return_exceptions=True)
        await blocker.rollback()
    assert [type(result) for result in results] == [CommitTimeout, CommitTimeout]
    await _idle(writer)

    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT provider_delivery_id FROM webhooks_deliveries ORDER BY id")
        stored = [row["provider_delivery_id"] for row in await cursor.fetchall()]
    # The taken row's INSERT went through once the lock was gone; the other was dropped.
    assert stored == ["taken"]


async def _waits_on_a_lock(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether another session of this database waits on a lock."""
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    row = await cursor.fetchone()
    return row is not None and row[0] > 0

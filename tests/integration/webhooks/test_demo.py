"""``crossdock up --demo``'s webhooks: a source, and a first delivery to open and replay."""

from __future__ import annotations

import pytest

from crossdock.webhooks import operations
from crossdock.webhooks.service import up
from tests.integration.webhooks.conftest import Stack

pytestmark = pytest.mark.anyio


async def test_the_demo_source_starts_with_one_ping_that_is_processed_and_replayable(
        stack: Stack) -> None:
    stack.runtime.demo = True
    for _ in range(2):  # a second start finds the source and stores no second ping
        async with up(stack.runtime):
            pass
    await stack.drain(until=lambda: _settled(stack))
    assert await stack.statuses() == {"processed": 1}
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, event_type, convert_from(body, 'UTF8') AS body, headers"
            " FROM webhooks_deliveries")
        (ping,) = await cursor.fetchall()
    assert ping["event_type"] == "ping"
    assert '"zen"' in ping["body"]
    assert ping["headers"]["x-github-event"] == "ping"
    # It is a delivery like any other: replayed, it runs its handlers again.
    database = stack.runtime.database
    assert await operations.replay(database, ids=[ping["id"]]) == [ping["id"]]
    await stack.drain(until=lambda: _settled(stack))
    shown = await operations.show_delivery(database, ping["id"])
    assert (shown["status"], shown["generation"]) == ("processed", 1)
    assert [(a["generation"], a["status"]) for a in shown["attempts"]] == [
        (0, "succeeded"), (1, "succeeded")]


async def _settled(stack: Stack) -> bool:
    return set(await stack.statuses()) == {"processed"}

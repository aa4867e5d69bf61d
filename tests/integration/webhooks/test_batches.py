"""Batched processing off the deliveries table: outcomes per delivery, no double runs."""

from __future__ import annotations

import asyncio
import json

import pytest

from crossdock.webhooks import handlers, operations
from crossdock.webhooks.handlers import Work
from crossdock.webhooks.processing import Processor
from tests.integration.webhooks.conftest import FAST_RETRY, SECRET, Stack

pytestmark = pytest.mark.anyio


async def _create_effects(stack: Stack) -> None:
    async with stack.runtime.database.transaction() as conn:
        await conn.execute("CREATE TABLE test_effects (delivery_id bigint)")


async def _effects(stack: Stack) -> list[int]:
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute("SELECT delivery_id FROM test_effects ORDER BY 1")
        return [row["delivery_id"] for row in await cursor.fetchall()]


async def test_one_failing_delivery_in_a_batch_is_retried_alone(stack: Stack) -> None:
    await _create_effects(stack)

    async def effect(work: Work, conn) -> None:
        if json.loads(work.delivery.body or b"{}").get("n") == 3:
            raise RuntimeError("number three always fails")
        await conn.execute("INSERT INTO test_effects VALUES (%s)", (work.delivery.id,))

    handlers.register_handler("batch_effect", effect)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="gh", handler="batch_effect")
    responses = await asyncio.gather(*[
        stack.send("gh", "github", json.dumps({"n": n}).encode(), SECRET) for n in range(10)])
    ids = {json.loads(r.request.content)["n"]: r.json()["id"] for r in responses}

    async def settled() -> bool:
        return await stack.statuses() == {"processed": 9, "dead": 1}

    await stack.drain(until=settled)
    assert await _effects(stack) == sorted(i for n, i in ids.items() if n != 3)
    dead = await operations.show_delivery(stack.runtime.database, ids[3])
    assert [a["status"] for a in dead["attempts"]] == ["failed"] * FAST_RETRY.max_tries
    fine = await operations.show_delivery(stack.runtime.database, ids[0])
    assert (fine["tries"], [a["status"] for a in fine["attempts"]]) == (1, ["succeeded"])


async def _slow_deliveries(stack: Stack, count: int, started: asyncio.Event) -> list[int]:
    """``count`` stored deliveries routed to a handler that writes an effect, then dawdles."""
    await _create_effects(stack)

    async def slow_effect(work: Work, conn) -> None:
        started.set()
        await conn.execute("INSERT INTO test_effects VALUES (%s)", (work.delivery.id,))
        await asyncio.sleep(0.01)

    handlers.register_handler("slow_effect", slow_effect)
    await stack.add_source("gh", "github", [SECRET])
    await operations.add_route(stack.runtime.database, source="gh", handler="slow_effect")
    responses = await asyncio.gather(*[
        stack.send("gh", "github", json.dumps({"n": n}).encode(), SECRET) for n in range(count)])
    return sorted(r.json()["id"] for r in responses)


async def test_concurrent_workers_claim_each_delivery_once(stack: Stack) -> None:
    ids = await _slow_deliveries(stack, 20, asyncio.Event())
    runtime = stack.runtime
    workers = [Processor(runtime.database, runtime.bus, batch=4) for _ in range(3)]
    claimed = await asyncio.gather(*[worker.run_pending() for worker in workers])
    assert sum(claimed) == len(ids)
    assert all(claimed), "SKIP LOCKED lets every worker take batches at once"
    assert await _effects(stack) == ids
    assert await stack.statuses() == {"processed": 20}


async def test_a_replay_during_a_run_applies_each_handler_once(stack: Stack) -> None:
    started = asyncio.Event()
    ids = await _slow_deliveries(stack, 20, started)
    runtime = stack.runtime
    first = asyncio.create_task(Processor(runtime.database, runtime.bus).run_pending())
    await started.wait()
    # The replay frees the claimed deliveries: a second worker runs them at the same time.
    assert await operations.replay(runtime.database, ids=ids) == ids
    second = await Processor(runtime.database, runtime.bus).run_pending()
    assert (await first, second) == (20, 20)
    assert await _effects(stack) == ids
    assert await stack.statuses() == {"processed": 20}

"""The event bus and the job queue against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from crossdock.core.backoff import Backoff
from crossdock.core.bus import Event, EventBus, Outgoing
from crossdock.core.database import Connection, Database
from crossdock.core.jobs import JOB_RETRY, JobQueue, retry_strategy

pytestmark = pytest.mark.anyio


@pytest.fixture
async def queue(database_url: str):
    jobs = JobQueue(database_url)
    await jobs.open()
    yield jobs
    await jobs.close()


async def _jobs(database: Database) -> list[dict[str, Any]]:
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT task_name, status, lock, attempts FROM procrastinate_jobs ORDER BY id"
        )
        return await cursor.fetchall()


async def _drain(jobs: JobQueue, database: Database) -> None:
    """Run workers until no job is waiting (a worker with wait=False stops at the first lull,
    which a lock held by a running job can cause)."""
    for _ in range(50):
        await asyncio.wait_for(jobs.run_worker(wait=False, concurrency=4), timeout=30)
        if not {row["status"] for row in await _jobs(database)} & {"todo", "doing"}:
            return
    raise AssertionError("jobs still waiting after 50 worker runs")


async def test_publish_inside_a_rolled_back_transaction_leaves_no_event_and_no_job(
    database: Database, queue: JobQueue
) -> None:
    bus = EventBus(database, queue)
    async def publish_then_fail() -> None:
        async with database.transaction() as conn:
            await bus.publish("thing.happened", {"n": 1}, connection=conn)
            raise RuntimeError("the caller fails after publishing")

    with pytest.raises(RuntimeError):
        await publish_then_fail()
    assert await _jobs(database) == []
    async with database.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM crossdock_events")
        assert (await cursor.fetchone()) == {"n": 0}


async def test_a_published_event_reaches_each_subscriber_once(
    database: Database, queue: JobQueue
) -> None:
    bus = EventBus(database, queue)
    seen: list[tuple[str, Any]] = []

    @bus.subscribe("thing.happened", name="first")
    async def first(event: Event, conn: Connection) -> None:
        seen.append(("first", event.payload))

    @bus.subscribe("thing.happened", name="second")
    async def second(event: Event, conn: Connection) -> None:
        seen.append(("second", event.payload))

    @bus.subscribe("other.thing", name="third")
    async def third(event: Event, conn: Connection) -> None:
        seen.append(("third", event.payload))

    async with database.transaction() as conn:
        await bus.publish("thing.happened", {"n": 1}, connection=conn)
    await _drain(queue, database)
    assert sorted(seen) == [("first", {"n": 1}), ("second", {"n": 1})]
    statuses = {row["status"] for row in await _jobs(database)}
    assert statuses == {"succeeded"}


async def test_a_batch_is_one_fanout_job_and_reaches_subscribers_in_order(
    database: Database, queue: JobQueue
) -> None:
    bus = EventBus(database, queue)
    seen: list[tuple[int, Any, str | None]] = []

    @bus.subscribe("thing.happened", name="watcher")
    async def watcher(event: Event, conn: Connection) -> None:
        seen.append((event.id, event.payload, event.key))

    events = [Outgoing(type="thing.happened", payload={"n": n, "text": 'q"\\{,}'},
                       key=f"k{n % 2}") for n in range(5)]
    events.insert(2, Outgoing(type="unwatched", payload={"n": -1}))
    async with database.transaction() as conn:
        ids = await bus.publish_many(events, connection=conn)
    assert ids == sorted(ids)
    assert [row["task_name"] for row in await _jobs(database)] == ["crossdock.bus.fanout"]
    await _drain(queue, database)
    assert sorted(seen) == [
        (event_id, event.payload, event.key)
        for event_id, event in zip(ids, events, strict=True) if event.type == "thing.happened"]


async def test_unkeyed_events_share_a_handler_job_and_a_failing_one_retries_alone(
    database: Database, queue: JobQueue
) -> None:
    bus = EventBus(database, queue)
    seen: list[int] = []
    failures = 0

    @bus.subscribe("thing.happened", name="picky")
    async def picky(event: Event, conn: Connection) -> None:
        nonlocal failures
        if event.payload["n"] == 1 and failures < 2:
            failures += 1
            raise RuntimeError("number one fails twice")
        seen.append(event.payload["n"])

    queue.app.tasks["crossdock.bus.handle"].retry_strategy = retry_strategy(
        Backoff(max_tries=5, base_seconds=0))
    async with database.transaction() as conn:
        await bus.publish_many([Outgoing(type="thing.happened", payload={"n": n})
                                for n in range(4)], connection=conn)
    await _drain(queue, database)
    assert sorted(seen) == [0, 1, 2, 3]
    handle = [(row["status"], row["attempts"]) for row in await _jobs(database)
              if row["task_name"] == "crossdock.bus.handle"]
    # One job took the four events; number one then got a job of its own, tried twice more.
    assert handle == [("succeeded", 1), ("succeeded", 2)]


async def test_a_failing_handler_is_retried_until_it_succeeds(
    database: Database, queue: JobQueue
) -> None:
    bus = EventBus(database, queue)
    calls = []

    @bus.subscribe("flaky", name="flaky")
    async def flaky(event: Event, conn: Connection) -> None:
        calls.append(event.id)
        await conn.execute(
            "INSERT INTO crossdock_events (event_type, payload) VALUES ('side', '{}')"
        )
        if len(calls) < 3:
            raise RuntimeError("not yet")

    # Retry immediately so the test does not wait for the real backoff.
    queue.app.tasks["crossdock.bus.handle"].retry_strategy = retry_strategy(
        Backoff(max_tries=5, base_seconds=0))
    await bus.publish("flaky", {})
    await _drain(queue, database)
    assert len(calls) == 3
    handle = [row for row in await _jobs(database) if row["task_name"] == "crossdock.bus.handle"]
    assert handle == [{"task_name": "crossdock.bus.handle", "status": "succeeded", "lock": None,
                       "attempts": 3}]
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM crossdock_events WHERE event_type = 'side'"
        )
        # The two failed tries rolled back their side effects with their receipts.
        assert (await cursor.fetchone()) == {"n": 1}


async def test_jobs_with_the_same_lock_never_run_at_once(
    database: Database, queue: JobQueue
) -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    overlap: dict[str, int] = {"a": 0, "b": 0}

    @queue.task("test.locked")
    async def locked(key: str) -> None:
        running[key] += 1
        overlap[key] = max(overlap[key], running[key])
        await asyncio.sleep(0.05)
        running[key] -= 1

    for i in range(6):
        key = "a" if i % 2 else "b"
        await queue.defer("test.locked", lock=key, key=key)
    await _drain(queue, database)
    assert overlap == {"a": 1, "b": 1}
    assert {row["status"] for row in await _jobs(database)} == {"succeeded"}


async def test_jobs_retry_after_2_4_8_seconds_and_so_on_for_8_tries_by_default() -> None:
    assert [JOB_RETRY.delay(attempt) for attempt in range(1, 9)] == [
        2, 4, 8, 16, 32, 64, 128, None]


async def test_a_job_deferred_for_later_waits_for_its_time(
    database: Database, queue: JobQueue
) -> None:
    ran: list[int] = []

    @queue.task("test.later")
    async def later(n: int) -> None:
        ran.append(n)

    await queue.defer("test.later", delay_seconds=3600, n=1)
    await queue.defer("test.later", n=2)
    await asyncio.wait_for(queue.run_worker(wait=False, concurrency=1), timeout=30)
    assert ran == [2]
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, scheduled_at > now() + interval '59 minutes' AS later "
            "FROM procrastinate_jobs WHERE task_name = 'test.later' ORDER BY id"
        )
        assert await cursor.fetchall() == [
            {"status": "todo", "later": True}, {"status": "succeeded", "later": None},
        ]


async def test_a_periodic_job_is_deferred_by_the_worker_once_per_tick(
    database: Database, queue: JobQueue
) -> None:
    ticks: list[int] = []

    @queue.periodic("test.every_minute", cron="* * * * *")
    async def every_minute(timestamp: int) -> None:
        ticks.append(timestamp)

    minute = int(time.time()) // 60
    worker = asyncio.create_task(queue.run_worker(concurrency=2))
    try:
        for _ in range(200):
            if ticks:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # time for a wrong second deferral of the same tick
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    # One job per cron tick: a worker that keeps running does not defer the tick twice.
    if int(time.time()) // 60 == minute:
        assert len(ticks) == 1
    else:  # the minute turned during the test, so a second tick is right
        assert 1 <= len(ticks) <= 2
    assert all(tick % 60 == 0 for tick in ticks)


async def test_a_task_knows_which_try_it_is_on(database: Database, queue: JobQueue) -> None:
    """``current_try`` counts from 1, so a task can answer differently on its last try."""
    from crossdock.core.jobs import current_try

    seen: list[int] = []

    @queue.task("tries.counted", retry=Backoff(max_tries=3, base_seconds=0))
    async def counted() -> None:
        seen.append(current_try())
        raise RuntimeError("fails every time")

    await queue.defer("tries.counted")
    await _drain(queue, database)
    assert seen == [1, 2, 3]
    assert current_try() == 1
    assert [(row["status"], row["attempts"]) for row in await _jobs(database)
            if row["task_name"] == "tries.counted"] == [("failed", 3)]


async def test_a_nul_character_in_a_payload_is_stored_as_the_replacement_character(
    database: Database, queue: JobQueue
) -> None:
    """PostgreSQL's jsonb cannot hold U+0000: a payload with one (a webhook sender may put it in
    any string) is published with U+FFFD in its place, by either way of publishing, instead of
    failing the publisher's transaction. A backslash before it, escaped, stays a backslash."""
    bus = EventBus(database, queue)
    seen: list[Any] = []

    @bus.subscribe("thing.happened", name="watcher")
    async def watcher(event: Event, conn: Connection) -> None:
        seen.append(event.payload)

    payload = {"a\x00": "x\x00y", "b": ["\\\x00", "\\u0000", "\\\\\x00"], "n": 1}
    expected = {"a\ufffd": "x\ufffdy", "b": ["\\\ufffd", "\\u0000", "\\\\\ufffd"], "n": 1}
    async with database.transaction() as conn:
        await bus.publish("thing.happened", payload, connection=conn)
        await bus.publish_many([Outgoing(type="thing.happened", payload=payload)],
                               connection=conn)
    await _drain(queue, database)
    assert seen == [expected, expected]

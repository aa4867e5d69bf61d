"""The sending worker on a real PostgreSQL with real endpoints on 127.0.0.1 (allow-listed)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook

from crossdock.core.database import Database
from crossdock.webhooks.outbound import operational
from crossdock.webhooks.outbound.dispatcher import sending
from crossdock.webhooks.outbound.models import (
    Application,
    Endpoint,
    EndpointSettings,
    NewMessage,
)
from crossdock.webhooks.outbound.settings import DeliverySettings
from crossdock.webhooks.outbound.store import OutboundStore
from tests.integration.webhooks.outbound.endpoints import Answer, Received, serving
from tests.integration.webhooks.outbound.endpoints import Endpoint as Receiver

pytestmark = pytest.mark.anyio

FAST = DeliverySettings(schedule=(0.05, 0.05), jitter=0.0, allow=("127.0.0.1/32",),
                        poll_seconds=0.05, lease_seconds=5.0)


@pytest.fixture
async def store(database: Database) -> OutboundStore:
    outbound = OutboundStore(database)
    await outbound.add_application(Application(name="acme"))
    return outbound


@contextlib.asynccontextmanager
async def worker(database: Database, settings: DeliverySettings = FAST) -> AsyncIterator[None]:
    task = asyncio.create_task(sending(database, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.02)


async def add(store: OutboundStore, receiver: Receiver, **kw: Any) -> Endpoint:
    return await store.add_endpoint("acme", EndpointSettings(url=receiver.url + "/hook", **kw))


async def publish(store: OutboundStore, n: int = 1, **kw: Any) -> list[str]:
    uids = []
    for i in range(n):
        published = await store.publish(NewMessage(app="acme", event_type="invoice.paid",
                                                   payload={"n": i}, **kw))
        uids.append(published.message.uid)
    return uids


def data(received: Received) -> Any:
    return orjson.loads(received.body)["data"]


async def test_each_message_reaches_each_endpoint_signed_with_its_id(
    database: Database, store: OutboundStore,
) -> None:
    async with serving(Receiver()) as one, serving(Receiver()) as two:
        first, second = await add(store, one), await add(store, two)
        async with worker(database):
            uids = await publish(store, 3)
            await until(lambda: len(one.received) == 3 and len(two.received) == 3)
    for receiver, endpoint in ((one, first), (two, second)):
        assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(uids)
        for got in receiver.received:
            body = Webhook(endpoint.secret).verify(got.body, got.headers)
            assert body["type"] == "invoice.paid"
    attempts = await store.attempts((await store.list_messages(app="acme"))[0].id)
    assert {str(a.status) for a in attempts} == {"succeeded"}


async def test_a_failing_endpoint_is_retried_on_the_schedule_then_exhausted_and_announced(
    database: Database, store: OutboundStore,
) -> None:
    async with serving(Receiver(lambda _: Answer(status=500, body=b"boom"))) as failing:
        endpoint = await add(store, failing)
        async with worker(database):
            await publish(store)
            await until(lambda: len(failing.received) == 3)
            await until(lambda: _exhausted(store))
            await asyncio.sleep(0.2)
    assert len(failing.received) == 3
    [notice] = await store.list_messages(app=operational.SYSTEM_APP)
    assert notice.event_type == operational.ATTEMPT_EXHAUSTED
    assert notice.payload["endpoint_id"] == endpoint.id
    assert notice.payload["attempts"] == 3
    assert notice.payload["last_error"] == "HTTP 500"
    message = (await store.list_messages(app="acme"))[0]
    [destination] = await store.destinations(message.id)
    assert destination["status"] == "exhausted"


async def _exhausted(store: OutboundStore) -> bool:
    return bool(await store.list_messages(app=operational.SYSTEM_APP))


async def test_a_410_disables_the_endpoint_at_once_and_announces_it(
    database: Database, store: OutboundStore,
) -> None:
    async with serving(Receiver(lambda _: Answer(status=410))) as gone:
        endpoint = await add(store, gone)
        async with worker(database):
            await publish(store)
            await until(lambda: _exhausted(store))
            await publish(store, 2)
            await asyncio.sleep(0.3)
    assert len(gone.received) == 1
    stored = await store.get_endpoint(endpoint.id)
    assert not stored.enabled
    assert stored.disabled_reason == "the endpoint answered 410 Gone"
    [notice] = await store.list_messages(app=operational.SYSTEM_APP)
    assert notice.event_type == operational.ENDPOINT_DISABLED
    assert notice.payload["reason"] == "the endpoint answered 410 Gone"


async def test_an_endpoint_failing_longer_than_the_limit_is_disabled(
    database: Database, store: OutboundStore,
) -> None:
    settings = dataclasses.replace(FAST, schedule=(0.2,) * 20, disable_after_days=0.6 / 86400)
    async with serving(Receiver(lambda _: Answer(status=502))) as failing:
        endpoint = await add(store, failing)
        async with worker(database, settings):
            await publish(store)
            await until(lambda: _exhausted(store))
    stored = await store.get_endpoint(endpoint.id)
    assert not stored.enabled
    assert stored.disabled_reason is not None
    assert stored.disabled_reason.startswith("every attempt failed for")
    # Disabled once it had failed for the limit (0.6 s), not before: measured on the stored
    # times, not by counting attempts (a busy machine makes fewer in that time).
    assert stored.disabled_at is not None
    assert stored.failing_since is not None
    assert (stored.disabled_at - stored.failing_since).total_seconds() >= 0.6
    assert 2 <= len(failing.received) <= 6


async def test_retry_after_is_honoured(database: Database, store: OutboundStore) -> None:
    answers = iter([Answer(status=429, headers={"retry-after": "1"})])
    # Retry-After is kept within 1 s and the schedule's longest wait.
    settings = dataclasses.replace(FAST, schedule=(0.05, 5.0))
    async with serving(Receiver(lambda _: next(answers, Answer()))) as limited:
        await add(store, limited)
        async with worker(database, settings):
            await publish(store)
            await until(lambda: len(limited.received) == 2)
    first, second = limited.received
    assert second.at - first.at >= 0.95


async def test_a_failing_head_holds_back_its_key_only(
    database: Database, store: OutboundStore,
) -> None:
    fail_first = {"a0": 2}

    def behaviour(request: Received) -> Answer:
        tag = data(request)["tag"]
        if fail_first.get(tag, 0) > 0:
            fail_first[tag] -= 1
            return Answer(status=500)
        return Answer()

    # a0 fails for 2 s (two retries 1 s apart): time enough, on a busy machine, for key b's
    # second message to go through after its first.
    settings = dataclasses.replace(FAST, schedule=(1.0, 1.0, 1.0))
    async with serving(Receiver(behaviour)) as receiver:
        await add(store, receiver)
        async with worker(database, settings):
            for tag, key in (("a0", "a"), ("b0", "b"), ("a1", "a"), ("b1", "b"), ("a2", "a")):
                await store.publish(NewMessage(app="acme", event_type="t", payload={"tag": tag},
                                               ordering_key=key))
            await until(lambda: sum(1 for r in receiver.received if r.headers) >= 7)
    delivered = [data(r)["tag"] for r in receiver.received]
    assert [t for t in delivered if t.startswith("a")] == ["a0", "a0", "a0", "a1", "a2"]
    assert [t for t in delivered if t.startswith("b")] == ["b0", "b1"]
    # Key b went through while a's head was still failing.
    assert delivered.index("b1") < delivered.index("a1")


async def test_a_slow_endpoint_does_not_delay_the_others(
    database: Database, store: OutboundStore,
) -> None:
    release = asyncio.Event()
    answered = 0

    async def stuck(_: Received) -> Answer:
        nonlocal answered
        await release.wait()
        answered += 1
        return Answer()

    # A lease long enough that the stuck attempts do not time out (and go again) however slow
    # the machine: the slow endpoint keeps holding its first requests for the whole test.
    settings = dataclasses.replace(FAST, lease_seconds=60.0)
    async with serving(Receiver(stuck)) as slow, serving(Receiver()) as fast:
        await add(store, slow)
        await add(store, fast)
        async with worker(database, settings):
            await publish(store, 20)
            # Every message reaches the fast endpoint while the slow one has answered none
            # (order of events, not a wall-clock bound), and the slow one holds no more than
            # the worker's cap per endpoint.
            await until(lambda: len(fast.received) == 20)
            assert answered == 0
            await until(lambda: len(slow.received) >= settings.endpoint_concurrency)
            assert answered == 0
            assert len(slow.received) == settings.endpoint_concurrency
            release.set()
    assert sorted(data(r)["n"] for r in fast.received) == list(range(20))


async def test_an_endpoints_rate_limit_spaces_its_deliveries(
    database: Database, store: OutboundStore,
) -> None:
    async with serving(Receiver()) as limited:
        await add(store, limited, rate_limit=10.0)
        async with worker(database):
            await publish(store, 20)
            await until(lambda: len(limited.received) == 20)
    times = [r.at for r in limited.received]
    # A burst of 10, then 10 a second.
    assert times[-1] - times[0] >= 0.8


async def test_an_endpoints_concurrency_cap_holds(database: Database, store: OutboundStore) -> None:
    in_flight = 0
    most = 0
    reached = asyncio.Event()

    async def behaviour(_: Received) -> Answer:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if most == 2:
            reached.set()
        # The first requests are held until two are in flight (a condition, so a busy machine
        # that starts the second late still gets there); later ones hold a little, so a third
        # would overlap them if the cap let it through.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reached.wait(), timeout=10.0)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return Answer()

    async with serving(Receiver(behaviour)) as capped:
        await add(store, capped, max_concurrency=2)
        async with worker(database):
            await publish(store, 12)
            await until(lambda: len(capped.received) == 12)
    assert most == 2


async def test_the_ssrf_guard_refuses_loopback_unless_allow_listed(
    database: Database, store: OutboundStore,
) -> None:
    guarded = dataclasses.replace(FAST, allow=())
    async with serving(Receiver()) as receiver:
        await add(store, receiver)
        async with worker(database, guarded):
            [uid] = await publish(store)
            message = (await store.list_messages(app="acme"))[0]
            await until(lambda: _attempted(store, message.id))
    assert receiver.received == []
    [attempt, *_] = await store.attempts(message.id)
    assert attempt.error is not None
    assert "refused by the SSRF guard" in attempt.error
    assert "127.0.0.1 is loopback" in attempt.error
    assert uid == message.uid


async def _attempted(store: OutboundStore, message_id: int) -> bool:
    return bool(await store.attempts(message_id))


async def _status(store: OutboundStore, message_id: int) -> str:
    (destination,) = (await store.destinations_of([message_id]))[message_id]
    return str(destination.status)


async def _has_status(store: OutboundStore, message_id: int, status: str) -> bool:
    return await _status(store, message_id) == status


async def test_recover_sends_no_message_of_a_key_beside_a_newer_one_in_flight(
    database: Database, store: OutboundStore,
) -> None:
    """An older failed message of an ordering key is recovered only once no newer message of
    its key is being sent to the endpoint: two messages of one key are never in flight at
    once (as resend and the dispatcher keep it)."""
    release = asyncio.Event()
    tries = len(FAST.schedule) + 1
    holding: set[str] = set()
    beside: list[tuple[str, set[str]]] = []  # a request that arrived while others were open

    async def behaviour(request: Received) -> Answer:
        tag = data(request)["tag"]
        if holding:
            beside.append((tag, set(holding)))
        if tag == "first" and len(receiver.received) <= tries:
            return Answer(status=500)  # each try fails: the destination is exhausted
        holding.add(tag)
        if tag == "second":
            await release.wait()
        holding.discard(tag)
        return Answer()

    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with serving(Receiver(behaviour)) as receiver:
        endpoint = await add(store, receiver)
        async with worker(database, dataclasses.replace(FAST, lease_seconds=60.0)):
            first, second = [(await store.publish(NewMessage(
                app="acme", event_type="t", payload={"tag": tag}, ordering_key="k"))).message.id
                for tag in ("first", "second")]
            # The first exhausted, the second is sent and held open.
            await until(lambda: len(receiver.received) == tries + 1)
            assert await _status(store, first) == "exhausted"
            assert await store.recover(endpoint.id, since) == 0
            assert await _status(store, first) == "exhausted"
            await asyncio.sleep(0.5)  # what the worker would send, it has sent by now
            release.set()
            await until(lambda: _has_status(store, second, "succeeded"))
            assert await store.recover(endpoint.id, since) == 1
            await until(lambda: len(receiver.received) == tries + 2)
    assert [data(r)["tag"] for r in receiver.received] == ["first"] * tries + ["second", "first"]
    assert beside == []

"""Reliability of sending: ``crossdock worker`` killed mid-send under load loses nothing."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import time

import orjson
import psycopg
import pytest

from crossdock.core.database import Database
from crossdock.webhooks.errors import WebhooksError
from crossdock.webhooks.outbound.dispatcher import sending
from crossdock.webhooks.outbound.models import Application, EndpointSettings, NewMessage
from crossdock.webhooks.outbound.settings import DeliverySettings
from crossdock.webhooks.outbound.store import OutboundStore
from tests.integration.webhooks.outbound.endpoints import (
    Answer,
    Endpoint,
    Received,
    serving,
)

pytestmark = pytest.mark.anyio

MESSAGES = 80
#: A killed worker's claims are sent again this long after it died.
LEASE_SECONDS = 4


def _worker(database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url,
           "CROSSDOCK_WEBHOOKS_OUTBOUND_ALLOW": "127.0.0.1/32",
           "CROSSDOCK_WEBHOOKS_OUTBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
           "CROSSDOCK_WEBHOOKS_OUTBOUND_POLL_SECONDS": "0.1",
           "CROSSDOCK_WEBHOOKS_OUTBOUND_SCHEDULE": ",".join(["0.5"] * 20),
           # The endpoints share the test's event loop: a few requests at a time.
           "CROSSDOCK_WEBHOOKS_OUTBOUND_CONCURRENCY": "16",
           "CROSSDOCK_LOG_LEVEL": "warning"}
    return subprocess.Popen([sys.executable, "-m", "crossdock", "worker", "--queue", "webhooks"],
                            env=env)


async def _until_all_succeeded(database: Database, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        async with database.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM webhooks_out_destinations WHERE status = 'succeeded'")
            row = await cursor.fetchone()
        if row is not None and row["n"] == expected:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the destinations did not all succeed in time")
        await asyncio.sleep(0.1)


async def _until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_send_loses_nothing_and_repeats_carry_one_webhook_id(
    database: Database, database_url: str,
) -> None:
    store = OutboundStore(database)
    await store.add_application(Application(name="acme"))
    held = asyncio.Event()

    async def slow(_: Received) -> Answer:
        held.set()  # a request is in flight at this endpoint from here on
        await asyncio.sleep(0.5)
        return Answer()

    receivers = [Endpoint(), Endpoint(), Endpoint(slow)]
    async with serving(receivers[0]), serving(receivers[1]), serving(receivers[2]):
        for receiver in receivers:
            await store.add_endpoint("acme", EndpointSettings(url=receiver.url + "/hook"))
        worker = _worker(database_url)
        try:
            for n in range(MESSAGES):
                await store.publish(NewMessage(app="acme", event_type="invoice.paid",
                                               payload={"n": n}))
            await _until(lambda: held.is_set() and len(receivers[0].received) > 10, 30)
            in_flight = len(receivers[2].received)
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.wait(timeout=10)
        worker = _worker(database_url)
        try:
            # Sent again after the dead worker's leases ran out, and recorded.
            await _until_all_succeeded(database, MESSAGES * len(receivers), 60)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)
    for receiver in receivers:
        assert _numbers(receiver) == set(range(MESSAGES))
        ids_by_number: dict[int, set[str]] = collections.defaultdict(set)
        for got in receiver.received:
            ids_by_number[orjson.loads(got.body)["data"]["n"]].add(got.headers["webhook-id"])
        # Each message kept its webhook-id through every repeat, and messages differ.
        assert all(len(ids) == 1 for ids in ids_by_number.values())
        assert len({next(iter(ids)) for ids in ids_by_number.values()}) == MESSAGES
    # What the slow endpoint held when the worker died was sent again.
    slow_ids = collections.Counter(got.headers["webhook-id"] for got in receivers[2].received)
    assert in_flight > 0
    assert sum(1 for count in slow_ids.values() if count > 1) >= 1
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, count(*) AS n FROM webhooks_out_destinations GROUP BY status")
        assert {row["status"]: row["n"] for row in await cursor.fetchall()} == {
            "succeeded": MESSAGES * len(receivers)}


def _numbers(receiver: Endpoint) -> set[int]:
    return {orjson.loads(got.body)["data"]["n"] for got in receiver.received}


async def test_postgresql_refusing_mid_run_loses_no_acknowledged_message(
    database_url: str, postgres_server: str,
) -> None:
    """PostgreSQL refuses every connection for a while (its backends killed, new ones not
    allowed): a publish then fails (not acknowledged: the sender tries again), and every
    message that was acknowledged, before or after, still reaches the endpoint."""
    # A caller waits 2 s for a connection, not the pool's 30 s, so a refused publish fails
    # as fast as a service would want it to while PostgreSQL is down.
    async with Database(database_url, max_size=4, timeout=2.0) as database:
        await _refusing_mid_run(database, database_url, postgres_server)


async def _refusing_mid_run(database: Database, database_url: str,
                            postgres_server: str) -> None:
    store = OutboundStore(database)
    await store.add_application(Application(name="acme"))

    async def slowish(_: Received) -> Answer:
        await asyncio.sleep(0.1)
        return Answer()

    settings = DeliverySettings(schedule=(0.2,) * 30, jitter=0.0, allow=("127.0.0.1/32",),
                                poll_seconds=0.1, lease_seconds=3.0)
    acknowledged: list[str] = []

    async def publish(n: int) -> None:
        published = await store.publish(NewMessage(app="acme", event_type="invoice.paid",
                                                   payload={"n": n}))
        acknowledged.append(published.message.uid)

    async with serving(Endpoint(slowish)) as receiver:
        await store.add_endpoint("acme", EndpointSettings(url=receiver.url + "/hook"))
        worker = asyncio.create_task(sending(database, settings))
        try:
            for n in range(30):
                await publish(n)
            await _until(lambda: len(receiver.received) >= 5, 30)
            name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
            with psycopg.connect(postgres_server, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                refused = 0
                try:
                    for n in range(30, 35):
                        try:
                            await publish(n)
                        except WebhooksError:
                            refused += 1  # not acknowledged: the sender knows to try again
                    await asyncio.sleep(1.0)
                finally:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert refused == 5
            for n in range(35, 45):
                for _ in range(100):
                    try:
                        await asyncio.wait_for(publish(n), 1.0)
                        break
                    except (WebhooksError, TimeoutError):
                        await asyncio.sleep(0.1)
            await _until_all_succeeded(database, len(acknowledged), 60)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    arrived = {got.headers["webhook-id"] for got in receiver.received}
    assert set(acknowledged) <= arrived
    assert len(acknowledged) == 40

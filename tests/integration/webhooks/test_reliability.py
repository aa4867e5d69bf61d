"""Reliability: a worker killed mid-handler, the receiver killed under load, PostgreSQL gone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from crossdock.webhooks import handlers, operations
from crossdock.webhooks.handlers import Work
from crossdock.webhooks.processing import Processor
from crossdock.webhooks.providers import make_provider
from tests.integration.webhooks.conftest import SECRET, Stack
from tests.integration.webhooks.killed_worker import LEASE_SECONDS

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent


async def _scalar(stack: Stack, sql: str) -> int:
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(sql)  # type: ignore[arg-type]
        row = await cursor.fetchone()
        return int(next(iter(row.values())))


async def test_a_worker_killed_mid_handler_loses_nothing_and_repeats_no_success(
    stack: Stack, tmp_path: Path
) -> None:
    async with stack.runtime.database.transaction() as conn:
        await conn.execute("CREATE TABLE test_effects (delivery_id bigint NOT NULL)")
    await stack.add_source("gh", "github", [SECRET])

    async def effect(work: Work, conn) -> None:
        await conn.execute("INSERT INTO test_effects VALUES (%s)", (work.delivery.id,))

    handlers.register_handler("effect", effect)  # as the worker below registers it
    await operations.add_route(stack.runtime.database, source="gh", handler="effect")
    ids = []
    for n in range(6):
        response = await stack.send("gh", "github", json.dumps({"n": n}).encode(), SECRET)
        ids.append(response.json()["id"])

    worker = subprocess.Popen(
        [sys.executable, str(HERE / "killed_worker.py"), stack.database_url, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(HERE.parents[2])},
    )
    try:
        for _ in range(400):
            if list(tmp_path.iterdir()):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker never entered a handler")
        # Hung in a handler for longer than its lease: the worker keeps renewing its claim.
        await asyncio.sleep(LEASE_SECONDS * 1.5)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=10)

    # The killed batch's transaction was rolled back: no effect, no recorded success.
    assert await _scalar(stack, "SELECT count(*) FROM test_effects") == 0
    assert await _scalar(stack, "SELECT count(*) FROM webhooks_attempts") == 0
    # Its claim holds until its lease runs out; then another worker takes the deliveries.
    processor = Processor(stack.runtime.database, stack.runtime.bus)
    assert await processor.run_pending() == 0
    await asyncio.sleep(LEASE_SECONDS + 0.5)

    async def processed() -> bool:
        return (await stack.statuses()).get("processed") == len(ids)

    await stack.drain(until=processed)
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT delivery_id, count(*) AS n FROM test_effects GROUP BY delivery_id")
        effects = {row["delivery_id"]: row["n"] for row in await cursor.fetchall()}
        cursor = await conn.execute(
            "SELECT delivery_id, count(*) AS n FROM webhooks_attempts "
            "WHERE status = 'succeeded' GROUP BY delivery_id")
        successes = {row["delivery_id"]: row["n"] for row in await cursor.fetchall()}
    assert effects == dict.fromkeys(ids, 1)
    assert successes == dict.fromkeys(ids, 1)
    # One try counted by the killed worker's claim, one by the run that succeeded.
    assert await _scalar(stack, "SELECT count(*) FROM webhooks_deliveries WHERE tries = 2") \
        == len(ids)


async def test_the_receiver_answers_503_while_postgresql_refuses_and_recovers_by_itself(
    stack: Stack, postgres_server: str
) -> None:
    await stack.add_source("gh", "github", [SECRET])
    assert (await stack.send("gh", "github", b"{}", SECRET)).status_code == 202
    name = psycopg.conninfo.conninfo_to_dict(stack.database_url)["dbname"]
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            down = await asyncio.gather(*[
                stack.send("gh", "github", b'{"down": true}', SECRET) for _ in range(5)])
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert [r.status_code for r in down] == [503] * 5
    assert all(r.headers["retry-after"] for r in down)

    statuses = []
    for _ in range(100):
        response = await stack.send("gh", "github", b'{"up": true}', SECRET)
        statuses.append(response.status_code)
        if response.status_code == 202:
            break
        await asyncio.sleep(0.2)
    assert statuses[-1] == 202
    assert set(statuses) <= {202, 503}
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT convert_from(body, 'utf8') AS body FROM webhooks_deliveries ORDER BY id")
        bodies = [row["body"] for row in await cursor.fetchall()]
    assert bodies == ["{}", '{"up": true}']


async def test_a_commit_blocked_past_the_store_timeout_gets_503_and_the_retry_is_not_lost(
    stack: Stack,
) -> None:
    await stack.add_source("gh", "github", [SECRET])
    loop = asyncio.get_running_loop()
    async with await psycopg.AsyncConnection.connect(stack.database_url) as blocker:
        await blocker.execute("LOCK TABLE webhooks_deliveries IN ACCESS EXCLUSIVE MODE")
        started = loop.time()
        blocked = await stack.send("gh", "github", b'{"n": 1}', SECRET, delivery_id="blocked")
        waited = loop.time() - started
        await blocker.rollback()
    assert blocked.status_code == 503
    assert blocked.headers["retry-after"]
    assert 2.0 <= waited < 5.0  # the fixture's store_timeout is 2 s

    # The INSERT that waited on the lock may have gone through after the 503: the sender's
    # retry is then a duplicate. Either way the delivery is stored, once, and processed.
    retried = await stack.send("gh", "github", b'{"n": 1}', SECRET, delivery_id="blocked")
    assert retried.status_code in {200, 202}
    after = await stack.send("gh", "github", b'{"n": 2}', SECRET)
    assert after.status_code == 202
    await stack.drain()
    assert await stack.statuses() == {"processed": 2}


async def test_a_receiver_killed_under_load_lost_no_acknowledged_delivery(
    stack: Stack,
) -> None:
    await stack.add_source("gh", "github", [SECRET])
    server = subprocess.Popen(
        [sys.executable, "-m", "crossdock", "webhooks", "serve", "--port", "0"],
        env={**os.environ, "DATABASE_URL": stack.database_url, "CROSSDOCK_LOG_FORMAT": "json"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        port = None
        assert server.stdout is not None
        while port is None:
            line = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), 60)
            if not line:
                break
            found = re.search(r'port"?[=:] ?(\d+)', line)
            if "webhooks_serving" in line and found:
                port = int(found.group(1))
        assert port, "the receiver did not start"
        provider = make_provider("github")
        acknowledged: list[str] = []
        refused = 0

        async def sender(client: httpx.AsyncClient) -> None:
            nonlocal refused
            while True:
                delivery = str(uuid.uuid4())
                body = json.dumps({"id": delivery}).encode()
                headers = provider.sign(body, SECRET, delivery_id=delivery, event_type="push")
                try:
                    response = await client.post(f"http://127.0.0.1:{port}/webhooks/gh",
                                                 content=body, headers=headers)
                except httpx.TransportError:
                    refused += 1
                    return
                if response.status_code == 202:
                    acknowledged.append(delivery)

        async with httpx.AsyncClient(timeout=10) as client:
            senders = [asyncio.create_task(sender(client)) for _ in range(10)]
            while len(acknowledged) < 50:
                await asyncio.sleep(0.01)
            server.send_signal(signal.SIGKILL)
            await asyncio.wait_for(asyncio.gather(*senders), timeout=20)
    finally:
        server.kill()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT provider_delivery_id FROM webhooks_deliveries WHERE status = 'received'")
        stored = {row["provider_delivery_id"] for row in await cursor.fetchall()}
    assert set(acknowledged) <= stored
    assert refused > 0


async def test_the_drain_loop_wakes_on_new_deliveries_and_outlives_lost_connections(
    stack: Stack, postgres_server: str
) -> None:
    await stack.add_source("gh", "github", [SECRET])
    # A poll too slow to matter: only the receiver's NOTIFY can wake the loop in time.
    processor = Processor(stack.runtime.database, stack.runtime.bus, poll_seconds=600,
                          reconnect_seconds=0.2)

    async def processed(count: int) -> None:
        for _ in range(200):
            if (await stack.statuses()).get("processed") == count:
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"{count} deliveries were not processed within 10 s")

    loop = asyncio.create_task(processor.run())
    try:
        await asyncio.sleep(0.5)  # the loop is listening, with nothing to do
        assert (await stack.send("gh", "github", b'{"n": 1}', SECRET)).status_code == 202
        await processed(1)
        name = psycopg.conninfo.conninfo_to_dict(stack.database_url)["dbname"]
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        for _ in range(50):
            response = await stack.send("gh", "github", b'{"n": 2}', SECRET)
            if response.status_code == 202:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 202
        await processed(2)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop

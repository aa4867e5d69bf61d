"""/metrics reads the backlog from the deliveries table at each scrape."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crossdock.core.asgi import OpsApp, not_found
from crossdock.core.server import bind, make_server
from tests.integration.webhooks.conftest import SECRET, Stack

pytestmark = pytest.mark.anyio


async def _scrape(url: str) -> dict[tuple[str, str], float]:
    async with httpx.AsyncClient(base_url=url) as client:
        text = (await client.get("/metrics")).text
    return {(sample.name, sample.labels.get("status", "")): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name.startswith("crossdock_webhooks_")}


async def test_the_backlog_gauges_come_from_the_table_at_each_scrape(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    sock = bind("127.0.0.1", 0, option="test")
    server = make_server(OpsApp(not_found, refresh=stack.runtime.refresh_metrics))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with stack.runtime.database.transaction() as conn:
            await conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
                "status, body, received_at) VALUES "
                "('gh', 'github', 'a', 'received', '{}', now() - interval '60 seconds'), "
                "('gh', 'github', 'b', 'received', '{}', now()), "
                "('gh', 'github', 'c', 'failed', '{}', now() - interval '1 hour'), "
                "('gh', 'github', 'd', 'processed', '{}', now() - interval '2 hours')")
        before = await _scrape(url)
        assert before[("crossdock_webhooks_waiting", "received")] == 2
        assert before[("crossdock_webhooks_waiting", "failed")] == 1
        assert 60 <= before[("crossdock_webhooks_oldest_received_seconds", "")] < 120

        await stack.drain()
        after = await _scrape(url)
        assert after[("crossdock_webhooks_waiting", "received")] == 0
        assert after[("crossdock_webhooks_oldest_received_seconds", "")] == 0
    finally:
        server.stop()
        await task
        sock.close()

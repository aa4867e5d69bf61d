"""Fixtures for the webhooks service: a runtime on a fresh database and a real HTTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.core.backoff import Backoff
from crossdock.core.runtime import Runtime
from crossdock.core.server import Server, bind, make_server
from crossdock.core.settings import CoreSettings
from crossdock.core.tokens import AdminToken, Role, TokenStore
from crossdock.webhooks import handlers, operations
from crossdock.webhooks.app import build_app
from crossdock.webhooks.models import Source
from crossdock.webhooks.processing import Processor
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.settings import WebhooksSettings

#: A GitHub source's secret in tests (secrets need at least 16 bytes).
SECRET = "test-webhook-secret"

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "webhooks" / "octokit-sample.json"


def sample_examples() -> list[dict[str, Any]]:
    """The vendored GitHub payloads: ``{"event": ..., "payload": ...}``."""
    examples: list[dict[str, Any]] = json.loads(SAMPLE.read_text())["examples"]
    return examples


@pytest.fixture(autouse=True)
def _registered_handlers() -> Iterator[None]:
    yield
    for name in list(handlers._registry):
        handlers.unregister_handler(name)


@dataclasses.dataclass
class Stack:
    """A runtime, the webhooks HTTP server on 127.0.0.1, a client and an admin API client."""

    runtime: Runtime
    client: httpx.AsyncClient
    #: A client that sends an admin token (``Authorization: Bearer ...``).
    api: httpx.AsyncClient
    url: str
    database_url: str

    async def token(self, role: Role, name: str = "") -> tuple[AdminToken, str]:
        """A new admin token and its value."""
        return await TokenStore(self.runtime.database).create(role=role, name=name)

    async def add_source(self, name: str, provider: str, secrets: list[str], **kw: Any) -> Source:
        return await operations.add_source(
            self.runtime.database, operations.build_source(name, provider, secrets, **kw))

    async def send(
        self,
        source: str,
        provider: str,
        body: bytes,
        secret: str,
        *,
        event: str = "push",
        delivery_id: str | None = None,
        options: dict[str, Any] | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = make_provider(provider, options).sign(
            body, secret, delivery_id=delivery_id or str(uuid.uuid4()), event_type=event)
        headers.update(extra or {})
        return await self.client.post(f"/webhooks/{source}", content=body, headers=headers)

    async def drain(self, *, until: Callable[[], Any] | None = None, timeout: float = 30) -> None:
        """Process until nothing is runnable (and ``until()`` holds, when given)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        processor = Processor(self.runtime.database, self.runtime.bus)
        while True:
            await processor.run_pending()
            # The bus's fan-out and handler jobs.
            await self.runtime.jobs.run_worker(wait=False, concurrency=4, queues=["events"])
            if until is None or await until():
                return
            if loop.time() > deadline:
                raise TimeoutError("the deliveries did not settle")
            await asyncio.sleep(0.05)

    async def statuses(self) -> dict[str, int]:
        async with self.runtime.database.connection() as conn:
            cursor = await conn.execute(
                "SELECT status, count(*) AS n FROM webhooks_deliveries GROUP BY status")
            return {row["status"]: row["n"] for row in await cursor.fetchall()}


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    runtime = Runtime.create(CoreSettings(database_url=database_url), database_url)
    await runtime.open()
    settings = WebhooksSettings(database_timeout=1.0, store_timeout=2.0, source_cache_seconds=0.0)
    sock = bind("127.0.0.1", 0, option="test")
    server: Server = make_server(build_app(runtime, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name="tests")
    async with httpx.AsyncClient(base_url=url, timeout=20) as client, httpx.AsyncClient(
            base_url=url, timeout=20, headers={"authorization": f"Bearer {token}"}) as api:
        yield Stack(runtime=runtime, client=client, api=api, url=url, database_url=database_url)
    server.stop()
    await task
    sock.close()
    await runtime.close()


FAST_RETRY = Backoff(max_tries=3, base_seconds=0.05, max_seconds=0.2)

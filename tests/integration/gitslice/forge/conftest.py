"""A running in-package forge per test, whose every API exchange is checked against GitHub's
published description when the test ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.types import Receive, Scope, Send

from crossdock.core.server import bind, make_server
from crossdock.gitslice.forge.fake import FakeForge, serve

from .schemas import query_errors, request_errors, response_errors

ALICE = "ghp_alice_0123456789abcdef"
BOB = "ghp_bob_0123456789abcdef"


def exchange_errors(forge: FakeForge) -> list[str]:
    """Every way the forge's API exchanges so far break the published description."""
    found = []
    for exchange in forge.exchanges:
        path = exchange.path.removeprefix("/api/v3")
        answer = orjson.loads(exchange.answer) if exchange.answer else None
        where = f"{exchange.method} {path} -> {exchange.status}"
        if exchange.status < 400:  # a refused request may be anything, even not JSON
            body = orjson.loads(exchange.body) if exchange.body else None
            found += [f"{where} request {e}" for e in request_errors(exchange.method, path, body)]
            found += [f"{where} query {e}"
                      for e in query_errors(exchange.method, path, exchange.query)]
        found += [f"{where} response {e}"
                  for e in response_errors(exchange.method, path, exchange.status, answer)]
    return found


@pytest.fixture
async def forge(tmp_path: Path) -> AsyncIterator[FakeForge]:
    """A forge with users alice and bob (tokens ALICE and BOB)."""
    async with serve(tmp_path / "forge") as running:
        running.state.add_user("alice", ALICE)
        running.state.add_user("bob", BOB)
        yield running
        errors = exchange_errors(running)
    assert not errors, "\n".join(errors[:20])


@dataclass
class Received:
    """A webhook as a receiver saw it: lower-cased headers and the raw body."""

    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers["x-github-event"]

    @property
    def payload(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        self.received.append(Received(headers=headers, body=body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def events(self, event: str) -> list[Received]:
        return [r for r in self.received if r.event == event]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that keeps what it gets and answers 200."""
    sock = bind("127.0.0.1", 0, option="test")
    app = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
    server = make_server(app)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield app
    server.stop()
    await task
    sock.close()

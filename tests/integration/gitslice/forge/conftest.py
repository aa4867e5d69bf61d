"""A running in-package forge per test, whose every API exchange is checked against GitHub's
published description when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from crossdock.gitslice.forge.fake import FakeForge, serve

from .schemas import request_errors, response_errors

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

"""Hot reload of the supergraph file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from crossdock.gateway.engine import Gateway
from crossdock.gateway.reload import watch_supergraph
from crossdock.gateway.server import GraphQLApp
from crossdock.gateway.supergraph import load_supergraph

pytestmark = pytest.mark.anyio

SHOP = Path(__file__).parent / "supergraphs" / "shop.graphql"
MEDIA = Path(__file__).parent / "supergraphs" / "media.graphql"


async def _until(predicate: object, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_changed_supergraph_replaces_the_gateway_and_bad_one_is_ignored(
        tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(SHOP.read_text(encoding="utf-8"), encoding="utf-8")
    async with httpx.AsyncClient() as client:
        app = GraphQLApp(Gateway(load_supergraph(path), client))
        first = app.gateway
        watcher = asyncio.create_task(watch_supergraph(path, app, client, interval=0.01))
        try:
            path.write_text(MEDIA.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            await _until(lambda: app.gateway is not first)
            assert app.gateway.schema.get_type("Genre") is not None
            media = app.gateway
            path.write_text("type Query { broken: Int }\n", encoding="utf-8")
            await asyncio.sleep(0.2)
            assert app.gateway is media
        finally:
            watcher.cancel()

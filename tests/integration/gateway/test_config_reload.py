"""Hot reload of the configuration file: a changed file that reads replaces the configuration
and its plugins (the old ones closed), a broken one is logged and ignored."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from crossdock.gateway.config import load_config
from crossdock.gateway.engine import Gateway
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.reload import watch_config
from crossdock.gateway.server import GraphQLApp
from crossdock.gateway.settings import GatewaySettings
from crossdock.gateway.supergraph import load_supergraph
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

SHOP = Path(__file__).parent / "supergraphs" / "shop.graphql"
LARGE = "{ __schema { types { name fields { name } } } }"


class Tracked(Plugin):
    """A plugin that remembers which of its instances were started and closed."""

    name: ClassVar[str] = "tracked"
    started: ClassVar[list[str]] = []
    closed: ClassVar[list[str]] = []

    def __init__(self, options: dict[str, Any]) -> None:
        self.label = str(options["label"])

    async def astart(self) -> None:
        self.started.append(self.label)

    async def aclose(self) -> None:
        self.closed.append(self.label)


def tracked(label: str) -> str:
    return f'plugins:\n  "{__name__}:Tracked": {{label: {label}}}\n'


async def until(predicate: Any, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_changed_file_swaps_the_plugins_and_closes_the_old_ones(tmp_path: Path) -> None:
    Tracked.started.clear()
    Tracked.closed.clear()
    path = tmp_path / "gateway.yaml"
    path.write_text(tracked("first"), encoding="utf-8")
    async with httpx.AsyncClient() as client:
        app = GraphQLApp(Gateway(load_supergraph(SHOP), client, load_config(path)))
        first = app.gateway
        watcher = asyncio.create_task(watch_config(path, app, client,
                                                   lambda: load_config(path),
                                                   interval=0.01, grace=0.05))
        try:
            path.write_text(tracked("second") + "\n", encoding="utf-8")
            await until(lambda: app.gateway is not first)
            assert [p.label for p in app.gateway.config.plugins
                    if isinstance(p, Tracked)] == ["second"]
            assert app.gateway.supergraph is first.supergraph
            assert Tracked.started == ["second"]
            await until(lambda: Tracked.closed == ["first"])
            second = app.gateway
            path.write_text("traffic_shaping: {all: {timeout: soon}}\n", encoding="utf-8")
            await asyncio.sleep(0.2)
            assert app.gateway is second
            path.write_text(tracked("third"), encoding="utf-8")
            await until(lambda: app.gateway is not second)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    assert Tracked.started == ["second", "third"]
    assert Tracked.closed == ["first", "second"]


async def test_under_serving_a_changed_file_turns_a_wrapper_on(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("supergraph: {introspection: true}\n", encoding="utf-8")
    settings = GatewaySettings(config=path, reload_interval=0.02, subgraph_timeout=5.0)
    async with running("shop", shop_subgraphs.build(), settings=settings) as shop:
        before = await shop.client.post(shop.url + "/graphql", json={"query": LARGE},
                                        headers={"accept-encoding": "gzip"})
        path.write_text("supergraph: {introspection: true}\n"
                        "traffic_shaping: {router: {compression: true}}\n", encoding="utf-8")
        for _ in range(250):
            after = await shop.client.post(shop.url + "/graphql", json={"query": LARGE},
                                           headers={"accept-encoding": "gzip"})
            if "content-encoding" in after.headers:
                break
            await asyncio.sleep(0.02)
    assert "content-encoding" not in before.headers
    assert after.headers["content-encoding"] == "gzip"
    assert after.json() == before.json()

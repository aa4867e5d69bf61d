"""``crossdock up --demo``: the gateway in front of its two demo subgraphs."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.gateway.service import up
from tests.integration.gateway.federation import SUPERGRAPHS, Servers

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_demo_gateway_federates_the_demo_subgraphs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ports = {"PORT": _free_port(), "DEMO_PRODUCTS_PORT": _free_port(),
             "DEMO_REVIEWS_PORT": _free_port()}
    for name, port in ports.items():
        monkeypatch.setenv(f"CROSSDOCK_GATEWAY_{name}", str(port))
    # Nothing here touches the database: the runtime is built, never opened.
    runtime = Runtime.create(CoreSettings.from_env(), "postgresql://127.0.0.1:1/unused",
                             services=[])
    runtime.demo = True
    servers = Servers()
    try:
        async with up(runtime) as listeners:
            assert [listener.name for listener in listeners] == [
                "gateway", "demo-products", "demo-reviews"]
            for listener in listeners:
                await servers.start(listener.app, port=listener.port)
            assert set(runtime.subgraphs) == {"products", "reviews"}
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"http://127.0.0.1:{ports['PORT']}/graphql",
                    json={"query": "{ topProducts(first: 2) { name reviews { stars } } }"})
    finally:
        await servers.stop()
    assert response.json() == {"data": {"topProducts": [
        {"name": "Table", "reviews": [{"stars": 5}]},
        {"name": "Couch", "reviews": [{"stars": 2}, {"stars": 4}]},
    ]}}


async def test_without_supergraph_or_demo_the_gateway_stays_off() -> None:
    runtime = Runtime.create(CoreSettings.from_env(), "postgresql://127.0.0.1:1/unused",
                             services=[])
    async with up(runtime) as listeners:
        assert listeners == []


async def test_up_reloads_a_changed_supergraph_file(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """Under ``crossdock up`` the gateway takes a changed supergraph file, as ``serve`` does."""
    path = tmp_path / "supergraph.graphql"
    path.write_text((SUPERGRAPHS / "shop.graphql").read_text(encoding="utf-8"), encoding="utf-8")
    port = _free_port()
    monkeypatch.setenv("CROSSDOCK_GATEWAY_SUPERGRAPH", str(path))
    monkeypatch.setenv("CROSSDOCK_GATEWAY_PORT", str(port))
    monkeypatch.setenv("CROSSDOCK_GATEWAY_RELOAD_INTERVAL", "0.05")
    runtime = Runtime.create(CoreSettings.from_env(), "postgresql://127.0.0.1:1/unused",
                             services=[])
    # Answered by the gateway itself (introspection): no subgraph needs to run.
    query = {"query": '{ __type(name: "Genre") { name } }'}
    servers = Servers()
    try:
        async with up(runtime) as listeners, httpx.AsyncClient() as client:
            (gateway,) = listeners
            url = await servers.start(gateway.app, port=gateway.port) + "/graphql"
            before = (await client.post(url, json=query)).json()
            path.write_text((SUPERGRAPHS / "media.graphql").read_text(encoding="utf-8") + "\n",
                            encoding="utf-8")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            after = before
            while after == before and loop.time() < deadline:
                await asyncio.sleep(0.05)
                after = (await client.post(url, json=query)).json()
    finally:
        await servers.stop()
    assert before == {"data": {"__type": None}}
    assert after == {"data": {"__type": {"name": "Genre"}}}

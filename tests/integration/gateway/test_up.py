"""``crossdock up --demo``: the gateway in front of its two demo subgraphs."""

from __future__ import annotations

import socket

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.gateway.service import up
from tests.integration.gateway.federation import Servers

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

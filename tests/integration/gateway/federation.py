"""Test subgraphs and the gateway, each served over real HTTP on 127.0.0.1 ephemeral ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from crossdock.core.server import Server, bind, make_server
from crossdock.gateway.app import serving
from crossdock.gateway.config import GatewayConfig
from crossdock.gateway.settings import GatewaySettings
from crossdock.gateway.supergraph import Supergraph

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from crossdock.core.asgi import ASGIApp
    from crossdock.gateway.engine import Gateway
    from tests.integration.gateway.subgraph import TestSubgraph

SUPERGRAPHS = Path(__file__).parent / "supergraphs"
#: A gateway that answers introspection (``supergraph.introspection: true``; off by default).
INTROSPECTION = GatewayConfig(introspection=True)


class Servers:
    """HTTP servers on ephemeral ports, stopped all at once (uvicorn polls every 0.1 s)."""

    def __init__(self) -> None:
        self.running: list[tuple[Server, asyncio.Task[None], Any]] = []

    async def start(self, app: ASGIApp, *, port: int = 0) -> str:
        """Serve ``app`` (on an ephemeral port unless told); return its base URL."""
        sock = bind("127.0.0.1", port, option="(test)")
        port = sock.getsockname()[1]
        server: Server = make_server(app)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self.running.append((server, task, sock))
        while not server.started:
            await asyncio.sleep(0.002)
            if task.done():
                task.result()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for server, _, _ in self.running:
            server.stop()
        await asyncio.gather(*(task for _, task, _ in self.running))
        for _, _, sock in self.running:
            sock.close()


class Federation:
    """A running federation: its subgraphs, and the gateway in front of them."""

    def __init__(self, subgraphs: dict[str, TestSubgraph], gateway: Gateway, url: str,
                 client: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.subgraphs = subgraphs
        self.gateway = gateway
        self.url = url
        self.client = client
        self.urls = urls

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   operation_name: str | None = None, *,
                   accept: str = "application/json") -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return await self.client.post(self.url + "/graphql", json=body,
                                      headers={"accept": accept})

    async def query(self, query: str, variables: dict[str, Any] | None = None,
                    operation_name: str | None = None) -> dict[str, Any]:
        response = await self.post(query, variables, operation_name)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def supergraph_for(scenario: str, urls: dict[str, str]) -> str:
    """The committed supergraph of ``scenario`` with the subgraphs' real URLs."""
    text = (SUPERGRAPHS / f"{scenario}.graphql").read_text(encoding="utf-8")
    for name, url in urls.items():
        text = text.replace(f"http://{name}.invalid/graphql", url)
    return text


def closed_port_url() -> str:
    """A URL on 127.0.0.1 whose port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"


@contextlib.asynccontextmanager
async def running(scenario: str, subgraphs: dict[str, TestSubgraph], *,
                  upstream_timeout: float = 5.0, http1: bool = False,
                  settings: GatewaySettings | None = None, config: GatewayConfig | None = None,
                  down: tuple[str, ...] = ()) -> AsyncIterator[Federation]:
    """Start ``subgraphs`` and a gateway for ``scenario``'s supergraph.

    The gateway reaches the subgraphs through httpx, or with ``http1`` through the pooled
    client ``crossdock gateway serve`` uses. The supergraph sends the subgraphs named in
    ``down`` to a port that refuses connections. ``config`` is the configuration file's
    content (by default: none, with ``upstream_timeout`` as the subgraph timeout).
    """
    servers = Servers()
    settings = settings or GatewaySettings(subgraph_timeout=upstream_timeout)
    try:
        started = await asyncio.gather(*(servers.start(sub) for sub in subgraphs.values()))
        urls = {name: closed_port_url() if name in down else url + "/graphql"
                for name, url in zip(subgraphs, started, strict=True)}
        async with httpx.AsyncClient(timeout=upstream_timeout) as upstream, serving(
                settings, Supergraph(supergraph_for(scenario, urls)),
                client=None if http1 else upstream, config=config) as app:
            url = await servers.start(app)
            async with httpx.AsyncClient(timeout=30) as client:
                yield Federation(subgraphs, app.gateway, url, client, urls)
    finally:
        await servers.stop()

"""The admin subgraphs served over real HTTP on 127.0.0.1, over a fresh database per test."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from crossdock.core.admin_graph.mount import AdminGraphs
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.core.tokens import Role, TokenStore
from crossdock.core.up import _admin_graphs
from crossdock.gateway.service import up as gateway_up
from tests.integration.gateway.federation import Servers


@dataclasses.dataclass
class Graph:
    runtime: Runtime
    url: str
    client: httpx.AsyncClient
    admin: str
    read: str

    async def post(self, subgraph: str, query: str, variables: dict[str, Any] | None = None,
                   *, token: str | None = "admin") -> httpx.Response:
        value = {"admin": self.admin, "read": self.read}.get(token or "", token)
        headers = {"authorization": f"Bearer {value}"} if value else {}
        return await self.client.post(f"{self.url}/{subgraph}/graphql", headers=headers,
                                      json={"query": query, "variables": variables or {}})

    async def data(self, subgraph: str, query: str, variables: dict[str, Any] | None = None,
                   *, token: str = "admin") -> Any:
        response = await self.post(subgraph, query, variables, token=token)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return body["data"]

    async def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        async with self.runtime.database.transaction() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall() if cursor.description else []


@pytest.fixture
async def graph(database_url: str) -> AsyncIterator[Graph]:
    async with serving_graph(database_url) as served:
        yield served


@contextlib.asynccontextmanager
async def serving_graph(database_url: str, **settings: Any) -> AsyncIterator[Graph]:
    """The admin subgraphs over ``database_url`` with an admin and a read token (and more
    core ``settings``)."""
    runtime = Runtime.create(CoreSettings(database_url=database_url, **settings), database_url)
    await runtime.open()
    servers = Servers()
    tokens = TokenStore(runtime.database)
    _, admin = await tokens.create(role=Role.ADMIN, name="tests")
    _, read = await tokens.create(role=Role.READ, name="reader")
    try:
        url = await servers.start(AdminGraphs(runtime))
        async with httpx.AsyncClient(timeout=20) as client:
            yield Graph(runtime=runtime, url=url, client=client, admin=admin, read=read)
    finally:
        await servers.stop()
        await runtime.close()


class StatementCounter:
    """Counts the statements psycopg sends (each ``execute``), to catch N+1 queries.

    The pool's health check of a connection (an empty statement) does not count.
    """

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    counter = StatementCounter()
    execute = psycopg.AsyncCursor.execute

    async def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if query != "":
            counter.count += 1
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted)
    return counter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def gateway(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  ) -> AsyncIterator[tuple[str, Runtime]]:
    """The gateway's GraphQL URL in front of the admin subgraphs, as ``crossdock up`` wires
    them: the subgraphs' server from ``up``, the gateway from its service's ``up`` with no
    configuration of its own (so the packaged one propagates ``Authorization``). Data (a
    slice's clones) goes under ``tmp_path``.
    """
    async with serving_gateway(database_url, monkeypatch, tmp_path) as served:
        yield served


@contextlib.asynccontextmanager
async def serving_gateway(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                          **core: Any) -> AsyncIterator[tuple[str, Runtime]]:
    """What the ``gateway`` fixture yields, with more core settings (``CROSSDOCK_GATEWAY_*``
    variables set by the caller reach the gateway)."""
    monkeypatch.setenv("CROSSDOCK_GITSLICE_DATA_DIR", str(tmp_path / "gitslice"))
    settings = CoreSettings(database_url=database_url, admin_graph_port=0,
                            data_dir=tmp_path / "data", **core)
    runtime = Runtime.create(settings, database_url)
    await runtime.open()
    port = _free_port()
    monkeypatch.setenv("CROSSDOCK_GATEWAY_PORT", str(port))
    admin = _admin_graphs(runtime, "127.0.0.1", settings)
    assert admin is not None
    server, sock = admin
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    servers = Servers()
    try:
        async with gateway_up(runtime) as listeners:
            (listener,) = listeners
            url = await servers.start(listener.app, port=listener.port)
            while not server.started:
                await asyncio.sleep(0.01)
            yield f"{url}/graphql", runtime
    finally:
        await servers.stop()
        server.stop()
        await serving
        sock.close()
        await runtime.close()


async def post_gateway(url: str, query: str, token: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(url, json={"query": query}, headers=headers)
    return dict(response.json())

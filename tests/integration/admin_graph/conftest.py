"""The admin subgraphs served over real HTTP on 127.0.0.1, over a fresh database per test."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from crossdock.core.admin_graph.mount import AdminGraphs
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.core.tokens import Role, TokenStore
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
    runtime = Runtime.create(CoreSettings(database_url=database_url), database_url)
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
    """Counts the statements psycopg sends (each ``execute``), to catch N+1 queries."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    counter = StatementCounter()
    execute = psycopg.AsyncCursor.execute

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted)
    return counter

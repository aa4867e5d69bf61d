"""Every admin subgraph request needs a token; a read token may query, never mutate."""

from __future__ import annotations

import pytest

from crossdock.core.tokens import TokenStore
from tests.integration.admin_graph.conftest import Graph

pytestmark = pytest.mark.anyio

SUBGRAPHS = ["core", "webhooks", "gitslice", "gateway"]


@pytest.mark.parametrize("subgraph", SUBGRAPHS)
async def test_a_request_without_a_token_is_401_unauthenticated(graph: Graph,
                                                                subgraph: str) -> None:
    response = await graph.post(subgraph, "{ __typename }", token=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_unknown_or_revoked_token_is_401(graph: Graph) -> None:
    assert (await graph.post("core", "{ __typename }", token="cdx_nope")).status_code == 401
    tokens = TokenStore(graph.runtime.database)
    reader = next(t for t in await tokens.list() if t.name == "reader")
    await tokens.revoke(reader.id)
    response = await graph.post("core", "{ __typename }", token="read")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "the admin token is unknown or revoked"


async def test_a_read_token_queries_and_its_last_use_is_recorded(graph: Graph) -> None:
    data = await graph.data("core", "{ services { name } }", token="read")
    assert {s["name"] for s in data["services"]} >= {"webhooks", "gitslice", "gateway"}
    tokens = await TokenStore(graph.runtime.database).list()
    assert next(t for t in tokens if t.name == "reader").last_used_at is not None


@pytest.mark.parametrize(("subgraph", "mutation"), [
    ("core", 'mutation { cancelJob(id: "1") { id } }'),
    ("webhooks", 'mutation { replayDeliveries(ids: ["1"]) { id } }'),
    ("gitslice", 'mutation { pullSlice(name: "x") { id } }'),
])
async def test_a_read_token_cannot_mutate(graph: Graph, subgraph: str, mutation: str) -> None:
    response = await graph.post(subgraph, mutation, token="read")
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "read role" in error["message"]


async def test_a_read_token_cannot_hide_a_mutation_in_a_document_of_several(
        graph: Graph) -> None:
    query = 'query A { services { name } } mutation B { cancelJob(id: "1") { id } }'
    response = await graph.post("core", query, token="read")
    # No operation named: none runs, whatever the token.
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    response = await graph.client.post(
        f"{graph.url}/core/graphql", json={"query": query, "operationName": "B"},
        headers={"authorization": f"Bearer {graph.read}"})
    assert response.status_code == 403


async def test_a_request_that_is_not_graphql_is_400_not_a_traceback(graph: Graph) -> None:
    response = await graph.client.post(f"{graph.url}/core/graphql", content=b"{nope",
                                       headers={"authorization": f"Bearer {graph.admin}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    response = await graph.post("core", "{ services { name ")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

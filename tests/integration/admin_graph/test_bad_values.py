"""Values a client may type that PostgreSQL cannot take are the client's error, never the
database being down: a NUL in a text argument is ``BAD_USER_INPUT`` in every subgraph."""

from __future__ import annotations

import pytest

from tests.integration.admin_graph.conftest import Graph

pytestmark = pytest.mark.anyio

NUL = "a\x00b"


@pytest.mark.parametrize(("subgraph", "query", "token"), [
    ("webhooks", "query($v: String!) { deliveries(search: $v) { nodes { id } } }", "read"),
    ("webhooks", "query($v: String!) { deliveries(source: $v) { nodes { id } } }", "read"),
    ("gitslice", "query($v: String!) { slice(name: $v) { name } }", "read"),
    ("gitslice", "mutation($v: String!) { pullSlice(name: $v) { id } }", "admin"),
    ("core", "query($v: String!) { jobs(queue: $v) { nodes { id } } }", "read"),
    ("core", "query($v: String!) { events(type: $v) { nodes { id } } }", "read"),
])
async def test_a_nul_in_a_text_argument_is_bad_user_input(graph: Graph, subgraph: str,
                                                          query: str, token: str) -> None:
    response = await graph.post(subgraph, query, {"v": NUL}, token=token)
    body = response.json()
    assert response.status_code == 200, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "NUL" in error["message"] or "cannot take" in error["message"], error

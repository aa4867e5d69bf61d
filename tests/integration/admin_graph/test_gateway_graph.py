"""The gateway admin subgraph over real HTTP: the live gateway's supergraph, types, plans and
per-subgraph latency, through the gateway as ``crossdock up`` wires it, and a clear error
where no gateway runs in the process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from crossdock.gateway.app import LIVE_APP
from crossdock.gateway.engine import Gateway
from crossdock.gateway.supergraph import Supergraph
from tests.integration.admin_graph.conftest import Graph, post_gateway

pytestmark = pytest.mark.anyio

SUBGRAPHS = """{ gateway { supergraphSource loadedAt planCacheMisses
  subgraphs { name url latency { count errors meanMs p50Ms p95Ms buckets { leMs count } } } } }"""
PLAN = """query ($query: String!, $variables: JSON) {
  queryPlan(query: $query, variables: $variables) { text json } }"""


async def _token(runtime: Runtime, role: Role = Role.ADMIN) -> str:
    return (await TokenStore(runtime.database).create(role=role, name=str(role)))[1]


async def _subgraph(runtime: Runtime, query: str, variables: dict[str, Any] | None = None,
                    token: str | None = None) -> httpx.Response:
    """``query`` sent to the gateway subgraph itself, not through the gateway."""
    assert runtime.admin_graph is not None
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(runtime.admin_graph.urls["gateway"], headers=headers,
                                 json={"query": query, "variables": variables or {}})


async def test_the_gateway_lists_its_subgraphs_with_the_latency_of_their_fetches(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    token = await _token(runtime, Role.READ)
    first = await post_gateway(url, SUBGRAPHS, token)
    assert first.get("errors") is None, first
    # The first answer's own fetch of the gateway subgraph is counted by the second.
    body = await post_gateway(url, SUBGRAPHS, token)
    assert body.get("errors") is None, body
    found = body["data"]["gateway"]
    assert found["supergraphSource"] == "admin supergraph"
    subgraphs = {sub["name"]: sub for sub in found["subgraphs"]}
    assert set(subgraphs) == {"core", "gateway", "gitslice", "webhooks"}
    assert subgraphs["gateway"]["url"] == runtime.admin_graph.urls["gateway"]  # type: ignore[union-attr]
    before = {sub["name"]: sub for sub in first["data"]["gateway"]["subgraphs"]}
    latency = subgraphs["gateway"]["latency"]
    assert latency["count"] == before["gateway"]["latency"]["count"] + 1
    assert 0 < latency["p50Ms"] <= latency["p95Ms"]
    assert latency["meanMs"] > 0
    assert latency["buckets"][-1] == {"leMs": None, "count": latency["count"]}


async def test_types_carry_their_fields_and_the_subgraphs_that_resolve_them(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    body = await post_gateway(url, """{ gateway { types(nameContains: "job") {
        name kind subgraphs values fields { name type arguments subgraphs } } } }""",
                              await _token(runtime))
    assert body.get("errors") is None, body
    types = {found["name"]: found for found in body["data"]["gateway"]["types"]}
    assert {"Job", "JobConnection", "JobStatus"} <= set(types)
    assert all("job" in name.lower() for name in types)
    job = types["Job"]
    assert job["kind"] == "OBJECT"
    # An entity: the core resolves it, GitSlice returns it by its key.
    assert job["subgraphs"] == ["core", "gitslice"]
    fields = {field["name"]: field for field in job["fields"]}
    assert fields["id"]["type"] == "ID!"
    assert fields["status"]["subgraphs"] == ["core"]
    assert types["JobStatus"]["kind"] == "ENUM"
    assert "FAILED" in types["JobStatus"]["values"]
    body = await post_gateway(url, """{ gateway { types(nameContains: "Query") {
        name fields { name arguments subgraphs } } } }""", await _token(runtime))
    (query,) = [found for found in body["data"]["gateway"]["types"] if found["name"] == "Query"]
    fields = {field["name"]: field for field in query["fields"]}
    assert fields["queryPlan"]["subgraphs"] == ["gateway"]
    assert "query: String!" in fields["queryPlan"]["arguments"]


async def test_a_plan_across_two_subgraphs_is_a_sequence_of_fetches_in_apollos_shape(
        gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    # Planned only: a read token may plan a mutation, which nothing runs.
    response = await _subgraph(runtime, PLAN, {
        "query": 'mutation { pullSlice(name: "x") { id status } }'},
        await _token(runtime, Role.READ))
    body = response.json()
    assert body.get("errors") is None, body
    plan = body["data"]["queryPlan"]
    assert plan["json"] == {"kind": "QueryPlan", "node": {"kind": "Sequence", "nodes": [
        {"kind": "Fetch", "serviceName": "gitslice", "operationKind": "mutation",
         "operation": 'mutation {pullSlice(name: "x") {id __typename}}', "variableUsages": []},
        {"kind": "Flatten", "path": ["pullSlice"], "node": {
            "kind": "Fetch", "serviceName": "core", "operationKind": "query",
            "operation": "query($representations: [_Any!]!) {_entities(representations: "
                         "$representations) {... on Job {status}}}",
            "variableUsages": [], "requires": ["... on Job => Job {__typename id}"]}}]}}
    assert plan["text"].startswith("QueryPlan {")
    assert 'Fetch(service: "gitslice")' in plan["text"]


async def test_parallel_root_fields_and_skip_follow_the_variables(
        gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    token = await _token(runtime)
    query = ("query ($s: Boolean!) { services { name } sources @skip(if: $s) { name }"
             " slices { name } }")
    response = await _subgraph(runtime, PLAN, {"query": query, "variables": {"s": False}},
                               token)
    node = response.json()["data"]["queryPlan"]["json"]["node"]
    assert node["kind"] == "Parallel"
    assert sorted(n["serviceName"] for n in node["nodes"]) == ["core", "gitslice", "webhooks"]
    response = await _subgraph(runtime, PLAN, {"query": query, "variables": {"s": True}},
                               token)
    node = response.json()["data"]["queryPlan"]["json"]["node"]
    assert sorted(n["serviceName"] for n in node["nodes"]) == ["core", "gitslice"]


@pytest.mark.parametrize(("query", "message"), [
    ("{ services { name }", "the query is not valid GraphQL: Syntax Error"),
    ("{ nothing }", "Cannot query field 'nothing' on type 'Query'"),
    ("query A { services { name } } query B { slices { name } }",
     "the query has several operations: name the one to plan"),
])
async def test_a_query_that_does_not_parse_or_validate_is_bad_user_input(
        gateway: tuple[str, Runtime], query: str, message: str) -> None:
    _, runtime = gateway
    response = await _subgraph(runtime, PLAN, {"query": query}, await _token(runtime))
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"queryPlan": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert "Traceback" not in error["message"]


async def test_an_unknown_operation_name_or_variables_not_an_object_are_bad_user_input(
        gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    token = await _token(runtime)
    response = await _subgraph(runtime, """{ queryPlan(query: "query A { slices { name } }",
        operationName: "B") { text } }""", token=token)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "the query has no operation named 'B'"
    response = await _subgraph(runtime, PLAN, {"query": "{ slices { name } }",
                                               "variables": [1]}, token)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "variables must be a JSON object"


async def test_without_a_token_the_subgraph_is_closed(gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    response = await _subgraph(runtime, "{ gateway { supergraphSource } }")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_after_a_reload_the_subgraph_describes_the_new_supergraph(
        gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    app = runtime.live.require(LIVE_APP)
    assert runtime.admin_graph is not None
    text = runtime.admin_graph.text({"products": "http://127.0.0.1:9/graphql",
                                     "reviews": "http://127.0.0.1:9/graphql"})
    old = app.gateway
    async with httpx.AsyncClient() as client:
        app.gateway = Gateway(Supergraph(text, source="reloaded.graphql"), client, old.config)
        try:
            response = await _subgraph(runtime, "{ gateway { supergraphSource loadedAt "
                                       "subgraphs { name } } }", token=await _token(runtime))
        finally:
            app.gateway = old
    found = response.json()["data"]["gateway"]
    assert found["supergraphSource"] == "reloaded.graphql"
    assert found["loadedAt"] > old.loaded_at.isoformat()
    assert {"products", "reviews"} <= {sub["name"] for sub in found["subgraphs"]}


async def test_where_no_gateway_runs_each_field_says_so(graph: Graph) -> None:
    for query in ("{ gateway { supergraphSource } }",
                  '{ queryPlan(query: "{ services { name } }") { text } }'):
        response = await graph.post("gateway", query, token="read")
        body = response.json()
        assert response.status_code == 200
        assert list(body["data"].values()) == [None]
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert error["message"].startswith("no gateway runs in this process")


async def test_a_subgraphs_latency_over_the_last_minutes_counts_its_recent_fetches(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    token = await _token(runtime, Role.READ)
    windowed = """{ gateway { subgraphs { name
        recent: latency(lastMinutes: 5) { count errors p50Ms p95Ms }
        total: latency { count } } } }"""
    await post_gateway(url, windowed, token)
    body = await post_gateway(url, windowed, token)
    assert body.get("errors") is None, body
    found = {sub["name"]: sub for sub in body["data"]["gateway"]["subgraphs"]}["gateway"]
    # This test's first request was fetched in the window; earlier tests' may be too.
    assert 1 <= found["recent"]["count"] <= found["total"]["count"]
    assert 0 < found["recent"]["p50Ms"] <= found["recent"]["p95Ms"]
    refused = await post_gateway(
        url, "{ gateway { subgraphs { latency(lastMinutes: 0) { count } } } }", token)
    (error,) = {e["message"]: e for e in refused["errors"]}.values()
    assert error["message"] == "lastMinutes must be 1 to 60, not 0"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"

"""The request pipeline's caches and request errors (no subgraph is called)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.gateway.config import GatewayConfig
from crossdock.gateway.engine import Gateway
from crossdock.gateway.supergraph import load_supergraph

SHOP = Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs" / "shop.graphql"
QUERY = 'query($x: Boolean!) { product(upc: "1") { name inStock @include(if: $x) } }'


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway(load_supergraph(SHOP), client=None,  # type: ignore[arg-type]
                   config=GatewayConfig(introspection=True))


def test_plans_are_cached_by_text_name_and_condition_values(gateway: Gateway) -> None:
    first = gateway.prepare(QUERY, None, {"x": True})
    assert gateway.prepare(QUERY, None, {"x": True}) is first
    other = gateway.prepare(QUERY, None, {"x": False})
    assert other is not first
    assert len(first.plan.fetches) == 2
    assert len(other.plan.fetches) == 1


def test_plans_are_cached_apart_per_plan_key_of_the_request_context(gateway: Gateway) -> None:
    """A plan depends on the context's plan_key (an authorization decision, later)."""
    plain = gateway.prepare(QUERY, None, {"x": True})
    scoped = gateway.prepare(QUERY, None, {"x": True}, ("scopes", frozenset({"read"})))
    assert scoped is not plain
    assert gateway.prepare(QUERY, None, {"x": True}, ("scopes", frozenset({"read"}))) is scoped


def test_documents_are_parsed_and_validated_once(gateway: Gateway) -> None:
    assert gateway.document("{ me { id } }") is gateway.document("{ me { id } }")
    bad = gateway.document("{ me { nope } }")
    assert bad.document is None
    assert bad.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.anyio
async def test_subscriptions_are_refused(gateway: Gateway) -> None:
    result = await gateway.execute("subscription { me { id } }")
    assert result.status == 400
    assert result.body["errors"][0]["message"]


@pytest.mark.anyio
async def test_introspection_only_needs_no_subgraph(gateway: Gateway) -> None:
    result = await gateway.execute("{ __typename __schema { queryType { name } } }")
    assert result.body == {"data": {"__typename": "Query",
                                    "__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.anyio
@pytest.mark.parametrize("query", [
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Product") { name } }',
    "query { ...Q } fragment Q on Query { __schema { types { name } } }",
])
async def test_introspection_is_refused_unless_the_file_turns_it_on(query: str) -> None:
    closed = Gateway(load_supergraph(SHOP), client=None)  # type: ignore[arg-type]
    result = await closed.execute(query)
    assert result.status == 400
    assert result.body == {"errors": [{"message": "introspection has been disabled",
                                       "extensions": {"code": "INTROSPECTION_DISABLED"}}]}


@pytest.mark.anyio
async def test_typename_alone_is_not_introspection_and_is_answered() -> None:
    closed = Gateway(load_supergraph(SHOP), client=None)  # type: ignore[arg-type]
    result = await closed.execute("{ __typename }")
    assert result.body == {"data": {"__typename": "Query"}}

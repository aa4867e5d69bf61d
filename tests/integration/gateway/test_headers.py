"""Header rules reach real subgraphs over HTTP: each subgraph gets what its rules pick."""

from __future__ import annotations

import pytest
import yaml

from crossdock.gateway.config import parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#: Products (root), then reviews through an entity fetch (and accounts after it).
QUERY = '{ product(upc: "1") { name reviews { body author { username } } } }'
RULES = parse_config(yaml.safe_load("""
headers:
  all:
    request:
      - propagate: {matching: ^x-upstream-}
      - propagate: {named: authorization}
      - propagate: {named: x-tenant, rename: x-customer, default: anonymous}
      - remove: {named: x-upstream-secret}
  subgraphs:
    reviews:
      request:
        - insert: {name: x-subgraph, value: reviews}
        - remove: {matching: ^authorization$}
"""))


@pytest.mark.parametrize("http1", [False, True], ids=["httpx", "http1"])
async def test_each_subgraph_gets_the_headers_its_rules_pick(http1: bool) -> None:
    async with running("shop", shop_subgraphs.build(), http1=http1, config=RULES) as shop:
        response = await shop.client.post(
            shop.url + "/graphql", json={"query": QUERY},
            headers={"authorization": "Bearer abc", "x-upstream-region": "eu",
                     "x-upstream-secret": "s", "x-other": "1", "traceparent": TRACEPARENT,
                     "accept-encoding": "identity"})
        assert response.status_code == 200, response.text
        assert "errors" not in response.json()
        products = shop.subgraphs["products"].headers  # type: ignore[attr-defined]
        reviews = shop.subgraphs["reviews"].headers  # type: ignore[attr-defined]
    (got,) = products
    assert got["authorization"] == "Bearer abc"
    assert got["x-upstream-region"] == "eu"
    assert got["x-customer"] == "anonymous"
    assert got["traceparent"] == TRACEPARENT
    assert got["content-type"] == "application/json"
    assert "x-upstream-secret" not in got
    assert "x-other" not in got
    assert "x-subgraph" not in got
    assert got.get("accept-encoding") != "identity"
    (got,) = reviews
    assert got["x-subgraph"] == "reviews"
    assert got["x-upstream-region"] == "eu"
    assert got["traceparent"] == TRACEPARENT
    assert "authorization" not in got


async def test_without_rules_no_client_header_reaches_a_subgraph() -> None:
    async with running("shop", shop_subgraphs.build(), http1=True) as shop:
        response = await shop.client.post(
            shop.url + "/graphql", json={"query": QUERY},
            headers={"authorization": "Bearer abc", "x-upstream-region": "eu"})
        assert response.status_code == 200, response.text
        received = [h for sub in shop.subgraphs.values()
                    for h in sub.headers]  # type: ignore[attr-defined]
    assert len(received) == 2
    for headers in received:
        assert "authorization" not in headers
        assert "x-upstream-region" not in headers

"""The request context reaches the subgraph calls: the W3C trace context is forwarded."""

from __future__ import annotations

import pytest

from crossdock.gateway.settings import GatewaySettings
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
#: Products (root), then reviews and accounts through entity fetches.
QUERY = '{ product(upc: "1") { name reviews { body author { username } } } }'


def _post_headers(federation_subgraphs: dict[str, object]) -> list[dict[str, str]]:
    return [headers for sub in federation_subgraphs.values()
            for headers in sub.headers]  # type: ignore[attr-defined]


@pytest.mark.parametrize("http1", [False, True], ids=["httpx", "http1"])
async def test_trace_context_is_forwarded_to_every_subgraph_fetch(http1: bool) -> None:
    async with running("shop", shop_subgraphs.build(), http1=http1) as shop:
        response = await shop.client.post(
            shop.url + "/graphql", json={"query": QUERY},
            headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE,
                     "x-not-forwarded": "1"})
        assert response.status_code == 200, response.text
        assert "errors" not in response.json()
        received = _post_headers(shop.subgraphs)
    assert len(received) == 2
    for headers in received:
        assert headers["traceparent"] == TRACEPARENT
        assert headers["tracestate"] == TRACESTATE
        assert headers["content-type"] == "application/json"
        assert "x-not-forwarded" not in headers


@pytest.mark.parametrize("traceparent", [
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # the forbidden version
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper-case hex
    "garbage",
])
async def test_an_invalid_traceparent_and_its_tracestate_are_not_forwarded(
        traceparent: str) -> None:
    async with running("shop", shop_subgraphs.build(), http1=True) as shop:
        response = await shop.client.post(
            shop.url + "/graphql", json={"query": QUERY},
            headers={"traceparent": traceparent, "tracestate": TRACESTATE})
        assert response.status_code == 200, response.text
        received = _post_headers(shop.subgraphs)
    assert received
    for headers in received:
        assert "traceparent" not in headers
        assert "tracestate" not in headers


async def test_graphiql_can_be_turned_off() -> None:
    settings = GatewaySettings(graphiql=False)
    async with running("shop", shop_subgraphs.build(), settings=settings) as shop:
        page = await shop.client.get(shop.url + "/graphql",
                                     headers={"accept": "text/html,application/xhtml+xml"})
        asset = await shop.client.get(shop.url + "/static/graphiql/graphiql.min.js")
    assert "graphiql" not in page.text.lower()
    assert page.status_code == 400
    assert asset.status_code == 404

"""Subgraph -> client headers (``headers.*.response``): chosen headers such as ``Set-Cookie``
reach the client, ``Cache-Control`` is merged to the most restrictive, through both subgraph
clients (the pooled HTTP/1.1 one and httpx)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running
from tests.integration.gateway.shaping import Shaped

pytestmark = pytest.mark.anyio

QUERY = 'query Product { product(upc: "1") { name reviews { body } } }'
CLIENTS = pytest.mark.parametrize("http1", [True, False], ids=["http1", "httpx"])
PROPAGATING = """
headers:
  all:
    response:
      - propagate: {named: cache-control}
      - propagate: {named: set-cookie}
  subgraphs:
    reviews:
      response:
        - propagate: {named: x-review-version, rename: x-reviews}
"""


def config(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


def shaped(**headers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The shop's subgraphs, those named answering with the headers given."""
    return {name: Shaped(sub, headers=headers.get(name, ()))
            for name, sub in shop_subgraphs.build().items()}


@CLIENTS
async def test_cookies_of_every_subgraph_reach_the_client_and_cache_control_is_the_strictest(
        http1: bool) -> None:
    subgraphs = shaped(
        products=(("set-cookie", "cart=1; Path=/"), ("set-cookie", "seen=table"),
                  ("cache-control", "public, max-age=60"), ("x-internal", "secret")),
        reviews=(("set-cookie", "lang=fr"), ("cache-control", "max-age=30, private"),
                 ("x-review-version", "7")))
    async with running("shop", subgraphs, http1=http1,
                       config=config(PROPAGATING)) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["product"]["reviews"] == [{"body": "Love it"}]
    assert sorted(response.headers.get_list("set-cookie")) == [
        "cart=1; Path=/", "lang=fr", "seen=table"]
    assert response.headers["cache-control"] == "max-age=30, private"
    assert response.headers["x-reviews"] == "7"
    assert "x-internal" not in response.headers
    assert "x-review-version" not in response.headers


@CLIENTS
async def test_one_answer_without_cache_control_makes_the_response_no_store(
        http1: bool) -> None:
    subgraphs = shaped(products=(("cache-control", "public, max-age=60"),))
    async with running("shop", subgraphs, http1=http1,
                       config=config(PROPAGATING)) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
    assert response.headers["cache-control"] == "no-store"


async def test_a_response_with_errors_is_no_store_whatever_the_subgraphs_said() -> None:
    subgraphs = shaped(products=(("cache-control", "public, max-age=60"),),
                       reviews=(("cache-control", "public, max-age=60"),))
    subgraphs["reviews"].failing = True
    async with running("shop", subgraphs, http1=True, config=config(PROPAGATING)) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
        ok = await shop.client.post(shop.url + "/graphql",
                                    json={"query": '{ product(upc: "1") { name } }'})
    assert response.json()["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"
    assert response.headers["cache-control"] == "no-store"
    assert ok.headers["cache-control"] == "max-age=60, public"


async def test_without_response_rules_no_subgraph_header_reaches_the_client() -> None:
    subgraphs = shaped(products=(("set-cookie", "cart=1"), ("cache-control", "max-age=60")))
    async with running("shop", subgraphs, http1=True) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "cache-control" not in response.headers


@pytest.mark.parametrize(("text", "message"), [
    ("headers: {subgraphs: {products: {response: [{propagate: {named: cache-control}}]}}}",
     "headers.subgraphs.products.response: cache-control is merged from every subgraph"),
    ("headers: {all: {response: [{insert: {name: cache-control, value: max-age=9}}]}}",
     "headers.all.response: cache-control is only merged"),
    ("headers: {all: {response: [{propagate: {named: content-length}}]}}",
     "content-length is set by the gateway itself"),
], ids=["per-subgraph-cache-control", "inserted-cache-control", "reserved"])
def test_response_rules_that_cannot_work_are_refused_naming_the_key(text: str,
                                                                    message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(text)

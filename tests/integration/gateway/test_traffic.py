"""Subgraph traffic over real HTTP: compressed requests and answers (both subgraph clients),
and a circuit breaker that fails fast while a subgraph is down, then probes it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, parse_config
from crossdock.gateway.failures import HTTP_ERROR
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running
from tests.integration.gateway.shaping import Shaped

pytestmark = pytest.mark.anyio

QUERY = 'query Product { product(upc: "1") { name reviews { body } } }'
EXPECTED = {"product": {"name": "Table", "reviews": [{"body": "Love it"}]}}
CLIENTS = pytest.mark.parametrize("http1", [True, False], ids=["http1", "httpx"])


def config(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


def shaped(**encodings: str) -> dict[str, Any]:
    """The shop's subgraphs, those named compressing their answers in the coding given."""
    return {name: Shaped(sub, encoding=encodings.get(name))
            for name, sub in shop_subgraphs.build().items()}


COMPRESSED = config("""
traffic_shaping:
  all:
    compression: gzip
  subgraphs:
    reviews:
      compression: br
    accounts:
      compression: identity
""")


@CLIENTS
async def test_requests_go_compressed_and_compressed_answers_are_decoded(http1: bool) -> None:
    subgraphs = shaped(products="br", reviews="gzip")
    async with running("shop", subgraphs, http1=http1, config=COMPRESSED) as shop:
        result = await shop.query(QUERY)
        await shop.query("{ me { id } }")
    assert result == {"data": EXPECTED}
    (products,) = subgraphs["products"].seen
    (reviews,) = subgraphs["reviews"].seen
    (accounts,) = subgraphs["accounts"].seen
    assert products["content-encoding"] == "gzip"
    assert reviews["content-encoding"] == "br"
    assert accounts["content-encoding"] is None
    for seen in (products, reviews):
        assert {"gzip", "br"} <= {c.strip() for c in seen["accept-encoding"].split(",")}


async def test_a_subgraph_without_compression_is_asked_for_plain_answers() -> None:
    subgraphs = shaped(accounts="gzip")
    async with running("shop", subgraphs, http1=True, config=COMPRESSED) as shop:
        result = await shop.query("{ me { id } }")
    assert result["data"] == {"me": {"id": "u1"}}
    assert subgraphs["accounts"].seen[0]["accept-encoding"] is None


@CLIENTS
async def test_an_answer_that_does_not_decode_fails_only_its_fetch(http1: bool) -> None:
    subgraphs = shaped(reviews="gzip")
    subgraphs["reviews"].corrupt = True
    async with running("shop", subgraphs, http1=http1, config=COMPRESSED) as shop:
        result = await shop.query('{ product(upc: "1") { name } topReviews: product(upc: "2")'
                                  ' { reviews { body } } }')
    assert result["data"]["product"] == {"name": "Table"}
    (error,) = result["errors"]
    assert error["extensions"]["code"] == HTTP_ERROR
    assert error["extensions"]["service"] == "reviews"


def test_an_unknown_compression_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"traffic_shaping.subgraphs.reviews.compression: "
                                          r"'zstd' is not one of gzip, br, deflate, identity"):
        config("traffic_shaping: {subgraphs: {reviews: {compression: zstd}}}")


#: A circuit breaker's state lives in its plugin: each test parses its own.
BREAKER = """
traffic_shaping:
  subgraphs:
    reviews:
      circuit_breaker:
        failure_ratio: 0.5
        min_requests: 2
        window: 10s
        open_for: 300ms
"""


async def test_an_open_circuit_fails_fast_then_one_probe_closes_it() -> None:
    subgraphs = shaped()
    reviews = subgraphs["reviews"]
    reviews.failing = True
    async with running("shop", subgraphs, http1=True, config=config(BREAKER)) as shop:
        failed = [await shop.query(QUERY) for _ in range(2)]
        open_ = await shop.query(QUERY)
        sent_while_open = len(reviews.seen)
        reviews.failing = False
        await asyncio.sleep(0.35)
        probed = await shop.query(QUERY)
        after = await shop.query(QUERY)
    for result in failed:
        assert result["errors"][0]["extensions"]["http"] == {"status": 503}
    (error,) = open_["errors"]
    assert error["extensions"]["code"] == HTTP_ERROR
    assert error["extensions"]["service"] == "reviews"
    assert error["extensions"]["reason"].endswith("circuit open")
    assert open_["data"] == failed[0]["data"]
    assert sent_while_open == 2
    assert probed == {"data": EXPECTED}
    assert after == {"data": EXPECTED}
    assert len(reviews.seen) == 4


async def test_a_failed_probe_opens_the_circuit_again() -> None:
    subgraphs = shaped()
    reviews = subgraphs["reviews"]
    reviews.failing = True
    async with running("shop", subgraphs, http1=True, config=config(BREAKER)) as shop:
        for _ in range(2):
            await shop.query(QUERY)
        await asyncio.sleep(0.35)
        probe = await shop.query(QUERY)
        again = await shop.query(QUERY)
    assert probe["errors"][0]["extensions"]["http"] == {"status": 503}
    assert again["errors"][0]["extensions"]["reason"].endswith("circuit open")
    assert len(reviews.seen) == 3


@pytest.mark.parametrize(("text", "message"), [
    ("{all: {circuit_breaker: {failure_ratio: 2}}}", "all.circuit_breaker.failure_ratio"),
    ("{all: {circuit_breaker: {min_requests: 0}}}", "all.circuit_breaker.min_requests"),
    ("{subgraphs: {a: {circuit_breaker: {open_for: soon}}}}", "a.circuit_breaker.open_for"),
    ("{all: {circuit_breaker: 3}}", "all.circuit_breaker: expected a mapping"),
], ids=["ratio", "min-requests", "duration", "type"])
def test_a_bad_circuit_breaker_value_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(f"traffic_shaping: {text}")


LARGE = "{ __schema { types { name fields { name } } } }"


@pytest.mark.parametrize(("accept", "coding"), [("gzip, deflate, br", "br"), ("gzip", "gzip")])
async def test_large_responses_are_compressed_for_clients_that_accept_it(
        accept: str, coding: str) -> None:
    compressing = config("{traffic_shaping: {router: {compression: true}}, "
                         "supergraph: {introspection: true}}")
    async with running("shop", shop_subgraphs.build(), config=compressing) as shop:
        plain = await shop.client.post(shop.url + "/graphql", json={"query": LARGE},
                                       headers={"accept-encoding": "identity"})
        packed = await shop.client.post(shop.url + "/graphql", json={"query": LARGE},
                                        headers={"accept-encoding": accept})
        small = await shop.client.post(shop.url + "/graphql", json={"query": "{ __typename }"},
                                       headers={"accept-encoding": accept})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == coding
    assert packed.headers["vary"] == "accept-encoding"
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.json() == plain.json()
    assert "content-encoding" not in small.headers
    assert small.json() == {"data": {"__typename": "Query"}}


async def test_responses_are_not_compressed_unless_the_file_says_so() -> None:
    introspection = config("supergraph: {introspection: true}")
    async with running("shop", shop_subgraphs.build(), config=introspection) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": LARGE},
                                          headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in response.headers
    assert response.json()["data"]["__schema"]["types"]


def test_router_compression_is_read_and_the_router_s_other_keys_are_reported() -> None:
    read = config("traffic_shaping: {router: {compression: true, timeout: 5s}}")
    assert read.compress_responses
    assert read.unsupported == ("traffic_shaping.router.timeout",)
    with pytest.raises(ConfigError, match=r"traffic_shaping\.router\.compression: 'yes'"):
        config("traffic_shaping: {router: {compression: 'yes'}}")


async def test_fetches_past_a_subgraph_s_rate_fail_fast_and_the_others_are_served() -> None:
    limited = config("""
traffic_shaping:
  subgraphs:
    reviews:
      global_rate_limit: {capacity: 2, interval: 1m}
""")
    subgraphs = shaped()
    async with running("shop", subgraphs, http1=True, config=limited) as shop:
        served = [await shop.query(QUERY) for _ in range(2)]
        refused = await shop.query(QUERY)
        other = await shop.query('{ product(upc: "1") { name } }')
    assert served == [{"data": EXPECTED}] * 2
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == HTTP_ERROR
    assert error["extensions"]["service"] == "reviews"
    assert error["extensions"]["reason"].endswith("rate limited")
    assert len(subgraphs["reviews"].seen) == 2
    assert other == {"data": {"product": {"name": "Table"}}}


@pytest.mark.parametrize(("text", "message"), [
    ("{all: {global_rate_limit: {capacity: 0, interval: 1s}}}", "capacity: 0 is not"),
    ("{all: {global_rate_limit: {capacity: 5}}}", "global_rate_limit.interval: required"),
    ("{subgraphs: {a: {global_rate_limit: 5}}}", "a.global_rate_limit: expected a mapping"),
], ids=["capacity", "interval", "type"])
def test_a_bad_rate_limit_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(f"traffic_shaping: {text}")

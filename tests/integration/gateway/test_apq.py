"""Automatic persisted queries (``apq``) over HTTP, against real subgraphs and a real Redis."""

from __future__ import annotations

import hashlib
import json
import socket
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

QUERY = "{ products { name } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
DATA = {"products": [{"name": "Table"}, {"name": "Couch"}, {"name": "Chair"}]}
REDIS = "redis://127.0.0.1:6379/0"


def persisted(sha256: str = HASH) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


async def post(shop: Federation, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    response = await shop.client.post(shop.url + "/graphql", json=body)
    return response.status_code, response.json(), response.headers.get("cache-control", "")


async def test_a_hash_is_not_found_then_registered_with_its_query_then_served_alone() -> None:
    config = parse_config({"apq": {"router": {"cache": {"in_memory": {"limit": 10}}}}})
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        missed = await post(shop, {"extensions": persisted()})
        registered = await post(shop, {"query": QUERY, "extensions": persisted()})
        served = await post(shop, {"extensions": persisted()})
        got = await shop.client.get(shop.url + "/graphql", params={
            "extensions": json.dumps(persisted())}, headers={"apollo-require-preflight": "1"})
    assert missed == (200, {"data": None, "errors": [{
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]},
        "private, no-cache, must-revalidate")
    assert registered[:2] == (200, {"data": DATA})
    assert served[:2] == (200, {"data": DATA})
    assert got.status_code == 200
    assert got.json() == {"data": DATA}


async def test_a_query_whose_hash_is_not_its_own_is_refused_and_not_registered() -> None:
    config = parse_config({"apq": {}})
    wrong = hashlib.sha256(b"{ me { id } }").hexdigest()
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        refused = await post(shop, {"query": QUERY, "extensions": persisted(wrong)})
        after = await post(shop, {"extensions": persisted(wrong)})
        received = shop.subgraphs["products"].requests
    assert refused[:2] == (400, {"errors": [{
        "message": "provided sha does not match query",
        "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"}}]})
    assert after[1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert received == []


@pytest.mark.parametrize("extension", [
    {"persistedQuery": {"version": 2, "sha256Hash": HASH}},
    {"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}},
    {"persistedQuery": "yes"},
], ids=["version", "hash", "shape"])
async def test_a_malformed_persisted_query_extension_is_a_bad_request(
        extension: dict[str, Any]) -> None:
    async with running("shop", shop_subgraphs.build(), config=parse_config({"apq": {}})) as shop:
        status, body, _ = await post(shop, {"extensions": extension})
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("file", [{}, {"apq": {"enabled": False}}], ids=["no-key", "disabled"])
async def test_without_apq_a_hash_alone_is_not_supported_and_a_full_query_still_runs(
        file: dict[str, Any]) -> None:
    async with running("shop", shop_subgraphs.build(), config=parse_config(file)) as shop:
        hash_only = await post(shop, {"extensions": persisted()})
        whole = await post(shop, {"query": QUERY, "extensions": persisted()})
    assert hash_only[:2] == (200, {"data": None, "errors": [{
        "message": "PersistedQueryNotSupported",
        "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}}]})
    assert whole[:2] == (200, {"data": DATA})


async def test_queries_registered_through_one_gateway_are_served_by_another_through_redis(
) -> None:
    namespace = f"test-{socket.gethostname()}-{id(object())}"
    file = {"apq": {"router": {"cache": {"redis": {"urls": [REDIS], "namespace": namespace,
                                                      "ttl": "60s"}}}}}
    async with running("shop", shop_subgraphs.build(), config=parse_config(file)) as first:
        registered = await post(first, {"query": QUERY, "extensions": persisted()})
    async with running("shop", shop_subgraphs.build(), config=parse_config(file)) as second:
        served = await post(second, {"extensions": persisted()})
    client = redis.asyncio.Redis.from_url(REDIS)
    try:
        stored = await client.get(f"{namespace}:apq:{HASH}")
        ttl = await client.pttl(f"{namespace}:apq:{HASH}")
        await client.delete(f"{namespace}:apq:{HASH}")
    finally:
        await client.aclose()
    assert registered[:2] == (200, {"data": DATA})
    assert served[:2] == (200, {"data": DATA})
    assert stored == QUERY.encode()
    assert 0 < ttl <= 60_000


async def test_a_redis_that_is_down_makes_every_hash_a_miss_not_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    file = {"apq": {"router": {"cache": {"redis": {"urls": [f"redis://127.0.0.1:{closed}"],
                                                      "timeout": "200ms"}}}}}
    async with running("shop", shop_subgraphs.build(), config=parse_config(file)) as shop:
        missed = await post(shop, {"extensions": persisted()})
        registered = await post(shop, {"query": QUERY, "extensions": persisted()})
        served = await post(shop, {"extensions": persisted()})
    assert missed[1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered[:2] == (200, {"data": DATA})
    # The gateway's own memory still holds what it registered.
    assert served[:2] == (200, {"data": DATA})


@pytest.mark.parametrize(("text", "message"), [
    ("apq: {router: {cache: {in_memory: {limit: 0}}}}", "apq.router.cache.in_memory.limit"),
    ("apq: {enabled: maybe}", "apq.enabled"),
    ("apq: {router: {cache: {redis: {urls: [http://x]}}}}", "apq.router.cache.redis.urls"),
    ("apq: {router: {cache: {redis: {urls: [redis://a, redis://b]}}}}",
     "apq.router.cache.redis.urls"),
    ("apq: {router: {cache: {redis: {urls: [redis://a], timeout: soon}}}}",
     "apq.router.cache.redis.timeout"),
], ids=["limit", "enabled", "scheme", "cluster", "timeout"])
def test_a_bad_apq_value_names_its_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config(yaml.safe_load(text))


def test_apq_keys_crossdock_does_not_read_are_reported() -> None:
    config = parse_config(yaml.safe_load(
        "apq: {subgraph: {all: {enabled: true}}, router: {cache: {in_memory: {ttl: 1s}}}}"))
    assert config.unsupported == ("apq.subgraph", "apq.router.cache.in_memory.ttl")

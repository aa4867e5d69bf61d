"""Errors: from subgraphs (paths mapped back, messages redacted), and subgraphs that fail,
stall, refuse the connection or answer what is not GraphQL; timeouts and retries."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import yaml
from prometheus_client import REGISTRY

from crossdock.gateway.config import GatewayConfig, parse_config
from crossdock.gateway.failures import HTTP_ERROR, MALFORMED
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import Federation, running

pytestmark = pytest.mark.anyio


def config(text: str) -> GatewayConfig:
    """The gateway configuration in YAML ``text`` (Apollo Router's keys)."""
    return parse_config(yaml.safe_load(text))


INCLUDE_ALL = config("include_subgraph_errors: {all: true}")


async def test_subgraph_error_messages_are_redacted_by_default(shop: Federation) -> None:
    result = await shop.query('{ broken product(upc: "1") { name } }')
    assert result["data"] == {"broken": None, "product": {"name": "Table"}}
    (error,) = result["errors"]
    assert error["message"] == "Subgraph errors redacted"
    assert error["path"] == ["broken"]
    assert error["extensions"]["service"] == "products"
    assert "products is broken" not in str(result)


async def test_root_field_error_keeps_its_path_message_and_the_other_fields() -> None:
    async with running("shop", shop_subgraphs.build(), config=INCLUDE_ALL) as federation:
        result = await federation.query('{ broken product(upc: "1") { name } }')
    assert result["data"] == {"broken": None, "product": {"name": "Table"}}
    (error,) = result["errors"]
    assert error["message"] == "products is broken"
    assert error["path"] == ["broken"]


async def test_include_subgraph_errors_per_subgraph_overrides_all() -> None:
    only_inventory = config("""
include_subgraph_errors:
  all: false
  subgraphs: {inventory: true}
""")
    async with running("shop", shop_subgraphs.build(), config=only_inventory) as federation:
        result = await federation.query("{ broken all: products { stockNote } }")
    messages = {e["extensions"]["service"]: e["message"] for e in result["errors"]}
    assert messages == {"products": "Subgraph errors redacted",
                        "inventory": "no stock note for S2"}


async def test_entity_error_path_is_mapped_to_the_client_path() -> None:
    async with running("shop", shop_subgraphs.build(), config=INCLUDE_ALL) as federation:
        result = await federation.query("{ all: products { name stockNote } }")
    assert result["data"]["all"][1] == {"name": "Couch", "stockNote": None}
    assert result["data"]["all"][0]["stockNote"] == "note S1"
    (error,) = result["errors"]
    assert error["message"] == "no stock note for S2"
    assert error["path"] == ["all", 1, "stockNote"]
    assert error["extensions"]["serviceName"] == "inventory"


async def test_a_redacted_error_keeps_its_code_and_path(shop: Federation) -> None:
    shop.subgraphs["inventory"].behaviour.body = orjson.dumps({
        "data": {"_entities": [None]},
        "errors": [{"message": "db at 10.0.0.3 refused", "path": ["_entities", 0],
                    "extensions": {"code": "DB_DOWN", "host": "10.0.0.3"}}]})
    result = await shop.query('{ product(upc: "1") { name stockNote } }')
    (error,) = result["errors"]
    assert error == {"message": "Subgraph errors redacted", "path": ["product"],
                     "extensions": {"code": "DB_DOWN", "service": "inventory",
                                    "serviceName": "inventory"}}
    assert "10.0.0.3" not in str(result)


@pytest.mark.parametrize(("status", "body", "code", "reason"), [
    (500, b"Internal Server Error", HTTP_ERROR, "500: Internal Server Error"),
    (502, b"", HTTP_ERROR, "502: Bad Gateway"),
    (401, b'{"message": "no token"}', HTTP_ERROR, "401: Unauthorized"),
    (200, b"<html>not json</html>", MALFORMED, "the answer is not JSON"),
    (200, b'{"result": "ok"}', MALFORMED,
     "a response without data must contain at least one error"),
    (200, b'{"data": null}', MALFORMED,
     "a response without data must contain at least one error"),
], ids=["500", "502-empty", "401", "not-json", "no-data-no-errors", "null-data"])
async def test_broken_subgraph_gives_partial_data_and_one_error_naming_it(
        shop: Federation, status: int, body: bytes, code: str, reason: str) -> None:
    shop.subgraphs["inventory"].behaviour.status = status
    shop.subgraphs["inventory"].behaviour.body = body
    response = await shop.post('{ product(upc: "1") { name inStock } '
                               "topReviews(first: 1) { body } }")
    assert response.status_code == 200
    result = response.json()
    # inStock is non-null: its object becomes null, the rest of the response stands.
    assert result["data"] == {"product": None, "topReviews": [{"body": "Love it"}]}
    (error,) = result["errors"]
    assert error["path"] == ["product"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["service"] == error["extensions"]["serviceName"] == "inventory"
    assert error["extensions"]["reason"] == reason
    assert "'inventory'" in error["message"]
    if status >= 400:
        assert error["extensions"]["http"] == {"status": status}
    else:
        assert "http" not in error["extensions"]


async def test_errors_only_answer_nulls_the_fetch_and_passes_its_errors(
        shop: Federation) -> None:
    shop.subgraphs["inventory"].behaviour.body = b'{"errors": [{"message": "overloaded"}]}'
    result = await shop.query('{ product(upc: "1") { name inStock } }')
    assert result["data"] == {"product": None}
    (error,) = result["errors"]
    assert error["message"] == "Subgraph errors redacted"
    assert error["extensions"]["service"] == "inventory"


async def test_broken_subgraph_with_nullable_field_keeps_the_parent(shop: Federation) -> None:
    shop.subgraphs["inventory"].behaviour.status = 500
    result = await shop.query('{ product(upc: "1") { name stockNote } }')
    assert result["data"] == {"product": {"name": "Table", "stockNote": None}}
    assert result["errors"][0]["extensions"]["serviceName"] == "inventory"


async def test_failed_list_fetch_names_the_list_and_nulls_each_item(shop: Federation) -> None:
    shop.subgraphs["inventory"].behaviour.status = 503
    result = await shop.query("{ all: products { name stockNote } }")
    assert [p["stockNote"] for p in result["data"]["all"]] == [None, None, None]
    (error,) = result["errors"]
    assert error["path"] == ["all"]
    assert error["extensions"]["http"] == {"status": 503}


@pytest.mark.parametrize("http1", [False, True], ids=["httpx", "http1"])
async def test_a_subgraph_timeout_of_its_own_stops_only_that_subgraph(http1: bool) -> None:
    subgraphs = shop_subgraphs.build()
    # accounts answers far later than its 300 ms timeout, so however busy the machine, an
    # answer that waited for accounts would take well over the bound checked below.
    subgraphs["accounts"].behaviour.delay = 20.0
    subgraphs["products"].behaviour.delay = 0.5
    short = config("traffic_shaping: {subgraphs: {accounts: {timeout: 300ms}}}")
    async with running("shop", subgraphs, config=short, http1=http1) as federation:
        started = time.perf_counter()
        result = await federation.query('{ product(upc: "1") { name } me { id } }')
        elapsed = time.perf_counter() - started
    assert result["data"] == {"product": {"name": "Table"}, "me": None}
    (error,) = result["errors"]
    assert error["extensions"]["code"] == HTTP_ERROR
    assert error["extensions"]["reason"] == "request timed out"
    assert error["path"] == []  # a root fetch's data goes at the root
    assert "'accounts'" in error["message"]
    assert elapsed < 10.0


async def test_slow_subgraph_times_out_into_an_error() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["reviews"].behaviour.delay = 2.0
    async with running("shop", subgraphs, upstream_timeout=0.3) as federation:
        result = await federation.query('{ product(upc: "1") { name reviews { body } } }')
    assert result["data"] == {"product": None}
    assert "timed out" in result["errors"][0]["message"]
    assert "'reviews'" in result["errors"][0]["message"]


@pytest.mark.parametrize("http1", [False, True], ids=["httpx", "http1"])
async def test_subgraph_that_refuses_the_connection_gives_an_error_not_a_500(
        http1: bool) -> None:
    async with running("shop", shop_subgraphs.build(), down=("accounts",),
                       http1=http1) as federation:
        response = await federation.post("{ me { id } topReviews(first: 1) { body } }")
    assert response.status_code == 200
    result = response.json()
    assert result["data"] == {"me": None, "topReviews": [{"body": "Love it"}]}
    (error,) = result["errors"]
    assert error["message"].startswith("HTTP fetch failed from 'accounts': connection failed")
    assert error["extensions"]["code"] == HTTP_ERROR
    assert "http" not in error["extensions"]


RETRY = config("traffic_shaping: {all: {experimental_retry: {}}}")


async def test_a_query_is_retried_when_the_subgraph_answers_503() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["products"].behaviour.unavailable = 1
    async with running("shop", subgraphs, config=RETRY) as federation:
        result = await federation.query('{ product(upc: "1") { name } }')
    assert result == {"data": {"product": {"name": "Table"}}}
    assert len(subgraphs["products"].requests) == 2


def retried(subgraph: str) -> float:
    """The gateway's count of fetches to ``subgraph`` that were sent again."""
    return REGISTRY.get_sample_value("crossdock_gateway_subgraph_fetch_errors_total",
                                     {"subgraph": subgraph, "reason": "retried"}) or 0.0


@pytest.mark.parametrize("subgraph", ["products", "accounts"], ids=["503", "refused"])
async def test_a_fetch_is_retried_twice_at_most(subgraph: str) -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["products"].behaviour.unavailable = 100
    down = ("accounts",) if subgraph == "accounts" else ()
    before = retried(subgraph)
    async with running("shop", subgraphs, config=RETRY, down=down) as federation:
        result = await federation.query(
            "{ me { id } }" if down else '{ product(upc: "1") { name } }')
    assert result["errors"][0]["extensions"]["code"] == HTTP_ERROR
    assert retried(subgraph) - before == 2
    if not down:
        assert len(subgraphs["products"].requests) == 3


async def test_without_retry_configured_a_503_is_an_error() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["products"].behaviour.unavailable = 1
    async with running("shop", subgraphs) as federation:
        result = await federation.query('{ product(upc: "1") { name } }')
    assert result["data"] == {"product": None}
    assert result["errors"][0]["extensions"]["http"] == {"status": 503}
    assert len(subgraphs["products"].requests) == 1


async def test_a_mutation_is_never_retried() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["reviews"].behaviour.unavailable = 1
    async with running("shop", subgraphs, config=RETRY) as federation:
        result = await federation.query(
            'mutation { addReview(upc: "1", body: "Again") { body } }')
    assert result["data"] is None  # addReview is non-null: null bubbles to data
    assert result["errors"][0]["extensions"]["http"] == {"status": 503}
    assert len(subgraphs["reviews"].requests) == 1


async def test_retries_stop_when_the_budget_is_spent() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["products"].behaviour.unavailable = 100
    tight = config("""
traffic_shaping:
  subgraphs:
    products: {experimental_retry: {min_per_sec: 0, retry_percent: 0.5, ttl: 10s}}
""")
    async with running("shop", subgraphs, config=tight) as federation:
        for _ in range(4):
            result = await federation.query('{ product(upc: "1") { name } }')
            assert result["errors"][0]["extensions"]["http"] == {"status": 503}
    # Four requests put two retries in the budget: six requests reached the subgraph.
    assert len(subgraphs["products"].requests) == 6


async def test_a_cancelled_request_leaves_no_fetch_running() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["accounts"].behaviour.delay = 20.0
    subgraphs["reviews"].behaviour.delay = 20.0
    async with running("shop", subgraphs) as federation:
        # Two root fetches: accounts runs in the request's task, reviews in a task of its own.
        request = asyncio.create_task(
            federation.gateway.execute("{ me { id } topReviews(first: 1) { body } }"))
        async with asyncio.timeout(10):  # both are waiting for their subgraph
            while not (subgraphs["accounts"].requests and subgraphs["reviews"].requests):
                await asyncio.sleep(0.02)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        branches = [task for task in asyncio.all_tasks()
                    if getattr(task.get_coro(), "__qualname__", "") == "_Run.chain"]
        assert branches  # the reviews fetch's own task
        # Well before the subgraphs' 20 s delay, every branch has ended, cancelled.
        _, pending = await asyncio.wait(branches, timeout=10.0)
        assert not pending
        assert all(task.cancelled() for task in branches)

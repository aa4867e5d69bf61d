"""Errors: from subgraphs (paths mapped back), and subgraphs that fail, stall or vanish."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import Federation, running

pytestmark = pytest.mark.anyio


async def test_root_field_error_keeps_its_path_and_the_other_fields(shop: Federation) -> None:
    result = await shop.query('{ broken product(upc: "1") { name } }')
    assert result["data"] == {"broken": None, "product": {"name": "Table"}}
    (error,) = result["errors"]
    assert error["message"] == "products is broken"
    assert error["path"] == ["broken"]


async def test_entity_error_path_is_mapped_to_the_client_path(shop: Federation) -> None:
    result = await shop.query("{ all: products { name stockNote } }")
    assert result["data"]["all"][1] == {"name": "Couch", "stockNote": None}
    assert result["data"]["all"][0]["stockNote"] == "note S1"
    (error,) = result["errors"]
    assert error["message"] == "no stock note for S2"
    assert error["path"] == ["all", 1, "stockNote"]
    assert error["extensions"]["serviceName"] == "inventory"


@pytest.mark.parametrize(("status", "body"), [(500, b"Internal Server Error"),
                                              (200, b"<html>not json</html>"),
                                              (502, b"")])
async def test_broken_subgraph_gives_partial_data_and_an_error_naming_it(
        shop: Federation, status: int, body: bytes) -> None:
    shop.subgraphs["inventory"].behaviour.status = status
    shop.subgraphs["inventory"].behaviour.body = body
    response = await shop.post('{ product(upc: "1") { name inStock } }')
    assert response.status_code == 200
    result = response.json()
    # inStock is non-null: its object becomes null, the rest of the response stands.
    assert result["data"] == {"product": None}
    assert any("'inventory'" in e["message"] for e in result["errors"])


async def test_broken_subgraph_with_nullable_field_keeps_the_parent(shop: Federation) -> None:
    shop.subgraphs["inventory"].behaviour.status = 500
    result = await shop.query('{ product(upc: "1") { name stockNote } }')
    assert result["data"] == {"product": {"name": "Table", "stockNote": None}}
    assert result["errors"][0]["extensions"]["serviceName"] == "inventory"


async def test_slow_subgraph_times_out_into_an_error() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["reviews"].behaviour.delay = 2.0
    async with running("shop", subgraphs, upstream_timeout=0.3) as federation:
        result = await federation.query('{ product(upc: "1") { name reviews { body } } }')
    assert result["data"] == {"product": None}
    assert "timed out" in result["errors"][0]["message"]
    assert "'reviews'" in result["errors"][0]["message"]


async def test_subgraph_that_is_down_gives_an_error_not_a_500() -> None:
    subgraphs = shop_subgraphs.build()
    async with running("shop", subgraphs) as federation:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
        federation.gateway.executor.urls["accounts"] = closed
        response = await federation.post("{ me { id } topReviews(first: 1) { body } }")
    assert response.status_code == 200
    result = response.json()
    assert result["data"] == {"me": None, "topReviews": [{"body": "Love it"}]}
    assert "'accounts'" in result["errors"][0]["message"]


async def test_a_cancelled_request_leaves_no_fetch_running() -> None:
    subgraphs = shop_subgraphs.build()
    subgraphs["accounts"].behaviour.delay = 2.0
    subgraphs["reviews"].behaviour.delay = 2.0
    async with running("shop", subgraphs) as federation:
        # Two root fetches: accounts runs in the request's task, reviews in a task of its own.
        request = asyncio.create_task(
            federation.gateway.execute("{ me { id } topReviews(first: 1) { body } }"))
        await asyncio.sleep(0.5)  # both are waiting for their subgraph
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        branches = [task for task in asyncio.all_tasks()
                    if getattr(task.get_coro(), "__qualname__", "") == "_Run.chain"]
        assert branches  # the reviews fetch's own task
        # Well before the subgraphs' 2 s delay, every branch has ended, cancelled.
        _, pending = await asyncio.wait(branches, timeout=1.0)
        assert not pending
        assert all(task.cancelled() for task in branches)

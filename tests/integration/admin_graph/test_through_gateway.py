"""The admin subgraphs federated by the gateway as ``crossdock up`` wires them."""

from __future__ import annotations

import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from tests.integration.admin_graph.conftest import post_gateway

pytestmark = pytest.mark.anyio


async def test_a_pull_started_in_gitslice_is_followed_up_in_core_through_one_url(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    async with runtime.database.transaction() as conn:
        await conn.execute(
            "INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url,"
            " slice_branch) VALUES ('web', '/up.git', 'main', '/slice.git', 'main')")
    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name="t")
    # pullSlice is GitSlice's; the Job's task, lock and status are the core's (an entity).
    body = await post_gateway(url, 'mutation { pullSlice(name: "web") { id task lock status } }',
                       token)
    assert body.get("errors") is None, body
    assert body["data"]["pullSlice"]["task"] == "gitslice.pull"
    assert body["data"]["pullSlice"]["lock"] == "slice:web"
    assert body["data"]["pullSlice"]["status"] == "QUEUED"
    # A query that spans two subgraphs in one request.
    body = await post_gateway(url, "{ slices { name } services { name } }", token)
    assert body["data"]["slices"] == [{"name": "web"}]
    assert "gitslice" in {service["name"] for service in body["data"]["services"]}


async def test_through_the_gateway_a_missing_token_or_a_read_token_is_refused(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    body = await post_gateway(url, "{ services { name } }", None)
    assert body["data"] is None
    assert "UNAUTHENTICATED" in {e["extensions"].get("code") for e in body["errors"]}
    _, read = await TokenStore(runtime.database).create(role=Role.READ, name="r")
    body = await post_gateway(url, 'mutation { pullSlice(name: "web") { id } }', read)
    assert "FORBIDDEN" in {e["extensions"].get("code") for e in body["errors"]}
    body = await post_gateway(url, "{ services { name } }", read)
    assert body.get("errors") is None, body

"""The admin API is closed by default: a token for every request, read or admin by method."""

from __future__ import annotations

import httpx
import pytest

from crossdock.core.tokens import Role, TokenStore
from tests.integration.webhooks.conftest import SECRET, Stack

pytestmark = pytest.mark.anyio

NEW_SOURCE = {"name": "gh", "provider": "github", "secrets": [SECRET]}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_without_a_valid_token_every_api_request_gets_401(stack: Stack) -> None:
    anonymous = [
        await stack.client.get("/api/sources"),
        await stack.client.post("/api/sources", json=NEW_SOURCE),
        await stack.client.delete("/api/sources/gh"),
        await stack.client.get("/api/deliveries", headers=_bearer("cdx_not-a-token")),
        await stack.client.get("/api/deliveries", headers={"authorization": "Basic eDp5"}),
    ]
    assert [r.status_code for r in anonymous] == [401] * 5
    assert anonymous[0].headers["www-authenticate"].startswith("Bearer")
    assert "crossdock admin token create" in anonymous[0].json()["error"]
    assert (await stack.api.get("/api/sources")).json() == {"sources": []}


async def test_a_read_token_may_get_but_not_write(stack: Stack) -> None:
    _, read = await stack.token(Role.READ, "dashboard")
    listed = await stack.client.get("/api/sources", headers=_bearer(read))
    created = await stack.client.post("/api/sources", json=NEW_SOURCE, headers=_bearer(read))
    removed = await stack.client.delete("/api/sources/gh", headers=_bearer(read))
    assert (listed.status_code, created.status_code, removed.status_code) == (200, 403, 403)
    assert "needs an admin token" in created.json()["error"]
    assert (await stack.api.post("/api/sources", json=NEW_SOURCE)).status_code == 201


async def test_a_revoked_token_is_refused_and_use_is_recorded(stack: Stack) -> None:
    tokens = TokenStore(stack.runtime.database)
    token, value = await stack.token(Role.ADMIN, "ci")
    assert token.last_used_at is None
    assert (await stack.client.get("/api/sources", headers=_bearer(value))).status_code == 200
    used = next(t for t in await tokens.list() if t.id == token.id)
    assert used.last_used_at is not None
    await tokens.revoke(token.id)
    refused = await stack.client.get("/api/sources", headers=_bearer(value))
    assert refused.status_code == 401
    assert "unknown or revoked" in refused.json()["error"]


async def test_the_api_description_and_the_receiver_need_no_token(stack: Stack) -> None:
    document = await stack.client.get("/api/openapi.json")
    assert document.status_code == 200
    assert document.json()["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    await stack.add_source("gh", "github", [SECRET])
    assert (await stack.send("gh", "github", b"{}", SECRET)).status_code == 202


async def test_with_an_admin_port_the_receiver_port_does_not_serve_the_api(
    stack: Stack,
) -> None:
    import asyncio
    import dataclasses

    from crossdock.core.server import bind, make_server
    from crossdock.webhooks.app import build_admin_app, build_app
    from crossdock.webhooks.settings import WebhooksSettings

    settings = dataclasses.replace(WebhooksSettings(source_cache_seconds=0.0), admin_port=0)
    public_sock, admin_sock = bind("127.0.0.1", 0, option="test"), bind("127.0.0.1", 0,
                                                                        option="test")
    servers = [make_server(build_app(stack.runtime, settings)),
               make_server(build_admin_app(stack.runtime))]
    tasks = [asyncio.create_task(server.serve(sockets=[sock]))
             for server, sock in zip(servers, (public_sock, admin_sock), strict=True)]
    while not all(server.started for server in servers):
        await asyncio.sleep(0.01)
    _, value = await stack.token(Role.READ)
    public = f"http://127.0.0.1:{public_sock.getsockname()[1]}"
    admin = f"http://127.0.0.1:{admin_sock.getsockname()[1]}"
    try:
        async with httpx.AsyncClient(timeout=10, headers=_bearer(value)) as client:
            on_public = await client.get(public + "/api/sources")
            on_admin = await client.get(admin + "/api/sources")
            receiver = await client.post(public + "/webhooks/nope", content=b"{}")
    finally:
        for server in servers:
            server.stop()
        await asyncio.gather(*tasks)
        public_sock.close()
        admin_sock.close()
    assert (on_public.status_code, on_admin.status_code) == (404, 200)
    assert receiver.status_code == 404
    assert receiver.json()["error"] == "no webhook source named 'nope'"

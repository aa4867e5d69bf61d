"""The organisation's JWTs open the admin graph and the webhooks admin API, with the role a
claim gives, beside the ``cdx_`` tokens; checked against a JWKS served on 127.0.0.1."""

from __future__ import annotations

import contextlib
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from crossdock.core.tokens import Role, TokenStore
from crossdock.webhooks.app import build_app
from crossdock.webhooks.settings import WebhooksSettings
from tests.integration.admin_graph.conftest import (
    Graph,
    post_gateway,
    serving_gateway,
    serving_graph,
)
from tests.integration.gateway.federation import Servers
from tests.integration.gateway.secured import AUDIENCE, ISSUER, JwksServer, SigningKey

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from crossdock.core.runtime import Runtime

pytestmark = pytest.mark.anyio

KEY = SigningKey("RS256", "people-1")
#: A key the identity provider never published, under the same kid.
FORGED = SigningKey("RS256", "people-1")
SERVICES = "{ services { name } }"
PULL = 'mutation { pullSlice(name: "web") { id } }'
NEW_SOURCE = {"name": "gh", "provider": "github", "secrets": ["a-secret-of-16-bytes-or-more"]}


@contextlib.asynccontextmanager
async def identity_provider(jwks: JwksServer) -> AsyncIterator[str]:
    """The URL of ``jwks`` served over HTTP."""
    servers = Servers()
    try:
        yield await servers.start(jwks) + "/jwks.json"
    finally:
        await servers.stop()


def jwt_settings(url: str) -> dict[str, Any]:
    return {"admin_jwt_jwks": (url,), "admin_jwt_issuer": ISSUER, "admin_jwt_audience": AUDIENCE}


@pytest.fixture
async def graph_and_api(database_url: str) -> AsyncIterator[tuple[Graph, httpx.AsyncClient]]:
    """The admin subgraphs and the webhooks app (with its admin API) of one runtime whose
    admin JWTs are checked against a JWKS on 127.0.0.1."""
    async with identity_provider(JwksServer(KEY)) as url, \
            serving_graph(database_url, **jwt_settings(url)) as graph:
        servers = Servers()
        api = await servers.start(build_app(graph.runtime, WebhooksSettings()))
        try:
            async with httpx.AsyncClient(base_url=api, timeout=20) as client:
                yield graph, client
        finally:
            await servers.stop()


async def add_slice(runtime: Runtime) -> None:
    async with runtime.database.transaction() as conn:
        await conn.execute("INSERT INTO gitslice_slices (name, upstream_url, upstream_branch,"
                           " slice_url, slice_branch) VALUES ('web', '/up.git', 'main',"
                           " '/s.git', 'main')")


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_a_jwt_with_the_read_role_queries_but_cannot_mutate_and_an_admin_one_can(
        graph_and_api: tuple[Graph, httpx.AsyncClient]) -> None:
    graph, _ = graph_and_api
    await add_slice(graph.runtime)
    read = KEY.token({"crossdock_role": "read"}, sub="ada")
    assert "webhooks" in {s["name"] for s in (await graph.data("core", SERVICES, token=read))
                      ["services"]}
    refused = await graph.post("gitslice", PULL, token=read)
    assert refused.status_code == 403
    assert codes(refused) == ["FORBIDDEN"]
    assert refused.json()["errors"][0]["message"] == (
        "the JWT of 'ada' has the read role; a mutation needs an admin token")
    admin = KEY.token({"crossdock_role": ["read", "admin"]})
    pulled = await graph.data("gitslice", PULL, token=admin)
    assert pulled["pullSlice"]["id"]
    # An OAuth scope grants a role too, the highest of what the token carries.
    scoped = KEY.token({"scope": "openid crossdock:admin"})
    assert (await graph.post("gitslice", PULL, token=scoped)).status_code == 200
    assert (await graph.post("gitslice", PULL,
                             token=KEY.token({"scope": "crossdock:read"}))).status_code == 403


async def test_a_valid_jwt_without_a_crossdock_role_is_forbidden(
        graph_and_api: tuple[Graph, httpx.AsyncClient]) -> None:
    graph, _ = graph_and_api
    for claims in ({}, {"crossdock_role": "owner"}, {"scope": "openid profile"},
                   {"crossdock_role": 7}):
        response = await graph.post("core", SERVICES, token=KEY.token(claims))
        assert response.status_code == 403, claims
        assert codes(response) == ["FORBIDDEN"]
        assert response.json()["errors"][0]["message"].startswith(
            "the token grants no crossdock role")


@pytest.mark.parametrize(("token", "why"), [
    (FORGED.token({"crossdock_role": "admin"}), "Signature verification failed"),
    (KEY.token({"crossdock_role": "admin"}, expires_in=-3600), "expired"),
    (KEY.token({"crossdock_role": "admin"}, iss="https://elsewhere.example.com/"),
     "Invalid issuer"),
    (KEY.token({"crossdock_role": "admin"}, aud="another-service"), "Invalid audience"),
    (SigningKey("ES256", "unknown").token({"crossdock_role": "admin"}), "Cannot find kid"),
    ("not-a-jwt", "not a valid JWT header"),
], ids=["signature", "expired", "issuer", "audience", "kid", "garbage"])
async def test_a_jwt_that_does_not_pass_is_unauthenticated_in_one_line(
        graph_and_api: tuple[Graph, httpx.AsyncClient], token: str, why: str) -> None:
    graph, api = graph_and_api
    response = await graph.post("core", SERVICES, token=token)
    assert response.status_code == 401
    assert codes(response) == ["UNAUTHENTICATED"]
    (error,) = response.json()["errors"]
    assert error["message"].startswith("the JWT is not valid: ")
    assert why in error["message"]
    assert "\n" not in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    refused = await api.get("/api/sources", headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert why in refused.json()["error"]


async def test_cdx_tokens_still_work_beside_jwts(
        graph_and_api: tuple[Graph, httpx.AsyncClient]) -> None:
    graph, api = graph_and_api
    assert (await graph.post("core", SERVICES, token="read")).status_code == 200
    refused = await graph.post("gitslice", PULL, token="read")
    assert refused.json()["errors"][0]["message"].startswith("token ")
    unknown = await graph.post("core", SERVICES, token="cdx_revoked-or-never-made")
    assert unknown.json()["errors"][0]["message"] == "the admin token is unknown or revoked"
    listed = await api.get("/api/sources", headers={"authorization": f"Bearer {graph.read}"})
    assert listed.status_code == 200


async def test_the_webhooks_admin_api_takes_the_same_jwts(
        graph_and_api: tuple[Graph, httpx.AsyncClient]) -> None:
    _, api = graph_and_api

    def bearer(claims: dict[str, Any]) -> dict[str, str]:
        return {"authorization": f"Bearer {KEY.token(claims, sub='ada')}"}

    read = bearer({"crossdock_role": "read"})
    assert (await api.get("/api/sources", headers=read)).json() == {"sources": []}
    created = await api.post("/api/sources", json=NEW_SOURCE, headers=read)
    assert created.status_code == 403
    assert created.json() == {
        "error": "the JWT of 'ada' has the read role; POST needs an admin token"}
    none = await api.get("/api/sources", headers=bearer({}))
    assert none.status_code == 403
    assert none.json()["error"].startswith("the token grants no crossdock role")
    admin = bearer({"crossdock_role": "admin"})
    assert (await api.post("/api/sources", json=NEW_SOURCE, headers=admin)).status_code == 201
    assert [s["name"] for s in (await api.get("/api/sources", headers=read)).json()["sources"]
            ] == ["gh"]


async def test_key_sets_that_cannot_be_read_answer_503_until_they_can(database_url: str) -> None:
    jwks = JwksServer(KEY)
    jwks.failing = True
    async with identity_provider(jwks) as url, \
            serving_graph(database_url, **jwt_settings(url)) as graph:
        token = KEY.token({"crossdock_role": "read"})
        down = await graph.post("core", SERVICES, token=token)
        assert down.status_code == 503
        assert codes(down) == ["SERVICE_UNAVAILABLE"]
        assert "cannot be read" in down.json()["errors"][0]["message"]
        # cdx tokens do not depend on the identity provider.
        assert (await graph.post("core", SERVICES, token="read")).status_code == 200
        jwks.failing = False
        assert (await graph.post("core", SERVICES, token=token)).status_code == 200
        fetches = jwks.fetches
        # Read once, the keys are kept: a failing refresh does not lock people out.
        jwks.failing = True
        for key_set in graph.runtime.admin_auth().jwt.ring.sets:  # type: ignore[union-attr]
            key_set.fetched_at = -1e9  # older than any poll interval
        assert (await graph.post("core", SERVICES, token=token)).status_code == 200
        assert jwks.fetches == fetches + 1


async def test_without_the_setting_a_jwt_is_an_unknown_token(graph: Graph) -> None:
    response = await graph.post("core", SERVICES, token=KEY.token({"crossdock_role": "admin"}))
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "the admin token is unknown or revoked"


async def test_through_the_gateway_with_its_jwt_plugin_the_subgraphs_judge_the_jwt(
        database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The packaged configuration's propagation of ``Authorization`` plus the gateway's own
    JWT check on the same key set, ``on_error: Continue`` so that ``cdx_`` tokens, which are
    no JWTs, still pass the gateway to be judged by the subgraphs."""
    jwks = JwksServer(KEY)
    async with identity_provider(jwks) as url:
        packaged = resources.files("crossdock.core.admin_graph").joinpath("gateway.yaml")
        config = tmp_path / "router.yaml"
        config.write_text(packaged.read_text() + (
            "authentication:\n  router:\n    jwt:\n      on_error: Continue\n"
            f"      jwks:\n        - url: {url}\n          issuer: {ISSUER}\n"))
        monkeypatch.setenv("CROSSDOCK_GATEWAY_CONFIG", str(config))
        async with serving_gateway(database_url, monkeypatch, tmp_path,
                                   **jwt_settings(url)) as (gateway, runtime):
            await add_slice(runtime)
            read = KEY.token({"crossdock_role": "read"})
            body = await post_gateway(gateway, "{ slices { name } services { name } }", read)
            assert body.get("errors") is None, body
            assert body["data"]["slices"] == [{"name": "web"}]
            body = await post_gateway(gateway, PULL, read)
            assert "FORBIDDEN" in {e["extensions"].get("code") for e in body["errors"]}
            body = await post_gateway(gateway, 'mutation { pullSlice(name: "web") { status } }',
                                      KEY.token({"crossdock_role": "admin"}))
            assert body.get("errors") is None, body
            assert body["data"]["pullSlice"]["status"] == "QUEUED"
            body = await post_gateway(gateway, SERVICES, FORGED.token({"crossdock_role": "admin"}))
            assert "UNAUTHENTICATED" in {e["extensions"].get("code") for e in body["errors"]}
            _, value = await TokenStore(runtime.database).create(role=Role.READ, name="r")
            body = await post_gateway(gateway, SERVICES, value)
            assert body.get("errors") is None, body

"""CORS over real HTTP: preflights answered, allowed origins marked, closed by default."""

from __future__ import annotations

import pytest
import yaml

from crossdock.gateway.config import GatewayConfig, parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

APP = "https://app.example.com"
QUERY = {"query": '{ product(upc: "1") { name } }'}
POLICY = parse_config(yaml.safe_load("""
cors:
  origins: [https://app.example.com]
  match_origins: ['^https://[a-z0-9-]+\\.preview\\.example\\.com$']
  allow_credentials: true
  allow_headers: [content-type, authorization]
  expose_headers: [x-request-id]
  methods: [GET, POST]
  max_age: 10m
"""))


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": method,
            "access-control-request-headers": "content-type"}


async def test_a_preflight_from_an_allowed_origin_is_answered_with_the_policy() -> None:
    async with running("shop", shop_subgraphs.build(), config=POLICY) as shop:
        for origin in (APP, "https://pr-12.preview.example.com"):
            response = await shop.client.options(shop.url + "/graphql",
                                                 headers=preflight(origin))
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == origin
            assert response.headers["access-control-allow-credentials"] == "true"
            assert response.headers["access-control-allow-methods"] == "GET, POST"
            assert response.headers["access-control-allow-headers"] == \
                "content-type, authorization"
            assert response.headers["access-control-max-age"] == "600"
            assert response.headers["vary"] == "origin"


@pytest.mark.parametrize(("origin", "method"), [
    ("https://evil.example.com", "POST"),
    ("https://app.example.com.evil.example.net", "POST"),
    (APP, "DELETE"),
])
async def test_a_preflight_from_another_origin_or_for_another_method_is_refused(
        origin: str, method: str) -> None:
    async with running("shop", shop_subgraphs.build(), config=POLICY) as shop:
        response = await shop.client.options(shop.url + "/graphql",
                                             headers=preflight(origin, method))
    assert response.status_code == 403
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_a_request_from_an_allowed_origin_is_marked_and_others_are_not() -> None:
    async with running("shop", shop_subgraphs.build(), config=POLICY) as shop:
        allowed = await shop.client.post(shop.url + "/graphql", json=QUERY,
                                         headers={"origin": APP})
        other = await shop.client.post(shop.url + "/graphql", json=QUERY,
                                       headers={"origin": "https://evil.example.com"})
    assert allowed.status_code == 200
    assert allowed.json()["data"] == {"product": {"name": "Table"}}
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-expose-headers"] == "x-request-id"
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


async def test_any_origin_gets_the_wildcard_and_asked_headers_are_allowed() -> None:
    config = parse_config(yaml.safe_load("cors: {allow_any_origin: true}"))
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        response = await shop.client.options(shop.url + "/graphql",
                                             headers=preflight("https://any.example.org"))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-headers"] == "content-type"
    assert response.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert "access-control-allow-credentials" not in response.headers


async def test_without_a_cors_key_no_response_carries_a_cors_header() -> None:
    async with running("shop", shop_subgraphs.build(), config=GatewayConfig()) as shop:
        response = await shop.client.post(shop.url + "/graphql", json=QUERY,
                                          headers={"origin": APP})
        asked = await shop.client.options(shop.url + "/graphql", headers=preflight(APP))
    assert response.status_code == 200
    for answer in (response, asked):
        assert not [name for name in answer.headers if name.startswith("access-control-")]

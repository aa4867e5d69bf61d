"""JWT authentication against a real JWKS endpoint, in front of real subgraphs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import textwrap
import time
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from tests.integration.gateway import secured
from tests.integration.gateway.federation import Federation, Servers, running
from tests.integration.gateway.secured import AUDIENCE, ISSUER, JwksServer, SigningKey

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio

ME = "{ me { name email } }"


@contextlib.asynccontextmanager
async def gateway(jwks: JwksServer, extra: str = "", *, poll: str = "60s", jwt: str = "",
                  source: str = "") -> AsyncIterator[tuple[Federation, str]]:
    """The secured federation behind a gateway that checks tokens against ``jwks``; ``jwt``
    and ``source`` are more lines under ``jwt:`` and under the key set's entry."""
    servers = Servers()
    try:
        url = await servers.start(jwks) + "/jwks.json"
        config = parse_config(yaml.safe_load(f"""
authentication:
  router:
    jwt:
      jwks:
        - url: {url}
          issuer: {ISSUER}
          audiences: [{AUDIENCE}]
          poll_interval: {poll}
{textwrap.indent(source, "          ")}
{textwrap.indent(jwt, "      ")}
{extra}
"""))
        async with running("secured", secured.build(), http1=True, config=config) as federation:
            yield federation, url
    finally:
        await servers.stop()


async def ask(federation: Federation, token: str | None, query: str = ME,
              header: str = "Bearer") -> tuple[int, dict[str, Any]]:
    headers = {"authorization": f"{header} {token}"} if token is not None else {}
    response = await federation.client.post(federation.url + "/graphql",
                                            json={"query": query}, headers=headers)
    return response.status_code, response.json()


ALGORITHMS = ["RS256", "RS512", "PS256", "PS384", "ES256", "ES384", "EdDSA", "HS256",
              "HS512"]


async def test_a_token_of_each_algorithm_family_is_accepted() -> None:
    keys = [SigningKey(algorithm, f"k-{algorithm}") for algorithm in ALGORITHMS]
    async with gateway(JwksServer(*keys)) as (federation, _):
        answers = {key.algorithm: await ask(federation, key.token()) for key in keys}
    expected = (200, {"data": {"me": {"name": "Ada", "email": "ada@example.com"}}})
    assert answers == dict.fromkeys(ALGORITHMS, expected)


async def test_a_token_that_does_not_pass_gets_401_and_no_subgraph_is_asked() -> None:
    key = SigningKey("RS256", "k1")
    impostor = SigningKey("ES256", "k1")  # the same kid, another key
    forged = {
        "expired": (key.token(expires_in=-120), "Signature has expired"),
        "not-yet-valid": (key.token(nbf=int(time.time()) + 600), "not yet valid"),
        "issuer": (key.token(iss="https://evil.example.com/"), "Invalid issuer"),
        "audience": (key.token(aud="someone-else"), "Invalid audience"),
        "signature": (_resigned(key, impostor), "Signature verification failed"),
        "unknown-kid": (key.token(headers={"kid": "nobody"}), "Cannot find kid: 'nobody'"),
        "alg-none": (_unsigned(key), "algorithm 'none' is not accepted"),
        "no-exp": (key.token(exp=None), "exp"),
    }
    async with gateway(JwksServer(key)) as (federation, _):
        answers = {name: await ask(federation, token) for name, (token, _) in forged.items()}
        asked = federation.subgraphs["accounts"].requests  # type: ignore[attr-defined]
    for name, (status, body) in answers.items():
        assert status == 401, (name, body)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "AUTH_ERROR"}, name
        assert forged[name][1] in error["message"], (name, error)
    assert asked == []


def _resigned(key: SigningKey, impostor: SigningKey) -> str:
    """``key``'s token with a signature that is not ``key``'s."""
    head, payload, _ = key.token().split(".")
    return f"{head}.{payload}.{impostor.token().split('.')[2]}"


def _unsigned(key: SigningKey) -> str:
    _, payload, _ = key.token().split(".")
    header = json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode()
    return base64.urlsafe_b64encode(header).rstrip(b"=").decode() + f".{payload}."


async def test_a_malformed_authorization_header_gets_400_in_the_routers_words() -> None:
    key = SigningKey("ES256", "k1")
    async with gateway(JwksServer(key)) as (federation, _):
        prefix, prefix_body = await ask(federation, key.token(), header="Token")
        garbage, garbage_body = await ask(federation, "not-a-jwt")
    assert prefix == 400
    assert prefix_body["errors"][0]["message"].endswith(
        "is not correctly formatted. prefix should be 'Bearer'")
    assert garbage == 400
    assert garbage_body["errors"][0]["message"].startswith(
        "'[REDACTED]' is not a valid JWT header")


async def test_a_request_without_a_token_goes_on_without_claims() -> None:
    async with gateway(JwksServer(SigningKey("RS256", "k1"))) as (federation, _):
        status, body = await ask(federation, None, "{ me { name } __typename }")
    assert status == 200
    assert body["data"] == {"me": None, "__typename": "Query"}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"


async def test_require_authentication_turns_away_a_request_without_a_token() -> None:
    key = SigningKey("RS256", "k1")
    extra = "authorization:\n  require_authentication: true\n"
    async with gateway(JwksServer(key), extra) as (federation, _):
        status, body = await ask(federation, None)
        ok, _ = await ask(federation, key.token())
    assert (status, ok) == (401, 200)
    assert body == {"errors": [{"message": "unauthenticated",
                                "extensions": {"code": "AUTH_ERROR"}}]}


async def test_a_rotated_key_is_found_by_a_refresh_on_its_unknown_kid_at_most_so_often(
) -> None:
    old, new = SigningKey("RS256", "2026-01"), SigningKey("ES256", "2026-02")
    jwks = JwksServer(old)
    async with gateway(jwks) as (federation, _):
        assert (await ask(federation, old.token()))[0] == 200
        fetched = jwks.fetches
        jwks.keys = [old, new]
        status, body = await ask(federation, new.token())
        assert status == 200, body
        assert jwks.fetches == fetched + 1
        # A made-up kid right after does not make the gateway ask the provider again.
        stranger = SigningKey("RS256", "made-up")
        assert (await ask(federation, stranger.token()))[0] == 401
        assert jwks.fetches == fetched + 1


async def test_the_keys_are_polled_and_kept_when_a_refresh_fails() -> None:
    key = SigningKey("EdDSA", "k1")
    jwks = JwksServer(key)
    async with gateway(jwks, poll="100ms") as (federation, _):
        jwks.failing = True
        fetched = jwks.fetches
        while jwks.fetches < fetched + 2:
            await asyncio.sleep(0.05)
        status, _ = await ask(federation, key.token())
    assert status == 200


async def test_keys_from_a_file_url_and_a_cookie_source(tmp_path: Path) -> None:
    key = SigningKey("HS384", "k1")
    config = secured.file_jwks_config(tmp_path, key,
                                      jwt_keys="sources: [{type: cookie, name: session}]")
    async with running("secured", secured.build(), http1=True, config=config) as federation:
        response = await federation.client.post(
            federation.url + "/graphql", json={"query": ME},
            headers={"cookie": f"theme=dark; session={key.token()}"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["name"] == "Ada"


@pytest.mark.parametrize(("jwt", "named"), [
    ({}, "authentication.router.jwt.jwks"),
    ({"jwks": [{"url": "ftp://idp/jwks.json"}]}, "authentication.router.jwt.jwks[0].url"),
    ({"jwks": [{"url": "file:///nonexistent/jwks.json"}]}, "cannot read"),
    ({"jwks": [{"url": "http://idp/jwks.json", "algorithms": ["none"]}]}, "algorithms"),
    ({"jwks": [{"url": "http://idp/jwks.json", "poll_interval": "soon"}]}, "poll_interval"),
    ({"jwks": [{"url": "http://idp/jwks.json"}], "header_value_prefix": "Bear er"},
     "header_value_prefix"),
    ({"jwks": [{"url": "http://idp/jwks.json"}], "on_error": "Ignore"}, "on_error"),
], ids=["no-jwks", "scheme", "file", "alg-none", "poll", "prefix", "on-error"])
def test_a_bad_jwt_setting_is_a_config_error_naming_its_key(jwt: dict[str, Any],
                                                            named: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config({"authentication": {"router": {"jwt": jwt}}})
    assert named in str(caught.value)


async def test_a_token_verified_before_is_checked_again_once_the_keys_change() -> None:
    key = SigningKey("RS256", "k1")
    jwks = JwksServer(key)
    async with gateway(jwks, poll="100ms") as (federation, _):
        token = key.token()
        first, _ = await ask(federation, token)
        again, _ = await ask(federation, token)
        jwks.keys = []  # the provider withdraws the key
        fetched = jwks.fetches
        while jwks.fetches < fetched + 2:
            await asyncio.sleep(0.05)
        withdrawn, body = await ask(federation, token)
    assert (first, again, withdrawn) == (200, 200, 401)
    assert "Cannot find kid: 'k1'" in body["errors"][0]["message"]


async def test_a_header_rule_sends_a_claim_of_the_token_to_the_subgraphs(tmp_path: Path) -> None:
    key = SigningKey("HS256", "k1")
    config = secured.file_jwks_config(tmp_path, key, more="""
headers:
  all:
    request:
      - insert: {name: x-user-id, from_claim: sub}
      - insert: {name: x-roles, from_claim: roles}
      - insert: {name: x-note, from_claim: note}
      - insert: {name: x-absent, from_claim: nothing}
""")
    async with running("secured", secured.build(), http1=True, config=config) as federation:
        token = key.token(roles=["reader", "editor"], note="two\nlines")
        status, _ = await ask(federation, token)
        anonymous, _ = await ask(federation, None, "{ me { name } __typename }")
        sent = federation.subgraphs["accounts"].headers  # type: ignore[attr-defined]
    assert (status, anonymous) == (200, 200)
    [signed_in] = sent  # the anonymous request left nothing for the subgraph
    assert signed_in["x-user-id"] == "u1"
    assert signed_in["x-roles"] == '["reader","editor"]'
    assert "x-note" not in signed_in  # a line break never goes into a header
    assert "x-absent" not in signed_in


def test_a_claim_cannot_be_a_response_header() -> None:
    with pytest.raises(ConfigError, match="from_claim is for request rules"):
        parse_config({"headers": {"all": {"response": [
            {"insert": {"name": "x-user", "from_claim": "sub"}}]}}})


async def test_on_error_continue_serves_a_bad_token_as_if_there_were_none() -> None:
    key = SigningKey("ES256", "k1")
    jwks = JwksServer(key)
    settings = "on_error: Continue\n"
    async with gateway(jwks, jwt=settings) as (federation, _):
        status, body = await ask(federation, key.token(expires_in=-600),
                                 "{ me { name } __typename }")
    assert status == 200
    assert body["data"] == {"me": None, "__typename": "Query"}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"


async def test_the_key_set_is_fetched_with_the_configured_headers() -> None:
    key = SigningKey("RS256", "k1")
    jwks = JwksServer(key)
    source = "headers:\n  - {name: x-api-key, value: s3cret}\n"
    async with gateway(jwks, source=source) as (federation, _):
        status, _ = await ask(federation, key.token())
    assert status == 200
    assert jwks.headers["x-api-key"] == "s3cret"

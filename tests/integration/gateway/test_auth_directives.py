"""@authenticated, @requiresScopes and @policy from the supergraph, enforced on real requests
to a real subgraph: what a caller may not see is removed before planning, answers null with
an UNAUTHORIZED_FIELD_OR_TYPE error at its path, and the rest is served."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from tests.integration.gateway import secured
from tests.integration.gateway.federation import Federation, running
from tests.integration.gateway.secured import SigningKey

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio

KEY = SigningKey("HS256", "k1")


def unauthorized(*path: str) -> dict[str, Any]:
    return {"message": "Unauthorized field or type", "path": list(path),
            "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE"}}


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, authorization: str = "") -> AsyncIterator[Federation]:
    config = secured.file_jwks_config(tmp_path, KEY, more=authorization)
    async with running("secured", secured.build(), http1=True, config=config) as federation:
        yield federation


async def ask(federation: Federation, query: str, claims: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {KEY.token(claims)}"} if claims is not None else {}
    response = await federation.client.post(federation.url + "/graphql",
                                            json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def asked(federation: Federation) -> list[str]:
    return [r["query"] for r in federation.subgraphs["accounts"].requests]  # type: ignore[attr-defined]


async def test_an_anonymous_caller_gets_null_and_an_error_where_authentication_is_required(
        tmp_path: Path) -> None:
    async with gateway(tmp_path) as federation:
        body = await ask(federation, "query Me { me { name email } __typename }")
        sent = asked(federation)
    assert body == {"errors": [unauthorized("me")],
                    "data": {"me": None, "__typename": "Query"}}
    assert sent == []  # nothing left for the subgraph


async def test_an_operation_left_with_nothing_answers_empty_data_and_every_error(
        tmp_path: Path) -> None:
    async with gateway(tmp_path) as federation:
        body = await ask(federation, "{ me { id } users { id } audit }")
        sent = asked(federation)
    assert body == {"data": {}, "errors": [unauthorized("me"), unauthorized("users"),
                                           unauthorized("audit")]}
    assert sent == []


async def test_scopes_are_checked_against_the_scope_claim_and_plans_are_kept_per_grant(
        tmp_path: Path) -> None:
    query = "{ me { name } users { name } }"
    async with gateway(tmp_path) as federation:
        without = await ask(federation, query, {"scope": "profile"})
        granted = await ask(federation, query, {"scope": "profile read:users"})
        again = await ask(federation, query, {"scope": "read:users email"})
        plans = [key for key in federation.gateway._plans if key[0] == query]
        sent = asked(federation)
    # users is [User!]!: its null reaches data, as the GraphQL spec says.
    assert without == {"errors": [unauthorized("users")], "data": None}
    assert granted == again == {"data": {"me": {"name": "Ada"},
                                         "users": [{"name": "Ada"}, {"name": "Alan"}]}}
    # One plan without users, one with: the two granted callers share theirs.
    assert len(plans) == 2
    assert sent == ["query {me {name}}", *["query {me {name} users {name}}"] * 2]


async def test_a_field_inside_a_fragment_is_removed_at_its_path(tmp_path: Path) -> None:
    query = """
      query Users { users { ...Card } }
      fragment Card on User { id name }
    """
    async with gateway(tmp_path) as federation:
        body = await ask(federation, query, {"scope": "read:users"})
    assert body["data"]["users"][0] == {"id": "u1", "name": "Ada"}


async def test_a_policy_is_decided_by_the_configured_hook(tmp_path: Path) -> None:
    secured.ASKED.clear()
    hook = "authorization:\n  policies: tests.integration.gateway.secured:decide_later\n"
    async with gateway(tmp_path, hook) as federation:
        admin = await ask(federation, "{ audit }", {"role": "admin"})
        visitor = await ask(federation, "{ audit }", {"role": "visitor"})
        nobody = await ask(federation, "{ me { name } }", {"role": "visitor"})
    assert admin == {"data": {"audit": ["u1 signed in"]}}
    assert visitor == {"data": {}, "errors": [unauthorized("audit")]}
    assert nobody == {"data": {"me": {"name": "Ada"}}}
    # The hook is asked only about the policies an operation names.
    assert [frozenset({"admin"}), frozenset({"admin"})] == secured.ASKED


async def test_without_a_hook_every_policy_is_refused(tmp_path: Path) -> None:
    async with gateway(tmp_path) as federation:
        body = await ask(federation, "{ audit }", {"role": "admin"})
    assert body == {"data": {}, "errors": [unauthorized("audit")]}


async def test_errors_response_disabled_removes_fields_without_saying_so(
        tmp_path: Path) -> None:
    config = "authorization:\n  directives:\n    errors: {response: disabled}\n"
    async with gateway(tmp_path, config) as federation:
        body = await ask(federation, "{ me { name } __typename }")
    assert body == {"data": {"me": None, "__typename": "Query"}}


async def test_directives_turned_off_serve_the_guarded_fields_to_anyone(
        tmp_path: Path) -> None:
    config = "authorization:\n  directives: {enabled: false}\n"
    async with gateway(tmp_path, config) as federation:
        body = await ask(federation, "{ me { email } audit }")
    assert body == {"data": {"me": {"email": "ada@example.com"}, "audit": ["u1 signed in"]}}


@pytest.mark.parametrize(("section", "named"), [
    ({"require_authentication": "yes"}, "authorization.require_authentication"),
    ({"directives": {"enabled": 1}}, "authorization.directives.enabled"),
    ({"directives": {"errors": {"response": "loud"}}}, "errors.response"),
    ({"policies": "nomodule"}, "authorization.policies"),
    ({"policies": "tests.integration.gateway.secured:nothing"}, "no callable nothing"),
], ids=["require", "enabled", "response", "hook-form", "hook-missing"])
def test_a_bad_authorization_setting_is_a_config_error_naming_its_key(
        section: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config({"authorization": section})
    assert named in str(caught.value)


def test_router_keys_crossdock_does_not_read_are_reported() -> None:
    config = parse_config({"authorization": {"directives": {
        "dry_run": True, "errors": {"response": "extensions", "log": False}}}})
    assert set(config.unsupported) >= {"authorization.directives.dry_run",
                                       "authorization.directives.errors.response",
                                       "authorization.directives.errors.log"}

"""Sources added, changed and removed through the webhooks admin subgraph over real HTTP: a
source added by the graph verifies a signed delivery at the real receiver, its limits change
part by part, its removal says how many deliveries went, and each refusal is one line."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crossdock.webhooks import operations
from crossdock.webhooks.app import build_app
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.settings import WebhooksSettings
from tests.integration.admin_graph.conftest import Graph
from tests.integration.gateway.federation import Servers

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"
FIELDS = "name provider secrets maxBodyBytes retry { maxTries baseSeconds maxSeconds }"
ADD = f"""
mutation ($name: String!, $provider: String!, $secrets: [String!]!, $options: JSON,
          $maxBodyBytes: Int, $retry: RetryInput) {{
  addSource(name: $name, provider: $provider, secrets: $secrets, options: $options,
            maxBodyBytes: $maxBodyBytes, retry: $retry) {{ {FIELDS} }}
}}"""
UPDATE = f"""
mutation ($name: String!, $maxBodyBytes: Int, $retry: RetryInput) {{
  updateSource(name: $name, maxBodyBytes: $maxBodyBytes, retry: $retry) {{ {FIELDS} }}
}}"""
REMOVE = """mutation ($name: String!, $confirm: String!) {
  removeSource(name: $name, confirm: $confirm) }"""


@pytest.fixture
async def receiver(graph: Graph) -> AsyncIterator[str]:
    """The real receiver on the graph's database, seeing a source's change at once."""
    servers = Servers()
    try:
        yield await servers.start(build_app(graph.runtime, WebhooksSettings(
            source_cache_seconds=0.0)))
    finally:
        await servers.stop()


async def _send(url: str, source: str, provider: str, secret: str, body: bytes,
                options: dict[str, Any] | None = None) -> httpx.Response:
    headers = make_provider(provider, options).sign(
        body, secret, delivery_id=str(uuid.uuid4()), event_type="push")
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(f"{url}/webhooks/{source}", content=body, headers=headers)


async def _refusal(graph: Graph, query: str, variables: dict[str, Any]) -> str:
    response = await graph.post("webhooks", query, variables)
    body = response.json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "\n" not in error["message"]
    assert SECRET not in error["message"]
    assert "short-one" not in error["message"]
    return str(error["message"])


async def test_an_added_source_verifies_a_signed_delivery_at_the_receiver(
        graph: Graph, receiver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_SECRET", "the-secret-the-variable-holds")
    assert (await graph.data("webhooks", "{ providers }")) == {
        "providers": ["github", "gitlab", "bitbucket", "standard", "hmac"]}
    added = (await graph.data("webhooks", ADD, {
        "name": "ci", "provider": "github", "secrets": [SECRET, "env:CI_SECRET"],
        "maxBodyBytes": 4096, "retry": {"maxTries": 3}}))["addSource"]
    assert added == {"name": "ci", "provider": "github",
                     "secrets": ["literal:***", "env:CI_SECRET"], "maxBodyBytes": 4096,
                     "retry": {"maxTries": 3, "baseSeconds": 5.0, "maxSeconds": 3600.0}}
    assert (await _send(receiver, "ci", "github", SECRET, b'{"ref": "main"}')).status_code \
        == 202
    assert (await _send(receiver, "ci", "github", "the-secret-the-variable-holds",
                        b"{}")).status_code == 202
    assert (await _send(receiver, "ci", "github", "some-other-secret-value!",
                        b'{"ref": "main"}')).status_code == 401
    assert (await _send(receiver, "ci", "github", SECRET, b"{}" + b" " * 5000)).status_code \
        == 413
    hmac = (await graph.data("webhooks", ADD, {
        "name": "shop", "provider": "hmac", "secrets": [SECRET],
        "options": {"header": "X-Shop-Signature"}}))["addSource"]
    assert hmac["maxBodyBytes"] == 25 * 1024 * 1024
    assert (await _send(receiver, "shop", "hmac", SECRET, b"{}",
                        {"header": "X-Shop-Signature"})).status_code == 202
    rows = await graph.sql("SELECT source, status FROM webhooks_deliveries ORDER BY id")
    assert [(row["source"], row["status"]) for row in rows] == [
        ("ci", "received"), ("ci", "received"), ("ci", "rejected"), ("ci", "rejected"),
        ("shop", "received")]


async def test_update_changes_only_the_fields_given(graph: Graph, receiver: str) -> None:
    await graph.data("webhooks", ADD, {"name": "ci", "provider": "github", "secrets": [SECRET]})
    changed = (await graph.data("webhooks", UPDATE, {
        "name": "ci", "retry": {"maxTries": 4, "maxSeconds": 60}}))["updateSource"]
    assert changed["retry"] == {"maxTries": 4, "baseSeconds": 5.0, "maxSeconds": 60.0}
    assert changed["maxBodyBytes"] == 25 * 1024 * 1024
    changed = (await graph.data("webhooks", UPDATE, {
        "name": "ci", "maxBodyBytes": 100}))["updateSource"]
    assert changed["retry"] == {"maxTries": 4, "baseSeconds": 5.0, "maxSeconds": 60.0}
    assert changed["maxBodyBytes"] == 100
    assert changed["secrets"] == ["literal:***"]
    assert (await _send(receiver, "ci", "github", SECRET, b"{}" + b" " * 200)).status_code \
        == 413
    (shown,) = (await graph.data("webhooks", f"{{ sources {{ {FIELDS} retryMaxTries }} }}"))[
        "sources"]
    assert shown["retry"]["maxTries"] == shown["retryMaxTries"] == 4


async def test_remove_needs_the_name_typed_and_counts_the_deliveries(graph: Graph,
                                                                     receiver: str) -> None:
    await graph.data("webhooks", ADD, {"name": "ci", "provider": "github", "secrets": [SECRET]})
    await graph.data("webhooks", ADD, {"name": "other", "provider": "gitlab",
                                       "secrets": [SECRET]})
    for _ in range(3):
        assert (await _send(receiver, "ci", "github", SECRET, b"{}")).status_code == 202
    assert (await _send(receiver, "other", "gitlab", SECRET, b"{}")).status_code == 202
    message = await _refusal(graph, REMOVE, {"name": "ci", "confirm": "c"})
    assert "type the source's name" in message
    assert (await graph.data("webhooks", REMOVE, {"name": "ci", "confirm": "ci"})) == {
        "removeSource": 3}
    rows = await graph.sql("SELECT source FROM webhooks_deliveries")
    assert [row["source"] for row in rows] == ["other"]
    assert (await _send(receiver, "ci", "github", SECRET, b"{}")).status_code == 404
    assert "no webhook source named 'ci'" in await _refusal(
        graph, REMOVE, {"name": "ci", "confirm": "ci"})


@pytest.mark.parametrize(("query", "variables", "said"), [
    (ADD, {"name": "dup", "provider": "github", "secrets": [SECRET]}, "exists already"),
    (ADD, {"name": "x", "provider": "svn", "secrets": [SECRET]}, "unknown provider 'svn'"),
    (ADD, {"name": "x", "provider": "github", "secrets": ["short-one"]}, "at least 16 bytes"),
    (ADD, {"name": "x", "provider": "github", "secrets": []}, "at least one"),
    (ADD, {"name": "x", "provider": "standard", "secrets": [SECRET]}, "whsec_"),
    (ADD, {"name": "x", "provider": "github", "secrets": ["env:NOT A NAME"]},
     "does not name an environment variable"),
    (ADD, {"name": "no/slash", "provider": "github", "secrets": [SECRET]},
     "invalid source name"),
    (ADD, {"name": "x", "provider": "github", "secrets": [SECRET], "options": {"a": 1}},
     "takes no options"),
    (ADD, {"name": "x", "provider": "hmac", "secrets": [SECRET], "options": [1]},
     "must be a JSON object"),
    (ADD, {"name": "x", "provider": "github", "secrets": [SECRET], "maxBodyBytes": 0},
     "max_body_bytes must be from 1"),
    (ADD, {"name": "x", "provider": "github", "secrets": [SECRET],
           "retry": {"maxTries": 0}}, "max_tries must be a whole number from 1"),
    (ADD, {"name": "x", "provider": "github", "secrets": [SECRET],
           "retry": {"baseSeconds": 60, "maxSeconds": 10}}, "must not be less than"),
    (UPDATE, {"name": "dup", "retry": {"baseSeconds": -1}}, "positive number of seconds"),
    (UPDATE, {"name": "dup", "maxBodyBytes": -5}, "max_body_bytes must be from 1"),
    (UPDATE, {"name": "nope", "retry": {"maxTries": 2}}, "no webhook source named 'nope'"),
    (REMOVE, {"name": "dup", "confirm": "DUP"}, "type the source's name"),
    (REMOVE, {"name": "a\x00", "confirm": "a\x00"}, "cannot contain NUL"),
    (UPDATE, {"name": "a\x00", "maxBodyBytes": 10}, "cannot contain NUL"),
    (ADD, {"name": "a\x00", "provider": "github", "secrets": [SECRET]}, "invalid source name"),
    (ADD, {"name": "x", "provider": "hmac", "secrets": [SECRET],
           "options": {"header": "X-A\x00"}}, "a value the database cannot take"),
    (ADD, {"name": "x", "provider": "github", "secrets": ["a-secret-with-a-\x00-inside"]},
     "cannot contain NUL"),
])
async def test_each_refusal_is_one_bad_user_input_line(
        graph: Graph, query: str, variables: dict[str, Any], said: str) -> None:
    await operations.add_source(graph.runtime.database, operations.build_source(
        "dup", "github", [SECRET]))
    assert said in await _refusal(graph, query, variables)
    rows = await graph.sql("SELECT name, max_body_bytes, retry_max_tries FROM webhooks_sources")
    assert rows == [{"name": "dup", "max_body_bytes": 25 * 1024 * 1024, "retry_max_tries": 8}]


@pytest.mark.parametrize(("query", "variables"), [
    (ADD, {"name": "x", "provider": "github", "secrets": [SECRET]}),
    (UPDATE, {"name": "dup", "maxBodyBytes": 10}),
    (REMOVE, {"name": "dup", "confirm": "dup"}),
])
async def test_a_read_token_changes_no_source(graph: Graph, query: str,
                                             variables: dict[str, Any]) -> None:
    await operations.add_source(graph.runtime.database, operations.build_source(
        "dup", "github", [SECRET]))
    response = await graph.post("webhooks", query, variables, token="read")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rows = await graph.sql("SELECT name, max_body_bytes FROM webhooks_sources")
    assert rows == [{"name": "dup", "max_body_bytes": 25 * 1024 * 1024}]

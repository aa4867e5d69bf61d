"""A delivery's repository: recorded by the worker from the bodies of signed deliveries that
came through the real receiver, read as ``Delivery.repository`` and, per repository, as
``Repository.deliveries`` pages, joined through the gateway with GitSlice's slices."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from crossdock.webhooks import operations
from crossdock.webhooks.app import build_app
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.settings import WebhooksSettings
from tests.integration.admin_graph.browser import workers
from tests.integration.admin_graph.conftest import Graph, StatementCounter
from tests.integration.admin_graph.test_gitslice_runs import Gateway, slice_world
from tests.integration.gateway.federation import Servers

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"
#: A Standard Webhooks source's secret is a key of its own form.
STANDARD_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def secret(provider: str) -> str:
    return STANDARD_SECRET if provider == "standard" else SECRET


def github(repository: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps({"ref": "refs/heads/main", "repository": repository, **fields}).encode()


async def send(runtime: Runtime, deliveries: list[tuple[str, str, bytes]]) -> list[int]:
    """POST each ``(source, event, body)``, signed, to the real receiver and wait until the
    workers (running) have processed every one; their ids, in order."""
    providers = {row["name"]: row["provider"] for row in await _rows(
        runtime, "SELECT name, provider FROM webhooks_sources")}
    servers = Servers()
    ids = []
    try:
        receiver = await servers.start(build_app(runtime, WebhooksSettings()))
        async with httpx.AsyncClient(timeout=20) as client:
            for source, event, body in deliveries:
                provider = providers[source]
                headers = make_provider(provider, None).sign(
                    body, secret(provider), delivery_id=str(uuid.uuid4()), event_type=event)
                answer = await client.post(f"{receiver}/webhooks/{source}", content=body,
                                           headers=headers)
                assert answer.status_code == 202, answer.text
                ids.append(int(answer.json()["id"]))
            for _ in range(400):
                waiting = await _rows(runtime, "SELECT id FROM webhooks_deliveries"
                                      " WHERE status <> 'processed'")
                if not waiting:
                    break
                await asyncio.sleep(0.05)
            assert not waiting
    finally:
        await servers.stop()
    return ids


async def _rows(runtime: Runtime, query: str) -> list[dict[str, Any]]:
    async with runtime.database.connection() as conn:
        return await (await conn.execute(query)).fetchall()


async def add_sources(runtime: Runtime, *pairs: tuple[str, str]) -> None:
    for name, provider in pairs:
        await operations.add_source(runtime.database, operations.build_source(
            name, provider, [secret(provider)]))


async def test_each_forge_s_delivery_gets_its_repository_as_gitslice_spells_it(
        graph: Graph) -> None:
    """GitHub's html_url (else clone_url, else full_name), GitLab's project.web_url,
    Bitbucket's links.html.href; a sender that names none, or names garbage, gets none."""
    runtime = graph.runtime
    await add_sources(runtime, ("hub", "github"), ("lab", "gitlab"), ("bucket", "bitbucket"),
                   ("plain", "standard"))
    async with workers(runtime):
        ids = await _each_forge(runtime)
    found = await graph.data("webhooks", "{ deliveries(first: 20) { nodes { id repository"
                             " { url } } } }")
    by_id = {int(node["id"]): node["repository"] for node in found["deliveries"]["nodes"]}
    assert [(by_id[key] or {}).get("url") for key in ids] == [
        "github.com/acme/app", "github.com/acme/app", "github.com/acme/lib",
        "gitlab.example.com/group/sub/project", "bitbucket.org/team/repo",
        "bitbucket.org/team/named", None, None, None]
    stored = await graph.sql("SELECT repository FROM webhooks_deliveries WHERE id = %s",
                             (ids[0],))
    assert stored == [{"repository": "github.com/acme/app"}]


async def _each_forge(runtime: Runtime) -> list[int]:
    return await send(runtime, [
        ("hub", "push", github({"html_url": "https://GitHub.com/Acme/App",
                                "clone_url": "https://github.com/elsewhere/other.git"})),
        ("hub", "push", github({"clone_url": "git@github.com:acme/app.git"})),
        ("hub", "issues", github({"full_name": "Acme/Lib"})),
        ("lab", "Push Hook", json.dumps({"object_kind": "push", "project": {
            "web_url": "https://gitlab.example.com/group/sub/project"}}).encode()),
        ("bucket", "repo:push", json.dumps({"repository": {
            "full_name": "team/repo",
            "links": {"html": {"href": "https://bitbucket.org/team/repo"}}}}).encode()),
        ("bucket", "repo:push", json.dumps({"repository": {"full_name": "team/named"}}).encode()),
        ("hub", "ping", github({"html_url": 42})),
        ("hub", "ping", json.dumps({"zen": "no repository"}).encode()),
        ("plain", "thing", json.dumps({"repository": {"html_url": "https://x.org/a"}}).encode()),
    ])


async def test_a_repository_s_deliveries_come_in_pages_newest_first_without_n_plus_1(
        graph: Graph, statements: StatementCounter) -> None:
    runtime = graph.runtime
    await add_sources(runtime, ("hub", "github"))
    app = github({"html_url": "https://github.com/acme/app"})
    lib = github({"html_url": "https://github.com/acme/lib"})
    async with workers(runtime):
        ids = await send(runtime, [("hub", "push", app), ("hub", "push", lib),
                                   ("hub", "push", app), ("hub", "push", app),
                                   ("hub", "push", lib)])
    page = """query ($after: String) { _entities(representations: [
        {__typename: "Repository", url: "https://github.com/Acme/App.git"},
        {__typename: "Repository", url: "github.com/acme/lib"},
        {__typename: "Repository", url: "github.com/acme/none"}]) {
      ... on Repository { url deliveries(first: 2, after: $after) {
        nodes { id repository { url } } pageInfo { hasNextPage endCursor } } } } }"""
    statements.count = 0
    first = (await graph.data("webhooks", page))["_entities"]
    # The token, then one statement for the three repositories' pages.
    assert statements.count == 2
    app_page, lib_page, none_page = (found["deliveries"] for found in first)
    assert [found["url"] for found in first] == [
        "github.com/acme/app", "github.com/acme/lib", "github.com/acme/none"]
    assert [int(node["id"]) for node in app_page["nodes"]] == [ids[3], ids[2]]
    assert app_page["nodes"][0]["repository"] == {"url": "github.com/acme/app"}
    assert app_page["pageInfo"]["hasNextPage"] is True
    assert [int(node["id"]) for node in lib_page["nodes"]] == [ids[4], ids[1]]
    assert lib_page["pageInfo"]["hasNextPage"] is False
    assert none_page == {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    one = """query ($after: String) {
      _entities(representations: [{__typename: "Repository", url: "github.com/acme/app"}]) {
        ... on Repository { deliveries(first: 2, after: $after) {
          nodes { id } pageInfo { hasNextPage } } } } }"""
    rest = (await graph.data("webhooks", one, {"after": app_page["pageInfo"]["endCursor"]}))
    assert rest["_entities"] == [{"deliveries": {"nodes": [{"id": str(ids[0])}],
                                                 "pageInfo": {"hasNextPage": False}}}]
    for cursor in ("not-a-cursor", "WyJ4IiwgMV0=", "WzEsIDJd"):  # ["x", 1], [1, 2]
        response = await graph.post("webhooks", one, {"after": cursor})
        (error,) = response.json()["errors"]
        assert error["message"] == "the cursor is not one this list gave"
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_through_the_gateway_a_repository_joins_its_slices_and_its_deliveries(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    """A signed GitHub push to a slice's upstream: the delivery names the repository, the
    repository (GitSlice's entity) lists the slice and the delivery, and the delivery the
    sync run of the pull it started."""
    url, runtime = gateway
    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name="t")
    graph = Gateway(url, token)
    upstream, _, _ = await slice_world(tmp_path, runtime)
    await add_sources(runtime, ("hub", "github"))
    async with workers(runtime):
        (delivery_id,) = await send(runtime, [
            ("hub", "push", github({"clone_url": f"file://{upstream}"}))])
        for _ in range(400):  # the pull the delivery queued
            runs = (await graph.data('{ syncRuns(slice: "web") { nodes { state } } }'))[
                "syncRuns"]["nodes"]
            if runs and runs[0]["state"] != "running":
                break
            await asyncio.sleep(0.05)
    key = str(upstream).lower().removesuffix(".git")
    data = await graph.data("""query ($id: ID!, $url: String!) {
      delivery(id: $id) { repository { url slices { name } }
                          syncRuns { kind state commits } }
      repository(url: $url) { url slices { name upstreamBranch }
        deliveries(first: 5) { nodes { id eventType status } } } }""",
                            {"id": str(delivery_id), "url": f"file://{upstream}"})
    assert data["delivery"] == {
        "repository": {"url": key, "slices": [{"name": "web"}]},
        "syncRuns": [{"kind": "pull", "state": "succeeded", "commits": 2}]}
    assert data["repository"] == {
        "url": key, "slices": [{"name": "web", "upstreamBranch": "main"}],
        "deliveries": {"nodes": [{"id": str(delivery_id), "eventType": "push",
                                  "status": "PROCESSED"}]}}

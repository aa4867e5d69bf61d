"""Every GitSlice run knows the webhook deliveries that started it, through the real receiver,
bus and worker over real git repositories: a ``/git-slice push`` comment the in-package forge
sends signed makes a push run that names the comment's delivery, and two upstream pushes whose
pulls fold into one waiting pull both list that pull's run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.gitslice.forge.fake import FakeForge
from crossdock.webhooks import operations
from crossdock.webhooks.app import build_app
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.settings import WebhooksSettings
from tests.integration.admin_graph.browser import workers
from tests.integration.admin_graph.test_gitslice_runs import (  # noqa: F401 (the forge fixture)
    RUN,
    SECRET,
    Gateway,
    _gateway,
    forge,
    forge_slice,
    runtime_rows,
    slice_world,
)
from tests.integration.gateway.federation import Servers
from tests.integration.gitslice.forge.conftest import ALICE, BOB
from tests.integration.gitslice.forge.seed import commit

pytestmark = pytest.mark.anyio

DELIVERY_RUNS = """query ($id: ID!) { delivery(id: $id) { eventType syncRuns { id kind } } }"""


@contextlib.asynccontextmanager
async def receiving(runtime: Runtime) -> AsyncIterator[str]:
    """The webhooks receiver on 127.0.0.1 with GitHub source ``hub``; its URL."""
    await operations.add_source(runtime.database, operations.build_source(
        "hub", "github", [SECRET]))
    servers = Servers()
    try:
        yield f"{await servers.start(build_app(runtime, WebhooksSettings()))}/webhooks/hub"
    finally:
        await servers.stop()


async def until(check: Any, what: str) -> Any:
    """``check()``'s first true result, tried for up to 20 s."""
    for _ in range(400):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen")


async def settled_runs(graph: Gateway, slice_name: str, count: int) -> list[dict[str, Any]]:
    """The slice's ``count`` runs, newest first, once none is running."""
    query = ("query ($slice: String!) { syncRuns(slice: $slice) { nodes { "
             f"{RUN} deliveries {{ id }} }} }} }}")

    async def done() -> list[dict[str, Any]] | None:
        runs = (await graph.data(query, {"slice": slice_name}))["syncRuns"]["nodes"]
        ended = len(runs) >= count and all(run["state"] != "running" for run in runs)
        return list(runs) if ended else None

    return list(await until(done, f"{count} finished runs of {slice_name}"))


async def test_two_pushes_folded_into_one_waiting_pull_both_list_its_run(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    """The second push's pull takes the place of none (the first is waiting): the run names
    the first delivery as its own, lists both, and each delivery lists the run."""
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, _, _ = await slice_world(tmp_path, runtime)
    body = json.dumps({"ref": "refs/heads/main",
                       "repository": {"clone_url": f"file://{upstream}"}}).encode()
    github = make_provider("github", None)
    async with receiving(runtime) as receiver, httpx.AsyncClient(timeout=20) as client:
        # The bus's handlers run, GitSlice's jobs wait: the first pull is still waiting.
        async with workers(runtime, queues=["events"]):
            for _ in range(2):
                answer = await client.post(receiver, content=body, headers=github.sign(
                    body, SECRET, delivery_id=str(uuid.uuid4()), event_type="push"))
                assert answer.status_code in (200, 202), answer.text

            async def both_handled() -> bool:
                waiting = await runtime_rows(
                    runtime, "SELECT count(*) AS n FROM gitslice_waiting_deliveries")
                return bool(waiting[0]["n"] == 2)

            await until(both_handled, "both pushes' handlers")
        pulls = await runtime_rows(runtime, "SELECT status FROM procrastinate_jobs"
                                            " WHERE task_name = 'gitslice.pull'")
        assert pulls == [{"status": "todo"}]
        async with workers(runtime):
            (run,) = await settled_runs(graph, "web", 1)
    first, second = [str(row["id"]) for row in await runtime_rows(
        runtime, "SELECT id FROM webhooks_deliveries ORDER BY id")]
    assert (run["kind"], run["state"], run["commits"]) == ("pull", "succeeded", 2)
    assert run["delivery"] == {"id": first}
    assert run["deliveries"] == [{"id": first}, {"id": second}]
    for delivery in (first, second):
        found = (await graph.data(DELIVERY_RUNS, {"id": delivery}))["delivery"]
        assert found == {"eventType": "push", "syncRuns": [{"id": run["id"], "kind": "pull"}]}
    # Taken by the run: the next pull starts with none waiting.
    assert await runtime_rows(runtime, "SELECT * FROM gitslice_waiting_deliveries") == []


async def test_git_slice_comments_sent_by_the_forge_make_runs_and_copies_that_name_them(
        forge: FakeForge, gateway: tuple[str, Runtime]) -> None:  # noqa: F811 (the fixture)
    """The slice repository's webhook goes to the receiver signed: a ``push`` comment's push
    run names the comment's delivery, a ``pull-issue`` comment's run and the issue copies it
    made name the second comment's, and each delivery lists its run and its copies."""
    _, runtime = gateway
    graph = await _gateway(gateway)
    _, slice_repo = await forge_slice(forge, runtime)
    async with receiving(runtime) as receiver, workers(runtime), httpx.AsyncClient(
            base_url=forge.api_url, headers={"Authorization": f"token {BOB}"},
            timeout=20) as bob:
        made = await bob.post("/repos/bob/app-slice/hooks", json={
            "name": "web", "active": True, "events": ["issue_comment"],
            "config": {"url": receiver, "content_type": "json", "secret": SECRET}})
        assert made.status_code == 201, made.text
        await graph.settled(
            (await graph.data('mutation { pullSlice(name: "app") { id } }'))["pullSlice"]["id"])
        commit(slice_repo.path, "feature", {"app.py": "print(2)\n"}, start="main",
               message="print two")
        opened = await bob.post("/repos/bob/app-slice/pulls", json={
            "title": "Print two", "head": "feature", "base": "main"})
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]
        await _command(forge, bob, number, '/git-slice push -m "Print two"')
        push, _ = await settled_runs(graph, "app", 2)
        async with httpx.AsyncClient(base_url=forge.api_url, timeout=20,
                                     headers={"Authorization": f"token {ALICE}"}) as alice:
            issue = (await alice.post("/repos/alice/app/issues", json={
                "title": "Crash", "body": "It crashes."})).json()["number"]
            said = await alice.post(f"/repos/alice/app/issues/{issue}/comments",
                                    json={"body": "On start."})
            assert said.status_code == 201, said.text
        await _command(forge, bob, number, f"/git-slice pull-issue {issue}")
        pulled, *_ = await settled_runs(graph, "app", 3)
        replied = await until(lambda: _replies(bob, number, 2), "both commands' replies")
    assert "Pushed `feature`" in replied[0]
    assert f"Copied upstream issue #{issue}" in replied[1]
    # The commands' comments; crossdock's replies come as deliveries too, and run nothing.
    first, second = (str(row["delivery_id"]) for row in await runtime_rows(
        runtime, "SELECT delivery_id FROM gitslice_commands ORDER BY comment_id"))
    assert (push["kind"], push["state"], push["upstreamRef"]) == ("push", "succeeded",
                                                                  "dev/feature")
    assert (push["delivery"], push["deliveries"]) == ({"id": first}, [{"id": first}])
    assert (pulled["kind"], pulled["state"]) == ("pull_issue", "succeeded")
    assert (pulled["delivery"], pulled["deliveries"]) == ({"id": second}, [{"id": second}])
    found = (await graph.data("""query ($first: ID!, $second: ID!) {
      first: delivery(id: $first) { eventType syncRuns { id kind } copies { kind } }
      second: delivery(id: $second) { syncRuns { id kind }
        copies { sliceName kind upstreamId delivery { id eventType } } } }""",
                              {"first": first, "second": second}))
    assert found["first"] == {"eventType": "issue_comment",
                              "syncRuns": [{"id": push["id"], "kind": "push"}], "copies": []}
    assert found["second"]["syncRuns"] == [{"id": pulled["id"], "kind": "pull_issue"}]
    copies = found["second"]["copies"]
    assert sorted(copy["kind"] for copy in copies) == ["issue", "issue_comment"]
    assert {(copy["sliceName"], str(copy["delivery"]["id"]), copy["delivery"]["eventType"])
            for copy in copies} == {("app", second, "issue_comment")}
    assert str(issue) in {copy["upstreamId"] for copy in copies}


async def _command(served: FakeForge, client: httpx.AsyncClient, number: int,
                   line: str) -> None:
    """Comment ``line`` on slice pull request ``number`` and let the forge send its webhook."""
    said = await client.post(f"/repos/bob/app-slice/issues/{number}/comments",
                             json={"body": line})
    assert said.status_code == 201, said.text
    await served.deliverer.drain()


async def _replies(client: httpx.AsyncClient, number: int, count: int) -> list[str]:
    """The crossdock replies on slice pull request ``number``, once there are ``count``."""
    comments = (await client.get(f"/repos/bob/app-slice/issues/{number}/comments")).json()
    found = [comment["body"] for comment in comments
             if "crossdock:git-slice-command" in comment["body"]]
    return found if len(found) >= count else []

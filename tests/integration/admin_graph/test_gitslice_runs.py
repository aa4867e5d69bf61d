"""GitSlice's sync runs through the gateway, as ``crossdock up`` wires it, over real git
repositories: a push queued from the graph really pushes and its job tells what it did, a run
lists the commits it mapped, a repository knows its slices, and a pull queued by a signed
GitHub webhook names the delivery (and the delivery its pull)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from crossdock.gitslice.config import ForgeConfig, SliceConfig
from crossdock.gitslice.forge.fake import FakeForge, serve
from crossdock.gitslice.forge.fake.state import Repo
from crossdock.gitslice.jobs import syncer_for
from crossdock.webhooks import operations
from crossdock.webhooks.app import build_app
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.settings import WebhooksSettings
from tests.integration.admin_graph.browser import workers
from tests.integration.gateway.federation import Servers
from tests.integration.gitslice.forge.conftest import ALICE, BOB, exchange_errors
from tests.integration.gitslice.forge.seed import commit
from tests.integration.gitslice.forgeworld import DEV
from tests.integration.gitslice.gitrepos import WorkRepo, bare, git

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"
SETTLED = {"SUCCEEDED", "FAILED", "CANCELLED", "ABORTED"}
RUN = ("id kind state upstreamRef sliceRef upstreamSha sliceSha commits error"
       " commitList { upstreamSha sliceSha } delivery { id } job { id }")


class Gateway:
    """The gateway's GraphQL URL with an admin token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=20) as client:
            response = await client.post(
                self.url, json={"query": query, "variables": variables or {}},
                headers={"authorization": f"Bearer {self.token}"})
        return dict(response.json())

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.post(query, variables)
        assert body.get("errors") is None, body
        return body["data"]

    async def settled(self, job_id: str) -> dict[str, Any]:
        """The job, with its sync runs, once it has ended."""
        query = f"query ($id: ID!) {{ job(id: $id) {{ status syncRuns {{ {RUN} }} }} }}"
        for _ in range(400):
            job = (await self.data(query, {"id": job_id}))["job"]
            if job["status"] in SETTLED:
                return dict(job)
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} did not end: {job}")


async def slice_world(tmp_path: Path, runtime: Runtime) -> tuple[Path, Path, WorkRepo]:
    """Upstream with two commits, slice ``web`` of it (not pulled yet), a clone of the slice;
    returns the upstream, the slice repository and the clone."""
    upstream, slice_repo = bare(tmp_path / "upstream.git"), bare(tmp_path / "slice.git")
    work = WorkRepo(tmp_path / "work", upstream)
    work.commit("first", {"README.md": "hello"})
    work.commit("second", {"README.md": "hello again"})
    work.push()
    await syncer_for(runtime).init(SliceConfig(
        name="web", upstream_url=str(upstream), upstream_branch="main",
        slice_url=str(slice_repo), slice_branch="main"))
    return upstream, slice_repo, WorkRepo(tmp_path / "dev", slice_repo)


async def _gateway(gateway: tuple[str, Runtime]) -> Gateway:
    url, runtime = gateway
    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name="t")
    return Gateway(url, token)


async def test_a_pull_job_lists_its_run_with_the_commits_it_mapped_and_a_reindex_takes_them(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, _, _ = await slice_world(tmp_path, runtime)
    async with workers(runtime):
        pulled = await graph.settled(
            (await graph.data('mutation { pullSlice(name: "web") { id } }'))["pullSlice"]["id"])
        (run,) = pulled["syncRuns"]
        assert (pulled["status"], run["kind"], run["state"], run["commits"]) == \
            ("SUCCEEDED", "pull", "succeeded", 2)
        assert run["delivery"] is None
        mapped = {(row["upstreamSha"], row["sliceSha"]) for row in run["commitList"]}
        heads = git(upstream, "rev-list", "main").split()
        assert {pair[0] for pair in mapped} == set(heads)
        (looked_up,) = (await graph.data(
            'query ($sha: [String!]) { commitMap(slice: "web", upstreamShas: $sha)'
            " { upstreamSha sliceSha } }", {"sha": [heads[0]]}))["commitMap"]
        assert (looked_up["upstreamSha"], looked_up["sliceSha"]) in mapped
        one = await graph.data('{ syncRuns(slice: "web") { nodes { commitList(first: 1)'
                               " { upstreamSha } } } }")
        assert len(one["syncRuns"]["nodes"][0]["commitList"]) == 1

        reindex = (await graph.data('mutation { reindexSlice(name: "web") { id } }'))[
            "reindexSlice"]["id"]
        reindexed = await graph.settled(reindex)
    (again,) = reindexed["syncRuns"]
    assert again["kind"] == "reindex"
    assert {(row["upstreamSha"], row["sliceSha"]) for row in again["commitList"]} == mapped
    # The entries are the reindex's now; the pull's run keeps its count.
    runs = (await graph.data(f"{{ recentSyncRuns(first: 5) {{ nodes {{ {RUN} }} }} }}"))[
        "recentSyncRuns"]["nodes"]
    assert [(found["kind"], found["commits"], len(found["commitList"])) for found in runs] == \
        [("reindex", 2, 2), ("pull", 2, 0)]
    assert runs[0]["job"] == {"id": reindex}


async def test_a_push_queued_from_the_graph_pushes_upstream_and_its_job_shows_the_run(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, _, dev = await slice_world(tmp_path, runtime)
    push = """mutation ($branch: String!, $pr: Boolean) {
      pushSlice(name: "web", branch: $branch, message: "feat: b", raisePr: $pr) { id task } }"""
    async with workers(runtime):
        await graph.settled(
            (await graph.data('mutation { pullSlice(name: "web") { id } }'))["pullSlice"]["id"])
        dev.fetch()
        dev.checkout("feature", create=True, start="origin/main")
        work = dev.commit("work", {"b.txt": "2"})
        dev.push("feature")
        queued = (await graph.data(push, {"branch": "feature"}))["pushSlice"]
        assert queued["task"] == "gitslice.push"
        pushed = await graph.settled(queued["id"])
        refused = await graph.settled(
            (await graph.data(push, {"branch": "nowhere"}))["pushSlice"]["id"])
    (run,) = pushed["syncRuns"]
    assert git(upstream, "log", "-1", "--format=%s", "feature") == "feat: b"
    assert (run["kind"], run["state"], run["sliceRef"], run["upstreamRef"], run["commits"],
            run["error"]) == ("push", "succeeded", "feature", "feature", 1, None)
    assert run["upstreamSha"] == git(upstream, "rev-parse", "feature")
    assert run["sliceSha"] == work
    assert run["commitList"] == []
    # A push of a branch the slice lacks: the job ends, its run failed and says why.
    (failed,) = refused["syncRuns"]
    assert refused["status"] == "SUCCEEDED"
    assert (failed["kind"], failed["state"]) == ("push", "failed")
    assert "nowhere" in failed["error"]
    # Refused before anything is queued: no forge to raise a pull request on, no branch.
    body = await graph.post(push, {"branch": "feature", "pr": True})
    assert body["errors"][0]["message"] == (
        "slice 'web' has no forge repositories to raise a pull request on (set them with "
        "`crossdock slice init --forge`)")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await graph.post(push, {"branch": " "})
    assert body["errors"][0]["message"] == "give the slice branch to push"


async def test_a_repository_knows_the_slices_cut_from_it_and_into_it(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, slice_repo, _ = await slice_world(tmp_path, runtime)
    data = await graph.data("""query ($up: String!, $down: String!) {
      slices { name upstream { url slices { name } } sliceRepository { url } }
      up: repository(url: $up) { url slices { name } }
      down: repository(url: $down) { slices { name } }
      none: repository(url: "https://github.com/acme/elsewhere") { url slices { name } } }""",
                            {"up": f"FILE://{upstream}/", "down": str(slice_repo)})
    # The key: no scheme, case or ".git" (the repositories are upstream.git and slice.git).
    up, down = str(upstream).lower().removesuffix(".git"), str(slice_repo).removesuffix(".git")
    (found,) = data["slices"]
    assert found["upstream"] == {"url": up, "slices": [{"name": "web"}]}
    assert found["sliceRepository"] == {"url": down.lower()}
    assert data["up"] == {"url": up, "slices": [{"name": "web"}]}
    assert data["down"] == {"slices": [{"name": "web"}]}
    assert data["none"] == {"url": "github.com/acme/elsewhere", "slices": []}


async def test_a_pull_queued_by_a_signed_github_push_names_its_delivery_and_back(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    """The webhook goes through the receiver, the bus and GitSlice's trigger; the sync run
    names the delivery (read in the webhooks subgraph) and the delivery its sync run."""
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, _, _ = await slice_world(tmp_path, runtime)
    await operations.add_source(runtime.database, operations.build_source(
        "hub", "github", [SECRET]))
    body = json.dumps({"ref": "refs/heads/main",
                       "repository": {"clone_url": f"file://{upstream}"}}).encode()
    headers = make_provider("github", None).sign(body, SECRET, delivery_id=str(uuid.uuid4()),
                                                  event_type="push")
    servers = Servers()
    try:
        receiver = await servers.start(build_app(runtime, WebhooksSettings()))
        async with workers(runtime), httpx.AsyncClient(timeout=20) as client:
            answer = await client.post(f"{receiver}/webhooks/hub", content=body,
                                       headers=headers)
            assert answer.status_code in (200, 202), answer.text
            query = f'{{ syncRuns(slice: "web") {{ nodes {{ {RUN} }} }} }}'
            for _ in range(400):
                runs = (await graph.data(query))["syncRuns"]["nodes"]
                if runs and runs[0]["state"] != "running":
                    break
                await asyncio.sleep(0.05)
    finally:
        await servers.stop()
    (run,) = runs
    assert (run["kind"], run["state"], run["commits"]) == ("pull", "succeeded", 2)
    (delivery,) = await runtime_rows(runtime, "SELECT id FROM webhooks_deliveries")
    assert run["delivery"] == {"id": str(delivery["id"])}
    both = await graph.data("""query ($id: ID!) {
      syncRuns(slice: "web") { nodes { delivery { id source eventType status } } }
      delivery(id: $id) { source syncRuns { id kind } } }""", {"id": str(delivery["id"])})
    assert both["syncRuns"]["nodes"][0]["delivery"] == {
        "id": str(delivery["id"]), "source": "hub", "eventType": "push",
        "status": "PROCESSED"}
    assert both["delivery"] == {"source": "hub", "syncRuns": [{"id": run["id"],
                                                                "kind": "pull"}]}


async def runtime_rows(runtime: Runtime, query: str) -> list[dict[str, Any]]:
    async with runtime.database.connection() as conn:
        return await (await conn.execute(query)).fetchall()


@pytest.fixture
async def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeForge]:
    """The in-package forge with alice's upstream ``alice/app`` (``dev`` may write) and bob's
    slice ``bob/app-slice``; GitSlice's settings act as ``dev`` upstream and bob on the slice.
    Set before the ``gateway`` fixture's runtime reads them (ask for it first)."""
    monkeypatch.setenv("CROSSDOCK_GITSLICE_UPSTREAM_TOKEN", DEV)
    monkeypatch.setenv("CROSSDOCK_GITSLICE_UPSTREAM_USERNAME", "dev")
    monkeypatch.setenv("CROSSDOCK_GITSLICE_SLICE_TOKEN", BOB)
    async with serve(tmp_path / "forge") as served:
        state = served.state
        for login, token in (("alice", ALICE), ("bob", BOB), ("dev", DEV)):
            state.add_user(login, token)
        state.create_repo(state.user("alice"), "app", private=True).collaborators["dev"] = \
            "write"
        state.create_repo(state.user("bob"), "app-slice", private=True)
        yield served
        errors = exchange_errors(served)
    assert not errors, "\n".join(errors[:20])


async def forge_slice(forge: FakeForge, runtime: Runtime) -> tuple[Repo, Repo]:
    """Slice ``app`` of the forge's ``alice/app`` (one commit) into ``bob/app-slice``, pushed
    upstream to ``dev/<branch>``; returns both repositories."""
    state = forge.state
    upstream = state.repo("alice", "app", viewer=state.user("alice"))
    slice_repo = state.repo("bob", "app-slice", viewer=state.user("bob"))
    commit(upstream.path, "main", {"app.py": "print(1)\n"}, message="base")
    await syncer_for(runtime).init(SliceConfig(
        name="app", upstream_url=f"{forge.origin}/alice/app.git",
        slice_url=f"{forge.origin}/bob/app-slice.git", push_branch_template="dev/<branch_name>",
        forge=ForgeConfig(api_url=f"{forge.origin}/api/v3", upstream_repo="alice/app",
                          slice_repo="bob/app-slice")))
    return upstream, slice_repo


async def test_a_push_with_raise_pr_opens_the_upstream_pull_request_its_run_links(
        forge: FakeForge, gateway: tuple[str, Runtime]) -> None:
    _, runtime = gateway
    graph = await _gateway(gateway)
    upstream, slice_repo = await forge_slice(forge, runtime)
    async with workers(runtime):
        await graph.settled(
            (await graph.data('mutation { pullSlice(name: "app") { id } }'))["pullSlice"]["id"])
        commit(slice_repo.path, "feature", {"app.py": "print(2)\n"}, start="main",
               message="print two")
        job = await graph.settled((await graph.data(
            'mutation { pushSlice(name: "app", branch: "feature", message: "Print two",'
            " raisePr: true) { id } }"))["pushSlice"]["id"])
    (pull,) = [issue for issue in upstream.issues.values() if issue.pull is not None]
    runs = {run["kind"]: run for run in job["syncRuns"]}
    assert (runs["push"]["state"], runs["raise_pr"]["state"]) == ("succeeded", "succeeded")
    assert runs["push"]["upstreamRef"] == "dev/feature"
    link = (await graph.data("query ($id: ID!) { syncRun(id: $id) { pullLink { upstreamPr"
                             " upstreamUrl state } } }", {"id": runs["push"]["id"]}))
    found = link["syncRun"]["pullLink"]
    assert (found["upstreamPr"], found["state"]) == (pull.number, "open")
    assert found["upstreamUrl"].endswith(f"/alice/app/pull/{pull.number}")

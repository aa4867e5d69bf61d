"""Events from the webhooks service become pull and push jobs, one at a time per slice."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog.testing

from crossdock.core.errors import ConfigError
from crossdock.core.repos import normalize_url
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.gitslice.service import service

from .conftest import World, drain
from .gitrepos import bare, git

pytestmark = pytest.mark.anyio


async def test_an_upstream_push_event_pulls_and_a_comment_pushes(
    world: World, runtime: Runtime
) -> None:
    from crossdock.gitslice.jobs import syncer_for

    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(runtime).init(world.config(command_users=("octocat",)))
    await runtime.bus.publish("github.push", {"payload": {
        "ref": "refs/heads/main", "repository": {"clone_url": f"file://{world.upstream}"}}})
    await runtime.bus.publish("github.push", {"payload": {
        "ref": "refs/heads/other", "repository": {"clone_url": f"file://{world.upstream}"}}})
    rows = await drain(runtime)
    pulls = [row for row in rows if row["task_name"] == "gitslice.pull"]
    assert [(row["status"], row["lock"]) for row in pulls] == [("succeeded", "slice:demo")]
    assert "Upstream-Commit" in git(world.slice, "log", "-1", "--format=%B", "main")

    world.dev.fetch()
    world.dev.checkout("feature", create=True, start="origin/main")
    world.dev.commit("work", {"b.txt": "2"})
    world.dev.push("feature")
    await runtime.bus.publish("github.issue_comment", {"payload": {
        "action": "created",
        "comment": {"id": 7, "body": '/git-slice push -m "feat: b" -b feature',
                    "user": {"login": "OctoCat"}},
        "issue": {"number": 3, "pull_request": {}},
        "repository": {"clone_url": f"file://{world.slice}"}}})
    await drain(runtime)
    assert git(world.upstream, "log", "-1", "--format=%s", "feature") == "feat: b"


@pytest.mark.parametrize("allowed", [(), ("octocat",)])
async def test_a_comment_command_from_a_user_not_allowed_is_refused_and_logged(
    world: World, runtime: Runtime, allowed: tuple[str, ...],
) -> None:
    """Comment commands are off until a slice names its command users; others are refused."""
    from crossdock.gitslice.jobs import syncer_for

    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(runtime).init(world.config(command_users=allowed))
    await syncer_for(runtime).pull("demo")
    world.dev.fetch()
    world.dev.checkout("feature", create=True, start="origin/main")
    world.dev.commit("work", {"b.txt": "2"})
    world.dev.push("feature")
    with structlog.testing.capture_logs() as logs:
        await runtime.bus.publish("github.issue_comment", {"payload": {
            "action": "created",
            "comment": {"id": 8, "body": '/git-slice push -m "feat: b" -f -b feature',
                        "user": {"login": "mallory"}},
            "issue": {"number": 3, "pull_request": {}},
            "repository": {"clone_url": f"file://{world.slice}"}}})
        await drain(runtime)
    assert "feature" not in git(world.upstream, "branch", "--format=%(refname:short)")
    refusals = [log for log in logs if log["event"] == "slice_command_refused"]
    assert [(log["slice"], log["user"]) for log in refusals] == [("demo", "mallory")]


def test_repository_urls_are_understood_in_every_spelling() -> None:
    assert normalize_url("git@github.com:Org/Repo.git") == "github.com/org/repo"
    assert normalize_url("https://x:y@github.com/org/repo/") == "github.com/org/repo"


async def test_up_in_demo_mode_makes_and_pulls_a_demo_slice(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.demo = True
    async with service.up(runtime) as listeners:  # type: ignore[misc]
        assert listeners == []
    demo = tmp_path / "data" / "demo" / "slice.git"
    files = git(demo, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert "README.md" in files
    assert not any(name.startswith("internal/") for name in files)
    async with service.up(runtime):  # a second start reuses the demo and pulls nothing new
        pass
    assert git(demo, "rev-list", "--count", "main") == "1"


def test_a_bad_gitslice_setting_stops_a_runtime_when_it_is_made(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker reads GitSlice's settings once, at start, not at its first job."""
    monkeypatch.setenv("CROSSDOCK_GITSLICE_PROBE_TIMEOUT", "-1")
    with pytest.raises(ConfigError, match="CROSSDOCK_GITSLICE_PROBE_TIMEOUT"):
        Runtime.create(CoreSettings(data_dir=tmp_path), database_url, services=[service])


def _push_event(world: World) -> dict[str, object]:
    return {"payload": {"ref": "refs/heads/main",
                        "repository": {"clone_url": f"file://{world.upstream}"}}}


async def test_ten_upstream_pushes_at_once_make_one_pull_per_slice(
    world: World, runtime: Runtime
) -> None:
    """Pushes that come while a pull waits are served by it (its queueing lock), and the queue
    refusing one slice's second pull does not keep the next slice's from being deferred."""
    from crossdock.gitslice.jobs import syncer_for

    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(runtime).init(world.config())
    await syncer_for(runtime).init(world.config(name="twin",
                                                slice_url=str(bare(world.tmp / "twin.git"))))
    for _ in range(10):
        await runtime.bus.publish("github.push", _push_event(world))
    rows = await drain(runtime, concurrency=1)
    pulls = [row for row in rows if row["task_name"] == "gitslice.pull"]
    assert sorted((row["args"]["slice_name"], row["status"]) for row in pulls) == \
        [("demo", "succeeded"), ("twin", "succeeded")]
    assert all(row["status"] == "succeeded" for row in rows)


async def test_a_due_periodic_pull_pulls_once_and_then_waits_its_interval(
    world: World, runtime: Runtime
) -> None:
    from crossdock.gitslice.jobs import PERIODIC_PULL_TASK, syncer_for

    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(runtime).init(world.config(pull_interval=300))
    await syncer_for(runtime).init(world.config(name="idle",
                                                slice_url=str(bare(world.tmp / "idle.git"))))
    await runtime.jobs.defer(PERIODIC_PULL_TASK, timestamp=0)
    rows = await drain(runtime)
    assert [(row["task_name"], row["args"]) for row in rows
            if row["task_name"] == "gitslice.pull"] == [("gitslice.pull", {"slice_name": "demo"})]
    assert "Upstream-Commit" in git(world.slice, "log", "-1", "--format=%B", "main")
    await runtime.jobs.defer(PERIODIC_PULL_TASK, timestamp=60)
    rows = await drain(runtime)
    assert len([row for row in rows if row["task_name"] == "gitslice.pull"]) == 1


@pytest.mark.parametrize(("action", "pulls"), [("opened", 1), ("synchronize", 1),
                                                ("reopened", 1), ("edited", 0)])
async def test_a_slice_pull_request_with_new_commits_pulls(
    world: World, runtime: Runtime, action: str, pulls: int
) -> None:
    from crossdock.gitslice.jobs import syncer_for

    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(runtime).init(world.config())
    await runtime.bus.publish("github.pull_request", {"payload": {
        "action": action, "number": 1, "pull_request": {"number": 1, "merged": False},
        "repository": {"clone_url": f"file://{world.slice}"}}})
    rows = await drain(runtime)
    assert len([row for row in rows if row["task_name"] == "gitslice.pull"]) == pulls


async def test_a_reindex_job_rebuilds_a_cleared_commit_map_from_the_trailers(
    world: World, runtime: Runtime
) -> None:
    from crossdock.gitslice.jobs import REINDEX_TASK, syncer_for
    from crossdock.gitslice.store import SliceStore

    world.work.commit("base", {"a.txt": "1"})
    world.work.commit("more", {"a.txt": "2"})
    world.work.push()
    syncer = syncer_for(runtime)
    await syncer.init(world.config())
    await syncer.pull("demo")
    store = SliceStore(runtime.database)
    mapped = await store.count("demo")
    assert mapped == 2
    await store.clear_map("demo")
    await runtime.jobs.defer(REINDEX_TASK, lock="slice:demo", slice_name="demo")
    rows = await drain(runtime)
    assert [row["status"] for row in rows if row["task_name"] == REINDEX_TASK] == ["succeeded"]
    assert await store.count("demo") == mapped

"""HTTP remotes with a token: it reaches git, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog.testing

from crossdock.core.database import Database
from crossdock.core.runtime import Runtime
from crossdock.gitslice.config import Credentials
from crossdock.gitslice.credentials import Side, StoredCredential
from crossdock.gitslice.errors import GitAuthError, SliceConfigError
from crossdock.gitslice.jobs import PULL_TASK
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

from .conftest import World, drain
from .gitrepos import git
from .httpgit import GitHTTPServer

pytestmark = pytest.mark.anyio

TOKEN = "tok-SECRET-4f9d1c"


def _everything_on_disk(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


async def test_pull_and_push_over_http_with_a_token_that_stays_secret(
    world: World, database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.work.commit("base", {"a.txt": "1", "secret.env": "SECRET"})
    world.work.push()
    data = tmp_path / "data"
    syncer = Syncer(SliceStore(database), data_dir=data,
                    credentials=Credentials(upstream_token=TOKEN, slice_token=TOKEN))
    with GitHTTPServer(world.tmp, TOKEN) as server:
        await syncer.init(world.config(upstream_url=f"{server.url}/upstream.git",
                                       slice_url=f"{server.url}/slice.git",
                                       ignores=("secret.env",)))
        outcome = await syncer.pull("demo")
        assert git(world.slice, "rev-parse", "main") == outcome.slice_head
        world.dev.fetch()
        world.dev.checkout("feature", create=True, start="origin/main")
        world.dev.commit("feat: b", {"b.txt": "2"})
        world.dev.push("feature")
        plan = await syncer.push("demo", PushRequest(branch="feature", message="feat: b"))
        assert git(world.upstream, "rev-parse", "feature") == plan.commit
        assert any("git-receive-pack" in path for path in server.requests)
        status = await syncer.status("demo")
    assert status["pending_upstream_commits"] == 0
    config = (data / "demo.git" / "config").read_text()
    assert "remote" not in config
    assert TOKEN.encode() not in _everything_on_disk(data)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err


async def test_a_wrong_token_fails_with_a_redacted_error(
    world: World, database: Database, tmp_path: Path
) -> None:
    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    wrong = "tok-WRONG-77aa"
    right = Syncer(SliceStore(database), data_dir=tmp_path / "data",
                   credentials=Credentials(upstream_token=TOKEN, slice_token=TOKEN))
    syncer = Syncer(SliceStore(database), data_dir=tmp_path / "data",
                    credentials=Credentials(upstream_token=wrong, slice_token=wrong))
    with GitHTTPServer(world.tmp, TOKEN) as server:
        config = world.config(upstream_url=f"{server.url}/upstream.git",
                              slice_url=f"{server.url}/slice.git")
        with pytest.raises(SliceConfigError) as refused:
            await syncer.init(config)
        assert "cannot be reached" in str(refused.value)
        assert wrong not in str(refused.value)
        await right.init(config)
        with pytest.raises(GitAuthError) as caught:
            await syncer.pull("demo")
    assert wrong not in str(caught.value)
    assert "git fetch failed" in str(caught.value)
    assert "refused the credentials" in str(caught.value)
    status = await syncer.status("demo", fetch=False)
    assert status["last_run"]["state"] == "failed"
    assert wrong not in str(status["last_run"]["error"])


async def test_a_url_with_an_embedded_token_is_refused_before_it_is_stored(
    world: World, syncer: Syncer
) -> None:
    url = f"https://user:{TOKEN}@example.test/repo.git"
    with pytest.raises(SliceConfigError) as caught:
        await syncer.init(world.config(upstream_url=url))
    assert TOKEN not in str(caught.value)


async def test_a_pull_job_whose_token_is_refused_fails_at_once_and_is_not_retried(
    world: World, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trying again with the same token cannot help: the job logs the refusal and ends."""
    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    monkeypatch.setenv("REVOKED_TOKEN", "tok-REVOKED-77aa")
    syncer = Syncer(SliceStore(runtime.database), data_dir=tmp_path / "data",
                    credentials=Credentials(upstream_token=TOKEN, slice_token=TOKEN))
    with GitHTTPServer(world.tmp, TOKEN) as server:
        await syncer.init(world.config(upstream_url=f"{server.url}/upstream.git",
                                       slice_url=f"{server.url}/slice.git"))
        await syncer.set_credential("demo", StoredCredential(
            side=Side.UPSTREAM, kind="token", secret="env:REVOKED_TOKEN"))
        await runtime.jobs.defer(PULL_TASK, lock="slice:demo", slice_name="demo")
        with structlog.testing.capture_logs() as logs:
            rows = await drain(runtime)
    pulls = [row for row in rows if row["task_name"] == PULL_TASK]
    assert [(row["status"], row["attempts"]) for row in pulls] == [("succeeded", 1)]
    [refused] = [log for log in logs if log["event"] == "slice_pull_refused"]
    assert "refused the credentials" in refused["reason"]
    assert "tok-REVOKED" not in refused["reason"]

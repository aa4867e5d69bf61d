"""The forge's repositories over git's smart HTTP protocol (the real ``git http-backend``),
with GitHub's token auth: clone and push with a token, refused without one."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import anyio
import pytest

from crossdock.gitslice.forge.fake import FakeForge

from .conftest import ALICE, BOB
from .seed import commit

pytestmark = pytest.mark.anyio

ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "",
       "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
       "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.test",
       "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.test"}


async def run_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git in a thread: the forge answers on this test's event loop."""
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                              check=False, timeout=60)
    return await anyio.to_thread.run_sync(run)


def url(forge: FakeForge, repo: str, token: str | None = None) -> str:
    host = forge.origin.removeprefix("http://")
    auth = f"x-access-token:{token}@" if token else ""
    return f"http://{auth}{host}/{repo}.git"


def a_repo(forge: FakeForge, *, private: bool) -> Path:
    repo = forge.state.create_repo(forge.state.user("alice"), "hello", private=private)
    commit(repo.path, "main", {"README.md": "hello\n"})
    return repo.path


async def test_a_private_repository_clones_with_a_token_and_not_without(
    forge: FakeForge, tmp_path: Path
) -> None:
    bare = a_repo(forge, private=True)
    refused = await run_git(tmp_path, "clone", url(forge, "alice/hello"), "anonymous")
    assert refused.returncode != 0
    assert not (tmp_path / "anonymous" / "README.md").exists()
    wrong = await run_git(tmp_path, "clone", url(forge, "alice/hello", "ghp_wrong"), "wrong")
    assert wrong.returncode != 0
    cloned = await run_git(tmp_path, "clone", url(forge, "alice/hello", ALICE), "mine")
    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "mine" / "README.md").read_text() == "hello\n"
    head = await run_git(tmp_path / "mine", "rev-parse", "HEAD")
    assert head.stdout.strip() == subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "main"], capture_output=True, text=True,
        check=True).stdout.strip()


async def test_a_public_repository_clones_without_a_token_but_not_with_a_wrong_one(
    forge: FakeForge, tmp_path: Path
) -> None:
    a_repo(forge, private=False)
    cloned = await run_git(tmp_path, "clone", url(forge, "alice/hello"), "anyone")
    assert cloned.returncode == 0, cloned.stderr
    # A token sent up front (as crossdock sends it, in a header) must be a valid one.
    header = "Authorization: Basic " + base64.b64encode(b"x:ghp_revoked").decode()
    wrong = await run_git(tmp_path, "-c", f"http.extraHeader={header}", "clone",
                          url(forge, "alice/hello"), "wrong")
    assert wrong.returncode != 0
    assert not (tmp_path / "wrong" / "README.md").exists()


async def test_a_push_needs_a_token_with_write_access(forge: FakeForge, tmp_path: Path) -> None:
    bare = a_repo(forge, private=False)
    work = tmp_path / "work"
    assert (await run_git(tmp_path, "clone", url(forge, "alice/hello"), "work")).returncode == 0
    (work / "new.txt").write_text("new\n")
    await run_git(work, "add", "new.txt")
    await run_git(work, "commit", "-m", "New")
    before = subprocess.run(["git", "-C", str(bare), "rev-parse", "main"], capture_output=True,
                            text=True, check=True).stdout
    anonymous = await run_git(work, "push", url(forge, "alice/hello"), "HEAD:main")
    assert anonymous.returncode != 0
    stranger = await run_git(work, "push", url(forge, "alice/hello", BOB), "HEAD:main")
    assert stranger.returncode != 0
    assert "denied to bob" in stranger.stderr or "403" in stranger.stderr
    unchanged = subprocess.run(["git", "-C", str(bare), "rev-parse", "main"],
                               capture_output=True, text=True, check=True).stdout
    assert unchanged == before
    pushed = await run_git(work, "push", url(forge, "alice/hello", ALICE), "HEAD:main")
    assert pushed.returncode == 0, pushed.stderr
    after = subprocess.run(["git", "-C", str(bare), "show", "main:new.txt"],
                           capture_output=True, text=True, check=True).stdout
    assert after == "new\n"
    forge.state.repo("alice", "hello").collaborators["bob"] = "write"
    (work / "bob.txt").write_text("bob\n")
    await run_git(work, "add", "bob.txt")
    await run_git(work, "commit", "-m", "Bob")
    assert (await run_git(work, "push", url(forge, "alice/hello", BOB),
                          "HEAD:main")).returncode == 0


async def test_pushing_to_a_pull_requests_head_branch_updates_it(
    forge: FakeForge, tmp_path: Path
) -> None:
    bare = a_repo(forge, private=False)
    commit(bare, "feature", {"a.txt": "1\n"}, start="main")
    repo = forge.state.repo("alice", "hello")
    issue = forge.state.open_pull(repo, forge.state.user("alice"), title="F", head="feature",
                                  base="main", body=None, draft=False)
    work = tmp_path / "work"
    await run_git(tmp_path, "clone", "--branch", "feature", url(forge, "alice/hello"), "work")
    (work / "a.txt").write_text("2\n")
    await run_git(work, "commit", "-am", "More")
    pushed = await run_git(work, "push", url(forge, "alice/hello", ALICE), "HEAD:feature")
    assert pushed.returncode == 0, pushed.stderr
    assert issue.pull is not None
    head = await run_git(work, "rev-parse", "HEAD")
    assert issue.pull.head_sha == head.stdout.strip()

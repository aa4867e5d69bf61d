"""GitStart's loop end to end, as a person runs it: the in-package forge, ``crossdock webhooks
serve`` and ``crossdock worker`` in subprocesses, the forge's hooks pointed at the receiver, and
every step driven through the forge's CLI and git over HTTP.

Three people: ``client`` owns the upstream repository ``client/app``; ``gitstart`` owns the
slice repository ``gitstart/app`` and is crossdock's token on both sides (a write collaborator
upstream); ``dev`` writes on the slice and types the ``/git-slice`` commands. Each step waits
up to ``STEP_SECONDS`` for its effect and, failing that, prints what the worker and the
receiver logged and what the forge delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.acceptance.conftest import Run
from tests.acceptance.processes import Forge, Process, start_forge
from tests.integration.gitslice.gitrepos import git

pytestmark = pytest.mark.slow

T = TypeVar("T")
SECRET = "loop-secret-0123456789"
STEP_SECONDS = 30.0
USERS = ("client:tok-client", "gitstart:tok-gitstart", "dev:tok-dev")
APP = "def login(user):\n    return user.name\n\n\ndef logout(user):\n    return None\n"


@dataclass
class Loop:
    """The running parts of one loop, and how to look at them."""

    forge: Forge
    api: httpx.Client
    receiver: Process
    worker: Process
    root: Path

    def clone_url(self, repo: str, token: str) -> str:
        return self.forge.url.replace("http://", f"http://x:{token}@") + f"/{repo}.git"

    def get(self, path: str, **params: str) -> Any:
        response = self.api.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        deliveries = self.forge.run("deliveries", "--admin-token", self.forge.admin).stdout
        return ("--- worker\n" + "".join(self.worker.text[-80:])
                + "--- receiver\n" + "".join(self.receiver.text[-30:])
                + "--- forge deliveries\n" + deliveries[-6000:])

    def eventually(self, step: str, check: Callable[[], T | None]) -> T:
        """What ``check`` finds once it finds something, within ``STEP_SECONDS``."""
        deadline = time.monotonic() + STEP_SECONDS
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"{step}: not within {STEP_SECONDS:.0f} s\n{self.logs()}")
            time.sleep(0.2)


@pytest.fixture
def loop(tmp_path: Path, crossdock: Run, database_url: str) -> Iterator[Loop]:
    forge = start_forge(tmp_path / "forge", *USERS)
    started: list[Process] = []
    try:
        _repositories(forge, tmp_path)
        env = {"DATABASE_URL": database_url, "XDG_DATA_HOME": str(tmp_path / "user-data"),
               "UP_TOKEN": "tok-gitstart", "SLICE_TOKEN": "tok-gitstart"}
        _register(crossdock, env, forge)
        receiver = Process(["webhooks", "serve", "--port", "0"], tmp_path, env)
        started.append(receiver)
        worker = Process(["worker"], tmp_path, env)
        started.append(worker)
        port = receiver.wait_for(lambda line: line.get("event") == "webhooks_serving")["port"]
        worker.wait_for(lambda line: line.get("event") == "worker_started")
        for repo, token in (("client/app", "tok-client"), ("gitstart/app", "tok-gitstart")):
            forge.ok("add-hook", repo, f"http://127.0.0.1:{port}/webhooks/forge",
                     "--secret", SECRET, "--token", token)
        with httpx.Client(base_url=f"{forge.url}/api/v3", timeout=10, trust_env=False,
                          headers={"Authorization": "token tok-gitstart"}) as api:
            yield Loop(forge=forge, api=api, receiver=receiver, worker=worker, root=tmp_path)
    finally:
        for process in started:
            process.close()
        forge.close()


def _repositories(forge: Forge, root: Path) -> None:
    """``client/app`` with a first commit (and a secret the slice leaves out), an empty
    ``gitstart/app``, and who may write where."""
    forge.ok("create-repo", "app", "--token", "tok-client")
    forge.ok("create-repo", "app", "--token", "tok-gitstart")
    forge.ok("add-collaborator", "client/app", "gitstart", "--role", "write",
             "--token", "tok-client")
    forge.ok("add-collaborator", "gitstart/app", "dev", "--role", "write",
             "--token", "tok-gitstart")
    upstream = root / "client"
    git(root, "clone", "--quiet", forge.url.replace("http://", "http://x:tok-client@")
        + "/client/app.git", str(upstream))
    (upstream / "app.py").write_text(APP)
    (upstream / "secrets").mkdir()
    (upstream / "secrets" / "key.txt").write_text("hunter2\n")
    git(upstream, "add", ".")
    git(upstream, "commit", "--quiet", "-m", "First")
    git(upstream, "push", "--quiet", "origin", "HEAD:main")


def _register(crossdock: Run, env: dict[str, str], forge: Forge) -> None:
    """The forge as a webhooks source publishing on the event bus, and the slice on it."""
    commands = [
        ("webhooks", "source", "add", "forge", "--provider", "github", "--secret", SECRET),
        ("webhooks", "route", "add", "forge", "--handler", "bus"),
        ("slice", "init", "app", "--upstream", f"{forge.url}/client/app.git",
         "--slice", f"{forge.url}/gitstart/app.git", "--ignore", "secrets/",
         "--forge", "github", "--forge-api-url", f"{forge.url}/api/v3",
         "--upstream-repo", "client/app", "--slice-repo", "gitstart/app",
         "--pr-label", "client"),
        ("slice", "credentials", "app", "--upstream-token", "env:UP_TOKEN",
         "--slice-token", "env:SLICE_TOKEN"),
        ("slice", "pull", "app"),
    ]
    for command in commands:
        done = crossdock(*command, env=env)
        assert done.returncode == 0, f"crossdock {' '.join(command)}: {done.stderr}"


def _slice_commit_of(clone: Path, upstream_sha: str) -> str | None:
    """The slice's main once it carries ``upstream_sha`` (its trailer), else None."""
    git(clone, "fetch", "--quiet", "origin")
    message = git(clone, "log", "-1", "--format=%B", "origin/main")
    return git(clone, "rev-parse", "origin/main") if upstream_sha in message else None


def _comment_containing(loop: Loop, number: int, *words: str,
                        after: int = 0) -> dict[str, Any] | None:
    """crossdock's first comment on the slice's ``number`` with all ``words``, newer than
    the comment ``after``."""
    comments = loop.get(f"/repos/gitstart/app/issues/{number}/comments")
    return next((c for c in comments
                 if c["user"]["login"] == "gitstart" and c["id"] > after
                 and all(word.lower() in c["body"].lower() for word in words)), None)


def _slice_issue(loop: Loop, title: str) -> dict[str, Any] | None:
    for number in range(2, 10):  # the slice's pull request is #1
        response = loop.api.get(f"/repos/gitstart/app/issues/{number}")
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        issue: dict[str, Any] = response.raise_for_status().json()
        if issue["title"] == title and "pull_request" not in issue:
            return issue
    return None


def test_the_gitstart_loop_runs_on_the_forge_through_webhooks_and_comment_commands(
    loop: Loop,
) -> None:
    dev = loop.root / "dev"
    git(loop.root, "clone", "--quiet", loop.clone_url("gitstart/app", "tok-dev"), str(dev))
    assert (dev / "app.py").read_text() == APP
    assert not (dev / "secrets").exists()
    _upstream_push_reaches_the_slice(loop, dev)
    upstream_pr, answer = _push_command_raises_the_upstream_pr(loop, dev)
    _upstream_review_reaches_the_slice_pr(loop, upstream_pr["number"])
    _issue_command_copies_the_issue(loop)
    _upstream_merge_closes_the_slice_pr(loop, dev, upstream_pr, answer["id"])


def _upstream_push_reaches_the_slice(loop: Loop, dev: Path) -> None:
    """(1) A push upstream appears in the slice, without the ignored folder."""
    upstream = loop.root / "client"
    (upstream / "app.py").write_text(APP.replace("user.name", "user.login"))
    (upstream / "secrets" / "key.txt").write_text("hunter3\n")
    git(upstream, "commit", "--quiet", "-am", "Log in by login")
    git(upstream, "push", "--quiet", "origin", "HEAD:main")
    pushed = git(upstream, "rev-parse", "HEAD")
    loop.eventually("(1) the upstream push in the slice", lambda: _slice_commit_of(dev, pushed))
    assert git(dev, "ls-tree", "-r", "--name-only", "origin/main") == "app.py"
    assert "user.login" in git(dev, "show", "origin/main:app.py")


def _push_command_raises_the_upstream_pr(
    loop: Loop, dev: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(2) A write collaborator's `/git-slice push -m "Fix" -pr` on a slice pull request: an
    upstream branch, a draft pull request with the label, and a comment back with its link."""
    git(dev, "checkout", "--quiet", "-b", "fix-login", "origin/main")
    (dev / "app.py").write_text(APP.replace("user.name", "user.login.strip()")
                                .replace("return None", "return user.logout()"))
    git(dev, "commit", "--quiet", "-am", "wip")
    git(dev, "push", "--quiet", "origin", "fix-login")
    slice_pr = loop.forge.ok("pr", "open", "gitstart/app", "--head", "fix-login",
                             "--title", "Fix the login", "--body", "Strips the login.",
                             "--token", "tok-dev")
    assert slice_pr["number"] == 1
    loop.forge.ok("comment", "gitstart/app", "1", '/git-slice push -m "Fix" -pr',
                  "--token", "tok-dev")
    # The answer comes last, once the pull request is opened, labelled and assigned.
    answer = loop.eventually("(2) the comment back with the upstream link", lambda:
                             _comment_containing(loop, 1, f"{loop.forge.url}/client/app/pull/"))
    [upstream_pr] = loop.get("/repos/client/app/pulls", head="client:fix-login")
    assert upstream_pr["html_url"] in answer["body"]
    assert upstream_pr["draft"] is True
    assert [label["name"] for label in upstream_pr["labels"]] == ["client"]
    assert upstream_pr["title"] == "Fix the login"
    assert upstream_pr["base"]["ref"] == "main"
    upstream = loop.root / "client"
    git(upstream, "fetch", "--quiet", "origin")
    assert git(upstream, "log", "-1", "--format=%s", "origin/fix-login") == "Fix"
    assert "user.login.strip()" in git(upstream, "show", "origin/fix-login:app.py")
    return upstream_pr, answer


def _upstream_review_reaches_the_slice_pr(loop: Loop, number: int) -> None:
    """(3) An upstream review with two line comments lands on the slice pull request, on the
    same lines of the slice's commit."""
    loop.forge.ok("review", "client/app", str(number), "--body", "Two things",
                  "--event", "REQUEST_CHANGES", "--line", "app.py:2:Why strip here?",
                  "--line", "app.py:6:Log out first.", "--token", "tok-client")
    review = loop.eventually("(3) the review on the slice PR", lambda: next(
        (r for r in loop.get("/repos/gitstart/app/pulls/1/reviews")
         if "Two things" in r["body"]), None))
    assert "@client" in review["body"]
    comments = loop.get(f"/repos/gitstart/app/pulls/1/reviews/{review['id']}/comments")
    head = loop.get("/repos/gitstart/app/pulls/1")["head"]["sha"]
    assert sorted((c["path"], c["line"], c["side"], c["commit_id"]) for c in comments) == [
        ("app.py", 2, "RIGHT", head), ("app.py", 6, "RIGHT", head)]
    bodies = sorted(c["body"] for c in comments)
    assert "Log out first." in bodies[0]
    assert "Why strip here?" in bodies[1]


def _issue_command_copies_the_issue(loop: Loop) -> None:
    """(4) An upstream issue pulled with `/git-slice pull-issue N` appears in the slice, with
    its labels, a link back, and its comment."""
    issue = loop.forge.ok("open-issue", "client/app", "--title", "Login fails on Safari",
                          "--body", "Since Monday.", "--label", "bug", "--token", "tok-client")
    loop.forge.ok("comment", "client/app", str(issue["number"]), "Steps: open, log in.",
                  "--token", "tok-client")
    loop.forge.ok("comment", "gitstart/app", "1", f"/git-slice pull-issue {issue['number']}",
                  "--token", "tok-dev")
    copied = loop.eventually("(4) the issue in the slice",
                             lambda: _slice_issue(loop, "Login fails on Safari"))
    assert "Since Monday." in copied["body"]
    assert issue["html_url"] in copied["body"]
    assert [label["name"] for label in copied["labels"]] == ["bug"]
    copied_comments = loop.eventually("(4) the issue's comment in the slice", lambda: loop.get(
        f"/repos/gitstart/app/issues/{copied['number']}/comments"))
    assert any("Steps: open, log in." in c["body"] for c in copied_comments)


def _upstream_merge_closes_the_slice_pr(loop: Loop, dev: Path, upstream_pr: dict[str, Any],
                                        answered: int) -> None:
    """(5) Merging upstream comments on the slice pull request and closes it; the merge
    reaches the slice's main."""
    merged = loop.forge.ok("pr", "merge", "client/app", str(upstream_pr["number"]),
                           "--token", "tok-client")
    loop.eventually("(5) the merge comment on the slice PR", lambda: _comment_containing(
        loop, 1, "merged", upstream_pr["html_url"], after=answered))
    loop.eventually("(5) the slice PR closed",
                    lambda: loop.get("/repos/gitstart/app/pulls/1")["state"] == "closed")
    loop.eventually("(5) the merge in the slice", lambda: _slice_commit_of(dev, merged["sha"]))
    assert "user.login.strip()" in git(dev, "show", "origin/main:app.py")

"""``python -m crossdock.gitslice.forge.fake``: a person runs the in-package forge and drives it
(repository, git push, pull request, comment, review, issue, merge, webhooks) from a shell."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.acceptance.processes import FORGE, Forge, forge_env, start_forge
from tests.integration.gitslice.gitrepos import git

pytestmark = pytest.mark.slow


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[Forge]:
    running = start_forge(tmp_path / "data", "alice:tok-alice", "bob:tok-bob")
    try:
        yield running
    finally:
        running.close()


class _Hooks(BaseHTTPRequestHandler):
    seen: list[tuple[str, bytes]] = []  # noqa: RUF012 - one receiver per test run

    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.headers["X-GitHub-Event"], body))
        self.send_response(204)
        self.end_headers()


def test_a_person_drives_the_forge_from_a_shell(forge: Forge, tmp_path: Path) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        made = forge.ok("create-repo", "hello", "--private", "--token", "tok-alice")
        assert made["full_name"] == "alice/hello"
        forge.ok("add-hook", "alice/hello", f"http://127.0.0.1:{receiver.server_port}/h",
                 "--secret", "s3cret-s3cret-s3cret", "--token", "tok-alice")
        forge.ok("add-collaborator", "alice/hello", "bob", "--role", "write",
                 "--token", "tok-alice")
        clone = str(made["clone_url"]).replace("http://", "http://x:tok-alice@")
        work = tmp_path / "work"
        git(tmp_path, "clone", "--quiet", clone, "work")
        (work / "app.py").write_text("a\nb\n")
        git(work, "add", "app.py")
        git(work, "commit", "--quiet", "-m", "First")
        git(work, "push", "--quiet", "origin", "HEAD:main")
        git(work, "checkout", "--quiet", "-b", "fix")
        (work / "app.py").write_text("a\nB\n")
        git(work, "commit", "--quiet", "-am", "Fix")
        git(work, "push", "--quiet", "origin", "fix")
        pull = forge.ok("pr", "open", "alice/hello", "--head", "fix", "--title", "Fix",
                        "--draft", "--token", "tok-alice")
        assert pull["number"] == 1
        forge.ok("comment", "alice/hello", "1", '/git-slice push -m "Fix" -pr',
                 "--token", "tok-bob")
        reviewed = forge.ok("review", "alice/hello", "1", "--body", "Hm",
                            "--line", "app.py:2:why?", "--line", "app.py:1-2:both",
                            "--event", "REQUEST_CHANGES", "--token", "tok-bob")
        assert reviewed["state"] == "CHANGES_REQUESTED"
        asked = reviewed["comments"]
        assert isinstance(asked, list)
        assert len(asked) == 2
        answered = forge.ok("reply", "alice/hello", "1", str(asked[0]), "Because",
                            "--token", "tok-alice")
        assert answered["in_reply_to_id"] == asked[0]
        assert answered["pull_request_review_id"] != reviewed["id"]
        assert forge.ok("open-issue", "alice/hello", "--title", "Bug", "--label", "bug",
                        "--token", "tok-bob")["number"] == 2
        assert forge.ok("pr", "merge", "alice/hello", "1", "--token", "tok-alice")["merged"]
        listed = forge.run("deliveries", "--admin-token", forge.admin)
        sent = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [d["event"] for d in sent] == ["push", "push", "pull_request", "issue_comment",
                                              "pull_request_review", "pull_request_review",
                                              "issues", "push", "pull_request"]
        comment = sent[3]
        forge.ok("redeliver", "alice/hello", str(comment["hook_id"]), str(comment["id"]),
                 "--token", "tok-alice")
        again = json.loads(forge.run("deliveries", "--admin-token",
                                     forge.admin).stdout.splitlines()[-1])
        assert (again["guid"], again["redelivery"]) == (comment["guid"], True)
    finally:
        receiver.shutdown()
        receiver.server_close()
    forge.process.send_signal(signal.SIGINT)
    assert forge.process.wait(timeout=30) == 0


def test_a_person_reads_pull_requests_reviews_issues_and_comments_from_a_shell(
    forge: Forge, tmp_path: Path,
) -> None:
    made = forge.ok("create-repo", "hello", "--token", "tok-alice")
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet",
        str(made["clone_url"]).replace("http://", "http://x:tok-alice@"), "work")
    (work / "app.py").write_text("a\nb\nc\n")
    git(work, "add", "app.py")
    git(work, "commit", "--quiet", "-m", "First")
    git(work, "push", "--quiet", "origin", "HEAD:main", "HEAD:fix")
    forge.ok("pr", "open", "alice/hello", "--head", "fix", "--title", "Fix", "--draft",
             "--token", "tok-alice")
    forge.ok("review", "alice/hello", "1", "--body", "Hm", "--line", "app.py:2:why?",
             "--line", "app.py:1-3:all", "--token", "tok-bob")
    forge.ok("open-issue", "alice/hello", "--title", "Bug", "--body", "It breaks.",
             "--label", "bug", "--token", "tok-alice")
    forge.ok("comment", "alice/hello", "2", "Since Monday.", "--token", "tok-bob")

    assert forge.lines("pr", "list", "alice/hello", "--token", "tok-bob") == [{
        "number": 1, "title": "Fix", "state": "open", "draft": True, "merged": False,
        "head": "fix", "base": "main", "labels": [],
        "html_url": f"{forge.url}/alice/hello/pull/1"}]
    [review] = forge.lines("pr", "reviews", "alice/hello", "1", "--token", "tok-bob")
    assert (review["user"], review["state"], review["body"]) == ("bob", "COMMENTED", "Hm")
    assert review["comments"] == [
        {"path": "app.py", "line": 2, "start_line": None, "body": "why?"},
        {"path": "app.py", "line": 3, "start_line": 1, "body": "all"}]
    issue, said = forge.lines("show", "alice/hello", "2", "--token", "tok-bob")
    assert (issue["title"], issue["labels"], issue["body"]) == ("Bug", ["bug"], "It breaks.")
    assert (said["user"], said["body"]) == ("bob", "Since Monday.")

    forge.ok("pr", "merge", "alice/hello", "1", "--token", "tok-alice")
    assert forge.lines("pr", "list", "alice/hello", "--token", "tok-bob") == []
    [merged] = forge.lines("pr", "list", "alice/hello", "--state", "all", "--token", "tok-bob")
    assert (merged["state"], merged["merged"]) == ("closed", True)


def test_mistakes_are_one_line_with_an_exit_code(forge: Forge, tmp_path: Path) -> None:
    bad_name = forge.run("comment", "no-slash", "1", "x", "--token", "tok-bob")
    assert bad_name.returncode == 2
    assert "owner/name" in bad_name.stderr
    bad_line = forge.run("review", "alice/hello", "1", "--line", "app.py:x:y",
                         "--token", "tok-bob")
    assert bad_line.returncode == 2
    missing = forge.run("comment", "alice/nothing", "1", "x", "--token", "tok-bob")
    assert (missing.returncode, missing.stderr.strip()) == \
        (1, "error: the forge answered 404: Not Found")
    wrong_token = forge.run("create-repo", "x", "--token", "tok-nobody")
    assert wrong_token.returncode == 1
    assert "401" in wrong_token.stderr
    nowhere = subprocess.run([*FORGE, "comment", "a/b", "1", "x", "--token", "t",
                              "--url", "http://127.0.0.1:9"], env=forge_env(),
                             capture_output=True, text=True, timeout=60, check=False)
    assert nowhere.returncode == 1
    assert nowhere.stderr.count("\n") == 1
    assert "no forge answers at http://127.0.0.1:9" in nowhere.stderr
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    used = subprocess.run([*FORGE, "serve", "--port", "0", "--data", str(tmp_path / "used")],
                          env=forge_env(), capture_output=True, text=True, timeout=60, check=False)
    assert used.returncode == 2
    assert "is not empty" in used.stderr
    for result in (bad_name, missing, wrong_token, nowhere, used):
        assert "Traceback" not in result.stderr

"""``crossdock slice ...`` end to end, in a subprocess, on real repositories."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psycopg
import pytest

from tests.acceptance.conftest import Run
from tests.integration.gitslice.gitrepos import WorkRepo, bare, git


def test_slice_commands_from_init_to_push(crossdock: Run, database_url: str,
                                          tmp_path: Path) -> None:
    upstream = bare(tmp_path / "upstream.git")
    slice_repo = bare(tmp_path / "slice.git")
    work = WorkRepo(tmp_path / "work", upstream)
    first = work.commit("first", {"app.py": "print(1)\n", "secret.env": "SECRET\n"})
    work.push()
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data"),
           "COLUMNS": "200"}

    def ok(*args: str) -> str:
        result = crossdock("slice", *args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    ok("init", "demo", "--upstream", str(upstream), "--slice", str(slice_repo),
       "--ignore", "secret.env", "--branch-template", "dev/<branch_name>",
       "--message-regex", "^feat: ", "--command-user", "alice", "--command-user", "bob")
    assert f"upstream {first}; slice (empty)" in ok("checkout", "demo", "--quiet")
    assert "1 commit(s) sliced" in ok("pull", "demo", "--quiet")
    listed = json.loads(ok("list", "--json"))
    assert [(s["name"], s["ignores"], s["command_users"]) for s in listed] == [
        ("demo", ["secret.env"], ["alice", "bob"])]
    status = json.loads(ok("status", "demo", "--json"))
    assert status["last_upstream_sha"] == first
    assert status["pending_upstream_commits"] == 0
    mapped = json.loads(ok("map", "demo", first[:10], "--json"))
    assert mapped == [{"upstream": first, "slice": git(slice_repo, "rev-parse", "main")}]

    dev = WorkRepo(tmp_path / "dev", slice_repo)
    dev.fetch()
    dev.checkout("topic", create=True, start="origin/main")
    dev.commit("work", {"app.py": "print(2)\n"})
    dev.push("topic")
    refused = crossdock("slice", "push", "demo", "-b", "topic", "-m", "bad", env=env)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "does not match" in refused.stderr
    assert "pushed to upstream dev/topic" in ok("push", "demo", "-b", "topic", "-m", "feat: two",
                                                "--quiet")
    assert git(upstream, "show", "dev/topic:secret.env") == "SECRET"
    assert "1 commit(s) mapped" in ok("reindex", "demo", "--quiet")
    missing = crossdock("slice", "pull", "nope", env=env)
    assert missing.returncode == 1
    assert "no slice named 'nope'" in missing.stderr
    with psycopg.connect(database_url) as conn:
        published = [row[0] for row in conn.execute(
            "SELECT event_type FROM crossdock_events WHERE event_type LIKE 'gitslice.%'"
            " ORDER BY id")]
    assert published == ["gitslice.slice.pulled", "gitslice.push.refused",
                         "gitslice.push.completed"]


def test_a_git_slice_tools_env_file_is_enough(crossdock: Run, database_url: str,
                                              tmp_path: Path) -> None:
    upstream = bare(tmp_path / "upstream.git", branch="trunk")
    slice_repo = bare(tmp_path / "slice.git")
    work = WorkRepo(tmp_path / "work", upstream, branch="trunk")
    work.commit("first", {"a.txt": "a", "dev/private.md": "SECRET"})
    work.push()
    env_file = tmp_path / "slice.env"
    env_file.write_text(
        f"GIT_SLICE_UPSTREAM_REPO_DIR={upstream}\n"
        "GIT_SLICE_UPSTREAM_REPO_DEFAULT_BRANCH=trunk\n"
        f"GIT_SLICE_SLICE_REPO_URL={slice_repo}\n"
        "GIT_SLICE_SLICE_IGNORES='[\"dev/*\"]'\n"
    )
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data")}
    result = crossdock("slice", "pull", "team", "--env", str(env_file), "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert git(slice_repo, "ls-tree", "-r", "--name-only", "main") == "a.txt"


def _refused(result: object, *words: str) -> None:
    """One line on stderr naming the problem, exit 2 (a configuration error)."""
    assert getattr(result, "returncode", None) == 2, result
    stderr = getattr(result, "stderr", "")
    assert stderr.count("\n") == 1, stderr
    for word in words:
        assert word in stderr, stderr


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--message-regex", "^feat(", ["commit message regex", "not a valid regex"]),
    ("--upstream-branch", "two..dots", ["upstream branch", "not a valid branch name"]),
    ("--branch-template", "dev/<branch_name>.lock", ["push branch template"]),
    ("--folder", "../outside", ["folder '../outside'"]),
])
def test_slice_init_refuses_a_setting_that_would_fail_at_the_first_pull_or_push(
    crossdock: Run, database_url: str, tmp_path: Path, option: str, value: str,
    words: list[str],
) -> None:
    upstream, slice_repo = bare(tmp_path / "upstream.git"), bare(tmp_path / "slice.git")
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data")}
    result = crossdock("slice", "init", "demo", "--upstream", str(upstream), "--slice",
                       str(slice_repo), option, value, env=env)
    _refused(result, *words)
    assert json.loads(crossdock("slice", "list", "--json", env=env).stdout) == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("upstream", "words"), [
    ("not-a-repository", ["upstream repository", "cannot be reached",
                          "does not appear to be a git repository"]),
    ("htps://github.com/acme/app.git", ["unknown scheme 'htps'"]),
    ("https:///acme/app.git", ["has no host"]),
    ("CLOSED", ["upstream repository http://127.0.0.1:", "cannot be reached"]),
])
def test_slice_init_refuses_a_repository_it_cannot_reach_or_parse(
    crossdock: Run, database_url: str, tmp_path: Path, upstream: str, words: list[str],
) -> None:
    (tmp_path / "not-a-repository").mkdir()
    if upstream == "CLOSED":
        upstream = f"http://127.0.0.1:{_closed_port()}/app.git"
    slice_repo = bare(tmp_path / "slice.git")
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data")}
    result = crossdock("slice", "init", "demo", "--upstream", upstream, "--slice",
                       str(slice_repo), env=env)
    _refused(result, *words)
    assert json.loads(crossdock("slice", "list", "--json", env=env).stdout) == []


def test_slice_init_stores_a_relative_path_as_an_absolute_one(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    bare(tmp_path / "upstream.git")
    bare(tmp_path / "slice.git")
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data")}
    created = crossdock("slice", "init", "demo", "--upstream", "upstream.git", "--slice",
                        "./slice.git", env=env)
    assert created.returncode == 0, created.stderr
    listed = json.loads(crossdock("slice", "list", "--json", env=env).stdout)
    assert [(s["upstream"], s["slice"]) for s in listed] == [
        (str(tmp_path.resolve() / "upstream.git"), str(tmp_path.resolve() / "slice.git"))]


def test_per_invocation_slice_options_are_not_read_from_the_environment(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    """An exported CROSSDOCK_GITSLICE_BRANCH or _FORCE must not choose what a push does."""
    env = {"DATABASE_URL": database_url, "CROSSDOCK_DATA_DIR": str(tmp_path / "data"),
           "CROSSDOCK_GITSLICE_BRANCH": "topic", "CROSSDOCK_GITSLICE_FORCE": "1"}
    result = crossdock("slice", "push", "demo", env=env)
    assert result.returncode == 2
    assert "Missing option '--branch'" in result.stderr
    help_text = crossdock("slice", "push", "--help", env={"COLUMNS": "200"}).stdout
    assert "CROSSDOCK_GITSLICE_FORCE" not in help_text
    assert "CROSSDOCK_GITSLICE_BRANCH" not in help_text

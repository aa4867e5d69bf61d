"""``crossdock slice ...`` end to end, in a subprocess, on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

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
       "--message-regex", "^feat: ")
    assert f"upstream {first}; slice (empty)" in ok("checkout", "demo", "--quiet")
    assert "1 commit(s) sliced" in ok("pull", "demo", "--quiet")
    listed = json.loads(ok("list", "--json"))
    assert [(s["name"], s["ignores"]) for s in listed] == [("demo", ["secret.env"])]
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
    help_text = crossdock("slice", "push", "--help", env={"COLUMNS": "200"}).stdout
    assert "CROSSDOCK_GITSLICE_BRANCH" in help_text

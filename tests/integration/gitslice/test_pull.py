"""Pull: upstream history becomes slice history, minus ignored paths."""

from __future__ import annotations

import pygit2
import pytest

from crossdock.gitslice.config import Mode
from crossdock.gitslice.syncer import Syncer

from .conftest import World
from .gitrepos import all_blob_contents, assert_no_leaks, git

pytestmark = pytest.mark.anyio


async def test_history_pull_keeps_each_commit_and_leaves_ignored_files_out(
    world: World, syncer: Syncer
) -> None:
    first = world.work.commit("first", {"README.md": "hi\n", "secret.env": "SECRET-1\n",
                                        "src/app.py": "print(1)\n"}, when=1700000000)
    second = world.work.commit("second\n\nbody text", {"src/app.py": "print(2)\n",
                                                       "internal/notes.md": "SECRET-2\n"})
    world.work.push()
    await syncer.init(world.config(ignores=("secret.env", "internal/")))
    outcome = await syncer.pull("demo")
    assert outcome.commits == 2
    log = git(world.slice, "log", "--format=%an|%ae|%at|%s|%(trailers:key=Upstream-Commit,valueonly)", "main")
    lines = [line for line in log.splitlines() if line]
    assert lines[0].startswith("Ada Upstream|ada@upstream.test|")
    assert lines[0].endswith(f"second|{second}") or second in log
    assert f"first|{first}" in log.replace("\n", "") or first in log
    assert git(world.slice, "log", "-1", "--format=%at", "main~1") == "1700000000"
    assert not any(b"SECRET" in blob for blob in all_blob_contents(world.slice))
    assert assert_no_leaks(world.slice, world.upstream, patterns=("secret.env", "internal/")) == 2


async def test_incremental_pull_adds_only_new_commits(world: World, syncer: Syncer) -> None:
    world.work.commit("one", {"a.txt": "a"})
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    before = git(world.slice, "rev-parse", "main")
    world.work.commit("two", {"b.txt": "b"})
    world.work.push()
    outcome = await syncer.pull("demo")
    assert outcome.commits == 1
    assert git(world.slice, "rev-parse", "main~1") == before
    again = await syncer.pull("demo")
    assert again.commits == 0
    assert again.slice_head == outcome.slice_head

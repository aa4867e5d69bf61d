"""Changes per commit from one git diff-tree process: every kind of path and change, in the
order asked, and a clear error when git fails."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from crossdock.gitslice.changes import CommitChanges
from crossdock.gitslice.errors import GitCommandError

from .gitrepos import WorkRepo, bare, git


def test_changes_come_per_pair_with_raw_paths_deletions_and_empty_commits(tmp_path: Path) -> None:
    work = WorkRepo(tmp_path / "work", bare(tmp_path / "up.git"))
    odd = b"dir/sp ace\nnew\xfe.txt"
    first = work.commit("first", {"a": "1", "keep.txt": "k", odd: "odd"})
    second = work.commit("second", {"a": None, "a/inside.txt": "now a folder", odd: "odd 2"})
    git(work.path, "commit", "--quiet", "--allow-empty", "-m", "empty")
    third = git(work.path, "rev-parse", "HEAD")
    fourth = work.commit("fourth", {"keep.txt": None, "run.sh": "#!/bin/sh\n"})
    pairs = [(second, first), (third, second), (fourth, third)]
    with CommitChanges(work.path / ".git", pairs) as changes:
        assert changes.covers(second)
        assert not changes.covers(first)
        assert sorted(changes.of(second)) == sorted([
            (b"a", None),
            (b"a/inside.txt", (0o100644, pygit2.hash(b"now a folder").raw)),
            (odd, (0o100644, pygit2.hash(b"odd 2").raw)),
        ])
        assert changes.of(third) == []
        assert sorted(path for path, _ in changes.of(fourth)) == [b"keep.txt", b"run.sh"]


def test_submodule_updates_are_listed_whatever_the_configuration_says(tmp_path: Path) -> None:
    work = WorkRepo(tmp_path / "work", bare(tmp_path / "up.git"))
    first = work.commit("first", {"a": "1"})
    git(work.path, "config", "diff.ignoreSubmodules", "all")
    git(work.path, "config", "core.abbrev", "7")
    git(work.path, "update-index", "--add", "--cacheinfo", f"160000,{first},vendor/lib")
    second = work.commit("add a submodule", stage=False)
    with CommitChanges(work.path / ".git", [(second, first)]) as changes:
        assert changes.of(second) == [(b"vendor/lib", (0o160000, bytes.fromhex(first)))]


def test_changes_out_of_step_or_unknown_commits_raise(tmp_path: Path) -> None:
    work = WorkRepo(tmp_path / "work", bare(tmp_path / "up.git"))
    first = work.commit("first", {"a": "1"})
    second = work.commit("second", {"a": "2"})
    with CommitChanges(work.path / ".git", [(second, first)]) as changes, \
            pytest.raises(GitCommandError, match="diff-tree"):
        changes.of(first)
    with CommitChanges(work.path / ".git", [("0" * 40, first)]) as changes, \
            pytest.raises(GitCommandError, match=r"diff-tree failed: .+"):
        changes.of("0" * 40)

"""Push: slice branches land upstream, and what must be refused is refused."""

from __future__ import annotations

import pytest

from crossdock.gitslice.errors import (
    CommitMessageRejected,
    IgnoredPathTouched,
    NotSynced,
    PushConflict,
    UnknownBranch,
)
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.syncer import Syncer

from .conftest import World
from .gitrepos import assert_no_leaks, git

pytestmark = pytest.mark.anyio

IGNORES = ("secret.env", "internal/")


async def _synced(world: World, syncer: Syncer, **config: object) -> None:
    world.work.commit("base", {"README.md": "hello\n", "secret.env": "TOKEN=1\n",
                               "internal/plan.md": "plan\n", "src/app.py": "print(1)\n"})
    world.work.push()
    await syncer.init(world.config(ignores=IGNORES, **config))
    await syncer.pull("demo")
    assert assert_no_leaks(world.slice, world.upstream, patterns=IGNORES) == 1
    world.dev.fetch()
    world.dev.checkout("feature", create=True, start="origin/main")


def _refs(path) -> str:  # type: ignore[no-untyped-def]
    return git(path, "for-each-ref", "--format=%(refname) %(objectname)")


async def test_push_applies_the_branch_onto_upstream_and_keeps_upstream_only_files(
    world: World, syncer: Syncer
) -> None:
    await _synced(world, syncer, push_branch_template="dev/<branch_name>")
    world.dev.commit("change app", {"src/app.py": "print(2)\n"},
                     author="Bob Slice <bob@slice.test>")
    world.dev.commit("add docs", {"docs/new.md": "new\n"}, author="Cy Slice <cy@slice.test>")
    world.dev.push("feature")
    plan = await syncer.push("demo", PushRequest(branch="feature", message="feat: app and docs",
                                                 co_authors=("Dee <dee@x.test>",)))
    assert plan.target_branch == "dev/feature"
    assert git(world.upstream, "rev-parse", "dev/feature") == plan.commit
    main = git(world.upstream, "rev-parse", "main")
    assert git(world.upstream, "rev-parse", "dev/feature~1") == main
    assert git(world.upstream, "show", "dev/feature:secret.env") == "TOKEN=1"
    assert git(world.upstream, "show", "dev/feature:internal/plan.md") == "plan"
    assert git(world.upstream, "show", "dev/feature:src/app.py") == "print(2)"
    assert git(world.upstream, "show", "dev/feature:docs/new.md") == "new"
    body = git(world.upstream, "log", "-1", "--format=%an|%B", "dev/feature")
    assert body.startswith("Cy Slice|feat: app and docs")
    assert "Co-authored-by: Bob Slice <bob@slice.test>" in body
    assert "Co-authored-by: Dee <dee@x.test>" in body
    assert "Co-authored-by: Cy Slice" not in body


async def test_preserve_commits_makes_one_upstream_commit_per_slice_commit(
    world: World, syncer: Syncer
) -> None:
    await _synced(world, syncer)
    world.dev.commit("feat: one", {"a.txt": "1"})
    world.dev.commit("feat: two", {"b.txt": "2"})
    world.dev.push("feature")
    await syncer.push("demo", PushRequest(branch="feature", preserve_commits=True))
    assert git(world.upstream, "log", "--format=%s", "main..feature").splitlines() == [
        "feat: two", "feat: one"]


@pytest.mark.parametrize("path", ["secret.env", "internal/new.md", ".gitsliceignore"])
async def test_a_branch_that_touches_upstream_only_paths_is_refused(
    world: World, syncer: Syncer, path: str
) -> None:
    await _synced(world, syncer)
    world.dev.commit("sneaky", {path: "x\n", "ok.txt": "ok"})
    world.dev.push("feature")
    before = _refs(world.upstream)
    with pytest.raises(IgnoredPathTouched, match=path.replace(".", r"\.")):
        await syncer.push("demo", PushRequest(branch="feature", message="m"))
    assert _refs(world.upstream) == before


async def test_the_commit_message_regex_is_enforced(world: World, syncer: Syncer) -> None:
    await _synced(world, syncer, push_commit_msg_regex=r"^(feat|fix): ")
    world.dev.commit("whatever", {"a.txt": "1"})
    world.dev.push("feature")
    before = _refs(world.upstream)
    with pytest.raises(CommitMessageRejected, match="does not match"):
        await syncer.push("demo", PushRequest(branch="feature", message="bad message"))
    assert _refs(world.upstream) == before
    await syncer.push("demo", PushRequest(branch="feature", message="feat: good"))
    assert git(world.upstream, "log", "-1", "--format=%s", "feature") == "feat: good"


async def test_unknown_branch_and_missing_sync_commit_are_errors(
    world: World, syncer: Syncer
) -> None:
    world.work.commit("base", {"a": "1"})
    world.work.push()
    world.dev.commit("slice work before any sync", {"b": "2"})
    world.dev.push("feature")
    await syncer.init(world.config())
    with pytest.raises(NotSynced):
        await syncer.push("demo", PushRequest(branch="feature", message="m"))
    with pytest.raises(UnknownBranch, match="no branch 'nope'"):
        await syncer.push("demo", PushRequest(branch="nope", message="m"))
    assert git(world.upstream, "for-each-ref", "--format=%(refname)") == "refs/heads/main"


async def test_existing_branch_is_merged_and_gets_the_default_branch(
    world: World, syncer: Syncer
) -> None:
    await _synced(world, syncer)
    world.dev.commit("first push", {"a.txt": "1"})
    world.dev.push("feature")
    await syncer.push("demo", PushRequest(branch="feature", message="feat: a"))
    # Upstream moves on: a reviewer commits to the branch and main gets a new commit.
    world.work.fetch()
    world.work.checkout("feature", create=True, start="origin/feature")
    world.work.commit("reviewer fix", {"review.txt": "r"})
    world.work.push("feature")
    world.work.checkout("main")
    world.work.commit("main news", {"news.txt": "n"})
    world.work.push()
    await syncer.pull("demo")
    assert assert_no_leaks(world.slice, world.upstream, patterns=IGNORES) == 2
    world.dev.fetch()
    git(world.dev.path, "merge", "--quiet", "-m", "merge main", "origin/main")
    world.dev.commit("second push", {"b.txt": "2"})
    world.dev.push("feature")
    plan = await syncer.push("demo", PushRequest(branch="feature", message="feat: b"))
    assert plan.merged
    files = git(world.upstream, "ls-tree", "-r", "--name-only", "feature").splitlines()
    assert {"a.txt", "b.txt", "review.txt", "news.txt", "secret.env"} <= set(files)
    assert git(world.upstream, "merge-base", "--is-ancestor", "main", "feature") == ""


async def test_a_real_conflict_is_refused_and_lists_files(world: World, syncer: Syncer) -> None:
    await _synced(world, syncer)
    world.dev.commit("v1", {"src/app.py": "print('slice 1')\n"})
    world.dev.push("feature")
    await syncer.push("demo", PushRequest(branch="feature", message="one"))
    world.work.fetch()
    world.work.checkout("feature", create=True, start="origin/feature")
    world.work.commit("upstream edit", {"src/app.py": "print('upstream')\n"})
    world.work.push("feature")
    world.dev.commit("v2", {"src/app.py": "print('slice 2')\n"})
    world.dev.push("feature")
    before = _refs(world.upstream)
    with pytest.raises(PushConflict, match=r"src/app\.py"):
        await syncer.push("demo", PushRequest(branch="feature", message="two"))
    assert _refs(world.upstream) == before


async def test_force_push_replaces_the_upstream_branch(world: World, syncer: Syncer) -> None:
    await _synced(world, syncer)
    world.dev.commit("v1", {"src/app.py": "print('slice 1')\n"})
    world.dev.push("feature")
    await syncer.push("demo", PushRequest(branch="feature", message="one"))
    world.work.fetch()
    world.work.checkout("feature", create=True, start="origin/feature")
    world.work.commit("upstream edit", {"src/app.py": "print('upstream')\n"})
    world.work.push("feature")
    world.dev.commit("v2", {"src/app.py": "print('slice 2')\n"})
    world.dev.push("feature")
    plan = await syncer.push("demo", PushRequest(branch="feature", message="two", force=True))
    assert git(world.upstream, "rev-parse", "feature") == plan.commit
    assert git(world.upstream, "rev-parse", "feature~1") == git(world.upstream, "rev-parse", "main")
    assert git(world.upstream, "show", "feature:src/app.py") == "print('slice 2')"


async def test_a_file_reincluded_inside_an_ignored_folder_can_be_pushed_and_its_siblings_not(
    world: World, syncer: Syncer
) -> None:
    """``dir/**`` with ``!dir/keep.md``: git keeps ``dir/keep.md``, so a slice may change it."""
    world.work.commit("base", {".gitsliceignore": "dir/**\n!dir/keep.md\n",
                               "dir/keep.md": "kept\n", "dir/drop.md": "dropped\n"})
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    world.dev.fetch()
    world.dev.checkout("feature", create=True, start="origin/main")
    world.dev.commit("edit the kept file", {"dir/keep.md": "edited\n"})
    world.dev.push("feature")
    plan = await syncer.push("demo", PushRequest(branch="feature", message="docs: keep"))
    assert git(world.upstream, "show", f"{plan.commit}:dir/keep.md") == "edited"
    assert git(world.upstream, "show", f"{plan.commit}:dir/drop.md") == "dropped"
    world.dev.commit("touch a sibling", {"dir/drop.md": "x\n"})
    world.dev.push("feature")
    with pytest.raises(IgnoredPathTouched, match=r"dir/drop\.md"):
        await syncer.push("demo", PushRequest(branch="feature", message="docs: drop"))

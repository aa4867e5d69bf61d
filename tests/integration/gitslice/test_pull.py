"""Pull: upstream history becomes slice history, minus ignored paths."""

from __future__ import annotations

import pygit2
import pytest

from crossdock.core.database import Database
from crossdock.gitslice.config import Mode
from crossdock.gitslice.errors import DivergedSlice, UnknownBranch
from crossdock.gitslice.syncer import Syncer

from .conftest import World
from .gitrepos import all_blob_contents, assert_no_leaks, git, tree_files

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
    fmt = "--format=%an|%ae|%at|%s|%(trailers:key=Upstream-Commit,valueonly)"
    log = git(world.slice, "log", fmt, "main")
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


async def test_a_pull_fetches_only_the_branches_it_slices(world: World, syncer: Syncer) -> None:
    world.work.commit("one", {"a.txt": "a"})
    world.work.push()
    world.work.push("feature")
    world.dev.commit("slice work", {"x": "x"})
    world.dev.push("wip")
    await syncer.init(world.config())
    await syncer.pull("demo")
    _, cache = syncer.cache("demo")
    assert sorted(cache.references) == ["refs/slice/heads/main", "refs/upstream/heads/main"]
    await syncer.checkout("demo")  # checkout, push and status still see every branch
    assert "refs/upstream/heads/feature" in cache.references
    assert "refs/slice/heads/wip" in cache.references


async def test_a_slice_branch_deleted_on_the_remote_is_forgotten_and_made_again(
    world: World, syncer: Syncer
) -> None:
    world.work.commit("one", {"a.txt": "a"})
    world.work.push()
    await syncer.init(world.config())
    first = await syncer.pull("demo")
    git(world.slice, "update-ref", "-d", "refs/heads/main")
    world.work.commit("two", {"b.txt": "b"})
    world.work.push()
    second = await syncer.pull("demo")
    assert second.commits == 1
    assert git(world.slice, "rev-parse", "main~1") == first.slice_head


async def test_merges_stay_merges_and_renames_symlinks_exec_bits_binaries_survive(
    world: World, syncer: Syncer
) -> None:
    w = world.work
    w.commit("base", {"a.txt": "a\n", "bin.dat": bytes(range(256)), "tool.sh": "#!/bin/sh\n"})
    w.chmod("tool.sh", 0o755)
    w.symlink("link", "a.txt")
    w.commit("exec and link")
    w.checkout("feature", create=True)
    git(w.path, "mv", "a.txt", "renamed.txt")
    w.symlink("link", "renamed.txt")
    w.commit("rename on a branch", {"feature.txt": "f\n"})
    w.checkout("main")
    w.commit("main moves", {"main.txt": "m\n"})
    git(w.path, "merge", "--quiet", "--no-ff", "-m", "merge feature", "feature")
    w.commit("empty commit")
    w.push()
    await syncer.init(world.config())
    outcome = await syncer.pull("demo")
    assert outcome.commits == 6
    repo = pygit2.Repository(str(world.slice))
    head = repo.revparse_single("main")
    merge = head.parents[0]
    assert len(merge.parents) == 2
    assert {p.message.splitlines()[0] for p in merge.parents} == {"main moves",
                                                                   "rename on a branch"}
    assert head.tree_id == merge.tree_id  # the empty commit is kept, with an unchanged tree
    tree = head.tree
    assert tree["tool.sh"].filemode == pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
    assert tree["link"].filemode == pygit2.GIT_FILEMODE_LINK
    assert repo[tree["link"].id].data == b"renamed.txt"
    assert repo[tree["bin.dat"].id].data == bytes(range(256))
    assert "a.txt" not in tree
    assert assert_no_leaks(world.slice, world.upstream) == 6


async def test_symlink_changes_are_pulled(world: World, syncer: Syncer) -> None:
    world.work.commit("files", {"one": "1", "two": "2"})
    world.work.symlink("current", "one")
    world.work.commit("link to one")
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    world.work.symlink("current", "two")
    world.work.commit("link to two")
    world.work.push()
    await syncer.pull("demo")
    repo = pygit2.Repository(str(world.slice))
    entry = repo.revparse_single("main").tree["current"]
    assert entry.filemode == pygit2.GIT_FILEMODE_LINK
    assert repo[entry.id].data == b"two"


async def test_submodule_entries_and_non_utf8_names_are_kept(world: World, syncer: Syncer) -> None:
    w = world.work
    w.commit("plain", {"x.txt": "x"})
    sub_sha = w.head()
    odd = b"caf\xe9.txt"
    w.write({odd: "latin-1 name\n", b"secret-\xff.key": "SECRET-odd\n"})
    git(w.path, "add", "-A")
    git(w.path, "update-index", "--add", "--cacheinfo", f"160000,{sub_sha},vendor/lib")
    w.commit("gitlink and odd names", stage=False)
    w.push()
    await syncer.init(world.config(ignores=("secret-*",)))
    await syncer.pull("demo")
    repo = pygit2.Repository(str(world.slice))
    tree = repo.revparse_single("main").tree
    names = {entry.raw_name for entry in tree}
    assert odd in names
    assert b"secret-\xff.key" not in names
    vendor = repo[tree["vendor"].id]
    assert vendor["lib"].filemode == pygit2.GIT_FILEMODE_COMMIT
    assert str(vendor["lib"].id) == sub_sha
    assert not any(b"SECRET" in blob for blob in all_blob_contents(world.slice))
    assert assert_no_leaks(world.slice, world.upstream, patterns=("secret-*",)) == 2


async def test_a_file_that_upstream_newly_ignores_disappears_in_the_next_commit(
    world: World, syncer: Syncer
) -> None:
    w = world.work
    w.commit("docs", {"docs/public.md": "p", "docs/private.md": "later private", "a": "a"})
    w.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    w.commit("hide private docs", {".gitsliceignore": "docs/*\n!docs/public.md\n"})
    w.commit("after", {"docs/private.md": "SECRET-after", "b": "b"})
    w.push()
    await syncer.pull("demo")
    repo = pygit2.Repository(str(world.slice))
    hidden = repo.revparse_single("main~1").tree
    assert ".gitsliceignore" in hidden
    assert "public.md" in repo[hidden["docs"].id]
    assert "private.md" not in repo[hidden["docs"].id]
    assert b"SECRET-after" not in b"".join(all_blob_contents(world.slice))
    assert assert_no_leaks(world.slice, world.upstream) == 3


async def test_a_slice_can_be_limited_to_folders(world: World, syncer: Syncer) -> None:
    world.work.commit("tree", {"web/a.js": "a", "web/lib/b.js": "b", "server/s.py": "SECRET-s",
                               "top.txt": "SECRET-top"})
    world.work.commit("more", {"web/c.js": "c", "server/t.py": "SECRET-t"})
    world.work.push()
    await syncer.init(world.config(folders=("web",)))
    await syncer.pull("demo")
    repo = pygit2.Repository(str(world.slice))
    assert {e.name for e in repo.revparse_single("main").tree} == {"web"}
    assert not any(b"SECRET" in blob for blob in all_blob_contents(world.slice))
    assert assert_no_leaks(world.slice, world.upstream, folders=("web",)) == 2


async def test_squash_mode_makes_one_git_slice_commit_per_pull(
    world: World, syncer: Syncer
) -> None:
    world.work.commit("one", {"a": "1", "secret": "SECRET"})
    head = world.work.commit("two", {"a": "2"})
    world.work.push()
    await syncer.init(world.config(mode=Mode.SQUASH, ignores=("secret",)))
    outcome = await syncer.pull("demo")
    assert outcome.commits == 1
    assert git(world.slice, "log", "--format=%s", "main") == f"git-slice:{head}"
    head2 = world.work.commit("three", {"b": "3"})
    world.work.commit("four", {"c": "4"})
    world.work.push()
    await syncer.pull("demo")
    subjects = git(world.slice, "log", "--format=%s", "main").splitlines()
    assert len(subjects) == 2
    assert subjects[0] == f"git-slice:{world.work.head()}"
    assert head2 not in subjects[0]
    assert assert_no_leaks(world.slice, world.upstream, patterns=("secret",)) == 2


async def test_pull_branch_writes_upstream_prefixed_branch(world: World, syncer: Syncer) -> None:
    world.work.commit("base", {"a": "1"})
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    world.work.checkout("topic", create=True)
    topic = world.work.commit("topic work", {"t": "t"})
    world.work.push("topic")
    outcome = await syncer.pull_branch("demo", "topic")
    assert outcome.slice_branch == "upstream-topic"
    assert outcome.commits == 1
    main = git(world.slice, "rev-parse", "main")
    assert git(world.slice, "rev-parse", "upstream-topic~1") == main
    assert topic in git(world.slice, "log", "-1", "--format=%B", "upstream-topic")
    assert assert_no_leaks(world.slice, world.upstream) == 2


async def test_an_empty_slice_repository_gets_its_branch_on_the_first_pull(
    world: World, syncer: Syncer
) -> None:
    world.work.commit("only", {"a": "1"})
    world.work.push()
    await syncer.init(world.config(slice_branch="trunk"))
    await syncer.pull("demo")
    assert git(world.slice, "for-each-ref", "--format=%(refname)") == "refs/heads/trunk"


async def test_missing_upstream_branch_is_a_clear_error(world: World, syncer: Syncer) -> None:
    await syncer.init(world.config())
    with pytest.raises(UnknownBranch, match="upstream has no branch 'main'"):
        await syncer.pull("demo")
    status = await syncer.status("demo")
    assert status["last_run"]["state"] == "failed"


async def test_a_slice_branch_with_foreign_commits_is_refused(world: World, syncer: Syncer) -> None:
    world.work.commit("one", {"a": "1"})
    world.work.push()
    world.dev.commit("someone committed to the slice directly", {"x": "x"})
    world.dev.push()
    before = git(world.slice, "rev-parse", "main")
    await syncer.init(world.config())
    with pytest.raises(DivergedSlice):
        await syncer.pull("demo")
    assert git(world.slice, "rev-parse", "main") == before


async def test_rerun_after_a_crash_between_push_and_record_completes(
    world: World, syncer: Syncer, database: Database
) -> None:
    world.work.commit("one", {"a": "1"})
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    world.work.commit("two", {"b": "2"})
    world.work.commit("three", {"c": "3"})
    world.work.push()
    # Simulate a crash: the slice was pushed, then the process died before recording.
    real = syncer.store.record_pull
    calls = 0

    async def crash(record):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        raise RuntimeError("killed")

    syncer.store.record_pull = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await syncer.pull("demo")
    syncer.store.record_pull = real  # type: ignore[method-assign]
    pushed = git(world.slice, "rev-parse", "main")
    outcome = await syncer.pull("demo")
    assert outcome.slice_head == pushed
    assert git(world.slice, "rev-list", "--count", "main") == "3"
    found = await syncer.lookup("demo", world.work.head())
    assert [m.slice for m in found] == [pushed]


async def test_reindex_rebuilds_the_map_from_trailers(world: World, syncer: Syncer) -> None:
    first = world.work.commit("one", {"a": "1"})
    world.work.commit("two", {"b": "2"})
    world.work.push()
    await syncer.init(world.config())
    await syncer.pull("demo")
    slice_first = git(world.slice, "rev-parse", "main~1")
    await syncer.store.clear_map("demo")
    assert await syncer.lookup("demo", first) == []
    assert await syncer.reindex("demo") == 2
    assert [m.slice for m in await syncer.lookup("demo", first)] == [slice_first]
    world.work.commit("three", {"c": "3"})
    world.work.push()
    assert (await syncer.pull("demo")).commits == 1


@pytest.mark.parametrize("mode", [Mode.HISTORY, Mode.SQUASH])
async def test_a_slice_made_under_other_rules_takes_todays_rules_at_its_next_pull(
    world: World, syncer: Syncer, mode: Mode
) -> None:
    """A slice pulled while its rules hid a file (here the slice's own globs, as the rules
    before ``dir/**`` meant git's ``dir/**``) gains the file at the next pull, with no new
    upstream commit; the next upstream commit builds on that."""
    world.work.commit("one", {
        ".gitsliceignore": "ignore-dir-2/**\n!ignore-dir-2/keep.md\n",
        "ignore-dir-2/keep.md": "kept\n", "ignore-dir-2/drop.md": "SECRET\n", "a.txt": "a\n",
    })
    world.work.push()
    await syncer.init(world.config(mode=mode, ignores=("ignore-dir-2/",)))
    first = await syncer.pull("demo")
    slice_repo = pygit2.Repository(str(world.slice))

    def files() -> set[str]:
        return set(tree_files(slice_repo, slice_repo.revparse_single("main").peel(pygit2.Tree)))

    assert files() == {".gitsliceignore", "a.txt"}
    await syncer.init(world.config(mode=mode), update=True)
    caught_up = await syncer.pull("demo")
    assert caught_up.slice_head != first.slice_head
    assert files() == {".gitsliceignore", "a.txt", "ignore-dir-2/keep.md"}
    assert git(world.slice, "rev-parse", "main~1") == first.slice_head
    again = await syncer.pull("demo")
    assert again.slice_head == caught_up.slice_head
    world.work.commit("two", {"b.txt": "b\n"})
    world.work.push()
    await syncer.pull("demo")
    assert git(world.slice, "rev-parse", "main~1") == caught_up.slice_head
    assert files() == {".gitsliceignore", "a.txt", "b.txt", "ignore-dir-2/keep.md"}
    assert not any(b"SECRET" in blob for blob in all_blob_contents(world.slice))

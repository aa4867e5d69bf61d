"""The invariant on generated histories: no blob of an ignored path is reachable from a slice
commit, and every included path is there, identical, whichever way the history was pulled; each
slice tree is byte for byte the one a full rewrite of its upstream tree gives."""

from __future__ import annotations

import tempfile

import pygit2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossdock.gitslice.history import HistorySlicer, Mapped
from crossdock.gitslice.ignore import IgnoreRules
from crossdock.gitslice.trees import TreeSlicer

from .gitrepos import tree_files

PATHS = ["a.txt", "src/x.py", "src/secret.key", "build/out.bin", "docs/private/p.md",
         "docs/public.md", "deep/a/b/c.txt", "keep.log", "other.log", "docs/private"]
IGNORE_FILES = ["", "docs/private/\n", "*.log\n!keep.log\n", "docs/*\n!docs/public.md\n",
                "deep/\n"]
PATTERNS = ("*.key", "build/")

op = st.one_of(
    st.tuples(st.just("write"), st.integers(0, len(PATHS) - 1), st.integers(0, 3),
              st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, len(PATHS) - 1)),
    st.tuples(st.just("ignore"), st.integers(0, len(IGNORE_FILES) - 1)),
    st.tuples(st.just("link"), st.integers(0, len(PATHS) - 1)),
    st.tuples(st.just("merge"), st.integers(0, len(PATHS) - 1)),
    st.tuples(st.just("pull")),
)


class Upstream:
    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.files: dict[str, tuple[int, bytes]] = {}
        self.head: pygit2.Oid | None = None
        self.counter = 0

    def _tree(self, files: dict[str, tuple[int, bytes]]) -> pygit2.Oid:
        index = pygit2.Index()
        for path, (mode, data) in files.items():
            index.add(pygit2.IndexEntry(path, self.repo.create_blob(data), mode))
        return index.write_tree(self.repo)

    def commit(self, files: dict[str, tuple[int, bytes]], parents: list[pygit2.Oid]) -> pygit2.Oid:
        self.counter += 1
        sig = pygit2.Signature("U", "u@x", 1_700_000_000 + self.counter, 0)
        return self.repo.create_commit(None, sig, sig, f"c{self.counter}\n", self._tree(files),
                                       parents)

    @staticmethod
    def put(files: dict[str, tuple[int, bytes]], path: str, entry: tuple[int, bytes]) -> None:
        # A path cannot be both a file and a directory: drop whichever is in the way.
        for other in list(files):
            if other.startswith(path + "/") or path.startswith(other + "/"):
                del files[other]
        files[path] = entry

    def step(self, action: tuple) -> None:  # type: ignore[type-arg]
        kind = action[0]
        files = dict(self.files)
        if kind == "write":
            _, index, content, executable = action
            mode = pygit2.GIT_FILEMODE_BLOB_EXECUTABLE if executable else pygit2.GIT_FILEMODE_BLOB
            self.put(files, PATHS[index], (mode, f"SECRET?{PATHS[index]}:{content}".encode()))
        elif kind == "delete":
            files.pop(PATHS[action[1]], None)
        elif kind == "ignore":
            files[".gitsliceignore"] = (pygit2.GIT_FILEMODE_BLOB, IGNORE_FILES[action[1]].encode())
        elif kind == "link":
            self.put(files, PATHS[action[1]], (pygit2.GIT_FILEMODE_LINK, b"a.txt"))
        elif kind == "merge" and self.head is not None:
            side_files = dict(files)
            self.put(side_files, PATHS[action[1]], (pygit2.GIT_FILEMODE_BLOB, b"side"))
            side = self.commit(side_files, [self.head])
            main = self.commit(files, [self.head])
            self.head = self.commit(side_files, [main, side])
            self.files = side_files
            return
        self.head = self.commit(files, [self.head] if self.head else [])
        self.files = files


def _check(repo: pygit2.Repository, known: dict[str, Mapped]) -> None:
    reachable_blobs: set[pygit2.Oid] = set()
    forbidden: set[pygit2.Oid] = set()
    allowed: set[pygit2.Oid] = set()
    full = TreeSlicer(repo)
    for upstream_sha, mapped in known.items():
        up = repo[upstream_sha]
        sliced = repo[mapped.slice]
        rules = IgnoreRules.for_tree(repo, up.tree, patterns=PATTERNS)
        upstream_files = tree_files(repo, up.tree)
        expected = {p: v for p, v in upstream_files.items() if not rules.excluded(p)}
        actual = tree_files(repo, sliced.tree)
        assert actual == expected
        # Edited from a parent (by diff-tree or by tree comparison) or rewritten: same tree.
        assert sliced.tree_id.raw == (full.slice(up.tree_id.raw, rules) or full.empty_tree)
        assert sliced.author.time == up.author.time
        assert [str(p) for p in sliced.parent_ids] == [known[str(p)].slice for p in up.parent_ids]
        reachable_blobs |= {pygit2.Oid(hex=sha) for _, sha in actual.values()}
        for path, (_, sha) in upstream_files.items():
            (forbidden if rules.excluded(path) else allowed).add(pygit2.Oid(hex=sha))
    assert not (reachable_blobs & (forbidden - allowed))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=14))
def test_generated_histories_never_leak_and_match_a_full_rewrite(actions: list) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as folder:
        repo = pygit2.init_repository(folder, bare=True)
        upstream = Upstream(repo)
        known: dict[str, Mapped] = {}
        synced: list[str] = []
        for action in [*actions, ("pull",)]:
            if action[0] != "pull":
                upstream.step(action)
                continue
            if upstream.head is None:
                continue
            slicer = HistorySlicer(repo, patterns=PATTERNS)  # a fresh one per pull, like a job
            head = str(upstream.head)
            commits = slicer.new_commits(head, synced)
            result = slicer.history(head, commits=commits, known=known)
            known.update({m.upstream: m for m in result.mapped})
            synced.append(head)
        _check(repo, known)

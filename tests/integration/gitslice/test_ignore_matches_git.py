"""The ignore rules answer as git does: generated pattern files and trees, judged by both.

git's answer is ``git ls-files --ignored --cached --exclude-from=FILE`` on a real index holding
the generated paths; ours is :class:`IgnoreRules` alone and the :class:`TreeSlicer` that prunes
with it, whose slice must hold exactly the paths git does not ignore.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossdock.gitslice.ignore import IgnoreRules, decode_path
from crossdock.gitslice.trees import TreeSlicer

from .gitrepos import ENV

#: A submodule's tree entry mode.
SUBMODULE_MODE = 0o160000

#: Path components, with dot files, spaces and glob characters taken literally.
NAMES = ["a", "b", "ab", "ba", ".a", "x y", "x ", "a*", "[a]", "#c", "!n", "é", "dir", "d1"]

#: Pieces of pattern lines: names, globs, brackets, escapes.
PIECES = [
    "a", "b", "ab", ".a", "x", "dir", "d1", "é", "*", "**", "?", "*a", "a*", ".*",
    "[ab]", "[!a]", "[^b]", "[a-c]", "[]a]", "[[:alpha:]]", "[[:digit:]]", "[[:bogus:]]", "[a",
    "\\*", "\\[a]", "\\!n", "\\#c", "x\\ ", "x\\", "#c", "!n",
]

@st.composite
def pattern_line(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4))
    line = "/".join(parts)
    if draw(st.booleans()):
        line = "/" + line
    if draw(st.integers(0, 3)) == 0:
        line = "**/" + line
    if draw(st.integers(0, 2)) == 0:
        line += "/"
    if draw(st.integers(0, 2)) == 0:
        line = "!" + line
    if draw(st.integers(0, 5)) == 0:
        line += draw(st.sampled_from(["  ", " \t", "\\ ", "\r"]))
    if draw(st.integers(0, 9)) == 0:
        line = draw(st.sampled_from(["#" + line, "", "   ", "\\" + line]))
    return line


@st.composite
def tree(draw: st.DrawFn) -> dict[str, int]:
    """Paths (files, and now and then a submodule) that can coexist in one git tree."""
    paths: dict[str, int] = {}
    for parts in draw(st.lists(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4),
                               min_size=1, max_size=25)):
        path = "/".join(parts)
        if any(p == path or p.startswith(path + "/") or path.startswith(p + "/") for p in paths):
            continue
        paths[path] = SUBMODULE_MODE if draw(st.integers(0, 12)) == 0 else 0o100644
    return paths


class Git:
    """One scratch repository whose index is refilled for each example."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, **ENV}
        subprocess.run(["git", "init", "--quiet", str(root)], check=True, env=self.env)
        self.repo = pygit2.Repository(str(root))
        self.blob = str(self.repo.create_blob(b""))
        self.commit = "0123456789abcdef0123456789abcdef01234567"

    def ignored(self, paths: dict[str, int], ignore_file: bytes) -> set[str]:
        """The paths git ignores under ``ignore_file``'s lines."""
        (self.root / ".git" / "index").unlink(missing_ok=True)
        listing = b"".join(
            f"{mode:o} {self.commit if mode == SUBMODULE_MODE else self.blob}\t".encode()
            + path.encode() + b"\0"
            for path, mode in paths.items()
        )
        self._git(["update-index", "-z", "--add", "--index-info"], listing)
        (self.root / ".git" / "rules").write_bytes(ignore_file)
        out = self._git(["ls-files", "-z", "--ignored", "--cached",
                         "--exclude-from=.git/rules"], b"")
        return {decode_path(p) for p in out.split(b"\0") if p}

    def _git(self, args: list[str], stdin: bytes) -> bytes:
        done = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=self.root,
                              input=stdin, capture_output=True, env=self.env, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    def tree(self, paths: dict[str, int]) -> pygit2.Oid:
        index = pygit2.Index()
        for path, mode in paths.items():
            oid = pygit2.Oid(hex=self.commit) if mode == SUBMODULE_MODE else \
                pygit2.Oid(hex=self.blob)
            index.add(pygit2.IndexEntry(path, oid, mode))
        return index.write_tree(self.repo)

    def files(self, tree: bytes | None) -> set[str]:
        if tree is None:
            return set()
        found: set[str] = set()

        def walk(oid: pygit2.Oid, prefix: str) -> None:
            for entry in self.repo[oid].peel(pygit2.Tree):
                path = prefix + (entry.name or "")
                if entry.type_str == "tree":
                    walk(entry.id, path + "/")
                else:
                    found.add(path)

        walk(pygit2.Oid(raw=tree), "")
        return found


@pytest.fixture(scope="module")
def scratch() -> Iterator[Git]:
    with tempfile.TemporaryDirectory() as folder:
        yield Git(Path(folder))


def ours(rules: IgnoreRules, paths: dict[str, int]) -> set[str]:
    return {path for path in paths if rules.excluded(path)}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(pattern_line(), max_size=8), paths=tree(), split=st.integers(0, 8))
def test_rules_and_the_slicer_leave_out_exactly_what_git_ignores(
    scratch: Git, lines: list[str], paths: dict[str, int], split: int
) -> None:
    """Settings globs first, then the file: the two together read as one pattern file."""
    expected = scratch.ignored(paths, "\n".join(lines).encode())
    rules = IgnoreRules(patterns=tuple(lines[:split]), ignore_file="\n".join(lines[split:]))
    assert ours(rules, paths) == expected
    slicer = TreeSlicer(scratch.repo)
    sliced = slicer.slice(scratch.tree(paths).raw, rules)
    slicer.objects.flush()
    kept = scratch.files(sliced)
    assert kept == set(paths) - expected
    assert {p for p in paths if rules.upstream_only(p)} == expected


# The cases of git-slice-tools' own ignore test, and the glob cases around them, each judged
# by git too: (pattern lines, paths that are ignored, paths that are kept).
CASES: list[tuple[str, set[str], set[str]]] = [
    ("*.md", {"a.md", "d/b.md", ".md"}, {"a.mdx", "md"}),
    ("/*.md", {"a.md"}, {"d/a.md"}),
    ("/d1", {"d1/a", "d1/b/c"}, {"x/d1/a"}),
    ("d1", {"d1/a", "x/d1/a", "y/d1"}, {"d10/a"}),
    ("d1/", {"d1/a", "x/d1/a"}, {"y/d1"}),
    ("/*", {"a", "d/b", ".a"}, set()),
    ("*", {"a", "d/b", ".a"}, set()),
    ("d/*", {"d/a", "d/e/f", "d/.a"}, {"x/d/a"}),
    ("d/**", {"d/a", "d/e/f"}, {"x/d/a", "y/d"}),
    ("**/d", {"d", "x/d", "x/y/d/z"}, {"dd"}),
    ("**/d/**", {"d/a", "x/d/a", "x/y/d/z/w"}, {"y/d"}),
    ("a/**/b", {"a/b", "a/x/b", "a/x/y/b"}, {"a/xb", "b"}),
    # git compares a pattern's literal head first and globs the rest, so this ``**`` counts as
    # a whole component: ``a/x/b`` is ignored too.
    ("a**/b", {"a/b", "ax/b", "a/x/b"}, {"x/a/b"}),
    (".*", {".a", "d/.b", ".c/d"}, {"a.b"}),
    (".hidden/", {".hidden/x", "d/.hidden/y"}, {"e/.hidden"}),
    ("?", {"a", "d/b"}, {"ab"}),
    ("[ab]", {"a", "b"}, {"c", "ab"}),
    ("[!a]x", {"bx"}, {"ax", "x"}),
    ("\\#c", {"#c"}, {"c"}),
    ("#c", set(), {"#c"}),
    ("\\!n", {"!n"}, {"n"}),
    ("x\\ ", {"x "}, {"x"}),
    ("x  ", {"x"}, {"x "}),
    ("ignore-dir-2/**\n!ignore-dir-2/keep.md",
     {"ignore-dir-2/a.md", "ignore-dir-2/sub/keep.md"}, {"ignore-dir-2/keep.md"}),
    ("**/sub-2/**\n!**/sub-2/keep.md", {"d/sub-2/a.md", "sub-2/a.md"},
     {"d/sub-2/keep.md", "sub-2/keep.md"}),
    ("d/\n!d/keep.md", {"d/a", "d/keep.md"}, set()),
    ("*.md\n!d/*.md", {"a.md", "d/e/a.md"}, {"d/a.md"}),
]


@pytest.mark.parametrize(("lines", "ignored", "kept"), CASES)
def test_glob_cases_are_answered_as_git_answers_them(
    scratch: Git, lines: str, ignored: set[str], kept: set[str]
) -> None:
    paths = dict.fromkeys(ignored | kept, 0o100644)
    assert scratch.ignored(paths, lines.encode()) == ignored  # the case itself is git's
    assert ours(IgnoreRules(ignore_file=lines), paths) == ignored

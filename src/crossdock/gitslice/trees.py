"""Tree rewriting on git objects (libgit2 through pygit2), never through working trees.

Trees are read and written as raw objects so that any path git can store (names that are not
UTF-8 included) survives. Two ways to get a slice tree:

- :meth:`TreeSlicer.slice` rewrites a whole upstream tree. Subtrees are cached by (upstream
  tree id, path, rules digest): a subtree seen before under the same rules is reused unread.
- :meth:`TreeSlicer.apply` edits an existing tree at a few paths; a pull uses it with the diff
  between an upstream commit and its mapped parent, so its cost follows the change, not the
  size of the repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pygit2

from crossdock.gitslice.ignore import IgnoreRules, decode_path

TREE_MODE = 0o040000
#: A tree entry: file mode and object id.
Entry = tuple[int, pygit2.Oid]
#: Edits by path (``b"a/b/c"``): the new entry, or None to delete the path.
Edits = Mapping[bytes, Entry | None]

_CACHE_LIMIT = 500_000


def read_tree(repo: pygit2.Repository, oid: pygit2.Oid) -> dict[bytes, Entry]:
    """The entries of tree ``oid`` by raw name."""
    tree = repo[oid]
    assert isinstance(tree, pygit2.Tree)
    return {entry.raw_name: (entry.filemode, entry.id) for entry in tree}


def write_tree(repo: pygit2.Repository, entries: Mapping[bytes, Entry]) -> pygit2.Oid:
    """Write a tree object in git's canonical entry order."""

    def order(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == TREE_MODE else name

    data = b"".join(
        b"%o %s\0%s" % (entries[name][0], name, entries[name][1].raw)
        for name in sorted(entries, key=order)
    )
    return repo.odb.write(pygit2.GIT_OBJECT_TREE, data)


class TreeSlicer:
    """Rewrites upstream trees into slice trees, remembering the subtrees it has done."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._cache: dict[tuple[pygit2.Oid, str, str], pygit2.Oid | None] = {}

    def slice(self, tree: pygit2.Oid, rules: IgnoreRules, path: str = "") -> pygit2.Oid | None:
        """The slice of upstream ``tree`` at ``path``; None when nothing is left."""
        key = (tree, path, rules.digest)
        if key in self._cache:
            return self._cache[key]
        source = self.repo[tree]
        assert isinstance(source, pygit2.Tree)
        entries: dict[bytes, Entry] = {}
        changed = False
        for entry in source:
            name = entry.raw_name
            child = f"{path}/{decode_path(name)}" if path else decode_path(name)
            mode = entry.filemode
            if mode == TREE_MODE:
                if rules.dir_excluded(child):
                    changed = True
                    continue
                sub = self.slice(entry.id, rules, child)
                if sub is None:
                    changed = True
                    continue
                changed = changed or sub != entry.id
                entries[name] = (TREE_MODE, sub)
            elif rules.excluded(child):
                changed = True
            else:
                entries[name] = (mode, entry.id)
        if not entries:
            result = None
        elif changed:
            result = write_tree(self.repo, entries)
        else:
            result = tree
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def apply(self, base: pygit2.Oid | None, edits: Edits) -> pygit2.Oid | None:
        """``base`` with ``edits`` applied; emptied directories disappear; None if empty."""
        entries = read_tree(self.repo, base) if base is not None else {}
        nested: dict[bytes, dict[bytes, Entry | None]] = {}
        for path, edit in edits.items():
            head, sep, rest = path.partition(b"/")
            if sep:
                nested.setdefault(head, {})[rest] = edit
            elif edit is None:
                entries.pop(head, None)
            else:
                entries[head] = edit
        for head, sub_edits in nested.items():
            current = entries.get(head)
            is_tree = current is not None and current[0] == TREE_MODE
            sub = self.apply(current[1] if current is not None and is_tree else None, sub_edits)
            if sub is not None:
                entries[head] = (TREE_MODE, sub)
            elif is_tree:
                del entries[head]
        if not entries:
            return None
        return write_tree(self.repo, entries)

    def diff_edits(
        self, old: pygit2.Oid, new: pygit2.Oid, rules: IgnoreRules | None = None
    ) -> dict[bytes, Entry | None]:
        """The edits that turn tree ``old`` into ``new``, minus paths ``rules`` exclude."""
        diff = self.repo.diff(self.repo[old], self.repo[new])
        edits: dict[bytes, Entry | None] = {}
        for delta in diff.deltas:
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                path = delta.old_file.raw_path
                if rules is None or not rules.excluded(decode_path(path)):
                    edits.setdefault(path, None)
                continue
            path = delta.new_file.raw_path
            if rules is not None and rules.excluded(decode_path(path)):
                continue
            edits[path] = (delta.new_file.mode, delta.new_file.id)
        return edits


def changed_paths(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid) -> Iterable[str]:
    """Every path a diff from tree ``old`` to tree ``new`` touches (both sides of each delta)."""
    for delta in repo.diff(repo[old], repo[new]).deltas:
        yield decode_path(delta.old_file.raw_path)
        if delta.new_file.raw_path != delta.old_file.raw_path:
            yield decode_path(delta.new_file.raw_path)

"""Tree rewriting on git objects (libgit2 through pygit2), never through working trees.

Trees are read and written as raw objects so that any path git can store (names that are not
UTF-8 included) survives. Three ways to get a tree:

- :meth:`TreeSlicer.slice` rewrites a whole upstream tree. Subtrees are cached by (upstream
  tree id, path, rules digest): a subtree seen before under the same rules is reused unread.
- :meth:`TreeSlicer.rewrite` turns the slice tree of an upstream commit's parent into the
  slice tree of the commit, descending only into subtrees whose ids differ; a pull's cost
  follows the change, not the size of the repository. Each new tree is recorded with the
  tree it was edited from, so the pack stores it as a small delta.
- :meth:`TreeSlicer.apply` edits a tree at a few paths: a pull applies an upstream commit's
  kept changes (from ``git diff-tree``, see :mod:`changes`) to its parent's slice tree, and a
  push applies a slice diff upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

import pygit2

from crossdock.gitslice.ignore import IgnoreRules, decode_path
from crossdock.gitslice.objects import Entry, PendingObjects, RawId, format_entry

TREE_MODE = 0o040000
#: Edits by path (``b"a/b/c"``): the new entry, or None to delete the path.
Edits = Mapping[bytes, Entry | None]

_CACHE_LIMIT = 500_000


def _child(path: str, name: bytes) -> str:
    return f"{path}/{decode_path(name)}" if path else decode_path(name)


class TreeSlicer:
    """Rewrites upstream trees into slice trees, remembering the subtrees it has done."""

    def __init__(self, repo: pygit2.Repository, objects: PendingObjects | None = None) -> None:
        self.repo = repo
        self.objects = objects or PendingObjects(repo)
        self._cache: dict[tuple[RawId, str, str], RawId | None] = {}
        self.empty_tree = self.objects.write_tree({})

    def slice(self, tree: RawId, rules: IgnoreRules, path: str = "") -> RawId | None:
        """The slice of upstream ``tree`` at ``path``; None when nothing is left."""
        key = (tree, path, rules.digest)
        if key in self._cache:
            return self._cache[key]
        entries: dict[bytes, Entry] = {}
        changed = False
        for name, (mode, oid) in self.objects.tree(tree).items():
            child = _child(path, name)
            if mode == TREE_MODE:
                sub = None if rules.dir_excluded(child) else self.slice(oid, rules, child)
                if sub is None:
                    changed = True
                    continue
                changed = changed or sub != oid
                entries[name] = (TREE_MODE, sub)
            elif rules.excluded(child):
                changed = True
            else:
                entries[name] = (mode, oid)
        if not entries:
            result = None
        elif changed:
            result = self.objects.write_tree(entries)
        else:
            result = tree
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def rewrite(  # noqa: C901, PLR0912, PLR0915 - one branch per kind of entry change
        self,
        old: RawId,
        new: RawId,
        sliced: RawId | None,
        rules: IgnoreRules,
        path: str = "",
    ) -> RawId | None:
        """The slice of upstream tree ``new``, given that ``sliced`` is the slice of ``old``
        under the same ``rules``."""
        if old == new:
            return sliced
        key = (new, path, rules.digest)
        if key in self._cache:
            return self._cache[key]
        before = self.objects.tree(old)
        after = self.objects.tree(new)
        entries = dict(self.objects.tree(sliced)) if sliced is not None else {}
        lines = dict(self.objects.lines(sliced)) if sliced is not None else {}
        changed = False
        added = False
        # Set operations run in C: only the entries that differ reach the Python loop.
        names = {name for name, _ in after.items() - before.items()}
        names.update(before.keys() - after.keys())
        for name in sorted(names):
            was = before.get(name)
            now = after.get(name)
            child = _child(path, name)
            if now is None:
                changed = entries.pop(name, None) is not None or changed
                continue
            mode, oid = now
            if mode == TREE_MODE:
                if rules.dir_excluded(child):
                    sub = None
                elif was is not None and was[0] == TREE_MODE:
                    current = entries.get(name)
                    base = current[1] if current is not None and current[0] == TREE_MODE \
                        else None
                    sub = self.rewrite(was[1], oid, base, rules, child)
                else:
                    sub = self.slice(oid, rules, child)
                if sub is None:
                    changed = entries.pop(name, None) is not None or changed
                else:
                    added = added or name not in entries
                    entries[name] = (TREE_MODE, sub)
                    changed = True
            elif rules.excluded(child):
                changed = entries.pop(name, None) is not None or changed
            else:
                current = entries.get(name)
                # A file turning into a directory (or back) moves in git's order: re-sort.
                added = added or current is None or (current[0] == TREE_MODE) != (mode == TREE_MODE)
                entries[name] = now
                changed = True
        if not changed:
            return sliced
        if not entries:
            result = None
        elif added:
            result = self.objects.write_tree(entries)
        else:
            # Entries were only replaced or removed: splice the raw lines, no re-formatting.
            for name in names:
                if name not in entries:
                    lines.pop(name, None)
                elif lines.get(name) is not None:
                    lines[name] = format_entry(name, entries[name])
            result = self.objects.write_lines(entries, lines, base=sliced)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def apply(self, base: RawId | None, edits: Edits) -> RawId | None:
        """``base`` with ``edits`` applied; emptied directories disappear; None if empty.

        Only the trees along the edited paths are touched, and an entry replaced in place is
        spliced into its tree's raw bytes: the cost follows the edits, not the tree's width.
        """
        top: dict[bytes, Entry | None] = {}
        nested: dict[bytes, dict[bytes, Entry | None]] = {}
        for path, edit in edits.items():
            head, sep, rest = path.partition(b"/")
            if sep:
                nested.setdefault(head, {})[rest] = edit
            else:
                top[head] = edit
        for head, sub_edits in nested.items():
            if head in top:
                current = top[head]
            else:
                current = self.objects.entry(base, head) if base is not None else None
            is_tree = current is not None and current[0] == TREE_MODE
            sub = self.apply(current[1] if current is not None and is_tree else None, sub_edits)
            if sub is not None:
                top[head] = (TREE_MODE, sub)
            elif is_tree:
                top[head] = None
        return self.objects.edit_tree(base, top)

    def diff_edits(self, old: pygit2.Oid, new: pygit2.Oid) -> dict[bytes, Entry | None]:
        """The edits that turn stored tree ``old`` into stored tree ``new``."""
        diff = self.repo[old].peel(pygit2.Tree).diff_to_tree(self.repo[new].peel(pygit2.Tree))
        edits: dict[bytes, Entry | None] = {}
        for delta in diff.deltas:
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                edits.setdefault(delta.old_file.raw_path, None)
            else:
                edits[delta.new_file.raw_path] = (delta.new_file.mode, delta.new_file.id.raw)
        return edits


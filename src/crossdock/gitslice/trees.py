"""Tree rewriting on git objects (libgit2 through pygit2), never through working trees.

Trees are read and written as raw objects so that any path git can store (names that are not
UTF-8 included) survives. Three ways to get a tree:

- :meth:`TreeSlicer.slice` rewrites a whole upstream tree. Subtrees are cached by (upstream
  tree id, path, rules digest): a subtree seen before under the same rules is reused unread.
- :meth:`TreeSlicer.edit` turns the slice tree of an upstream commit's parent into the slice
  tree of the commit: libgit2 diffs the two upstream trees, and the kept changes are spliced
  into the parent's slice tree; a pull's cost follows the change, not the size of the
  repository. New trees are recorded with the tree they were edited from, so the pack stores
  them as small deltas.
- :meth:`TreeSlicer.apply` edits a tree at a few paths (a push applies a slice diff upstream).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pygit2

from crossdock.gitslice.ignore import IgnoreRules, decode_path
from crossdock.gitslice.objects import Entry, PendingObjects, RawId, format_entry

TREE_MODE = 0o040000
#: Edits by path (``b"a/b/c"``): the new entry, or None to delete the path.
Edits = Mapping[bytes, Entry | None]

_CACHE_LIMIT = 500_000


def _child(path: str, name: bytes) -> str:
    return f"{path}/{decode_path(name)}" if path else decode_path(name)


_Changes = dict[bytes, Entry | None]


def _split(edits: Edits) -> tuple[_Changes, dict[bytes, _Changes]]:
    """Edits of this level's entries, and the others grouped by their first directory."""
    top: dict[bytes, Entry | None] = {}
    nested: dict[bytes, dict[bytes, Entry | None]] = {}
    for path, change in edits.items():
        head, sep, rest = path.partition(b"/")
        if sep:
            nested.setdefault(head, {})[rest] = change
        else:
            top[head] = change
    return top, nested


def _reordered(names: list[bytes], before: Mapping[bytes, Entry],
               after: Mapping[bytes, Entry]) -> bool:
    """True when a name is new, or turned from file to directory (or back): git sorts a
    directory as ``name/``, so the raw entries cannot be edited in place."""
    for name in names:
        now, was = after.get(name), before.get(name)
        if now is not None and (was is None or (was[0] == TREE_MODE) != (now[0] == TREE_MODE)):
            return True
    return False


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

    def edit(
        self, old: pygit2.Tree, new: pygit2.Tree, sliced: RawId | None, rules: IgnoreRules
    ) -> RawId | None:
        """The slice of upstream tree ``new``, given that ``sliced`` is the slice of ``old``
        under the same ``rules``: libgit2 diffs the two upstream trees (in C, skipping equal
        subtrees), and only the changed paths that the rules keep are spliced into ``sliced``.
        No upstream tree is parsed in Python."""
        if old.id == new.id:
            return sliced
        edits: dict[bytes, Entry | None] = {}
        for delta in old.diff_to_tree(new).deltas:
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                raw = delta.old_file.raw_path
                if not rules.excluded(decode_path(raw)):
                    edits.setdefault(raw, None)
            else:
                raw = delta.new_file.raw_path
                if raw != delta.old_file.raw_path \
                        and not rules.excluded(decode_path(delta.old_file.raw_path)):
                    edits.setdefault(delta.old_file.raw_path, None)
                if not rules.excluded(decode_path(raw)):
                    edits[raw] = (delta.new_file.mode, delta.new_file.id.raw)
        if not edits:
            return sliced
        return self.splice(sliced, edits)

    def splice(self, base: RawId | None, edits: Edits) -> RawId | None:
        """Like :meth:`apply`, but edits ``base``'s raw entries in place when the order holds,
        and records ``base`` so the pack stores the result as a delta."""
        before = self.objects.tree(base) if base is not None else {}
        entries = dict(before)
        top, nested = _split(edits)
        touched = list(top)
        for head, change in top.items():
            if change is None:
                entries.pop(head, None)
            else:
                entries[head] = change
        for head, sub_edits in nested.items():
            current = entries.get(head)
            is_tree = current is not None and current[0] == TREE_MODE
            sub = self.splice(current[1] if current is not None and is_tree else None, sub_edits)
            touched.append(head)
            if sub is not None:
                entries[head] = (TREE_MODE, sub)
            elif is_tree:
                del entries[head]
        if not entries:
            return None
        if base is None or _reordered(touched, before, entries):
            return self.objects.write_tree(entries, base=base)
        lines = dict(self.objects.lines(base))
        for name in touched:
            if name in entries:
                lines[name] = format_entry(name, entries[name])
            else:
                lines.pop(name, None)
        return self.objects.write_lines(entries, lines, base=base)

    def apply(self, base: RawId | None, edits: Edits) -> RawId | None:
        """``base`` with ``edits`` applied; emptied directories disappear; None if empty."""
        entries = dict(self.objects.tree(base)) if base is not None else {}
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
        return self.objects.write_tree(entries)

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


def changed_paths(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid) -> Iterable[str]:
    """Every path a diff from tree ``old`` to tree ``new`` touches (both sides of each delta)."""
    for delta in repo[old].peel(pygit2.Tree).diff_to_tree(repo[new].peel(pygit2.Tree)).deltas:
        yield decode_path(delta.old_file.raw_path)
        if delta.new_file.raw_path != delta.old_file.raw_path:
            yield decode_path(delta.new_file.raw_path)

"""New git objects kept in memory during a run and written as one pack at the end.

Writing each object as a loose file costs a file creation (milliseconds on a busy disk); a pull
of 20,000 commits makes some 60,000 objects. Objects are hashed here (sha1, as git does),
served to readers from memory, and :meth:`PendingObjects.flush` stores them as a single pack
with its index (:mod:`packs`). Reading raw objects also skips pygit2's per-entry Python
objects, which dominate the cost of walking big trees.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import zlib
from collections.abc import Mapping
from pathlib import Path

import pygit2

from crossdock.gitslice.deltas import make_delta, pack_header, splice_delta
from crossdock.gitslice.packs import stored_zlib, write_pack

COMMIT, TREE, BLOB = pygit2.GIT_OBJECT_COMMIT, pygit2.GIT_OBJECT_TREE, pygit2.GIT_OBJECT_BLOB
_NAMES = {COMMIT: b"commit", TREE: b"tree", BLOB: b"blob"}
_PACK_TYPES = {COMMIT: 1, TREE: 2, BLOB: 3}
_REF_DELTA = 7
#: Longest delta chain a pack gets (git's default ``pack.depth``): readers undo each link.
_MAX_DEPTH = 50
#: Below this many objects a pack is not worth a process.
_LOOSE_LIMIT = 32
_TREE_MODE = 0o040000
#: Parsed trees kept: a pull needs its parents' trees, not the whole history's.
_TREE_CACHE_LIMIT = 20_000
#: Tree layouts kept for splicing: the trees of the last few commits are the ones edited next.
_LAYOUT_CACHE_LIMIT = 4_096
#: Pending bytes after which objects go to a pack mid-run (bounds memory on big pulls).
_PENDING_LIMIT = 64 << 20

#: An object id as its 20 raw bytes: cheaper to make and compare than ``pygit2.Oid``.
RawId = bytes
#: A tree entry: file mode and raw object id.
Entry = tuple[int, RawId]
#: Where each entry's line lies in a raw tree, by name: (start, end).
Spans = dict[bytes, tuple[int, int]]

_ENTRY = re.compile(rb"((\d+) ([^\0]*)\0(.{20}))", re.DOTALL)
_ENTRY_ONLY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.DOTALL)
_MODES: dict[bytes, int] = {
    raw: int(raw, 8) for raw in (b"100644", b"100755", b"120000", b"40000", b"160000")
}


def parse_tree(data: bytes) -> dict[bytes, Entry]:
    """The entries of a raw tree object, by raw name, in the tree's (canonical) order."""
    modes = _MODES
    found = _ENTRY_ONLY.findall(data)
    for mode, _, _ in found:
        if mode not in modes:  # an old or odd mode (100664...)
            modes[mode] = int(mode, 8)
    return {name: (modes[mode], oid) for mode, name, oid in found}


def _parse(data: bytes) -> tuple[dict[bytes, Entry], dict[bytes, bytes]]:
    found = _ENTRY.findall(data)
    modes = _MODES
    for _, mode, _, _ in found:
        if mode not in modes:  # an old or odd mode (100664...)
            modes[mode] = int(mode, 8)
    entries = {name: (modes[mode], oid) for _, mode, name, oid in found}
    return entries, {name: line for line, _, name, _ in found}


def tree_spans(data: bytes) -> Spans:
    """Where each entry of a raw tree lies in it, by raw name."""
    return {match.group(2): match.span() for match in _ENTRY_ONLY.finditer(data)}


def format_entry(name: bytes, entry: Entry) -> bytes:
    """One entry of a raw tree."""
    return b"%o %s\0%s" % (entry[0], name, entry[1])


def format_tree(entries: dict[bytes, Entry], *, ordered: bool = False) -> bytes:
    """A raw tree object in git's canonical entry order (directories sort as ``name/``);
    ``ordered`` says the dict is in that order already (parsed, then only changed in place)."""
    if ordered:
        return b"".join(b"%o %s\0%s" % (mode, name, oid) for name, (mode, oid) in entries.items())

    def order(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == _TREE_MODE else name

    return b"".join(
        b"%o %s\0%s" % (entries[name][0], name, entries[name][1])
        for name in sorted(entries, key=order)
    )


def format_signature(signature: pygit2.Signature) -> bytes:
    """``Name <email> 1700000000 +0200`` as git writes it."""
    offset = signature.offset
    sign = b"-" if offset < 0 else b"+"
    hours, minutes = divmod(abs(offset), 60)
    return b"%s <%s> %d %s%02d%02d" % (
        signature.raw_name, signature.raw_email, signature.time, sign, hours, minutes
    )


class PendingObjects:
    """Objects written during a run, readable at once, stored on :meth:`flush`."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.pending: dict[RawId, tuple[int, bytes]] = {}
        self.pending_bytes = 0
        self._trees: dict[RawId, tuple[dict[bytes, Entry], dict[bytes, bytes] | None]] = {}
        self._layouts: dict[RawId, tuple[bytes, Spans]] = {}
        #: Pending tree -> the pending tree it was edited from, that one's chain depth, and the
        #: delta between them when it is known already.
        self._bases: dict[RawId, tuple[RawId, int, bytes | None]] = {}

    def write(self, kind: int, data: bytes) -> RawId:
        """Hash and keep one object; returns its id."""
        digest = hashlib.sha1(b"%s %d\0" % (_NAMES[kind], len(data)))  # noqa: S324 - git's id
        digest.update(data)
        oid = digest.digest()
        if oid not in self.pending:
            self.pending[oid] = (kind, data)
            self.pending_bytes += len(data)
        return oid

    def read(self, oid: RawId) -> tuple[int, bytes]:
        """A raw object, pending or stored."""
        found = self.pending.get(oid)
        if found is not None:
            return found
        kind, data = self.repo.odb.read(pygit2.Oid(raw=oid))
        return int(kind), bytes(data)

    def tree(self, oid: RawId) -> dict[bytes, Entry]:
        """The entries of a tree (cached; treat the result as read-only)."""
        parsed = self._trees.get(oid)
        if parsed is not None:
            return parsed[0]
        entries = parse_tree(self.read(oid)[1])
        # Upstream trees are only compared, never spliced: their raw lines are not kept.
        self._keep(oid, (entries, None))
        return entries

    def lines(self, oid: RawId) -> dict[bytes, bytes]:
        """The raw entries of a tree by name, in order (cached; read-only)."""
        parsed = self._trees.get(oid)
        if parsed is None or parsed[1] is None:
            entries, lines = _parse(self.read(oid)[1])
            self._keep(oid, (entries, lines))
            return lines
        return parsed[1]

    def layout(self, oid: RawId) -> tuple[bytes, Spans]:
        """A tree's raw bytes and the spans of its entries (cached; read-only)."""
        found = self._layouts.get(oid)
        if found is None:
            data = self.read(oid)[1]
            found = (data, tree_spans(data))
            self._keep_layout(oid, found)
        return found

    def _keep_layout(self, oid: RawId, layout: tuple[bytes, Spans]) -> None:
        if len(self._layouts) > _LAYOUT_CACHE_LIMIT:
            # Forget the older half (dicts keep insertion order): the next commits edit the
            # trees written last, which a full clear would make us read and index again.
            for old in list(itertools.islice(self._layouts, _LAYOUT_CACHE_LIMIT // 2)):
                del self._layouts[old]
        self._layouts[oid] = layout

    def entry(self, tree: RawId, name: bytes) -> Entry | None:
        """The entry ``name`` of ``tree``, if it has one."""
        data, spans = self.layout(tree)
        span = spans.get(name)
        if span is None:
            return None
        line = data[span[0]:span[1]]
        return int(line[:line.index(b" ")], 8), line[-20:]

    def edit_tree(self, base: RawId | None, changes: Mapping[bytes, Entry | None]
                  ) -> RawId | None:
        """``base`` (None: the empty tree) with the named entries set, or removed where the
        change is None; None when nothing is left.

        An entry replaced by one of the same length (a new blob or subtree id, a mode bit) is
        spliced into the raw tree: the layout is unchanged, so it is shared with the new tree,
        and the delta the pack stores is known without a search. Anything else re-formats.
        """
        if base is None:
            entries = {name: entry for name, entry in changes.items() if entry is not None}
            return self.write_tree(entries) if entries else None
        data, spans = self.layout(base)
        replaced: list[tuple[int, int, bytes]] = []
        for name, entry in changes.items():
            span = spans.get(name)
            if entry is None and span is None:
                continue  # already absent
            line = format_entry(name, entry) if entry is not None else b""
            if span is None or len(line) != span[1] - span[0]:
                return self._reformat(base, data, changes)
            if data[span[0]:span[1]] != line:
                replaced.append((span[0], span[1], line))
        if not replaced:
            return base
        replaced.sort()
        pieces = []
        at = 0
        for start, end, line in replaced:
            pieces += [data[at:start], line]
            at = end
        pieces.append(data[at:])
        new = b"".join(pieces)
        fresh = len(self.pending)
        oid = self.write(TREE, new)
        self._keep_layout(oid, (new, spans))
        self._delta_base(oid, base, fresh,
                         delta=splice_delta(len(data), len(new), replaced))
        return oid

    def _reformat(self, base: RawId, data: bytes, changes: Mapping[bytes, Entry | None]
                  ) -> RawId | None:
        entries = dict(parse_tree(data))
        for name, entry in changes.items():
            if entry is None:
                entries.pop(name, None)
            else:
                entries[name] = entry
        return self.write_tree(entries, base=base) if entries else None

    def _keep(self, oid: RawId, parsed: tuple[dict[bytes, Entry], dict[bytes, bytes] | None]
              ) -> None:
        if len(self._trees) > _TREE_CACHE_LIMIT:
            self._trees.clear()
        self._trees[oid] = parsed

    def write_lines(
        self, entries: dict[bytes, Entry], lines: dict[bytes, bytes], *, base: RawId | None = None
    ) -> RawId:
        """Keep a tree whose raw entries ``lines`` are in canonical order already; ``base`` is
        the tree it was edited from, which the pack stores it as a delta against."""
        fresh = len(self.pending)
        oid = self.write(TREE, b"".join(lines.values()))
        self._trees[oid] = (entries, lines)
        self._delta_base(oid, base, fresh)
        return oid

    def write_tree(
        self, entries: dict[bytes, Entry], *, ordered: bool = False, base: RawId | None = None
    ) -> RawId:
        """Keep a tree built from ``entries`` (which the caller must not change afterwards);
        ``base``, as for :meth:`write_lines`."""
        data = format_tree(entries, ordered=ordered)
        fresh = len(self.pending)
        oid = self.write(TREE, data)
        self._trees[oid] = _parse(data)
        self._delta_base(oid, base, fresh)
        return oid

    def _delta_base(self, oid: RawId, base: RawId | None, fresh: int,
                    delta: bytes | None = None) -> None:
        if base is not None and base != oid and len(self.pending) > fresh \
                and base in self.pending:
            depth = self._bases[base][1] + 1 if base in self._bases else 1
            if depth <= _MAX_DEPTH:
                self._bases[oid] = (base, depth, delta)

    def write_commit(
        self,
        *,
        tree: RawId,
        parents: list[RawId],
        author: pygit2.Signature,
        committer: pygit2.Signature,
        message: bytes,
        encoding: str | None = None,
    ) -> RawId:
        """Keep a commit object, byte for byte as git would write it."""
        lines = [b"tree " + tree.hex().encode()]
        lines += [b"parent " + parent.hex().encode() for parent in parents]
        lines.append(b"author " + format_signature(author))
        lines.append(b"committer " + format_signature(committer))
        if encoding:
            lines.append(b"encoding " + encoding.encode())
        return self.write(COMMIT, b"\n".join(lines) + b"\n\n" + message)

    def flush(self) -> None:
        """Store every pending object in the repository (one pack when there are many)."""
        if not self.pending:
            return
        if len(self.pending) <= _LOOSE_LIMIT:
            for kind, data in self.pending.values():
                self.repo.odb.write(kind, data)
        else:
            self._write_pack()
        self.pending.clear()
        self._bases.clear()
        self.pending_bytes = 0

    def flush_if_large(self) -> None:
        """Flush when pending objects take more memory than a run should hold."""
        if self.pending_bytes > _PENDING_LIMIT:
            self.flush()

    def _write_pack(self) -> None:
        # Trees edited from a pending tree go in as deltas against it: a commit's trees differ
        # from its parent's in a line or two, so the pack (and the push that reuses its deltas)
        # shrinks by an order of magnitude and there is far less to compress.
        pending = self.pending
        entries = []
        for oid, (kind, data) in pending.items():
            based = self._bases.get(oid)
            if based is not None:
                delta = based[2] if based[2] is not None else make_delta(pending[based[0]][1],
                                                                         data)
                entries.append((oid, pack_header(_REF_DELTA, len(delta)) + based[0]
                                + stored_zlib(delta)))
            else:
                entries.append((oid, pack_header(_PACK_TYPES[kind], len(data))
                                + zlib.compress(data, 1)))
        write_pack(Path(self.repo.path), entries)

"""Pull: upstream commits become slice commits (history mode) or one squash commit.

History mode makes one slice commit per new upstream commit, in topological order, with the
upstream author, committer, dates and message plus an ``Upstream-Commit`` trailer. The tree of
each is its mapped parent's slice tree edited by the upstream diff, so the work follows the
change. When the first parent was sliced in the same run under the same rules, the diff comes
from ``git diff-tree`` (:mod:`changes`) and only the kept changed paths are applied; otherwise
the two upstream trees are compared here. A root commit, or a change of the ignore rules, gets
a full (cached) rewrite. Commits are deterministic: the same upstream commit under the same
rules always gives the same slice sha, which makes an interrupted pull safe to run again.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterable
from pathlib import Path

import pygit2

from crossdock.gitslice.changes import Change, CommitChanges
from crossdock.gitslice.errors import DivergedSlice
from crossdock.gitslice.ignore import IGNORE_FILE, IgnoreRules, decode_path
from crossdock.gitslice.messages import SQUASH_PREFIX, UPSTREAM_TRAILER, add_trailer
from crossdock.gitslice.objects import Entry, RawId
from crossdock.gitslice.trees import TreeSlicer


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mapped:
    """An upstream commit and the slice commit made from it (under rules ``rules_digest``)."""

    upstream: str
    slice: str
    rules_digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullResult:
    """What a pull made: the new slice head and the new map entries."""

    upstream_head: str
    slice_head: str | None
    mapped: tuple[Mapped, ...]


_IGNORE_FILE = IGNORE_FILE.encode()
_UNDER_IGNORE_FILE = _IGNORE_FILE + b"/"

#: Reports progress: (done, total).
Progress = Callable[[int, int], None]


class HistorySlicer:
    """Slices upstream commits in one cache repository."""

    def __init__(
        self,
        repo: pygit2.Repository,
        *,
        patterns: tuple[str, ...] = (),
        folders: tuple[str, ...] = (),
    ) -> None:
        self.repo = repo
        self.patterns = patterns
        self.folders = folders
        self.trees = TreeSlicer(repo)
        self._rules: dict[RawId | None, IgnoreRules] = {}
        #: Slice commit sha -> its tree and rules, for the commits this slicer made.
        self._made: dict[str, tuple[RawId, IgnoreRules]] = {}

    def rules(self, commit: pygit2.Commit) -> IgnoreRules:
        """The rules in force for ``commit``, shared between commits with the same ignore file."""
        tree = commit.tree
        key = tree[IGNORE_FILE].id.raw if IGNORE_FILE in tree else None
        rules = self._rules.get(key)
        if rules is None:
            rules = IgnoreRules.for_tree(
                self.repo, commit.tree, patterns=self.patterns, folders=self.folders
            )
            self._rules[key] = rules
        return rules

    def slice_tree(
        self, commit: pygit2.Commit, parents: Iterable[tuple[pygit2.Commit, Mapped]]
    ) -> tuple[RawId, IgnoreRules]:
        """The slice tree of ``commit``, edited from a parent's when the rules match."""
        rules = self.rules(commit)
        for upstream_parent, mapped in parents:
            if mapped.rules_digest != rules.digest:
                continue
            made = self._made.get(mapped.slice)
            sliced = made[0] if made is not None else \
                self.repo[mapped.slice].peel(pygit2.Tree).id.raw
            tree = self.trees.rewrite(upstream_parent.tree_id.raw, commit.tree_id.raw,
                                      None if sliced == self.trees.empty_tree else sliced, rules)
            return (tree if tree is not None else self.trees.empty_tree), rules
        tree = self.trees.slice(commit.tree_id.raw, rules)
        return (tree if tree is not None else self.trees.empty_tree), rules

    def edited_tree(self, parent: Mapped, changes: list[Change]
                    ) -> tuple[RawId, IgnoreRules] | None:
        """The slice tree of a commit whose first parent's slice is ``parent``, from the commit's
        ``changes``; None when that parent was not sliced here or the ignore file changed."""
        made = self._made.get(parent.slice)
        if made is None:
            return None
        tree, rules = made
        edits: dict[bytes, Entry | None] = {}
        for path, entry in changes:
            if path == _IGNORE_FILE or path.startswith(_UNDER_IGNORE_FILE):
                return None
            # An excluded path is absent from the parent's slice already: nothing to do.
            if not rules.excluded(decode_path(path)):
                edits[path] = entry
        sliced = self.trees.apply(None if tree == self.trees.empty_tree else tree, edits)
        return (sliced if sliced is not None else self.trees.empty_tree), rules

    def new_commits(self, head: str, hide: Iterable[str] = ()) -> list[pygit2.Commit]:
        """Commits reachable from ``head`` but not from ``hide``, parents first."""
        walker = self.repo.walk(
            pygit2.Oid(hex=head), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
        )
        for sha in hide:
            if pygit2.Oid(hex=sha) in self.repo:
                walker.hide(pygit2.Oid(hex=sha))
        return list(walker)

    @staticmethod
    def wanted(head: str, commits: list[pygit2.Commit]) -> list[str]:
        """The shas whose map entries :meth:`history` needs."""
        shas = {head} | {str(c.id) for c in commits}
        shas |= {str(p) for c in commits for p in c.parent_ids}
        return sorted(shas)

    def history(
        self,
        head: str,
        *,
        commits: list[pygit2.Commit],
        known: dict[str, Mapped],
        slice_head: str | None = None,
        progress: Progress | None = None,
    ) -> PullResult:
        """Slice ``commits`` (from :meth:`new_commits`) that ``known`` does not map yet."""
        known = dict(known)
        made: list[Mapped] = []
        # Diffs against first parents that this run slices (the others are compared here).
        todo = {str(c.id) for c in commits} - known.keys()
        pairs = [(str(c.id), str(c.parent_ids[0])) for c in commits
                 if c.parent_ids and str(c.parent_ids[0]) in todo and str(c.id) in todo]
        # Tree caches hold millions of small tuples and no cycles: the cyclic collector would
        # rescan them over and over, making big pulls quadratic.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with CommitChanges(Path(self.repo.path), pairs) as changes:
                self._slice_all(commits, known, made, slice_head, changes, progress)
            self._apply_current_rules(head, known, made)
        finally:
            if collecting:
                gc.enable()
        self.trees.objects.flush()
        new_head = known[head].slice if head in known else slice_head
        if slice_head is not None and new_head is not None and new_head != slice_head \
                and not self.repo.descendant_of(pygit2.Oid(hex=new_head),
                                                pygit2.Oid(hex=slice_head)):
            raise DivergedSlice(
                f"the slice branch head {slice_head[:12]} is not part of the sliced history; "
                "it has commits crossdock did not write (move them to a branch, then pull again)"
            )
        return PullResult(upstream_head=head, slice_head=new_head, mapped=tuple(made))

    def _slice_all(
        self, commits: list[pygit2.Commit], known: dict[str, Mapped], made: list[Mapped],
        slice_head: str | None, changes: CommitChanges, progress: Progress | None,
    ) -> None:
        total = len(commits)
        for done, commit in enumerate(commits, start=1):
            sha = str(commit.id)
            if sha in known:
                continue
            parent_shas = [str(p) for p in commit.parent_ids]
            edited = None
            if changes.covers(sha):
                edited = self.edited_tree(known[parent_shas[0]], changes.of(sha))
            if edited is not None:
                tree, rules = edited
            else:
                tree, rules = self.slice_tree(commit, [
                    (self.repo[p].peel(pygit2.Commit), known[p]) for p in parent_shas if p in known
                ])
            parents = list(dict.fromkeys(bytes.fromhex(known[p].slice) for p in parent_shas
                                         if p in known))
            if not parents and commit.parent_ids and slice_head is not None:
                # Older history was never mapped (a squash-mode slice turned history): go on
                # from the slice head rather than start an unrelated root.
                parents = [bytes.fromhex(slice_head)]
            oid = self.trees.objects.write_commit(
                tree=tree, parents=parents, author=commit.author, committer=commit.committer,
                message=add_trailer(commit.raw_message, UPSTREAM_TRAILER, sha),
                encoding=commit.message_encoding,
            )
            self._made[oid.hex()] = (tree, rules)
            known[sha] = Mapped(upstream=sha, slice=oid.hex(), rules_digest=rules.digest)
            made.append(known[sha])
            if done % 200 == 0:
                self.trees.objects.flush_if_large()
            if progress is not None and (done % 200 == 0 or done == total):
                progress(done, total)

    def _apply_current_rules(self, head: str, known: dict[str, Mapped], made: list[Mapped]
                             ) -> None:
        """When ``head`` was sliced under other rules than today's (the slice's globs changed,
        or what the same lines mean did), one more slice commit on it carries ``head``'s tree
        under today's rules: the slice follows its rules without waiting for a new upstream
        commit."""
        mapped = known.get(head)
        if mapped is None or mapped.rules_digest is None:
            return
        commit = self.repo[head].peel(pygit2.Commit)
        rules = self.rules(commit)
        if mapped.rules_digest == rules.digest:
            return
        tree = self.trees.slice(commit.tree_id.raw, rules) or self.trees.empty_tree
        current = self.repo[mapped.slice].peel(pygit2.Commit)
        slice_sha = mapped.slice
        if current.tree_id.raw != tree:
            message = add_trailer(
                f"Apply the slice's current ignore rules to {head[:12]}\n".encode(),
                UPSTREAM_TRAILER, head,
            )
            slice_sha = self.trees.objects.write_commit(
                tree=tree, parents=[bytes.fromhex(mapped.slice)], author=commit.author,
                committer=commit.committer, message=message,
            ).hex()
            self._made[slice_sha] = (tree, rules)
        known[head] = Mapped(upstream=head, slice=slice_sha, rules_digest=rules.digest)
        made.append(known[head])

    def squash(
        self,
        head: str,
        *,
        base: Mapped | None,
        slice_head: str | None,
        identity: tuple[str, str],
    ) -> PullResult:
        """One ``git-slice:<sha>`` commit on the slice head with the slice of ``head``."""
        commit = self.repo[head]
        assert isinstance(commit, pygit2.Commit)
        parents: list[tuple[pygit2.Commit, Mapped]] = []
        if base is not None and pygit2.Oid(hex=base.upstream) in self.repo:
            parents = [(self.repo[base.upstream].peel(pygit2.Commit), base)]
        tree, rules = self.slice_tree(commit, parents)
        if slice_head is not None:
            current = self.repo[slice_head]
            assert isinstance(current, pygit2.Commit)
            if current.tree_id.raw == tree and current.raw_message.startswith(
                f"{SQUASH_PREFIX}{head}".encode()
            ):
                made = Mapped(upstream=head, slice=slice_head, rules_digest=rules.digest)
                return PullResult(upstream_head=head, slice_head=slice_head, mapped=(made,))
        when = commit.committer
        signature = pygit2.Signature(identity[0], identity[1], when.time, when.offset)
        oid = self.trees.objects.write_commit(
            tree=tree, parents=[bytes.fromhex(slice_head)] if slice_head else [],
            author=signature, committer=signature, message=f"{SQUASH_PREFIX}{head}\n".encode(),
        )
        self.trees.objects.flush()
        made = Mapped(upstream=head, slice=oid.hex(), rules_digest=rules.digest)
        return PullResult(upstream_head=head, slice_head=oid.hex(), mapped=(made,))


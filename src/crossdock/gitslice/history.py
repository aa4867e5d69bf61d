"""Pull: upstream commits become slice commits (history mode) or one squash commit.

History mode makes one slice commit per new upstream commit, in topological order, with the
upstream author, committer, dates and message plus an ``Upstream-Commit`` trailer. The tree of
each is its mapped parent's slice tree edited by the upstream diff, so the work follows the
change; a root commit, or a change of the ignore rules, gets a full (cached) rewrite. Commits
are deterministic: the same upstream commit under the same rules always gives the same slice
sha, which makes an interrupted pull safe to run again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import pygit2

from crossdock.gitslice.errors import DivergedSlice
from crossdock.gitslice.ignore import IGNORE_FILE, IgnoreRules
from crossdock.gitslice.messages import SQUASH_PREFIX, UPSTREAM_TRAILER, add_trailer
from crossdock.gitslice.trees import TreeSlicer, write_tree


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
        self._rules: dict[pygit2.Oid | None, IgnoreRules] = {}

    def rules(self, commit: pygit2.Commit) -> IgnoreRules:
        """The rules in force for ``commit``, shared between commits with the same ignore file."""
        key = None
        for entry in commit.tree:
            if entry.raw_name == IGNORE_FILE.encode():
                key = entry.id
                break
        rules = self._rules.get(key)
        if rules is None:
            rules = IgnoreRules.for_tree(
                self.repo, commit.tree, patterns=self.patterns, folders=self.folders
            )
            self._rules[key] = rules
        return rules

    def slice_tree(
        self, commit: pygit2.Commit, parents: Iterable[tuple[pygit2.Commit, Mapped]]
    ) -> tuple[pygit2.Oid, IgnoreRules]:
        """The slice tree of ``commit``, edited from a parent's when the rules match."""
        rules = self.rules(commit)
        for upstream_parent, mapped in parents:
            if mapped.rules_digest != rules.digest:
                continue
            slice_parent = self.repo[mapped.slice]
            assert isinstance(slice_parent, pygit2.Commit)
            edits = self.trees.diff_edits(upstream_parent.tree_id, commit.tree_id, rules)
            tree = self.trees.apply(slice_parent.tree_id, edits) if edits \
                else slice_parent.tree_id
            return (tree if tree is not None else _empty_tree(self.repo)), rules
        tree = self.trees.slice(commit.tree_id, rules)
        return (tree if tree is not None else _empty_tree(self.repo)), rules

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
        total = len(commits)
        for done, commit in enumerate(commits, start=1):
            sha = str(commit.id)
            if sha in known:
                continue
            mapped_parents = [
                (self.repo[p], known[str(p)]) for p in commit.parent_ids if str(p) in known
            ]
            tree, rules = self.slice_tree(commit, mapped_parents)  # type: ignore[arg-type]
            parents = list(dict.fromkeys(pygit2.Oid(hex=m.slice) for _, m in mapped_parents))
            if not parents and commit.parent_ids and slice_head is not None:
                # Older history was never mapped (a squash-mode slice turned history): go on
                # from the slice head rather than start an unrelated root.
                parents = [pygit2.Oid(hex=slice_head)]
            message = add_trailer(commit.raw_message, UPSTREAM_TRAILER, sha)
            extra = (commit.message_encoding,) if commit.message_encoding else ()
            oid = self.repo.create_commit(
                None, commit.author, commit.committer, message, tree, parents, *extra
            )
            known[sha] = Mapped(upstream=sha, slice=str(oid), rules_digest=rules.digest)
            made.append(known[sha])
            if progress is not None and (done % 200 == 0 or done == total):
                progress(done, total)
        new_head = known[head].slice if head in known else slice_head
        if slice_head is not None and new_head is not None and new_head != slice_head \
                and not self.repo.descendant_of(pygit2.Oid(hex=new_head),
                                                pygit2.Oid(hex=slice_head)):
            raise DivergedSlice(
                f"the slice branch head {slice_head[:12]} is not part of the sliced history; "
                "it has commits crossdock did not write (move them to a branch, then pull again)"
            )
        return PullResult(upstream_head=head, slice_head=new_head, mapped=tuple(made))

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
            parents = [(self.repo[base.upstream], base)]  # type: ignore[list-item]
        tree, rules = self.slice_tree(commit, parents)
        if slice_head is not None:
            current = self.repo[slice_head]
            assert isinstance(current, pygit2.Commit)
            if current.tree_id == tree and current.raw_message.startswith(
                f"{SQUASH_PREFIX}{head}".encode()
            ):
                made = Mapped(upstream=head, slice=slice_head, rules_digest=rules.digest)
                return PullResult(upstream_head=head, slice_head=slice_head, mapped=(made,))
        when = commit.committer
        signature = pygit2.Signature(identity[0], identity[1], when.time, when.offset)
        oid = self.repo.create_commit(
            None, signature, signature, f"{SQUASH_PREFIX}{head}\n", tree,
            [pygit2.Oid(hex=slice_head)] if slice_head else [],
        )
        made = Mapped(upstream=head, slice=str(oid), rules_digest=rules.digest)
        return PullResult(upstream_head=head, slice_head=str(oid), mapped=(made,))


def _empty_tree(repo: pygit2.Repository) -> pygit2.Oid:
    return write_tree(repo, {})

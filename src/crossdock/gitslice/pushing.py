"""Push: a slice branch's work since its base, applied onto the mapped upstream commit.

The base is the newest mapped commit the branch contains. The branch's change from the base
(``git diff base tip``) is applied onto the base's upstream commit, so upstream-only files stay
as they are. A branch that touches an ignored path or ``.gitsliceignore`` is refused before any
object is written. The result lands on the upstream branch the template names: as a new branch,
fast-forwarded, merged with the branch's current head, or (``force``) replacing it.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator

import pygit2

from crossdock.gitslice.errors import (
    CommitMessageRejected,
    GitSliceError,
    IgnoredPathTouched,
    PushConflict,
)
from crossdock.gitslice.history import HistorySlicer, Mapped
from crossdock.gitslice.ignore import decode_path
from crossdock.gitslice.messages import with_co_authors

_BATCH = 256


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PushRequest:
    """What the user asked to push."""

    branch: str
    message: str | None = None
    force: bool = False
    preserve_commits: bool = False
    co_authors: tuple[str, ...] = ()
    branch_template: str = "<branch_name>"
    message_regex: str | None = None
    #: Name and email of the upstream author; default: the tip commit's author.
    identity: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PushPlan:
    """The upstream commit to push, and where."""

    target_branch: str
    commit: str
    expect: str | None
    base: Mapped
    slice_commits: tuple[str, ...]
    merged: bool = False
    up_to_date: bool = False


def target_branch(template: str, branch: str) -> str:
    """The upstream branch for slice ``branch`` (``dev/<branch_name>`` -> ``dev/x``)."""
    return (template or "<branch_name>").replace("<branch_name>", branch)


def check_message(message: str, regex: str | None) -> None:
    """Refuse ``message`` when it does not match ``regex`` (searched, as git-slice-tools does)."""
    if not regex:
        return
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise GitSliceError(f"GIT_SLICE_PUSH_COMMIT_MSG_REGEX is not a valid regex: {exc}") \
            from exc
    if not pattern.search(message):
        subject = message.splitlines()[0] if message else ""
        raise CommitMessageRejected(
            f"commit message {subject!r} does not match the required pattern {regex!r}"
        )


class PushBuilder:
    """Builds the upstream commit for a push in the cache repository."""

    def __init__(self, slicer: HistorySlicer) -> None:
        self.slicer = slicer
        self.repo = slicer.repo

    def candidates(self, tip: str) -> Iterator[list[str]]:
        """``tip``'s history, newest first, in batches to look up in the map."""
        walker = self.repo.walk(pygit2.Oid(hex=tip), pygit2.enums.SortMode.TOPOLOGICAL)
        batch: list[str] = []
        for commit in walker:
            batch.append(str(commit.id))
            if len(batch) >= _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def own_commits(self, tip: str, base: Mapped) -> list[pygit2.Commit]:
        """The branch's commits since ``base``, oldest first."""
        walker = self.repo.walk(
            pygit2.Oid(hex=tip), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
        )
        walker.hide(pygit2.Oid(hex=base.slice))
        return list(walker)

    def check_paths(self, base: Mapped, commits: list[pygit2.Commit], tip: str) -> None:
        """Refuse when the branch (as a whole, or any commit of it) touches upstream-only paths."""
        upstream = self.repo[base.upstream]
        assert isinstance(upstream, pygit2.Commit)
        rules = self.slicer.rules(upstream)
        base_tree = self.repo[base.slice].peel(pygit2.Tree).id
        pairs = [(base_tree, self.repo[tip].peel(pygit2.Tree).id)]
        pairs += [(c.parents[0].tree_id, c.tree_id) for c in commits if len(c.parents) == 1]
        touched: set[str] = set()
        for old, new in pairs:
            for delta in self.repo.diff(self.repo[old], self.repo[new]).deltas:
                for raw in {delta.old_file.raw_path, delta.new_file.raw_path}:
                    path = decode_path(raw)
                    if rules.upstream_only(path):
                        touched.add(path)
        if touched:
            shown = ", ".join(sorted(touched)[:20])
            raise IgnoredPathTouched(
                f"the branch changes paths that only upstream may change (ignored, outside the "
                f"slice's folders, or .gitsliceignore): {shown}"
            )

    def build(
        self,
        *,
        tip: str,
        base: Mapped,
        commits: list[pygit2.Commit],
        request: PushRequest,
        current: str | None,
    ) -> PushPlan:
        """The upstream commit for the push; ``current`` is the target branch's head, if any."""
        target = target_branch(request.branch_template, request.branch)
        if not commits:
            raise GitSliceError(f"branch {request.branch!r} has no commits since its sync base")
        self.check_paths(base, commits, tip)
        if request.preserve_commits:
            head = self._preserve(base, commits, request)
        else:
            head = self._squash(base, commits, tip, request)
        if current is None or request.force:
            return PushPlan(target_branch=target, commit=str(head), expect=current, base=base,
                            slice_commits=tuple(str(c.id) for c in commits))
        return self._onto_existing(head, current, target, base, commits)

    def _squash(
        self, base: Mapped, commits: list[pygit2.Commit], tip: str, request: PushRequest
    ) -> pygit2.Oid:
        tip_commit = self.repo[tip]
        assert isinstance(tip_commit, pygit2.Commit)
        message = request.message or tip_commit.message
        check_message(message, request.message_regex)
        author = self._author(request, tip_commit)
        others = [f"{c.author.name} <{c.author.email}>" for c in commits]
        co_authors = [p for p in [*others, *request.co_authors]
                      if p != f"{author.name} <{author.email}>"]
        tree = self._tree(self.repo[base.slice].peel(pygit2.Tree).id,
                          tip_commit.tree_id, self.repo[base.upstream].peel(pygit2.Tree).id)
        return self.repo.create_commit(
            None, author, self._now(author), with_co_authors(message, co_authors), tree,
            [pygit2.Oid(hex=base.upstream)],
        )

    def _preserve(
        self, base: Mapped, commits: list[pygit2.Commit], request: PushRequest
    ) -> pygit2.Oid:
        merges = [c for c in commits if len(c.parents) > 1]
        if merges:
            raise GitSliceError(
                f"--preserve-commits needs a linear branch; {str(merges[0].id)[:12]} is a merge "
                "(rebase the branch onto the slice's default branch, or push without it)"
            )
        for commit in commits:
            check_message(commit.message, request.message_regex)
        parent = pygit2.Oid(hex=base.upstream)
        for commit in commits:
            tree = self._tree(commit.parents[0].tree_id, commit.tree_id,
                              self.repo[parent].peel(pygit2.Tree).id)
            message = with_co_authors(commit.message, list(request.co_authors))
            parent = self.repo.create_commit(
                None, commit.author, self._now(self._author(request, commit)), message, tree,
                [parent],
            )
        return parent

    def _tree(self, old: pygit2.Oid, new: pygit2.Oid, onto: pygit2.Oid) -> pygit2.Oid:
        trees = self.slicer.trees
        tree = trees.apply(onto.raw, trees.diff_edits(old, new))
        trees.objects.flush()  # pygit2 writes the commit next and checks its tree exists
        return pygit2.Oid(raw=tree if tree is not None else trees.empty_tree)

    def _onto_existing(
        self, head: pygit2.Oid, current: str, target: str, base: Mapped,
        commits: list[pygit2.Commit],
    ) -> PushPlan:
        current_oid = pygit2.Oid(hex=current)
        shas = tuple(str(c.id) for c in commits)
        if self.repo.descendant_of(head, current_oid):
            return PushPlan(target_branch=target, commit=str(head), expect=current, base=base,
                            slice_commits=shas)
        index = self.repo.merge_commits(current_oid, head)
        if index.conflicts is not None:
            paths = sorted({
                side.path for entry in index.conflicts for side in entry if side is not None
            })
            raise PushConflict(
                f"pushing onto {target!r} conflicts with its current head "
                f"{current[:12]} in: {', '.join(paths)}; pull the upstream branch into the "
                "slice (pull-branch) and resolve, or push with --force"
            )
        tree = index.write_tree(self.repo)
        if tree == self.repo[current_oid].peel(pygit2.Tree).id:
            return PushPlan(target_branch=target, commit=current, expect=current, base=base,
                            slice_commits=shas, up_to_date=True)
        new = self.repo[head]
        assert isinstance(new, pygit2.Commit)
        merge = self.repo.create_commit(
            None, new.author, new.committer, f"Merge the slice's changes into {target}\n", tree,
            [current_oid, head],
        )
        return PushPlan(target_branch=target, commit=str(merge), expect=current, base=base,
                        slice_commits=shas, merged=True)

    @staticmethod
    def _author(request: PushRequest, commit: pygit2.Commit) -> pygit2.Signature:
        if request.identity is None:
            return commit.author
        return pygit2.Signature(request.identity[0], request.identity[1])

    @staticmethod
    def _now(who: pygit2.Signature) -> pygit2.Signature:
        offset = -time.timezone // 60 if not time.daylight else -time.altzone // 60
        return pygit2.Signature(who.name, who.email, int(time.time()), offset)

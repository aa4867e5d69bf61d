"""Pull and pull-branch: upstream commits sliced onto a slice branch, end to end.

The order makes a crash harmless: objects are written in the cache repository, then the slice
branch is pushed (git sends objects before it moves the ref), and only then are the map, the
tip and the run recorded, in one transaction. A rerun after a crash between the push and the
record finds the pushed commits by their trailers and records them; since slice commits are
deterministic it would have made the same ones anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Protocol

import pygit2

from crossdock.core.logging import get_logger
from crossdock.gitslice.config import Mode, SliceConfig
from crossdock.gitslice.errors import UnknownBranch
from crossdock.gitslice.history import HistorySlicer, Mapped, PullResult
from crossdock.gitslice.messages import upstream_sha
from crossdock.gitslice.records import PullRecord, RunKind, Tip
from crossdock.gitslice.workspace import SLICE_NS, UPSTREAM_NS, Reporter, Silent, Workspace, ref

logger = get_logger("crossdock.gitslice")


class PullStore(Protocol):
    """The store, as a pull uses it: the commit map, the tips, and the pull's record."""

    async def tips(self, name: str) -> list[Tip]: ...

    async def by_upstream_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]: ...

    async def by_slice_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]: ...

    async def add_mappings(self, name: str, mapped: Iterable[Mapped]) -> None: ...

    async def record_pull(self, record: PullRecord) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullOutcome:
    """What a pull did."""

    upstream_head: str
    slice_head: str | None
    commits: int
    slice_branch: str
    #: The slice pull request from ``slice_branch`` (pull-branch with a target branch).
    pull_request: int | None = None
    pull_request_url: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Pull:
    """One pull: which upstream branch onto which slice branch, as which kind of run."""

    config: SliceConfig
    upstream_branch: str
    slice_branch: str
    kind: RunKind
    #: The webhook delivery whose event queued the pull, if one did.
    delivery_id: int | None = None


class Puller:
    """Slices upstream branches onto slice branches and records what it made."""

    def __init__(self, workspace: Workspace, store: PullStore) -> None:
        self.workspace = workspace
        self.store = store

    async def pull(self, name: str, reporter: Reporter | None = None, *,
                   delivery_id: int | None = None) -> PullOutcome:
        """Bring the upstream default branch's new commits into the slice default branch."""
        config = await self.workspace.config(name)
        return await self._pull(_Pull(config=config, upstream_branch=config.upstream_branch,
                                      slice_branch=config.slice_branch, kind=RunKind.PULL,
                                      delivery_id=delivery_id),
                                reporter or Silent())

    async def pull_branch(
        self, name: str, branch: str, reporter: Reporter | None = None
    ) -> PullOutcome:
        """Slice upstream ``branch`` into slice branch ``upstream-<branch>`` (replacing it)."""
        config = await self.workspace.config(name)
        return await self._pull(_Pull(config=config, upstream_branch=branch,
                                      slice_branch=f"upstream-{branch}",
                                      kind=RunKind.PULL_BRANCH),
                                reporter or Silent())

    async def _pull(self, pull: _Pull, reporter: Reporter) -> PullOutcome:
        name = pull.config.name
        async with self.workspace.store.locked(name):
            async with self.workspace.run(pull.config, pull.kind,
                                          upstream_ref=pull.upstream_branch,
                                          slice_ref=pull.slice_branch,
                                          delivery_id=pull.delivery_id) as run_id:
                result = await self._pull_locked(pull, reporter)
            reporter.step("recording the commit map")
            await self.store.record_pull(PullRecord(
                name=name, run_id=run_id, upstream_ref=pull.upstream_branch,
                upstream_sha=result.upstream_head, slice_ref=pull.slice_branch,
                slice_sha=result.slice_head, mapped=tuple(result.mapped),
                synced=pull.kind is RunKind.PULL,
            ))
        outcome = PullOutcome(upstream_head=result.upstream_head, slice_head=result.slice_head,
                              commits=len(result.mapped), slice_branch=pull.slice_branch)
        logger.info("slice_pulled", slice=name, branch=pull.upstream_branch,
                    commits=outcome.commits, slice_head=outcome.slice_head)
        return outcome

    async def _pull_locked(self, pull: _Pull, reporter: Reporter) -> PullResult:
        config = pull.config
        git, repo = self.workspace.cache(config.name)
        # The default slice branch too: a squash pull of another branch builds on it.
        slice_branches = list(dict.fromkeys([pull.slice_branch, config.slice_branch]))
        await self.workspace.fetch(git, config, reporter,
                                   branches=([pull.upstream_branch], slice_branches))
        repo = pygit2.Repository(str(git.git_dir))
        head = ref(repo, UPSTREAM_NS, pull.upstream_branch)
        if head is None:
            raise UnknownBranch(f"upstream has no branch {pull.upstream_branch!r}")
        slice_head = ref(repo, SLICE_NS, pull.slice_branch)
        if slice_head is not None and pull.kind is RunKind.PULL:
            await self._recover(config.name, repo, slice_head)
        slicer = HistorySlicer(repo, patterns=config.ignores, folders=config.folders)
        if config.mode is Mode.HISTORY:
            result = await self._history(pull, slicer, head, slice_head, reporter)
        else:
            result = await self._squash(pull, slicer, head, slice_head, repo)
        if result.slice_head is not None and result.slice_head != slice_head:
            reporter.step(f"pushing {pull.slice_branch}")
            _, slice_remote = self.workspace.remotes(config)
            await asyncio.to_thread(git.push, slice_remote, result.slice_head, pull.slice_branch,
                                    expect=slice_head)
            # As a named remote's tracking ref would: without it the next fetch of the slice
            # finds its head unreachable from every local ref and checks (or downloads) the
            # whole history again.
            repo.references.create(f"refs/{SLICE_NS}/heads/{pull.slice_branch}",
                                   pygit2.Oid(hex=result.slice_head), force=True)
        return result

    async def _history(
        self, pull: _Pull, slicer: HistorySlicer, head: str, slice_head: str | None,
        reporter: Reporter,
    ) -> PullResult:
        """One slice commit per new upstream commit."""
        name = pull.config.name
        tips = await self.store.tips(name)
        reporter.step("finding new upstream commits")
        commits = await asyncio.to_thread(
            slicer.new_commits, head, [t.upstream_sha for t in tips]
        )
        known = await self.store.by_upstream_sha(name, slicer.wanted(head, commits))
        reporter.step(f"slicing {len(commits)} commit(s)")
        parent_head = slice_head if pull.kind is RunKind.PULL else None
        return await asyncio.to_thread(
            lambda: slicer.history(head, commits=commits, known=known,
                                   slice_head=parent_head, progress=reporter.progress)
        )

    async def _squash(
        self, pull: _Pull, slicer: HistorySlicer, head: str, slice_head: str | None,
        repo: pygit2.Repository,
    ) -> PullResult:
        """One ``git-slice:<sha>`` commit for everything new since the default branch's tip."""
        config = pull.config
        tips = await self.store.tips(config.name)
        default_tip = next((t for t in tips if t.upstream_ref == config.upstream_branch), None)
        base = None
        if default_tip is not None:
            base = (await self.store.by_upstream_sha(
                config.name, [default_tip.upstream_sha])).get(default_tip.upstream_sha)
        on = slice_head if pull.kind is RunKind.PULL else \
            ref(repo, SLICE_NS, config.slice_branch)
        identity = self.workspace.credentials.slice_identity()
        return await asyncio.to_thread(
            lambda: slicer.squash(head, base=base, slice_head=on, identity=identity)
        )

    async def _recover(self, name: str, repo: pygit2.Repository, slice_head: str) -> None:
        """Record slice commits a crashed run pushed but did not record (found by trailer)."""
        if await self.store.by_slice_sha(name, [slice_head]):
            return
        found: list[Mapped] = []
        walker = repo.walk(pygit2.Oid(hex=slice_head), pygit2.enums.SortMode.TOPOLOGICAL)
        for commit in walker:
            sha = str(commit.id)
            if await self.store.by_slice_sha(name, [sha]):
                break
            source = upstream_sha(commit.raw_message)
            if source is None:
                break
            found.append(Mapped(upstream=source, slice=sha))
        if found:
            await self.store.add_mappings(name, found)
            logger.warning("slice_recovered", slice=name, commits=len(found))


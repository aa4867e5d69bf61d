"""Push: a slice branch's work applied onto upstream, end to end (the commit itself is built
by :mod:`crossdock.gitslice.pushing`).

Nothing is written to the map: a push records only its run, after upstream took the commit,
with its ``gitslice.push.completed`` event (a failed one publishes ``gitslice.push.refused``,
see :meth:`Workspace.run`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Protocol

import pygit2

from crossdock.core.logging import get_logger
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import NotSynced, UnknownBranch
from crossdock.gitslice.events import SliceEvent, push_completed
from crossdock.gitslice.history import HistorySlicer, Mapped
from crossdock.gitslice.pushing import PushBuilder, PushPlan, PushRequest, target_branch
from crossdock.gitslice.records import RunEnd, RunKind, RunState
from crossdock.gitslice.workspace import SLICE_NS, UPSTREAM_NS, Reporter, Silent, Workspace, ref

logger = get_logger("crossdock.gitslice")


class PushStore(Protocol):
    """The store, as a push uses it: slice commits to their upstream ones, and the run's end."""

    async def by_slice_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]: ...

    async def finish_run(self, run_id: int, end: RunEnd, *,
                         event: SliceEvent | None = None) -> None: ...


class Pusher:
    """Applies slice branches onto upstream branches."""

    def __init__(self, workspace: Workspace, store: PushStore) -> None:
        self.workspace = workspace
        self.store = store

    async def push(
        self, name: str, request: PushRequest, reporter: Reporter | None = None
    ) -> PushPlan:
        """Apply slice branch ``request.branch`` onto upstream (see :mod:`pushing`)."""
        reporter = reporter or Silent()
        config = await self.workspace.config(name)
        request = dataclasses.replace(
            request,
            branch_template=config.push_branch_template,
            message_regex=request.message_regex or config.push_commit_msg_regex,
            identity=request.identity or self.workspace.credentials.upstream_identity(),
        )
        target = target_branch(request.branch_template, request.branch)
        async with self.workspace.store.locked(name):
            async with self.workspace.run(config, RunKind.PUSH, upstream_ref=target,
                                          slice_ref=request.branch) as run_id:
                plan = await self._push_locked(config, request, reporter)
            await self.store.finish_run(run_id, RunEnd(
                state=RunState.SUCCEEDED, upstream_sha=plan.commit,
                slice_sha=plan.slice_commits[-1] if plan.slice_commits else None,
                commits=len(plan.slice_commits),
            ), event=push_completed(name, branch=request.branch,
                                    upstream_branch=plan.target_branch,
                                    upstream_commit=plan.commit,
                                    commits=len(plan.slice_commits)))
        logger.info("slice_pushed", slice=name, branch=request.branch, target=plan.target_branch,
                    commit=plan.commit, merged=plan.merged)
        return plan

    async def _push_locked(
        self, config: SliceConfig, request: PushRequest, reporter: Reporter
    ) -> PushPlan:
        git, _ = self.workspace.cache(config.name)
        await self.workspace.fetch(git, config, reporter)
        repo = pygit2.Repository(str(git.git_dir))
        tip = ref(repo, SLICE_NS, request.branch)
        if tip is None:
            raise UnknownBranch(f"the slice has no branch {request.branch!r}")
        slicer = HistorySlicer(repo, patterns=config.ignores, folders=config.folders)
        builder = PushBuilder(slicer)
        base = await self._sync_commit(config.name, builder, tip)
        if base is None:
            raise NotSynced(
                f"branch {request.branch!r} contains no sync commit (no commit made by a pull); "
                "pull first, then branch from the slice's default branch"
            )
        if pygit2.Oid(hex=base.upstream) not in repo:
            raise NotSynced(f"the sync commit's upstream commit {base.upstream[:12]} is gone "
                            "from upstream; pull again")
        target = target_branch(request.branch_template, request.branch)
        current = ref(repo, UPSTREAM_NS, target)
        reporter.step("building the upstream commit")
        plan = await asyncio.to_thread(
            lambda: builder.build(tip=tip, base=base, commits=builder.own_commits(tip, base),
                                  request=request, current=current)
        )
        if not plan.up_to_date:
            reporter.step(f"pushing {plan.target_branch} upstream")
            upstream, _ = self.workspace.remotes(config)
            await asyncio.to_thread(git.push, upstream, plan.commit, plan.target_branch,
                                    expect=plan.expect)
        return plan

    async def _sync_commit(self, name: str, builder: PushBuilder, tip: str) -> Mapped | None:
        """The newest commit under ``tip`` that a pull made, as its map entry."""
        for batch in builder.candidates(tip):
            found = await self.store.by_slice_sha(name, batch)
            base = next((found[sha] for sha in batch if sha in found), None)
            if base is not None:
                return base
        return None

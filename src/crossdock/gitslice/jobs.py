"""GitSlice's jobs: pulls, pushes, comment commands, copied reviews, closed upstream pull
requests, and the periodic pull; the event handlers that defer them live in :mod:`triggers`.

Every job on a slice is deferred with ``lock=f"slice:{name}"`` so the queue runs them one at a
time, and each operation also takes the slice's advisory lock, so a CLI run never overlaps a
job. A failure a retry can help (a git remote or the forge unreachable) is raised and the job
is tried again; a spent rate limit tries it again at the limit's reset; anything else is logged
(a command's is also replied on its pull request).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from crossdock.core.jobs import JOB_RETRY, current_try
from crossdock.core.logging import get_logger
from crossdock.gitslice.causes import delivered_by
from crossdock.gitslice.command_run import RETRIED, CommandRunner, retry
from crossdock.gitslice.errors import GitSliceError, UnknownSlice
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.settings import GitSliceSettings
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer
from crossdock.gitslice.triggers import (
    COMMAND_TASK,
    PULL_REVIEW_TASK,
    PULL_TASK,
    UPSTREAM_CLOSED_TASK,
    defer,
    subscribe,
)

if TYPE_CHECKING:
    from crossdock.core.runtime import Runtime
    from crossdock.core.services import Listener

logger = get_logger("crossdock.gitslice")

T = TypeVar("T")

PERIODIC_PULL_TASK = "gitslice.periodic_pull"
#: Pushes a slice branch upstream (the admin graph's ``pushSlice``).
PUSH_TASK = "gitslice.push"
#: Rebuilds a slice's commit map from its trailers (the admin graph's ``reindexSlice``).
REINDEX_TASK = "gitslice.reindex"
PULL_RETRY = dataclasses.replace(JOB_RETRY, max_tries=5)
COMMAND_RETRY = dataclasses.replace(JOB_RETRY, max_tries=5)
FORGE_RETRY = dataclasses.replace(JOB_RETRY, max_tries=5)


def syncer_for(runtime: Runtime, settings: GitSliceSettings | None = None) -> Syncer:
    """A syncer on the runtime's database, with the service's settings (read now if not
    given); its store publishes GitSlice's events on the runtime's bus.
    """
    return Syncer.from_settings(SliceStore(runtime.database, events=runtime.bus),
                                settings or GitSliceSettings.from_env(),
                                core_data_dir=runtime.settings.data_dir)


class SliceJobs:
    """The bodies of GitSlice's tasks."""

    def __init__(self, runtime: Runtime, settings: GitSliceSettings) -> None:
        self.runtime = runtime
        self.settings = settings

    def syncer(self) -> Syncer:
        return syncer_for(self.runtime, self.settings)

    async def pull(self, slice_name: str, branch: str | None = None,
                   delivery_id: int | None = None) -> None:
        """Pull the default branch (or slice upstream ``branch``); ``delivery_id``: the webhook
        delivery whose event asked for it."""
        syncer = self.syncer()
        try:
            if branch is None:
                await syncer.pull(slice_name, delivery_id=delivery_id)
            else:
                await syncer.pull_branch(slice_name, branch)
        except RETRIED as exc:
            retry(exc)
        except GitSliceError as exc:
            logger.warning("slice_pull_refused", slice=slice_name, reason=str(exc))

    async def push(self, slice_name: str, branch: str, message: str | None = None,
                   force: bool = False, raise_pr: bool = False) -> None:
        """Push slice ``branch`` upstream (and, with ``raise_pr``, open its upstream pull
        request); a refusal is recorded on the push's run and logged."""
        syncer = self.syncer()
        try:
            plan = await syncer.push(slice_name, PushRequest(branch=branch, message=message,
                                                             force=force))
            if raise_pr:
                await syncer.raise_pr(slice_name, branch)
        except RETRIED as exc:
            retry(exc)
        except GitSliceError as exc:
            logger.warning("slice_push_refused", slice=slice_name, branch=branch,
                           reason=str(exc))
        else:
            logger.info("slice_push_done", slice=slice_name, branch=branch,
                        target=plan.target_branch, commit=plan.commit)

    async def reindex(self, slice_name: str) -> None:
        """Rebuild the slice's commit map and tips from its commits' trailers."""
        try:
            found = await self.syncer().reindex(slice_name)
        except RETRIED as exc:
            retry(exc)
        except GitSliceError as exc:
            logger.warning("slice_reindex_refused", slice=slice_name, reason=str(exc))
        else:
            logger.info("slice_reindexed", slice=slice_name, mapped=found)

    async def command(self, slice_name: str, comment_id: int) -> None:
        """Run a taken ``/git-slice`` comment command."""
        syncer = self.syncer()
        attempt = current_try()
        try:
            await CommandRunner(syncer, syncer.store).run(
                slice_name, comment_id, attempt=attempt,
                last=attempt >= COMMAND_RETRY.max_tries)
        except UnknownSlice:
            logger.warning("slice_command_of_unknown_slice", slice=slice_name,
                           comment_id=comment_id)

    async def pull_review(self, slice_name: str, upstream_pr: int, review_id: int,
                          delivery_id: int | None = None) -> None:
        """Copy a review submitted on a linked upstream pull request (``delivery_id``: the
        webhook delivery whose event asked for it, recorded on the copy's run)."""
        with delivered_by(delivery_id):
            copied = await self._forge_job(
                "slice_review_not_copied", slice_name,
                self.syncer().pull_review(slice_name, upstream_pr, review_id))
        if copied is not None:
            logger.info("slice_review_copied", slice=slice_name, upstream_pr=upstream_pr,
                        review_id=review_id, slice_pr=copied.slice_pr, created=copied.created)

    async def upstream_closed(self, slice_name: str, upstream_pr: int, merged: bool) -> None:
        """Tell the slice pull request linked to ``upstream_pr`` that it was merged or closed."""
        link = await self._forge_job(
            "slice_upstream_close_not_told", slice_name,
            self.syncer().upstream_pull_closed(slice_name, upstream_pr, merged=merged))
        if link is not None:
            logger.info("slice_upstream_closed_told", slice=slice_name, upstream_pr=upstream_pr,
                        slice_pr=link.slice_pr, merged=merged)

    async def _forge_job(self, event: str, slice_name: str,
                         work: Awaitable[T]) -> T | None:
        """``work``'s result; a failure a retry may help raised, any other logged."""
        try:
            return await work
        except RETRIED as exc:
            retry(exc)
        except GitSliceError as exc:
            logger.warning(event, slice=slice_name, reason=str(exc))
        return None

    async def periodic_pull(self, timestamp: int) -> None:  # noqa: ARG002 (periodic jobs get it)
        """Defer a pull for each slice whose periodic pull is due."""
        store = SliceStore(self.runtime.database)
        async with store.transaction() as conn:
            for name in await store.claim_due_pulls(conn):
                await defer(self.runtime, conn, PULL_TASK, name)


def register(runtime: Runtime) -> None:
    """Register gitslice's tasks and event subscribers; a bad setting stops the process now."""
    jobs = SliceJobs(runtime, GitSliceSettings.from_env())
    runtime.jobs.task(PULL_TASK, queue="gitslice", retry=PULL_RETRY)(jobs.pull)
    runtime.jobs.task(REINDEX_TASK, queue="gitslice", retry=PULL_RETRY)(jobs.reindex)
    runtime.jobs.task(PUSH_TASK, queue="gitslice", retry=PULL_RETRY)(jobs.push)
    runtime.jobs.task(COMMAND_TASK, queue="gitslice", retry=COMMAND_RETRY)(jobs.command)
    runtime.jobs.task(PULL_REVIEW_TASK, queue="gitslice", retry=FORGE_RETRY)(jobs.pull_review)
    runtime.jobs.task(UPSTREAM_CLOSED_TASK, queue="gitslice", retry=FORGE_RETRY)(
        jobs.upstream_closed)
    runtime.jobs.periodic(PERIODIC_PULL_TASK, cron="* * * * *")(jobs.periodic_pull)
    subscribe(runtime)


@contextlib.asynccontextmanager
async def up(runtime: Runtime) -> AsyncIterator[list[Listener]]:
    """With ``runtime.demo``, a demo upstream and slice under the data dir, pulled once."""
    if runtime.demo:
        from crossdock.gitslice.demo import create_demo, demo_note

        syncer = syncer_for(runtime)
        folder = Path(syncer.data_dir) / "demo"
        try:
            await create_demo(syncer, folder)
        except GitSliceError as exc:
            logger.warning("gitslice_demo_failed", reason=str(exc))
        else:
            runtime.demo_notes.append(functools.partial(demo_note, folder))
    yield []

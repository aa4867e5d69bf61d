"""Pulls and pushes as core jobs, and the event handlers that defer them.

Every job on a slice is deferred with ``lock=f"slice:{name}"`` so the queue runs them one at a
time, and each also takes the slice's advisory lock, so a CLI run never overlaps a job. The
webhooks service publishes ``github.push`` and ``github.issue_comment``; a push to a slice's
upstream branch defers a pull, and a ``/git-slice push`` comment on the slice defers a push,
when its author is one of the slice's command users (none by default: commands are off).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import shlex
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossdock.core.errors import JobError
from crossdock.core.jobs import JOB_RETRY
from crossdock.core.logging import get_logger
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import GitCommandError, GitSliceError
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.settings import GitSliceSettings
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

if TYPE_CHECKING:
    from crossdock.core.bus import Event
    from crossdock.core.database import Connection
    from crossdock.core.runtime import Runtime
    from crossdock.core.services import Listener

logger = get_logger("crossdock.gitslice")

PULL_TASK = "gitslice.pull"
PUSH_TASK = "gitslice.push"
PULL_RETRY = dataclasses.replace(JOB_RETRY, max_tries=5)
PUSH_RETRY = dataclasses.replace(JOB_RETRY, max_tries=3)
_COMMAND = re.compile(r"^\s*/git-slice\s+(?P<rest>.*)$", re.MULTILINE)


def syncer_for(runtime: Runtime, settings: GitSliceSettings | None = None) -> Syncer:
    """A syncer on the runtime's database, with the service's settings (read now if not
    given).
    """
    return Syncer.from_settings(SliceStore(runtime.database),
                                settings or GitSliceSettings.from_env(),
                                core_data_dir=runtime.settings.data_dir)


def normalize_url(url: str) -> str:
    """``github.com/org/repo`` for every spelling of a repository URL (https, ssh, .git)."""
    text = url.strip().lower()
    scp = re.match(r"^[\w.-]+@([\w.-]+):(.*)$", text)
    if scp:
        text = f"{scp[1]}/{scp[2]}"
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.sub(r"^[^/@]*@", "", text)
    return text.rstrip("/").removesuffix(".git")


def repository_urls(payload: dict[str, Any]) -> set[str]:
    """The normalized URLs of a GitHub payload's repository."""
    repository = payload.get("repository") or {}
    urls = {repository.get(key) for key in ("clone_url", "html_url", "ssh_url", "git_url", "url")}
    return {normalize_url(url) for url in urls if isinstance(url, str) and url}


def parse_comment(body: str) -> PushRequest | None:
    """A ``/git-slice push -m "msg" [-f] [-pr] [-b branch]`` comment as a push request."""
    match = _COMMAND.search(body or "")
    if match is None:
        return None
    try:
        words = shlex.split(match["rest"])
    except ValueError:
        return None
    if not words or words[0] != "push":
        return None
    message: str | None = None
    branch = ""
    force = False
    args = iter(words[1:])
    for word in args:
        if word in {"-m", "--message"}:
            message = next(args, None)
        elif word in {"-b", "--branch"}:
            branch = next(args, "")
        elif word in {"-f", "--force"}:
            force = True
    return PushRequest(branch=branch, message=message, force=force)


async def _matching(store: SliceStore, conn: Connection, urls: set[str],
                    attribute: str) -> list[SliceConfig]:
    return [
        SliceConfig.from_row(row) for row in await store.all(conn)
        if normalize_url(row[attribute]) in urls
    ]


def register(runtime: Runtime) -> None:  # noqa: C901 - one closure per task and handler
    """Register gitslice's tasks and event subscribers; a bad setting stops the process now."""
    settings = GitSliceSettings.from_env()

    @runtime.jobs.task(PULL_TASK, queue="gitslice", retry=PULL_RETRY)
    async def pull(slice_name: str, branch: str | None = None) -> None:
        syncer = syncer_for(runtime, settings)
        try:
            if branch is None:
                await syncer.pull(slice_name)
            else:
                await syncer.pull_branch(slice_name, branch)
        except GitCommandError:
            raise  # the network: worth retrying
        except GitSliceError as exc:
            logger.warning("slice_pull_refused", slice=slice_name, reason=str(exc))

    @runtime.jobs.task(PUSH_TASK, queue="gitslice", retry=PUSH_RETRY)
    async def push(slice_name: str, branch: str, message: str | None = None, force: bool = False,
                   preserve_commits: bool = False) -> None:
        request = PushRequest(branch=branch, message=message, force=force,
                              preserve_commits=preserve_commits)
        try:
            await syncer_for(runtime, settings).push(slice_name, request)
        except GitCommandError:
            raise
        except GitSliceError as exc:
            logger.warning("slice_push_refused", slice=slice_name, branch=branch, reason=str(exc))

    @runtime.bus.subscribe("github.push", name="gitslice.on_upstream_push")
    async def on_push(event: Event, conn: Connection) -> None:
        payload = event.payload.get("payload") or {}
        ref = str(payload.get("ref") or "")
        store = SliceStore(runtime.database)
        for config in await _matching(store, conn, repository_urls(payload), "upstream_url"):
            if ref != f"refs/heads/{config.upstream_branch}":
                continue
            await defer(runtime, conn, PULL_TASK, config.name)

    @runtime.bus.subscribe("github.issue_comment", name="gitslice.on_slice_comment")
    async def on_comment(event: Event, conn: Connection) -> None:
        payload = event.payload.get("payload") or {}
        if payload.get("action") not in (None, "created"):
            return
        request = parse_comment(str((payload.get("comment") or {}).get("body") or ""))
        if request is None:
            return
        user = (payload.get("comment") or {}).get("user") or {}
        login = str(user.get("login") or "")
        store = SliceStore(runtime.database)
        for config in await _matching(store, conn, repository_urls(payload), "slice_url"):
            if not config.obeys(login):
                logger.warning("slice_command_refused", slice=config.name, user=login,
                               reason="not on the slice's command users (slice init "
                                      "--command-user)")
                continue
            if not request.branch:
                # The PR's branch needs the forge API (not built yet); -b names it meanwhile.
                logger.warning("slice_comment_without_branch", slice=config.name)
                continue
            await defer(runtime, conn, PUSH_TASK, config.name,
                        branch=request.branch, message=request.message, force=request.force)


async def defer(runtime: Runtime, conn: Connection, task: str, slice_name: str,
                **arguments: Any) -> None:
    """Queue ``task`` for a slice, one at a time per slice; a pull already waiting is enough."""
    queueing = f"{task}:{slice_name}" if task == PULL_TASK else None
    try:
        await runtime.jobs.defer(task, connection=conn, lock=f"slice:{slice_name}",
                                 queueing_lock=queueing, slice_name=slice_name, **arguments)
    except JobError:
        logger.info("slice_job_already_queued", slice=slice_name, task=task)


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

"""The forge's webhooks, as the webhooks service publishes them on the bus, become slice jobs.

- ``github.push`` to a slice's upstream default branch: a pull;
- ``github.pull_request`` opened, synchronized or reopened on a slice repository: a pull (as
  git-slice-tools' workflow does); closed on the upstream repository, for a linked pull
  request: the slice side is told (and its pull request closed when merged);
- ``github.pull_request_review`` submitted upstream on a linked pull request: the review is
  copied onto the slice pull request;
- ``github.issue_comment`` created on a slice pull request with a ``/git-slice`` line: the
  command is recorded (once per comment, however often the webhook comes) and run as a job.

A payload belongs to the slices whose forge repository has its ``repository.full_name`` (any
case), or, for a slice without forge repositories, whose repository URL it names. Every job is
deferred in the handler's transaction with ``lock=f"slice:{name}"``, so jobs on one slice run
one at a time; a pull already waiting takes the place of a new one. Each job carries the id of
the webhook delivery whose event queued it (a command's record keeps it), and the sync runs it
starts record it. Every delivery asking for a pull also waits for the next pull of the slice's
default branch to start, which lists it (:meth:`SliceStore.start_run`): a pull that took the
place of later ones lists all their deliveries. A delivery whose event comes while that pull
is starting, before its handler has committed, is listed by the next pull instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from crossdock.core.errors import JobError
from crossdock.core.logging import get_logger
from crossdock.core.repos import normalize_url
from crossdock.gitslice.commands import command_line
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.records import CommandRecord
from crossdock.gitslice.store import SliceStore

if TYPE_CHECKING:
    from crossdock.core.bus import Event
    from crossdock.core.database import Connection
    from crossdock.core.runtime import Runtime

logger = get_logger("crossdock.gitslice")

PULL_TASK = "gitslice.pull"
COMMAND_TASK = "gitslice.command"
PULL_REVIEW_TASK = "gitslice.pull_review"
UPSTREAM_CLOSED_TASK = "gitslice.upstream_closed"

#: Slice pull request actions that bring new commits or a new branch to the slice.
_PULL_ACTIONS = frozenset({"opened", "synchronize", "reopened"})

Side = Literal["upstream", "slice"]


def repository_urls(payload: dict[str, Any]) -> set[str]:
    """The normalized URLs of a GitHub payload's repository."""
    repository = payload.get("repository") or {}
    urls = {repository.get(key) for key in ("clone_url", "html_url", "ssh_url", "git_url", "url")}
    return {normalize_url(url) for url in urls if isinstance(url, str) and url}


def belongs(config: SliceConfig, payload: dict[str, Any], side: Side) -> bool:
    """Whether the payload's repository is the slice's ``side``."""
    if config.forge is not None:
        full_name = str((payload.get("repository") or {}).get("full_name") or "")
        ours = config.forge.upstream_repo if side == "upstream" else config.forge.slice_repo
        return bool(full_name) and full_name.casefold() == ours.casefold()
    url = config.upstream_url if side == "upstream" else config.slice_url
    return normalize_url(url) in repository_urls(payload)


async def defer(runtime: Runtime, conn: Connection, task: str, slice_name: str,
                **arguments: Any) -> None:
    """Queue ``task`` for a slice, one at a time per slice; a pull already waiting is enough."""
    queueing = f"{task}:{slice_name}" if task == PULL_TASK else None
    try:
        # A savepoint: the queue refusing a second waiting pull must not end the caller's
        # transaction, which goes on with the other slices.
        async with conn.transaction():
            await runtime.jobs.defer(task, connection=conn, lock=f"slice:{slice_name}",
                                     queueing_lock=queueing, slice_name=slice_name, **arguments)
    except JobError as exc:
        logger.info("slice_job_not_queued", slice=slice_name, task=task, reason=str(exc))


def _payload(event: Event) -> dict[str, Any]:
    payload = event.payload.get("payload")
    return payload if isinstance(payload, dict) else {}


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _delivery(event: Event) -> int | None:
    """The webhook delivery the event came from, if it names one."""
    return _number(event.payload.get("delivery_id"))


def _cause(event: Event) -> dict[str, int]:
    """The job's argument naming the delivery the event came from, if it names one."""
    delivery = _delivery(event)
    return {} if delivery is None else {"delivery_id": delivery}


class Triggers:
    """The bus handlers of GitSlice."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store = SliceStore(runtime.database)

    async def _slices(self, conn: Connection, payload: dict[str, Any],
                      side: Side) -> list[SliceConfig]:
        configs = [SliceConfig.from_row(row) for row in await self.store.all(conn)]
        return [config for config in configs if belongs(config, payload, side)]

    async def _pull(self, conn: Connection, name: str, event: Event) -> None:
        """Queue a pull of the slice's default branch for ``event``; its delivery waits for
        the next pull to start, so a pull already waiting lists it too."""
        delivery = _delivery(event)
        if delivery is not None:
            await self.store.await_pull(conn, name, delivery)
        await defer(self.runtime, conn, PULL_TASK, name, **_cause(event))

    async def on_push(self, event: Event, conn: Connection) -> None:
        """An upstream default branch moved: pull."""
        payload = _payload(event)
        ref = str(payload.get("ref") or "")
        for config in await self._slices(conn, payload, "upstream"):
            if ref == f"refs/heads/{config.upstream_branch}":
                await self._pull(conn, config.name, event)

    async def on_pull_request(self, event: Event, conn: Connection) -> None:
        """A slice pull request got commits: pull; a linked upstream one closed: tell it."""
        payload = _payload(event)
        action = payload.get("action")
        pull = payload.get("pull_request") or {}
        number = _number(pull.get("number"))
        if action in _PULL_ACTIONS:
            for config in await self._slices(conn, payload, "slice"):
                await self._pull(conn, config.name, event)
        if action != "closed" or number is None:
            return
        for config in await self._slices(conn, payload, "upstream"):
            if config.forge is not None and await self.store.link_by_upstream(config.name,
                                                                               number):
                await defer(self.runtime, conn, UPSTREAM_CLOSED_TASK, config.name,
                            upstream_pr=number, merged=pull.get("merged") is True)

    async def on_review(self, event: Event, conn: Connection) -> None:
        """A review submitted on a linked upstream pull request: copy it."""
        payload = _payload(event)
        number = _number((payload.get("pull_request") or {}).get("number"))
        review_id = _number((payload.get("review") or {}).get("id"))
        if payload.get("action") != "submitted" or number is None or review_id is None:
            return
        for config in await self._slices(conn, payload, "upstream"):
            if config.forge is not None and await self.store.link_by_upstream(config.name,
                                                                               number):
                await defer(self.runtime, conn, PULL_REVIEW_TASK, config.name,
                            upstream_pr=number, review_id=review_id, **_cause(event))

    async def on_comment(self, event: Event, conn: Connection) -> None:
        """A ``/git-slice`` comment on a slice pull request: take the command once, run it."""
        payload = _payload(event)
        comment = payload.get("comment") or {}
        line = command_line(str(comment.get("body") or ""))
        if payload.get("action") not in (None, "created") or line is None:
            return
        issue = payload.get("issue") or {}
        comment_id, number = _number(comment.get("id")), _number(issue.get("number"))
        login = str((comment.get("user") or {}).get("login") or "")
        for config in await self._slices(conn, payload, "slice"):
            if comment_id is None or number is None or not login:
                logger.warning("slice_command_unreadable", slice=config.name,
                               reason="the comment event has no comment id, number or author")
                continue
            if "pull_request" not in issue:
                logger.info("slice_command_not_on_pull_request", slice=config.name,
                            issue=number, user=login)
                continue
            record = CommandRecord(slice_name=config.name, comment_id=comment_id,
                                   pull_number=number, author=login, command=line,
                                   delivery_id=_delivery(event))
            if not await self.store.take_command(conn, record):
                logger.info("slice_command_seen_before", slice=config.name,
                            comment_id=comment_id)
                continue
            await defer(self.runtime, conn, COMMAND_TASK, config.name, comment_id=comment_id)


def subscribe(runtime: Runtime) -> Triggers:
    """Subscribe GitSlice's handlers to the bus."""
    triggers = Triggers(runtime)
    runtime.bus.subscribe("github.push", name="gitslice.on_upstream_push")(triggers.on_push)
    runtime.bus.subscribe("github.issue_comment", name="gitslice.on_slice_comment")(
        triggers.on_comment)
    runtime.bus.subscribe("github.pull_request", name="gitslice.on_pull_request")(
        triggers.on_pull_request)
    runtime.bus.subscribe("github.pull_request_review", name="gitslice.on_upstream_review")(
        triggers.on_review)
    return triggers

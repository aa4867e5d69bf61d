"""The core subgraph's jobs: the queue's jobs as the ``Job`` entity, retry and cancel.

``Job`` is keyed by ``id``: another subgraph that starts a job (GitSlice's ``pullSlice``)
returns ``Job`` by key only, and the gateway asks this subgraph for the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.errors import AdminGraphError
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.core.admin_graph")


@strawberry.enum(description="Where a job stands.")
class JobStatus(Enum):
    QUEUED = "todo"
    RUNNING = "doing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTING = "aborting"
    ABORTED = "aborted"


@strawberry.type(description="When a job last started and ended.")
class JobTimes:
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@strawberry.type(description=(
    "A change in a job's life as the queue records it: deferred, scheduled, started,"
    " deferred_for_retry, failed, succeeded, cancelled, abort_requested, aborted, retried."))
class JobEvent:
    type: str
    #: When it happened (for ``scheduled``: when the job is due).
    at: dt.datetime | None


@strawberry.federation.type(keys=["id"], description="A job of the queue (procrastinate's).")
class Job:
    id: strawberry.ID
    task: str
    queue: str
    status: JobStatus
    #: Tries made so far.
    attempts: int
    #: Jobs with the same lock run one at a time (``slice:<name>``).
    lock: str | None
    args: JSON
    scheduled_at: dt.datetime | None

    @strawberry.field(description="When the job last started (none: never).")
    async def started_at(self, info: strawberry.Info) -> dt.datetime | None:
        return (await _times(context_of(info), int(self.id))).started_at

    @strawberry.field(description="When the job last ended (none: queued or running).")
    async def finished_at(self, info: strawberry.Info) -> dt.datetime | None:
        return (await _times(context_of(info), int(self.id))).finished_at

    @strawberry.field(description=(
        "Its history, oldest first. The queue keeps no error: a failed try's is in the"
        " worker's log line ``job_failed`` with this ``job_id``."))
    async def events(self, info: strawberry.Info) -> list[JobEvent]:
        return await _events(context_of(info), int(self.id))

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Job | None:  # noqa: A002 (the key's name)
        return await load_job(context_of(info), id)


def job(row: dict[str, Any]) -> Job:
    """A ``procrastinate_jobs`` row as a ``Job``."""
    return Job(id=strawberry.ID(str(row["id"])), task=row["task_name"], queue=row["queue_name"],
               status=JobStatus(row["status"]), attempts=row["attempts"], lock=row["lock"],
               args=JSON(row["args"]), scheduled_at=row["scheduled_at"])


def job_id(value: str) -> int:
    """A job id given as an ``ID``, checked: an integer a ``bigint`` column can hold (the job
    queue's cancel passed a larger one to PostgreSQL, whose refusal was a bug's error)."""
    try:
        number = int(value)
    except ValueError as exc:
        raise AdminGraphError(f"no job with id {value[:100]!r}") from exc
    if not -(2**63) <= number < 2**63:
        raise AdminGraphError(f"no job with id {value[:100]!r}")
    return number


async def load_job(context: AdminContext, value: str) -> Job | None:
    """The job ``value`` (through the request's loader), or None."""
    return await context.by_id("jobs", _queries["jobs_by_id"], value, job)


async def _times(context: AdminContext, key: int) -> JobTimes:
    async def batch(ids: Sequence[int]) -> list[JobTimes]:
        rows = await context.rows(_queries["job_times"], {"ids": list(ids)})
        found = {row["job_id"]: row for row in rows}
        return [JobTimes(started_at=found[k]["started_at"], finished_at=found[k]["finished_at"])
                if k in found else JobTimes(started_at=None, finished_at=None) for k in ids]

    return await context.loader("job_times", batch).load(key)


async def _events(context: AdminContext, key: int) -> list[JobEvent]:
    async def batch(ids: Sequence[int]) -> list[list[JobEvent]]:
        found: dict[int, list[JobEvent]] = {k: [] for k in ids}
        for row in await context.rows(_queries["job_events"], {"ids": list(ids)}):
            found[row["job_id"]].append(JobEvent(type=row["type"], at=row["at"]))
        return [found[k] for k in ids]

    return await context.loader("job_events", batch).load(key)


async def jobs_page(info: strawberry.Info, status: JobStatus | None = None,
                    queue: str | None = None, first: int = 20,
                    after: str | None = None) -> Connection[Job]:
    """Jobs, newest first; ``status`` and ``queue`` narrow them."""
    size = page_size(first)
    position = decode_cursor(after, 1)
    rows = await context_of(info).rows(_queries["jobs_page"], {
        "status": status.value if status else None, "queue": queue,
        "after": position[0] if position else None, "limit": size + 1})
    return connection(rows, size, job, lambda row: [row["id"]])


async def retry_job(info: strawberry.Info, id: strawberry.ID) -> Job:  # noqa: A002
    """Queue again a job that failed, was cancelled or aborted, due now."""
    context = context_of(info)
    if not await context.rows(_queries["retry_job"], {"id": job_id(id)}):
        raise AdminGraphError(f"job {id} is not a failed, cancelled or aborted job")
    return await _reloaded(context, id)


async def cancel_job(info: strawberry.Info, id: strawberry.ID) -> Job:  # noqa: A002
    """Cancel a queued job; a running one is asked to abort."""
    context = context_of(info)
    if not await context.runtime.jobs.cancel(job_id(id)):
        raise AdminGraphError(f"job {id} is neither queued nor running")
    return await _reloaded(context, id)


async def _reloaded(context: AdminContext, value: str) -> Job:
    rows = await context.rows(_queries["jobs_by_id"], {"ids": [int(value)]})
    if not rows:
        raise AdminGraphError(f"no job with id {value}")
    return job(rows[0])

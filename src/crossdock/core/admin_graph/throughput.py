"""The core subgraph's throughput: jobs finished and bus events published per minute, and the
queue's backlog now, for the dashboard's charts.

A per-minute field answers one bucket per minute of the last ``minutes`` (oldest first, the
current minute last with its count so far, zeros included), each from one statement.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from crossdock.core.admin_graph.context import context_of
from crossdock.core.errors import AdminGraphError
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.core.admin_graph", "throughput.sql")

#: The longest window a per-minute field answers: a day.
MAX_MINUTES = 24 * 60


def window(minutes: int) -> dict[str, int]:
    """The parameters of a per-minute query over ``minutes``, checked (1 to a day)."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise AdminGraphError(f"minutes must be between 1 and {MAX_MINUTES}, not {minutes}")
    return {"minutes": minutes}


@strawberry.type(description="Jobs that ended in one minute, by outcome.")
class JobMinute:
    #: The minute's start.
    minute: dt.datetime
    succeeded: int
    failed: int


@strawberry.type(description="Events published on the bus in one minute.")
class EventMinute:
    minute: dt.datetime
    published: int


@strawberry.type(description="What the job queue holds now.")
class JobBacklog:
    #: Jobs waiting for a worker (scheduled ones included).
    queued: int
    running: int
    #: How long the oldest queued job that is due has waited (0: none waits).
    oldest_queued_seconds: float


async def jobs_per_minute(info: strawberry.Info, minutes: int = 60) -> list[JobMinute]:
    """Jobs that succeeded and failed in each of the last ``minutes`` minutes, oldest first."""
    rows = await context_of(info).rows(_queries["jobs_per_minute"], window(minutes))
    return [JobMinute(minute=row["minute"], succeeded=row["succeeded"], failed=row["failed"])
            for row in rows]


async def events_per_minute(info: strawberry.Info, minutes: int = 60) -> list[EventMinute]:
    """Events published on the bus in each of the last ``minutes`` minutes, oldest first."""
    rows = await context_of(info).rows(_queries["events_per_minute"], window(minutes))
    return [EventMinute(minute=row["minute"], published=row["published"]) for row in rows]


async def job_backlog(info: strawberry.Info) -> JobBacklog:
    """The jobs queued and running now."""
    row = (await context_of(info).rows(_queries["job_backlog"]))[0]
    return JobBacklog(queued=row["queued"], running=row["running"],
                      oldest_queued_seconds=row["oldest_queued_seconds"])

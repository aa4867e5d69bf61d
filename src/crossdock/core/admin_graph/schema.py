"""The core's admin subgraph: services and their health, jobs, migrations, the event bus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.jobs import (
    Job,
    JobStatus,
    cancel_job,
    jobs_page,
    load_job,
    retry_job,
)
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.admin_graph.serving import AdminSchema
from crossdock.core.admin_graph.throughput import (
    EventMinute,
    JobBacklog,
    JobMinute,
    events_per_minute,
    job_backlog,
    jobs_per_minute,
)
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.core.admin_graph")


@strawberry.type(description="An installed service.")
class Service:
    name: str
    description: str


@strawberry.type(description="One readiness check (the database, the migrations, a service's).")
class HealthCheck:
    name: str
    ok: bool


@strawberry.type(description="A schema migration and where it stands in this database.")
class Migration:
    component: str
    version: int
    name: str
    #: applied, pending, or changed after it was applied.
    state: str


@strawberry.type(description="A handler's receipt of an event: it ran, and when.")
class Receipt:
    handler: str
    handled_at: dt.datetime


@strawberry.type(description="An event published on the bus.")
class Event:
    id: strawberry.ID
    type: str
    key: str | None
    payload: JSON
    published_at: dt.datetime
    #: When its handlers' jobs were queued (none: not yet).
    fanned_out_at: dt.datetime | None

    @strawberry.field(description="The handlers that have handled it.")
    async def receipts(self, info: strawberry.Info) -> list[Receipt]:
        return await _receipts(context_of(info), int(self.id))


@strawberry.type(description="How far the bus is behind: events not yet fanned out.")
class BusLag:
    pending_events: int
    oldest_pending_seconds: float


def _event(row: dict[str, Any]) -> Event:
    return Event(id=strawberry.ID(str(row["id"])), type=row["event_type"], key=row["key"],
                 payload=JSON(row["payload"]), published_at=row["published_at"],
                 fanned_out_at=row["fanned_out_at"])


async def _receipts(context: AdminContext, event_id: int) -> list[Receipt]:
    async def batch(ids: Sequence[int]) -> list[list[Receipt]]:
        found: dict[int, list[Receipt]] = {key: [] for key in ids}
        for row in await context.rows(_queries["receipts"], {"ids": list(ids)}):
            found[row["event_id"]].append(Receipt(handler=row["handler"],
                                                  handled_at=row["handled_at"]))
        return [found[key] for key in ids]

    return await context.loader("receipts", batch).load(event_id)


@strawberry.type
class Query:
    jobs: Connection[Job] = strawberry.field(resolver=jobs_page)
    jobs_per_minute: list[JobMinute] = strawberry.field(
        resolver=jobs_per_minute, description=(
            "Jobs that succeeded and failed in each of the last ``minutes`` minutes (1 to"
            " 1440), oldest first, the current minute last."))
    job_backlog: JobBacklog = strawberry.field(
        resolver=job_backlog, description="The jobs queued and running now.")
    events_per_minute: list[EventMinute] = strawberry.field(
        resolver=events_per_minute, description=(
            "Events published on the bus in each of the last ``minutes`` minutes (1 to 1440),"
            " oldest first, the current minute last."))

    @strawberry.field(description="The installed services.")
    def services(self, info: strawberry.Info) -> list[Service]:
        return [Service(name=service.name, description=service.description)
                for service in context_of(info).runtime.services]

    @strawberry.field(description="The readiness checks /readyz answers with.")
    async def health(self, info: strawberry.Info) -> list[HealthCheck]:
        checks = await context_of(info).runtime.readiness()
        return [HealthCheck(name=name, ok=ok) for name, ok in checks.items()]

    @strawberry.field(description="A job by id.")
    async def job(self, info: strawberry.Info, id: strawberry.ID) -> Job | None:  # noqa: A002
        return await load_job(context_of(info), id)

    @strawberry.field(description="Every migration of the core and the installed services.")
    async def migrations(self, info: strawberry.Info) -> list[Migration]:
        runtime = context_of(info).runtime
        async with runtime.database.connection() as conn:
            found = await runtime.migrator().status(conn)
        return [Migration(component=status.migration.component,
                          version=status.migration.version, name=status.migration.name,
                          state=str(status.state)) for status in found]

    @strawberry.field(description="Events, newest first; ``type`` narrows them.")
    async def events(self, info: strawberry.Info, type: str | None = None,  # noqa: A002
                     first: int = 20, after: str | None = None) -> Connection[Event]:
        size = page_size(first)
        position = decode_cursor(after, 1)
        rows = await context_of(info).rows(_queries["events_page"], {
            "type": type, "after": position[0] if position else None, "limit": size + 1})
        return connection(rows, size, _event, lambda row: [row["id"]])

    @strawberry.field(description="Events waiting to be fanned out to their handlers.")
    async def bus_lag(self, info: strawberry.Info) -> BusLag:
        row = (await context_of(info).rows(_queries["bus_lag"]))[0]
        return BusLag(pending_events=row["pending"],
                      oldest_pending_seconds=row["oldest_seconds"])


@strawberry.type
class Mutation:
    retry_job: Job = strawberry.mutation(resolver=retry_job)
    cancel_job: Job = strawberry.mutation(resolver=cancel_job)


def build_schema() -> AdminSchema:
    """The core's admin subgraph schema."""
    return AdminSchema(query=Query, mutation=Mutation, types=[Job], federation_version="2.3")


__all__ = ["JobStatus", "build_schema"]

"""The webhooks admin subgraph: sources, routes, deliveries with their attempts and bodies,
and outbound webhooks (their fields in :mod:`.outbound.admin_graph`).

Reads go through the request's loaders (a page of deliveries asks for their attempts in one
query); changes go through :mod:`.operations`, as the CLI's and the JSON API's do, so a
secret is checked and a replay is queued the same way whichever door it came through.
``Delivery`` is an entity (key ``id``) that other subgraphs may point at; ``Repository``
(key ``url``, normalized as GitSlice normalizes it) is GitSlice's, given its deliveries here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.admin_graph.serving import AdminSchema
from crossdock.core.errors import AdminGraphError
from crossdock.core.repos import normalize_url
from crossdock.core.sql import load_queries
from crossdock.webhooks import operations
from crossdock.webhooks.admin_sources import Route, Source, SourceMutation, SourceQuery, source_of
from crossdock.webhooks.admin_throughput import (
    DeliveryBacklog,
    DeliveryMinute,
    OutboundMinute,
    deliveries_per_minute,
    delivery_backlog,
    outbound_per_minute,
)
from crossdock.webhooks.delivery_filters import DeliveryFilter, delivery_rows
from crossdock.webhooks.errors import InvalidInput
from crossdock.webhooks.handlers import handler_names
from crossdock.webhooks.models import Attempt as AttemptRow
from crossdock.webhooks.models import Delivery as DeliveryRow
from crossdock.webhooks.models import DeliveryStatus as Status
from crossdock.webhooks.outbound.admin_graph import TYPES as OUTBOUND_TYPES
from crossdock.webhooks.outbound.admin_graph import OutboundMutation, OutboundQuery
from crossdock.webhooks.routing import filters_to_json

_queries = load_queries("crossdock.webhooks", "admin_graph.sql")

DeliveryStatus = strawberry.enum(Status, description="Where a delivery stands.")


@strawberry.type(description="One run of one handler on one delivery.")
class Attempt:
    id: strawberry.ID
    generation: int
    try_: int = strawberry.field(name="try")
    route: str
    handler: str
    #: succeeded or failed.
    status: str
    duration_ms: float
    error: str | None
    started_at: dt.datetime


@strawberry.federation.type(keys=["id"], description="A webhook delivery, as it was received.")
class Delivery:
    id: strawberry.ID
    source: str
    provider: str
    provider_delivery_id: str | None
    event_type: str | None
    action: str | None
    status: DeliveryStatus  # type: ignore[valid-type]
    #: Why a rejected delivery was refused.
    reason: str | None
    headers: JSON
    body_size: int
    received_at: dt.datetime
    processed_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    tries: int
    generation: int
    last_error: str | None
    repository_url: strawberry.Private[str | None] = None

    @strawberry.field(description=(
        "The repository its body names (GitHub, GitLab and Bitbucket events), recorded when a"
        " worker first reads it: none before that, for a refused request, or for a sender that"
        " names none."))
    def repository(self) -> Repository | None:
        return None if self.repository_url is None else Repository(url=self.repository_url)

    @strawberry.field(description="The body as text (none: rejected, its body never kept).")
    async def body(self, info: strawberry.Info) -> str | None:
        return await _body(context_of(info), int(self.id))

    @strawberry.field(description="The handlers' runs on it, oldest first.")
    async def attempts(self, info: strawberry.Info) -> list[Attempt]:
        return await _attempts(context_of(info), int(self.id))

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info,
                                id: strawberry.ID) -> Delivery | None:  # noqa: A002
        return await _delivery(context_of(info), id)


# No description of its own: the GitSlice subgraph's describes the type.
@strawberry.federation.type(keys=["url"])
class Repository:
    url: str

    @strawberry.field(description=(
        "The deliveries whose body names it, newest first (recorded as a worker reads them)."))
    async def deliveries(self, info: strawberry.Info, first: int = 20,
                         after: str | None = None) -> Connection[Delivery]:
        size = page_size(first)
        rows = await _repository_deliveries(context_of(info), self.url, size + 1,
                                            _position(after))
        return connection(rows, size, _delivery_of,
                          lambda row: [row["received_at"].isoformat(), row["id"]])

    @classmethod
    def resolve_reference(cls, url: str) -> Repository:
        return cls(url=normalize_url(url))


def _position(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """A ``[received_at, id]`` cursor's position, checked before it joins a batch."""
    position = decode_cursor(cursor, 2)
    if position is None:
        return None
    at, key = position
    try:
        if isinstance(at, str) and isinstance(key, int) and not isinstance(key, bool):
            return dt.datetime.fromisoformat(at), key
    except ValueError:
        pass
    raise AdminGraphError("the cursor is not one this list gave")


#: A repository's page as its loader is asked: its URL and its cursor's position.
_RepositoryPage = tuple[str, dt.datetime | None, int | None]


async def _repository_deliveries(
    context: AdminContext, url: str, limit: int, position: tuple[dt.datetime, int] | None,
) -> list[dict[str, Any]]:
    async def batch(keys: Sequence[_RepositoryPage]) -> list[list[dict[str, Any]]]:
        found: list[list[dict[str, Any]]] = [[] for _ in keys]
        for row in await context.rows(_queries["repository_deliveries"], {
                "urls": [key[0] for key in keys], "after_at": [key[1] for key in keys],
                "after_id": [key[2] for key in keys], "limit": limit}):
            found[row["position"] - 1].append(row)
        return found

    key: _RepositoryPage = (url, *position) if position else (url, None, None)
    return await context.loader(f"repository_deliveries:{limit}", batch).load(key)


def _delivery_of(row: dict[str, Any]) -> Delivery:
    found = DeliveryRow.from_row(row)
    return Delivery(
        id=strawberry.ID(str(found.id)), source=found.source, provider=found.provider,
        provider_delivery_id=found.provider_delivery_id, event_type=found.event_type,
        action=found.action, status=found.status, reason=found.reason, headers=JSON(found.headers),
        body_size=found.body_size, received_at=found.received_at,
        processed_at=found.processed_at, next_attempt_at=found.next_attempt_at,
        tries=found.tries, generation=found.generation, last_error=found.last_error,
        repository_url=found.repository)


def _attempt(row: dict[str, Any]) -> Attempt:
    found = AttemptRow.from_row(row)
    return Attempt(id=strawberry.ID(str(found.id)), generation=found.generation,
                   try_=found.try_, route=found.route, handler=found.handler,
                   status=str(found.status), duration_ms=found.duration_ms, error=found.error,
                   started_at=found.started_at)


async def _delivery(context: AdminContext, value: str) -> Delivery | None:
    return await context.by_id("deliveries", _queries["deliveries_by_id"], value, _delivery_of)


async def _attempts(context: AdminContext, delivery_id: int) -> list[Attempt]:
    async def batch(ids: Sequence[int]) -> list[list[Attempt]]:
        found: dict[int, list[Attempt]] = {key: [] for key in ids}
        for row in await context.rows(_queries["attempts"], {"ids": list(ids)}):
            found[row["delivery_id"]].append(_attempt(row))
        return [found[key] for key in ids]

    return await context.loader("attempts", batch).load(delivery_id)


async def _body(context: AdminContext, delivery_id: int) -> str | None:
    async def batch(ids: Sequence[int]) -> list[str | None]:
        rows = await context.rows(_queries["bodies"], {"ids": list(ids)})
        found = {row["id"]: row["body"] for row in rows}
        return [bytes(found[key]).decode("utf-8", "replace") if found.get(key) is not None
                else None for key in ids]

    return await context.loader("bodies", batch).load(delivery_id)


def _ids(values: Sequence[str]) -> list[int]:
    try:
        return [int(value) for value in values]
    except ValueError as exc:
        raise InvalidInput("delivery ids are whole numbers") from exc


@strawberry.type
class Query(OutboundQuery, SourceQuery):
    deliveries_per_minute: list[DeliveryMinute] = strawberry.field(
        resolver=deliveries_per_minute, description=(
            "Deliveries received in each of the last ``minutes`` minutes (1 to 1440), by the"
            " status they have now, oldest first, the current minute last."))
    delivery_backlog: DeliveryBacklog = strawberry.field(
        resolver=delivery_backlog, description="The deliveries waiting now.")
    outbound_per_minute: list[OutboundMinute] = strawberry.field(
        resolver=outbound_per_minute, description=(
            "Outbound messages created in each of the last ``minutes`` minutes (1 to 1440), one"
            " per endpoint, by where their sending stands now, oldest first."))

    @strawberry.field(description="Every source, by name.")
    async def sources(self, info: strawberry.Info) -> list[Source]:
        return [source_of(s) for s in await operations.list_sources(
            context_of(info).runtime.database)]

    @strawberry.field(description=(
        "Deliveries, newest first. A status, a source, an event type and a time range"
        " [receivedAfter, receivedBefore) narrow them; search finds one by our id (#123 or"
        " 123) or the provider's delivery id, exactly (bodies are not searched)."))
    async def deliveries(self, info: strawberry.Info, status: DeliveryStatus | None = None,  # type: ignore[valid-type]
                         source: str | None = None, first: int = 20,
                         after: str | None = None, event_type: str | None = None,
                         received_after: dt.datetime | None = None,
                         received_before: dt.datetime | None = None,
                         search: str | None = None) -> Connection[Delivery]:
        size = page_size(first)
        rows = await delivery_rows(context_of(info), DeliveryFilter(
            status=str(status) if status else None, source=source, event_type=event_type,
            received_after=received_after, received_before=received_before, search=search),
            limit=size + 1, position=decode_cursor(after, 2))
        return connection(rows, size, _delivery_of,
                          lambda row: [row["received_at"].isoformat(), row["id"]])

    @strawberry.field(description="The handlers a route can name (those this service knows).")
    def handlers(self) -> list[str]:
        return handler_names()

    @strawberry.field(description="A delivery by id.")
    async def delivery(self, info: strawberry.Info,
                       id: strawberry.ID) -> Delivery | None:  # noqa: A002
        return await _delivery(context_of(info), id)


@strawberry.type
class Mutation(OutboundMutation, SourceMutation):
    @strawberry.mutation(description="Run the handlers again on deliveries (by id).")
    async def replay_deliveries(self, info: strawberry.Info,
                                ids: list[strawberry.ID]) -> list[Delivery]:
        context = context_of(info)
        replayed = await operations.replay(context.runtime.database, ids=_ids(ids))
        found = [await _delivery(context, str(key)) for key in replayed]
        return [delivery for delivery in found if delivery is not None]

    @strawberry.mutation(description=(
        "Add a routing rule to a source; config is its handler's (forward: {\"app\": NAME})."))
    async def add_route(self, info: strawberry.Info, source: str, handler: str,
                        event_type: str | None = None, action: str | None = None,
                        filters: list[str] | None = None,
                        config: JSON | None = None) -> Route:
        route = await operations.add_route(
            context_of(info).runtime.database, source=source, handler=handler,
            event_type=event_type, action=action, filters=filters or (),
            # Any JSON value: add_route refuses what is not an object.
            config=cast("dict[str, Any] | None", config))
        return Route(id=strawberry.ID(str(route.id)), source=route.source,
                     handler=route.handler, event_type=route.event_type, action=route.action,
                     filters=JSON(filters_to_json(route.filters)),
                     config=JSON(route.config), position=route.position)

    @strawberry.mutation(description="Delete a routing rule; true once it is gone.")
    async def remove_route(self, info: strawberry.Info, id: strawberry.ID) -> bool:  # noqa: A002
        try:
            route_id = int(id)
        except ValueError as exc:
            raise InvalidInput(f"no route with id {id!r}") from exc
        await operations.remove_route(context_of(info).runtime.database, route_id)
        return True


def build_schema() -> AdminSchema:
    """The webhooks admin subgraph schema."""
    return AdminSchema(query=Query, mutation=Mutation,
                       types=[Delivery, Repository, *OUTBOUND_TYPES], federation_version="2.3")

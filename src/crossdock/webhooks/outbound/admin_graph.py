"""Outbound webhooks in the webhooks admin subgraph: applications, the event type catalogue,
endpoints (never a key), messages with where they stand at each endpoint and their attempts;
mutations that resend a message, enable or disable an endpoint and recover what failed at one.

Reads are the outbound store's queries: a page of messages asks for the destinations and the
attempts of all its messages once each (the request's loaders), and a page of endpoints for
their health once. Changes go through :class:`Outbound`, as the JSON admin API's and the CLI's
do. ``OutboundMessage`` and ``OutboundEndpoint`` are entities (key ``id``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.errors import AdminGraphError
from crossdock.webhooks.errors import MessageNotFound, UnknownEndpoint
from crossdock.webhooks.outbound.models import Attempt as AttemptRow
from crossdock.webhooks.outbound.models import Destination as DestinationRow
from crossdock.webhooks.outbound.models import DestinationStatus as Status
from crossdock.webhooks.outbound.models import Endpoint as EndpointRow
from crossdock.webhooks.outbound.models import EndpointHealth as HealthRow
from crossdock.webhooks.outbound.models import Message as MessageRow
from crossdock.webhooks.outbound.service import Outbound

T = TypeVar("T")

DestinationStatus = strawberry.enum(Status, name="OutboundDestinationStatus",
                                    description="Where one message stands at one endpoint.")


@strawberry.enum(name="OutboundEndpointState",
                description="Whether an endpoint is sent to, and how that goes.")
class EndpointState(StrEnum):
    #: Sent to, and its last attempt succeeded (or it had none).
    ENABLED = "enabled"
    #: Sent to, but every attempt failed since ``failingSince``.
    FAILING = "failing"
    #: Not sent to (by hand, or after failing for days).
    DISABLED = "disabled"


@strawberry.type(name="OutboundApp", description="A tenant whose endpoints get its messages.")
class OutboundApp:
    name: str
    description: str
    created_at: dt.datetime | None


@strawberry.type(description="An event type of the catalogue, with its payloads' JSON Schema.")
class OutboundEventType:
    name: str
    description: str
    schema: JSON | None
    created_at: dt.datetime | None


@strawberry.type(description=(
    "How the attempts at an endpoint went for the last 200 messages of its application."))
class OutboundEndpointHealth:
    attempts: int
    succeeded: int
    last_attempt_at: dt.datetime | None

    @strawberry.field(description="succeeded / attempts, from 0 to 1 (none: no attempt).")
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


@strawberry.federation.type(keys=["id"], description=(
    "A URL an application's messages are sent to. Its signing key is never shown here."))
class OutboundEndpoint:
    id: strawberry.ID
    app: str
    url: str
    description: str
    #: hmac (v1) or ed25519 (v1a).
    signing: str
    #: None: every event type.
    event_types: list[str] | None
    #: None: every message; else those sent on one of these channels.
    channels: list[str] | None
    rate_limit: float | None
    max_concurrency: int | None
    timeout_seconds: float
    #: The names of the headers sent with each message (their values may be credentials).
    header_names: list[str]
    state: EndpointState
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    failing_since: dt.datetime | None
    created_at: dt.datetime | None

    @strawberry.field(description="Its attempts' outcome for its application's last messages.")
    async def health(self, info: strawberry.Info) -> OutboundEndpointHealth:
        found = await _health(context_of(info), int(self.id))
        return OutboundEndpointHealth(attempts=found.attempts, succeeded=found.succeeded,
                                      last_attempt_at=found.last_attempt_at)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info,
                                id: strawberry.ID) -> OutboundEndpoint | None:  # noqa: A002
        return await _endpoint(context_of(info), id)


@strawberry.type(description="One HTTP request of a message to an endpoint.")
class OutboundAttempt:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    #: succeeded or failed.
    status: str
    #: None: no response (refused, timed out, unreachable).
    status_code: int | None
    #: The start of the response body.
    response_excerpt: str | None
    duration_ms: float
    error: str | None
    started_at: dt.datetime


@strawberry.type(description="Where a message stands at one endpoint, and its attempts there.")
class OutboundDestination:
    message_id: strawberry.ID
    endpoint_id: strawberry.ID
    url: str
    status: DestinationStatus  # type: ignore[valid-type]
    #: Tries of the current round (a resend or a recover starts a new one).
    tries: int
    last_error: str | None
    #: When the next try is due (pending only; none behind an ordering key's head).
    next_attempt_at: dt.datetime | None
    finished_at: dt.datetime | None

    @strawberry.field(description="Its attempts at this endpoint, oldest first.")
    async def attempts(self, info: strawberry.Info) -> list[OutboundAttempt]:
        found = await _attempts(context_of(info), int(self.message_id))
        return [attempt for attempt in found if attempt.endpoint_id == self.endpoint_id]


@strawberry.federation.type(keys=["id"], description="A message an application sent.")
class OutboundMessage:
    id: strawberry.ID
    #: The ``webhook-id`` of each of its attempts.
    uid: str
    app: str
    event_type: str
    payload: JSON
    channels: list[str]
    idempotency_key: str | None
    ordering_key: str | None
    created_at: dt.datetime

    @strawberry.field(description="Where it stands at each endpoint, by endpoint.")
    async def destinations(self, info: strawberry.Info) -> list[OutboundDestination]:
        return await _destinations(context_of(info), int(self.id))

    @strawberry.field(description="Its attempts at every endpoint, oldest first.")
    async def attempts(self, info: strawberry.Info) -> list[OutboundAttempt]:
        return await _attempts(context_of(info), int(self.id))

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info,
                                id: strawberry.ID) -> OutboundMessage | None:  # noqa: A002
        return await _message(context_of(info), id)


@strawberry.type(description="What a resend queued.")
class OutboundResend:
    #: How many of the message's destinations were queued again.
    resent: int
    message: OutboundMessage


def _state(endpoint: EndpointRow) -> EndpointState:
    if not endpoint.enabled:
        return EndpointState.DISABLED
    return EndpointState.FAILING if endpoint.failing_since else EndpointState.ENABLED


def _endpoint_of(endpoint: EndpointRow) -> OutboundEndpoint:
    settings = endpoint.settings
    return OutboundEndpoint(
        id=strawberry.ID(str(endpoint.id)), app=endpoint.app, url=settings.url,
        description=settings.description, signing=str(endpoint.signing),
        event_types=list(settings.event_types) if settings.event_types is not None else None,
        channels=list(settings.channels) if settings.channels is not None else None,
        rate_limit=settings.rate_limit, max_concurrency=settings.max_concurrency,
        timeout_seconds=settings.timeout_seconds, header_names=sorted(settings.headers),
        state=_state(endpoint), disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at, failing_since=endpoint.failing_since,
        created_at=endpoint.created_at)


def _message_of(message: MessageRow) -> OutboundMessage:
    return OutboundMessage(
        id=strawberry.ID(str(message.id)), uid=message.uid, app=message.app,
        event_type=message.event_type, payload=JSON(message.payload),
        channels=list(message.channels), idempotency_key=message.idempotency_key,
        ordering_key=message.ordering_key, created_at=message.created_at)


def _attempt_of(attempt: AttemptRow) -> OutboundAttempt:
    return OutboundAttempt(
        id=strawberry.ID(str(attempt.id)), endpoint_id=strawberry.ID(str(attempt.endpoint_id)),
        status=str(attempt.status), status_code=attempt.response_code,
        response_excerpt=attempt.response_body, duration_ms=attempt.duration_ms,
        error=attempt.error, started_at=attempt.started_at)


def _destination_of(found: DestinationRow) -> OutboundDestination:
    return OutboundDestination(
        message_id=strawberry.ID(str(found.message_id)),
        endpoint_id=strawberry.ID(str(found.endpoint_id)), url=found.url, status=found.status,
        tries=found.attempts, last_error=found.last_error,
        next_attempt_at=found.next_attempt_at, finished_at=found.finished_at)


def _outbound(info: strawberry.Info) -> Outbound:
    return Outbound(context_of(info).runtime.database)


def _key(value: str, error: type[UnknownEndpoint | MessageNotFound]) -> int:
    try:
        return int(value)
    except ValueError:
        raise error(f"no such id {value!r}: ids are whole numbers") from None


async def _message(context: AdminContext, value: str) -> OutboundMessage | None:
    try:
        found = await Outbound(context.runtime.database).get_message(_key(value, MessageNotFound))
    except MessageNotFound:
        return None
    return _message_of(found)


async def _endpoint(context: AdminContext, value: str) -> OutboundEndpoint | None:
    try:
        found = await Outbound(context.runtime.database).store.get_endpoint(
            _key(value, UnknownEndpoint))
    except UnknownEndpoint:
        return None
    return _endpoint_of(found)


async def _attempts(context: AdminContext, message_id: int) -> list[OutboundAttempt]:
    async def batch(ids: Sequence[int]) -> list[list[OutboundAttempt]]:
        found = await Outbound(context.runtime.database).store.attempts_of(ids)
        return [[_attempt_of(attempt) for attempt in found[key]] for key in ids]

    return await context.loader("outbound_attempts", batch).load(message_id)


async def _destinations(context: AdminContext, message_id: int) -> list[OutboundDestination]:
    async def batch(ids: Sequence[int]) -> list[list[OutboundDestination]]:
        found = await Outbound(context.runtime.database).store.destinations_of(ids)
        return [[_destination_of(row) for row in found[key]] for key in ids]

    return await context.loader("outbound_destinations", batch).load(message_id)


async def _health(context: AdminContext, endpoint_id: int) -> HealthRow:
    async def batch(ids: Sequence[int]) -> list[HealthRow]:
        found = await Outbound(context.runtime.database).store.endpoint_health(ids)
        return [found[key] for key in ids]

    return await context.loader("outbound_health", batch).load(endpoint_id)


def _position(cursor: str | None, first: Callable[[str], T]) -> tuple[T, int] | None:
    """A cursor's ``[value, id]``, the value read by ``first``; None for no cursor."""
    position = decode_cursor(cursor, 2)
    if position is None:
        return None
    try:
        return first(str(position[0])), int(position[1])
    except (TypeError, ValueError) as exc:
        raise AdminGraphError("the cursor is not one this list gave") from exc


@strawberry.type
class OutboundQuery:
    @strawberry.field(description="Every application that sends messages, by name.")
    async def outbound_apps(self, info: strawberry.Info) -> list[OutboundApp]:
        return [OutboundApp(name=app.name, description=app.description,
                            created_at=app.created_at)
                for app in await _outbound(info).list_applications()]

    @strawberry.field(description="The event type catalogue, by name.")
    async def event_types(self, info: strawberry.Info) -> list[OutboundEventType]:
        return [OutboundEventType(name=found.name, description=found.description,
                                  schema=JSON(found.schema) if found.schema is not None
                                  else None, created_at=found.created_at)
                for found in await _outbound(info).list_event_types()]

    @strawberry.field(description="Outbound endpoints by application and id; ``app`` narrows.")
    async def endpoints(self, info: strawberry.Info, app: str | None = None, first: int = 20,
                        after: str | None = None) -> Connection[OutboundEndpoint]:
        size = page_size(first)
        store = _outbound(info).store
        if app is not None:
            await store.get_application(app)
        found = await store.list_endpoints(app, after=_position(after, str), limit=size + 1)
        return connection(found, size, _endpoint_of, lambda row: [row.app, row.id])

    @strawberry.field(description="An outbound endpoint by id.")
    async def endpoint(self, info: strawberry.Info,
                       id: strawberry.ID) -> OutboundEndpoint | None:  # noqa: A002
        return await _endpoint(context_of(info), id)

    @strawberry.field(description=(
        "Messages sent, newest first; an application, an event type or a status (a message "
        "with a destination in it) narrows them."))
    async def messages(self, info: strawberry.Info, app: str | None = None,
                       event_type: str | None = None,
                       status: DestinationStatus | None = None,  # type: ignore[valid-type]
                       first: int = 20, after: str | None = None,
                       ) -> Connection[OutboundMessage]:
        size = page_size(first)
        found = await _outbound(info).store.list_messages(
            app=app, event_type=event_type, status=status,
            before=_position(after, dt.datetime.fromisoformat), limit=size + 1)
        return connection(found, size, _message_of,
                          lambda row: [row.created_at.isoformat(), row.id])

    @strawberry.field(description="A message by id.")
    async def message(self, info: strawberry.Info,
                      id: strawberry.ID) -> OutboundMessage | None:  # noqa: A002
        return await _message(context_of(info), id)


@strawberry.type
class OutboundMutation:
    @strawberry.mutation(description=(
        "Send a message again from the first try: to ``endpointId`` (delivered or not), or "
        "to every enabled endpoint where it failed or ran out of tries."))
    async def resend_message(self, info: strawberry.Info, id: strawberry.ID,  # noqa: A002
                             endpoint_id: strawberry.ID | None = None) -> OutboundResend:
        message_id = _key(id, MessageNotFound)
        resent = await _outbound(info).resend(
            message_id, _key(endpoint_id, UnknownEndpoint) if endpoint_id is not None else None)
        message = await _message(context_of(info), id)
        assert message is not None  # resend found it
        return OutboundResend(resent=resent, message=message)

    @strawberry.mutation(description=(
        "Enable an endpoint again (its failing streak starts over); recoverEndpoint queues "
        "what it missed."))
    async def enable_endpoint(self, info: strawberry.Info,
                              id: strawberry.ID) -> OutboundEndpoint:  # noqa: A002
        return _endpoint_of(await _outbound(info).enable_endpoint(_key(id, UnknownEndpoint)))

    @strawberry.mutation(description="Disable an endpoint: its waiting messages stop.")
    async def disable_endpoint(self, info: strawberry.Info, id: strawberry.ID,  # noqa: A002
                               reason: str | None = None) -> OutboundEndpoint:
        return _endpoint_of(await _outbound(info).disable_endpoint(
            _key(id, UnknownEndpoint), reason or ""))

    @strawberry.mutation(description=(
        "Queue again an enabled endpoint's failed and exhausted messages sent since "
        "``since``; how many."))
    async def recover_endpoint(self, info: strawberry.Info, id: strawberry.ID,  # noqa: A002
                               since: dt.datetime) -> int:
        start = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        return await _outbound(info).recover(_key(id, UnknownEndpoint), start)


#: The entity types a schema lists, as they are reached only through their keys too.
TYPES: list[Any] = [OutboundMessage, OutboundEndpoint]

"""The outbound tables behind :class:`OutboundStore` (queries in ``queries.sql``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from crossdock.core.database import Connection, Database, connect
from crossdock.core.sql import load_queries
from crossdock.webhooks.errors import (
    ApplicationExists,
    EventTypeExists,
    InvalidOutbound,
    MessageNotFound,
    UnknownApplication,
    UnknownEndpoint,
    UnknownEventType,
    WebhooksError,
)
from crossdock.webhooks.outbound import rows
from crossdock.webhooks.outbound.models import (
    BODY_EXCERPT_CHARS,
    IDEMPOTENCY_WINDOW,
    ROTATION_OVERLAP,
    Application,
    Attempt,
    AttemptRecord,
    Claim,
    Destination,
    DestinationStatus,
    Endpoint,
    EndpointHealth,
    EndpointSettings,
    EventType,
    Message,
    NewMessage,
    Next,
    Published,
    Recorded,
    generate_secret,
)
from crossdock.webhooks.store import translated

queries = load_queries("crossdock.webhooks.outbound", "queries.sql")

#: How many due rows a claim looks at per row it may claim (some are held back by their key).
_SCAN_FACTOR = 4


class OutboundStore:
    """Applications, endpoints, event types and the messages sent to them.

    A message's life: :meth:`publish` stores it and, in the same transaction, one
    *destination* per enabled endpoint of its application whose event-type filter and
    channels match, each ``pending`` and due at once (or, behind an unfinished destination
    of the same ordering key at that endpoint, waiting for its turn). A worker
    :meth:`claim_due` s destinations (``sending``, leased for a while, the try counted),
    sends, and :meth:`record_attempt` s the outcome: ``succeeded``, ``pending`` again after
    a delay, ``failed`` (stopped: 410 Gone) or ``exhausted`` (no try left); finishing a head
    makes the next of its key due. A claim the worker cannot use goes back untried with
    :meth:`reschedule`; a worker that dies leaves its claims to expire and be claimed again,
    so a message is sent at least once (always with the same ``webhook-id``, its ``uid``).
    :meth:`disable_endpoint` stops an endpoint's waiting destinations (``failed``);
    :meth:`recover` queues an endpoint's failed and exhausted ones again. :meth:`prune`
    deletes messages past the retention whose destinations are all final.

    Every method opens its own transaction; driver errors leave as webhooks errors.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextlib.asynccontextmanager
    async def _transaction(self, *, app: str = "",
                           within: Connection | None = None) -> AsyncIterator[Connection]:
        """One transaction (a savepoint ``within`` a caller's); ``app`` names the application
        a missing one is reported as."""
        try:
            if within is not None:
                async with within.transaction():
                    yield within
                return
            async with self.database.pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise _translated(exc, app) from exc

    async def _one(self, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        async with self._transaction() as conn:
            return await _one(conn, name, params)

    async def _all(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._transaction() as conn:
            return await _all(conn, name, params)

    # Applications

    async def add_application(self, app: Application) -> Application:
        """Store a new application; :class:`ApplicationExists` if the name is taken."""
        row = await self._one("insert_application",
                              {"name": app.name, "description": app.description})
        if row is None:
            raise ApplicationExists(f"an application named {app.name!r} exists already")
        return rows.application(row)

    async def get_application(self, name: str) -> Application:
        """An application by name; :class:`UnknownApplication`."""
        row = await self._one("select_application", {"name": name})
        if row is None:
            raise UnknownApplication(f"no application named {name!r}")
        return rows.application(row)

    async def list_applications(self) -> list[Application]:
        """Every application, by name."""
        return [rows.application(row) for row in await self._all("list_applications", {})]

    async def remove_application(self, name: str) -> None:
        """Delete an application with its endpoints and messages."""
        if await self._one("delete_application", {"name": name}) is None:
            raise UnknownApplication(f"no application named {name!r}")

    # Event types

    async def add_event_type(self, event_type: EventType) -> EventType:
        """Store a new event type; :class:`EventTypeExists` if the name is taken."""
        row = await self._one("insert_event_type", _event_type_params(event_type))
        if row is None:
            raise EventTypeExists(f"an event type named {event_type.name!r} exists already")
        return rows.event_type(row)

    async def update_event_type(self, event_type: EventType) -> EventType:
        """Replace an event type's description and schema."""
        row = await self._one("update_event_type", _event_type_params(event_type))
        if row is None:
            raise UnknownEventType(f"no event type named {event_type.name!r}")
        return rows.event_type(row)

    async def find_event_type(self, name: str) -> EventType | None:
        """An event type by name, or None."""
        row = await self._one("select_event_type", {"name": name})
        return rows.event_type(row) if row else None

    async def list_event_types(self) -> list[EventType]:
        """The catalogue, by name."""
        return [rows.event_type(row) for row in await self._all("list_event_types", {})]

    async def event_type_usage(self, name: str) -> tuple[int, int]:
        """``(endpoints filtering on it, messages of it not yet delivered)``."""
        row = await self._one("event_type_usage", {"name": name})
        assert row is not None
        return int(row["endpoints"]), int(row["undelivered"])

    async def remove_event_type(self, name: str) -> None:
        """Delete an event type (messages of it stay)."""
        if await self._one("delete_event_type", {"name": name}) is None:
            raise UnknownEventType(f"no event type named {name!r}")

    # Endpoints

    async def add_endpoint(self, app: str, settings: EndpointSettings, *,
                           secret: str | None = None) -> Endpoint:
        """Store an endpoint of ``app`` with ``secret`` (a new ``whsec_`` key if None; a
        ``whsk_`` ed25519 private key signs ``v1a``)."""
        async with self._transaction(app=app) as conn:
            row = await _one(conn, "insert_endpoint", {
                **_endpoint_params(settings), "app": app,
                "secret": secret or generate_secret()})
        assert row is not None
        return rows.endpoint(row)

    async def update_endpoint(self, endpoint_id: int, settings: EndpointSettings) -> Endpoint:
        """Replace an endpoint's settings (its keys and state stay)."""
        row = await self._one("update_endpoint",
                              {**_endpoint_params(settings), "id": endpoint_id})
        return _endpoint_or_raise(row, endpoint_id)

    async def get_endpoint(self, endpoint_id: int) -> Endpoint:
        """An endpoint by id; :class:`UnknownEndpoint`."""
        return _endpoint_or_raise(await self._one("select_endpoint", {"id": endpoint_id}),
                                  endpoint_id)

    async def list_endpoints(self, app: str | None = None, *,
                             after: tuple[str, int] | None = None,
                             limit: int | None = None) -> list[Endpoint]:
        """Endpoints (of one application, if given), by application and id; a page starts
        after the ``(app, id)`` given and holds ``limit`` of them (None: all)."""
        found = await self._all("list_endpoints", {
            "app": app, "after_app": after[0] if after else None,
            "after_id": after[1] if after else None, "limit": limit})
        return [rows.endpoint(row) for row in found]

    async def endpoint_health(self, endpoint_ids: Sequence[int], *,
                              messages: int = 200) -> dict[int, EndpointHealth]:
        """How the attempts at each endpoint went for the last ``messages`` messages of its
        application (an endpoint with none has an empty :class:`EndpointHealth`)."""
        found = {row["endpoint_id"]: EndpointHealth(
            attempts=row["attempts"], succeeded=row["succeeded"],
            last_attempt_at=row["last_attempt_at"])
            for row in await self._all("endpoint_health", {"ids": list(endpoint_ids),
                                                           "messages": messages})}
        return {key: found.get(key, EndpointHealth()) for key in endpoint_ids}

    async def remove_endpoint(self, endpoint_id: int) -> None:
        """Delete an endpoint with its destinations and attempts."""
        if await self._one("delete_endpoint", {"id": endpoint_id}) is None:
            raise UnknownEndpoint(f"no endpoint with id {endpoint_id}")

    async def rotate_secret(self, endpoint_id: int, *, secret: str | None = None,
                            overlap: dt.timedelta = ROTATION_OVERLAP) -> Endpoint:
        """Sign with a new key (``secret`` or a generated one); the old one is still signed
        with for ``overlap``."""
        row = await self._one("rotate_secret", {
            "id": endpoint_id, "secret": secret or generate_secret(),
            "overlap": overlap.total_seconds()})
        return _endpoint_or_raise(row, endpoint_id)

    async def enable_endpoint(self, endpoint_id: int) -> Endpoint:
        """Enable an endpoint again (its failing streak starts over); see :meth:`recover`."""
        return _endpoint_or_raise(await self._one("enable_endpoint", {"id": endpoint_id}),
                                  endpoint_id)

    async def disable_endpoint(self, endpoint_id: int, reason: str) -> bool:
        """Disable an endpoint and stop its waiting destinations (``failed``, the reason as
        their error). True when it was enabled: the caller announces it once."""
        async with self._transaction() as conn:
            if await _one(conn, "disable_endpoint", {"id": endpoint_id, "reason": reason}) \
                    is None:
                _endpoint_or_raise(await _one(conn, "select_endpoint", {"id": endpoint_id}),
                                   endpoint_id)
                return False
            await _execute(conn, "stop_pending",
                           {"id": endpoint_id, "reason": f"endpoint disabled: {reason}"})
            return True

    # Messages

    async def publish(self, message: NewMessage, *,
                      window: dt.timedelta = IDEMPOTENCY_WINDOW,
                      connection: Connection | None = None) -> Published:
        """Store a message and its destinations in one transaction; a message of the same
        application with the same idempotency key within ``window`` is returned instead.

        With ``connection`` (an inbound handler's), the message commits with the caller's
        transaction, or not at all. Nothing is validated here but the application's
        existence (see ``outbound.service``).
        """
        params = {"app": message.app, "event_type": message.event_type,
                  "payload": Jsonb(message.payload), "channels": list(message.channels),
                  "key": message.idempotency_key, "ordering_key": message.ordering_key}
        key_params = {"app": message.app, "key": message.idempotency_key,
                      "window": window.total_seconds()}
        async with self._transaction(app=message.app, within=connection) as conn:
            if message.idempotency_key is not None:
                await _execute(conn, "clear_expired_key", key_params)
            if message.ordering_key is not None:
                await _execute(conn, "lock_ordering_key",
                               {"app": message.app, "key": message.ordering_key})
            row = await _one(conn, "publish", params)
            if row is not None:
                return Published(message=rows.message(row), created=True,
                                 destinations=int(row["destinations"]))
            # Another send with the key committed first (the insert waited for it).
            existing = await _one(conn, "select_idempotent", key_params)
        assert existing is not None
        return Published(message=rows.message(existing), created=False, destinations=0)

    async def get_message(self, message_id: int) -> Message:
        """A message by id; :class:`MessageNotFound`."""
        row = await self._one("select_message", {"id": message_id})
        if row is None:
            raise MessageNotFound(f"no message with id {message_id}")
        return rows.message(row)

    async def list_messages(self, *, app: str | None = None, event_type: str | None = None,
                            status: DestinationStatus | None = None,
                            before: tuple[dt.datetime, int] | None = None,
                            limit: int = 100) -> list[Message]:
        """Messages newest first: of one application, of one event type, with a destination
        in ``status``, sent before the ``(created_at, id)`` given, as many as given."""
        found = await self._all("list_messages", {
            "app": app, "event_type": event_type,
            "status": str(status) if status is not None else None,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None, "limit": limit})
        return [rows.message(row) for row in found]

    async def attempts(self, message_id: int) -> list[Attempt]:
        """A message's attempts at every endpoint, oldest first."""
        await self.get_message(message_id)
        return (await self.attempts_of([message_id]))[message_id]

    async def attempts_of(self, message_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        """The attempts of each of several messages, oldest first, in one query."""
        found: dict[int, list[Attempt]] = {key: [] for key in message_ids}
        for row in await self._all("list_attempts", {"ids": list(message_ids)}):
            found[row["message_id"]].append(rows.attempt(row))
        return found

    async def destinations(self, message_id: int) -> list[dict[str, Any]]:
        """Where a message stands at each endpoint (as the CLI and the admin API show it)."""
        await self.get_message(message_id)
        return [found.public() for found in (await self.destinations_of([message_id]))[
            message_id]]

    async def destinations_of(self, message_ids: Sequence[int]) -> dict[int, list[Destination]]:
        """Where each of several messages stands at each endpoint, in one query."""
        found: dict[int, list[Destination]] = {key: [] for key in message_ids}
        for row in await self._all("list_destinations", {"ids": list(message_ids)}):
            found[row["message_id"]].append(rows.destination(row))
        return found

    async def resend(self, message: Message, endpoint_id: int | None = None) -> int:
        """Queue ``message`` again from the first try at ``endpoint_id`` (whatever it ended
        as), or at every enabled endpoint where it failed or was exhausted; how many. Not
        where it, or another message of its ordering key, is being sent now."""
        return await self._requeue({"message_id": message.id, "endpoint_id": endpoint_id,
                                    "since": None, "any_state": endpoint_id is not None})

    # The queue (the sending worker's side)

    async def claim_due(self, limit: int, *, lease: float = 60.0) -> list[Claim]:
        """Claim up to ``limit`` due destinations for ``lease`` seconds, each counted a try."""
        async with self._transaction() as conn:
            claimed = await _all(conn, "claim_due", {
                "limit": limit, "scan": limit * _SCAN_FACTOR, "lease": lease})
            if not claimed:
                return []
            messages = {row["id"]: rows.message(row) for row in await _all(
                conn, "claimed_messages", {"ids": [c["message_id"] for c in claimed]})}
            endpoints = {row["id"]: rows.endpoint(row) for row in await _all(
                conn, "claimed_endpoints", {"ids": list({c["endpoint_id"] for c in claimed})})}
        return [Claim(destination_id=c["id"], attempt=c["attempts"],
                      claimed_until=c["claimed_until"], message=messages[c["message_id"]],
                      endpoint=endpoints[c["endpoint_id"]])
                for c in sorted(claimed, key=lambda c: c["id"])]

    async def record_attempt(self, record: AttemptRecord) -> Recorded:
        """Store an attempt and move its destination on as ``record.next`` says."""
        [recorded] = await self.record_attempts([record])
        return recorded

    async def record_attempts(self, records: Sequence[AttemptRecord]) -> list[Recorded]:
        """:meth:`record_attempt` for several attempts in one transaction (one commit), in
        the order of their destinations, so that two batches take their locks alike."""
        for record in records:
            if record.next is Next.RETRY and record.retry_in is None:
                raise InvalidOutbound("a retry needs retry_in")
        ordered = sorted(records, key=lambda r: r.destination_id)
        async with self._transaction() as conn:
            done = {record.destination_id: await _record(conn, record) for record in ordered}
        return [done[record.destination_id] for record in records]

    async def reschedule(self, destination_ids: Sequence[int], *, delay: float) -> None:
        """Give claimed destinations back untried, due in ``delay`` seconds."""
        async with self._transaction() as conn:
            await _execute(conn, "reschedule", {"ids": list(destination_ids), "delay": delay})
            if delay <= 0:
                await _execute(conn, "wake_workers", {})

    async def recover(self, endpoint_id: int, since: dt.datetime) -> int:
        """Queue again an endpoint's failed and exhausted destinations of messages published
        since ``since``, from the first try; how many. Not those of an ordering key another
        message of which is being sent there now (recover again once it is done)."""
        await self.get_endpoint(endpoint_id)
        return await self._requeue({"message_id": None, "endpoint_id": endpoint_id,
                                    "since": since, "any_state": False})

    async def _requeue(self, params: dict[str, Any]) -> int:
        """Queue destinations again (the ``requeue`` query, whose guard keeps an ordering key
        to one in flight per endpoint) and hand each key its turn; how many."""
        async with self._transaction() as conn:
            requeued = await _all(conn, "requeue", params)
            for app, key, endpoint_id in sorted({
                    (row["app"], row["ordering_key"], row["endpoint_id"])
                    for row in requeued if row["ordering_key"] is not None}):
                await _hand_turn(conn, app=app, key=key, endpoint_id=endpoint_id)
            if requeued:
                await _execute(conn, "wake_workers", {})
        return len(requeued)

    async def next_due(self) -> dt.datetime | None:
        """When the next waiting destination is due, if one is."""
        row = await self._one("next_due", {})
        return row["at"] if row else None

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Connection]:
        """A connection of its own, told (``conn.notifies()``) when destinations are queued."""
        listener = await connect(self.database.url, autocommit=True)
        try:
            async with listener:
                await listener.execute(queries["listen"])
                yield listener
        except psycopg.Error as exc:
            raise _translated(exc) from exc

    async def prune(self, *, before: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` messages created before ``before`` whose destinations are
        all final, with their attempts; how many."""
        async with self._transaction() as conn:
            return await _execute(conn, "prune_messages", {"before": before, "limit": limit})


async def _record(conn: Connection, record: AttemptRecord) -> Recorded:
    body = record.response_body
    row = await _one(conn, "record_attempt", {
        "id": record.destination_id, "next": str(record.next),
        "status": str(record.status), "retry_in": record.retry_in,
        "response_code": record.response_code,
        "response_body": body[:BODY_EXCERPT_CHARS] if body is not None else None,
        "duration_ms": record.duration_ms, "error": record.error,
        "started_at": record.started_at})
    if row is None:
        raise UnknownEndpoint(f"no destination with id {record.destination_id}")
    if record.next is not Next.RETRY and row["ordering_key"] is not None:
        await _hand_turn(conn, app=row["app"], key=row["ordering_key"],
                         endpoint_id=row["endpoint_id"])
    return Recorded(endpoint_id=row["endpoint_id"], failing_since=row["failing_since"])


async def _hand_turn(conn: Connection, *, app: str, key: str, endpoint_id: int) -> None:
    """Make the oldest unfinished destination of ``key`` at the endpoint due, if it waits."""
    await _execute(conn, "lock_ordering_key", {"app": app, "key": key})
    await _execute(conn, "promote_next", {"endpoint_id": endpoint_id, "key": key})


def _event_type_params(value: EventType) -> dict[str, Any]:
    """An event type as the insert and update take it."""
    return {"name": value.name, "description": value.description,
            "schema": Jsonb(value.schema) if value.schema is not None else None}


def _endpoint_params(settings: EndpointSettings) -> dict[str, Any]:
    """An endpoint's settings as the insert and update take them."""
    return {
        "url": settings.url, "description": settings.description,
        "event_types": list(settings.event_types) if settings.event_types is not None
        else None,
        "channels": list(settings.channels) if settings.channels is not None else None,
        "rate_limit": settings.rate_limit, "max_concurrency": settings.max_concurrency,
        "timeout_seconds": settings.timeout_seconds, "headers": Jsonb(settings.headers),
    }


def _endpoint_or_raise(row: dict[str, Any] | None, endpoint_id: int) -> Endpoint:
    if row is None:
        raise UnknownEndpoint(f"no endpoint with id {endpoint_id}")
    return rows.endpoint(row)


#: Storing an endpoint or a message of an application that is not there.
_UNKNOWN_APP = {"webhooks_out_endpoints_app_fkey", "webhooks_out_messages_app_fkey"}
_BROKEN_RULES = {
    "webhooks_out_applications_name_check": "an application name",
    "webhooks_out_event_types_name_check": "an event type name",
}


def _translated(exc: psycopg.Error, app: str = "") -> WebhooksError:
    """The service's error for a driver error, the outbound tables' rules included."""
    constraint = exc.diag.constraint_name or ""
    if constraint in _UNKNOWN_APP:
        return UnknownApplication(f"no application named {app!r}")
    if constraint in _BROKEN_RULES:
        return InvalidOutbound(f"{_BROKEN_RULES[constraint]} starts with a letter or digit and "
                               "has only letters, digits, '_', '.' and '-'")
    if constraint.startswith("webhooks_out_endpoints_") and constraint.endswith("_check"):
        return InvalidOutbound("rate_limit, max_concurrency and timeout_seconds must be positive")
    return translated(exc)


async def _execute(conn: Connection, name: str, params: dict[str, Any]) -> int:
    cursor = await conn.execute(queries[name], params)
    return cursor.rowcount


async def _one(conn: Connection, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    cursor = await conn.execute(queries[name], params)
    return await cursor.fetchone()


async def _all(conn: Connection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = await conn.execute(queries[name], params)
    return await cursor.fetchall()

"""The event bus: services publish events, other services' handlers receive them as jobs.

``publish`` stores the event and queues its fan-out in one transaction, the caller's if it
passes ``connection`` (so a service can store a row and publish in one commit);
``publish_many`` does the same for a batch, with one statement and one fan-out job. A worker
fans events out to their subscribed handlers: an event with a ``key`` gets a job per handler,
under a lock per handler and key, so those are handled one at a time; the events of one
fan-out without a key get one job per handler, and one whose handler fails gets a job of its
own. Each handler runs on each event in a transaction that also records its receipt, so a
handler whose effects live in the database runs exactly once even if the worker dies and the
job is retried."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import structlog
from psycopg.types.json import Jsonb

from crossdock.core.database import Connection, Database
from crossdock.core.jobs import JOB_RETRY, JobQueue
from crossdock.core.jsontext import without_nul
from crossdock.core.logging import get_logger
from crossdock.core.sql import load_queries

logger = get_logger("crossdock.bus")
_queries = load_queries("crossdock.core", "bus.sql")

FANOUT_TASK = "crossdock.bus.fanout"
HANDLE_TASK = "crossdock.bus.handle"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A published event as a handler receives it."""

    id: int
    type: str
    key: str | None
    payload: dict[str, Any]
    published_at: dt.datetime


Handler = Callable[[Event, Connection], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """An event to publish with :meth:`EventBus.publish_many`."""

    type: str
    payload: dict[str, Any]
    key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A handler subscribed to one event type."""

    name: str
    event_type: str
    handler: Handler


class EventBus:
    """Publish events; subscribe handlers that workers run."""

    def __init__(self, database: Database, jobs: JobQueue) -> None:
        self.database = database
        self.jobs = jobs
        self.subscriptions: dict[str, Subscription] = {}
        jobs.task(FANOUT_TASK, queue="events")(self._fanout)
        jobs.task(HANDLE_TASK, queue="events",
                  retry=dataclasses.replace(JOB_RETRY, max_tries=10))(self._handle)

    def subscribe(
        self, event_type: str, *, name: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Register ``handler(event, connection)`` for ``event_type``; ``name`` must be stable."""

        def register(handler: Handler) -> Handler:
            handler_name = name or f"{handler.__module__}.{handler.__qualname__}"
            if handler_name in self.subscriptions:
                raise ValueError(f"a handler named {handler_name!r} is already subscribed")
            self.subscriptions[handler_name] = Subscription(
                name=handler_name, event_type=event_type, handler=handler
            )
            return handler

        return register

    async def publish(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        connection: Connection | None = None,
    ) -> int:
        """Store the event and queue its delivery; returns the event id."""
        if connection is None:
            async with self.database.transaction() as conn:
                return await self._publish(conn, event_type, payload, key)
        return await self._publish(connection, event_type, payload, key)

    async def publish_many(
        self, events: Sequence[Outgoing], *, connection: Connection
    ) -> list[int]:
        """Store events and queue their delivery in the caller's transaction; their ids.

        One INSERT and one fan-out job for the whole batch: per event, those two round trips
        were most of a webhooks worker's time (docs/webhooks.md).
        """
        if not events:
            return []
        described = _dumps([{"event_type": event.type, "key": event.key,
                             "payload": event.payload} for event in events])
        cursor = await connection.execute(_queries["insert_events"],
                                          {"events": described.decode()})
        ids = sorted(int(row["id"]) for row in await cursor.fetchall())
        await self.jobs.defer(FANOUT_TASK, connection=connection, event_ids=ids)
        return ids

    async def _publish(
        self, conn: Connection, event_type: str, payload: dict[str, Any], key: str | None
    ) -> int:
        cursor = await conn.execute(_queries["insert_event"], {
            "event_type": event_type,
            "key": key,
            "payload": Jsonb(payload, dumps=_dumps),
        })
        row = await cursor.fetchone()
        assert row is not None
        event_id: int = row["id"]
        await self.jobs.defer(FANOUT_TASK, connection=conn, event_id=event_id)
        logger.debug("event_published", event_id=event_id, event_type=event_type, key=key)
        return event_id

    async def _fanout(self, event_id: int | None = None,
                      event_ids: list[int] | None = None) -> None:
        ids = sorted([*(event_ids or []), *([] if event_id is None else [event_id])])
        async with self.database.transaction() as conn:
            # Events fanned out already, by an earlier try of this job, come back no more.
            cursor = await conn.execute(_queries["claim_fanout"], {"ids": ids})
            unkeyed: dict[str, list[int]] = {}
            for row in sorted(await cursor.fetchall(), key=lambda row: int(row["id"])):
                for subscription in self.subscriptions.values():
                    if subscription.event_type != row["event_type"]:
                        continue
                    if row["key"] is None:
                        unkeyed.setdefault(subscription.name, []).append(row["id"])
                        continue
                    await self.jobs.defer(
                        HANDLE_TASK, connection=conn, lock=f"{subscription.name}:{row['key']}",
                        event_id=row["id"], handler=subscription.name,
                    )
            # Events without a key need no lock: one job per handler takes them all (a job
            # costs several round trips to fetch and finish; most of a batch's, before).
            for handler, handler_ids in unkeyed.items():
                if len(handler_ids) == 1:
                    await self.jobs.defer(HANDLE_TASK, connection=conn, handler=handler,
                                          event_id=handler_ids[0])
                else:
                    await self.jobs.defer(HANDLE_TASK, connection=conn, handler=handler,
                                          event_ids=handler_ids)

    async def _handle(self, handler: str, event_id: int | None = None,
                      event_ids: list[int] | None = None) -> None:
        subscription = self.subscriptions.get(handler)
        if subscription is None:
            raise LookupError(f"no handler named {handler!r} in this worker")
        if event_id is not None:
            await self._handle_one(subscription, event_id)
            return
        for each in event_ids or []:
            try:
                await self._handle_one(subscription, each)
            except Exception as exc:
                # The others go on; this one gets a job of its own, with its own retries.
                logger.warning("event_handler_failed", event_id=each, handler=handler,
                               error=f"{type(exc).__name__}: {exc}")
                await self.jobs.defer(HANDLE_TASK, handler=handler, event_id=each)

    async def _handle_one(self, subscription: Subscription, event_id: int) -> None:
        handler = subscription.name
        async with self.database.transaction() as conn:
            cursor = await conn.execute(
                _queries["insert_receipt"], {"event_id": event_id, "handler": handler}
            )
            if cursor.rowcount == 0:
                return  # this handler finished with this event already
            cursor = await conn.execute(_queries["select_event"], {"id": event_id})
            row = await cursor.fetchone()
            assert row is not None
            event = Event(
                id=row["id"], type=row["event_type"], key=row["key"],
                payload=row["payload"], published_at=row["published_at"],
            )
            with structlog.contextvars.bound_contextvars(**_log_ids(event)):
                await subscription.handler(event, conn)
                logger.debug("event_handled", handler=handler, event_type=event.type)


def _log_ids(event: Event) -> dict[str, Any]:
    """The ids a handler's log lines carry: the event's, and its webhook delivery's if any."""
    ids: dict[str, Any] = {"event_id": event.id}
    delivery = event.payload.get("delivery_id")
    if isinstance(delivery, int):
        ids["delivery_id"] = delivery
    return ids


def _dumps(obj: Any) -> bytes:
    """JSON that PostgreSQL's ``jsonb`` takes: U+0000, which a webhook sender may put in any
    string, becomes U+FFFD (the delivery keeps the sender's bytes; only the bus's copy
    changes)."""
    return without_nul(orjson.dumps(obj))

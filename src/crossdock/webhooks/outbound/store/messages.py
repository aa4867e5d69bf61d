"""Messages: publishing them, reading them with where they stand and their attempts,
queueing them again (resend, recover) and pruning them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from crossdock.core.database import Connection
from crossdock.webhooks.errors import MessageNotFound
from crossdock.webhooks.outbound import rows
from crossdock.webhooks.outbound.models import (
    IDEMPOTENCY_WINDOW,
    Attempt,
    Destination,
    DestinationStatus,
    Message,
    NewMessage,
    Published,
)
from crossdock.webhooks.outbound.store.endpoints import EndpointTables
from crossdock.webhooks.outbound.store.tables import execute, fetch_all, fetch_one, hand_turn


class MessageTables(EndpointTables):
    """Messages, their destinations and attempts (see :class:`OutboundStore`)."""

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
                await execute(conn, "clear_expired_key", key_params)
            if message.ordering_key is not None:
                await execute(conn, "lock_ordering_key",
                              {"app": message.app, "key": message.ordering_key})
            row = await fetch_one(conn, "publish", params)
            if row is not None:
                return Published(message=rows.message(row), created=True,
                                 destinations=int(row["destinations"]))
            # Another send with the key committed first (the insert waited for it).
            existing = await fetch_one(conn, "select_idempotent", key_params)
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
            requeued = await fetch_all(conn, "requeue", params)
            for app, key, endpoint_id in sorted({
                    (row["app"], row["ordering_key"], row["endpoint_id"])
                    for row in requeued if row["ordering_key"] is not None}):
                await hand_turn(conn, app=app, key=key, endpoint_id=endpoint_id)
            if requeued:
                await execute(conn, "wake_workers", {})
        return len(requeued)

    async def prune(self, *, before: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` messages created before ``before`` whose destinations are
        all final, with their attempts; how many."""
        async with self._transaction() as conn:
            return await execute(conn, "prune_messages", {"before": before, "limit": limit})

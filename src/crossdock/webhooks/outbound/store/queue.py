"""The queue of destinations, the sending worker's side: claiming due ones, recording
attempts, giving claims back, and being told when there is work."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence

from crossdock.core.database import Connection
from crossdock.webhooks import store as inbound_store
from crossdock.webhooks.errors import InvalidOutbound, UnknownEndpoint
from crossdock.webhooks.outbound import rows
from crossdock.webhooks.outbound.models import (
    BODY_EXCERPT_CHARS,
    AttemptRecord,
    Claim,
    Next,
    Recorded,
)
from crossdock.webhooks.outbound.store.tables import (
    Tables,
    execute,
    fetch_all,
    fetch_one,
    hand_turn,
    queries,
)

#: How many due rows a claim looks at per row it may claim (some are held back by their key).
_SCAN_FACTOR = 4


class QueueTables(Tables):
    """Due destinations claimed, tried and moved on (see :class:`OutboundStore`)."""

    async def claim_due(self, limit: int, *, lease: float = 60.0) -> list[Claim]:
        """Claim up to ``limit`` due destinations for ``lease`` seconds, each counted a try."""
        async with self._transaction() as conn:
            claimed = await fetch_all(conn, "claim_due", {
                "limit": limit, "scan": limit * _SCAN_FACTOR, "lease": lease})
            if not claimed:
                return []
            messages = {row["id"]: rows.message(row) for row in await fetch_all(
                conn, "claimed_messages", {"ids": [c["message_id"] for c in claimed]})}
            endpoints = {row["id"]: rows.endpoint(row, self.secrets) for row in await fetch_all(
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
            await execute(conn, "reschedule", {"ids": list(destination_ids), "delay": delay})
            if delay <= 0:
                await execute(conn, "wake_workers", {})

    async def next_due(self) -> dt.datetime | None:
        """When the next waiting destination is due, if one is."""
        row = await self._one("next_due", {})
        return row["at"] if row else None

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Connection]:
        """A connection of its own, told (``conn.notifies()``) when destinations are queued."""
        async with inbound_store.listening(self.database, queries["listen"]) as listener:
            yield listener


async def _record(conn: Connection, record: AttemptRecord) -> Recorded:
    body = record.response_body
    row = await fetch_one(conn, "record_attempt", {
        "id": record.destination_id, "next": str(record.next),
        "status": str(record.status), "retry_in": record.retry_in,
        "response_code": record.response_code,
        "response_body": body[:BODY_EXCERPT_CHARS] if body is not None else None,
        "duration_ms": record.duration_ms, "error": record.error,
        "started_at": record.started_at})
    if row is None:
        raise UnknownEndpoint(f"no destination with id {record.destination_id}")
    if record.next is not Next.RETRY and row["ordering_key"] is not None:
        await hand_turn(conn, app=row["app"], key=row["ordering_key"],
                        endpoint_id=row["endpoint_id"])
    return Recorded(endpoint_id=row["endpoint_id"], failing_since=row["failing_since"])

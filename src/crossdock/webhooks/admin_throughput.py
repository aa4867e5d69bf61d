"""The webhooks subgraph's throughput: deliveries received and outbound messages sent per
minute, and the deliveries waiting now, for the dashboard's charts.

Per-minute fields answer one bucket per minute of the window, as the core's do
(:mod:`crossdock.core.admin_graph.throughput`). A delivery is counted in the minute it was
received, under the status it has now; an outbound message in the minute it was created, once
per endpoint it goes to, under where that sending stands now.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from crossdock.core.admin_graph.context import context_of
from crossdock.core.admin_graph.throughput import window
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.webhooks", "admin_throughput.sql")


@strawberry.type(description="Deliveries received in one minute, by the status they have now.")
class DeliveryMinute:
    #: The minute's start.
    minute: dt.datetime
    #: All of them.
    received: int
    #: Not processed yet (RECEIVED).
    pending: int
    processed: int
    failed: int
    dead: int
    rejected: int


@strawberry.type(description=(
    "Outbound messages created in one minute, one per endpoint they go to, by where their"
    " sending stands now."))
class OutboundMinute:
    minute: dt.datetime
    sent: int
    #: Stopped (410 Gone, endpoint disabled) or out of tries.
    failed: int
    pending: int


@strawberry.type(description="Deliveries waiting now.")
class DeliveryBacklog:
    #: Received, not processed yet.
    pending: int
    #: Failed, waiting for their next try.
    retrying: int
    #: How long the oldest pending one has waited (0: none waits).
    oldest_pending_seconds: float


async def deliveries_per_minute(info: strawberry.Info,
                                minutes: int = 60) -> list[DeliveryMinute]:
    """Deliveries received in each of the last ``minutes`` minutes, oldest first."""
    rows = await context_of(info).rows(_queries["deliveries_per_minute"], window(minutes))
    return [DeliveryMinute(**row) for row in rows]


async def outbound_per_minute(info: strawberry.Info, minutes: int = 60) -> list[OutboundMinute]:
    """Outbound messages created in each of the last ``minutes`` minutes, oldest first."""
    rows = await context_of(info).rows(_queries["outbound_per_minute"], window(minutes))
    return [OutboundMinute(**row) for row in rows]


async def delivery_backlog(info: strawberry.Info) -> DeliveryBacklog:
    """The deliveries waiting now."""
    return DeliveryBacklog(**(await context_of(info).rows(_queries["delivery_backlog"]))[0])

"""Platform events from the core bus sent on as outbound messages of the system application.

Each event of :data:`platform_events.RELAYED` becomes a message of ``crossdock`` with the
same type and payload, in the bus handler's transaction, with ``bus-<event id>`` as its
idempotency key: a bus event handled again is the same message, sent once. A team that wants
a slice's pulls adds an endpoint on ``crossdock`` filtered to ``gitslice.slice.pulled``.
"""

from __future__ import annotations

from crossdock.core.bus import Event
from crossdock.core.database import Connection, Database
from crossdock.webhooks.outbound import operational
from crossdock.webhooks.outbound.service import Outbound


class Relay:
    """The bus handler, on one database's outbound API (its catalogue cached)."""

    def __init__(self, database: Database) -> None:
        self.outbound = Outbound(database)
        self._installed = False

    async def __call__(self, event: Event, conn: Connection) -> None:
        """Publish ``event`` to the system application's endpoints."""
        if not self._installed:
            # The sending worker installs the catalogue too, but this handler may run first.
            await operational.install(self.outbound.store)
            self._installed = True
        await self.outbound.send(operational.SYSTEM_APP, event.type, event.payload,
                                 key=f"bus-{event.id}", ordering_key=event.key,
                                 connection=conn)

"""What a running crossdock process holds: settings, the database, the job queue and the bus."""

from __future__ import annotations

import dataclasses

from crossdock.core.admin_graph.supergraph import AdminSupergraph
from crossdock.core.adminauth import AdminAuth
from crossdock.core.bus import EventBus
from crossdock.core.database import Database
from crossdock.core.jobs import JobQueue
from crossdock.core.live import LiveStates
from crossdock.core.migrations import Migrator
from crossdock.core.services import DemoNote, Service, components, discover
from crossdock.core.settings import CoreSettings


@dataclasses.dataclass(kw_only=True)
class Runtime:
    """The shared parts a service's jobs, handlers and servers use."""

    settings: CoreSettings
    database: Database
    jobs: JobQueue
    bus: EventBus
    services: list[Service]
    #: Host that ``crossdock up`` binds, and the subgraph URLs services announce to the gateway.
    host: str = "127.0.0.1"
    #: ``crossdock up`` starts demo subgraphs and a demo slice when this is set.
    demo: bool = False
    subgraphs: dict[str, str] = dataclasses.field(default_factory=dict)
    #: What ``crossdock up`` prints for each demo a service started.
    demo_notes: list[DemoNote] = dataclasses.field(default_factory=list)
    #: Where ``crossdock up`` serves the admin subgraphs, for the gateway to federate them.
    admin_graph: AdminSupergraph | None = None
    #: What each running service lends its own admin subgraph in this process (core/live.py).
    live: LiveStates = dataclasses.field(default_factory=LiveStates)
    _admin_auth: AdminAuth | None = dataclasses.field(default=None, init=False, repr=False)

    @classmethod
    def create(
        cls, settings: CoreSettings, url: str, services: list[Service] | None = None
    ) -> Runtime:
        """Build the parts (nothing is opened yet) and let each service register on them."""
        services = discover() if services is None else services
        database = Database(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size)
        jobs = JobQueue(url)
        runtime = cls(settings=settings, database=database, jobs=jobs,
                      bus=EventBus(database, jobs), services=services)
        for service in services:
            if service.register is not None:
                service.register(runtime)
        return runtime

    async def open(self) -> None:
        """Open the database pool and the job queue."""
        await self.database.open()
        await self.jobs.open()

    async def close(self) -> None:
        """Close them."""
        await self.jobs.close()
        await self.database.close()

    def admin_auth(self) -> AdminAuth:
        """The check of admin tokens and JWTs that the admin graph and APIs share (one key
        ring per process, however many subgraphs and APIs it serves)."""
        if self._admin_auth is None:
            self._admin_auth = AdminAuth.from_settings(self.database, self.settings)
        return self._admin_auth

    def migrator(self) -> Migrator:
        """The migrator of the core and the installed services."""
        return Migrator(components(self.services))

    def queues(self) -> list[str]:
        """Every queue a worker can take: the registered jobs', and each service's own."""
        own = {service.name for service in self.services if service.worker is not None}
        return sorted(self.jobs.queues() | own)

    async def refresh_metrics(self) -> None:
        """Let each service set its database-backed gauges (before ``/metrics`` answers)."""
        for service in self.services:
            if service.metrics is not None:
                await service.metrics(self)

    async def readiness(self) -> dict[str, bool]:
        """``database`` reachable and ``migrations`` current, plus each service's check."""
        checks = {"database": await self.database.ping(), "migrations": False}
        if checks["database"]:
            async with self.database.connection() as conn:
                checks["migrations"] = not await self.migrator().pending(conn)
        for service in self.services:
            if service.ready is not None:
                checks[service.name] = await service.ready(self)
        return checks

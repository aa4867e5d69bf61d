"""How a service plugs into the core: one :class:`Service` object per service.

The core finds services through the ``crossdock.services`` entry-point group and never imports
one by name, so a deployment can install any subset of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from crossdock.core.migrations import Component

if TYPE_CHECKING:
    import typer

    from crossdock.core.asgi import ASGIApp
    from crossdock.core.runtime import Runtime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Listener:
    """An HTTP app that ``crossdock up`` serves, and where."""

    name: str
    app: ASGIApp
    port: int
    paths: tuple[str, ...] = ("/",)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Served:
    """What ``crossdock up`` serves, for the lines that tell a newcomer how to try a demo."""

    #: Each listener's base URL by listener name (``{"webhooks": "http://127.0.0.1:8080"}``).
    urls: Mapping[str, str]


#: A service's lines for a newcomer to try its demo, once ``crossdock up`` has bound its ports.
DemoNote = Callable[[Served], list[str]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """What a service gives the core."""

    name: str
    description: str = ""
    #: Package holding the service's ``NNNN_*.sql`` migrations and ``schema.sql``.
    migrations: str | None = None
    #: Builds the typer app mounted as ``crossdock <cli_name or name>``.
    cli: Callable[[], typer.Typer] | None = None
    #: The command name when it differs from the service name (gitslice is ``crossdock slice``).
    cli_name: str | None = None
    #: Registers the service's jobs and event subscribers on the runtime's queue and bus.
    register: Callable[[Runtime], None] | None = None
    #: Long-running work a worker runs besides jobs, until cancelled (a queue of its own);
    #: ``crossdock worker --queue`` runs it when the service's name is among the queues.
    worker: Callable[[Runtime], Coroutine[Any, Any, None]] | None = None
    #: For ``crossdock up``: starts what the service serves, demo data included.
    up: Callable[[Runtime], AbstractAsyncContextManager[list[Listener]]] | None = None
    #: Order among services in ``crossdock up`` (the gateway goes last, to federate the rest).
    up_order: int = 50
    #: Sets the service's gauges that come from the database, before ``/metrics`` answers;
    #: it must not raise (a scrape goes on with the previous values).
    metrics: Callable[[Runtime], Awaitable[None]] | None = None
    #: Builds the service's admin subgraph schema (a strawberry federation schema), which
    #: ``crossdock up`` serves at ``/<name>/graphql`` on the admin graph port.
    admin_graph: Callable[[], Any] | None = None
    #: Extra readiness checks for ``/readyz``.
    ready: Callable[[Runtime], Awaitable[bool]] | None = None


CORE = Component(name="core", package="crossdock.core.schema")


def discover() -> list[Service]:
    """The installed services, by name."""
    found = []
    for point in entry_points(group="crossdock.services"):
        service = point.load()
        if not isinstance(service, Service):
            raise TypeError(f"entry point {point.name} is not a crossdock Service")
        found.append(service)
    return sorted(found, key=lambda service: service.name)


def components(services: list[Service] | None = None) -> list[Component]:
    """The core's migrations, then each service's."""
    services = discover() if services is None else services
    return [CORE] + [
        Component(name=service.name, package=service.migrations)
        for service in services if service.migrations
    ]

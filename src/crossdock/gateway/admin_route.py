"""The gateway admin subgraph served by ``crossdock gateway serve --admin-graph`` itself.

In production the gateway runs in a process of its own, so ``crossdock admin graph serve``
cannot describe it. With the option (``CROSSDOCK_GATEWAY_ADMIN_GRAPH``, closed by default) the
gateway serves its admin subgraph at :data:`ADMIN_PATH` on its own port, next to ``/graphql``,
and lends its app to it as ``crossdock up`` does (:data:`~crossdock.gateway.app.LIVE_APP`), so
the subgraph reads this process's gateway directly. Each request needs an admin token, checked
by core's :class:`~crossdock.core.admin_graph.serving.SubgraphApp` against the tokens in the
database: the option needs ``DATABASE_URL`` and refuses to start without it. The production
supergraph lists the gateway subgraph at this URL: the gateway then fetches from itself.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from crossdock.core.errors import ConfigError
from crossdock.gateway.app import LIVE_APP

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from crossdock.core.asgi import ASGIApp, Receive, Scope, Send
    from crossdock.core.settings import CoreSettings
    from crossdock.gateway.app import GatewayApp

#: Where the gateway serves its admin subgraph (the path ``crossdock admin graph serve`` gives
#: it too, so a supergraph from ``crossdock admin graph supergraph`` changes only the host).
ADMIN_PATH = "/gateway/graphql"


def check_admin_graph(core: CoreSettings) -> None:
    """Refuse ``--admin-graph`` in one line when it cannot check tokens."""
    from crossdock.core.admin_graph.mount import installed

    if not installed():
        raise ConfigError("--admin-graph needs the admin extra: install crossdock[admin]")
    if not core.database_url:
        raise ConfigError("--admin-graph checks admin tokens in the database: set "
                          "DATABASE_URL (the database crossdock admin token create writes to)")


class AdminRoute:
    """:data:`ADMIN_PATH` to the admin subgraph's app, anything else to the gateway."""

    __slots__ = ("admin", "app")

    def __init__(self, app: ASGIApp, admin: ASGIApp) -> None:
        self.app = app
        self.admin = admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == ADMIN_PATH:
            await self.admin(scope, receive, send)
            return
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def admin_route(app: GatewayApp, core: CoreSettings,
                      database_url: str) -> AsyncIterator[AdminRoute]:
    """``app`` with its admin subgraph at :data:`ADMIN_PATH`, for as long as the block runs.

    The database pool is opened for the tokens only: no job queue, no service registers.
    """
    # Imported on use: strawberry is the admin extra's (check_admin_graph said it is there).
    from crossdock.core.admin_graph.serving import SubgraphApp
    from crossdock.core.runtime import Runtime
    from crossdock.gateway.admin_graph import build_schema

    runtime = Runtime.create(core, database_url, services=[])
    await runtime.database.open()
    try:
        with runtime.live.lend(LIVE_APP, app):
            yield AdminRoute(app, SubgraphApp(build_schema(), runtime))
    finally:
        await runtime.database.close()

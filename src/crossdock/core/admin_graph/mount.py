"""The admin subgraphs of the core and the installed services, on one port.

Each is served at ``/<name>/graphql`` (``/core/graphql``, ``/webhooks/graphql``, ...), an app
of its own (:class:`~crossdock.core.admin_graph.serving.SubgraphApp`), so that the gateway
sees them as separate subgraphs and a production deployment can serve each from its service's
own process instead.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING

from crossdock.core.admin_graph.schema import build_schema
from crossdock.core.admin_graph.serving import AdminSchema, SubgraphApp
from crossdock.core.asgi import send_bytes

if TYPE_CHECKING:
    from crossdock.core.asgi import Receive, Scope, Send
    from crossdock.core.runtime import Runtime
    from crossdock.core.services import Service


def installed() -> bool:
    """Whether the ``admin`` extra (strawberry) is installed."""
    return find_spec("strawberry") is not None


def schemas(services: list[Service]) -> dict[str, AdminSchema]:
    """The core's admin subgraph schema and each installed service's, by name."""
    found = {"core": build_schema()}
    found.update((service.name, service.admin_graph())
                 for service in services if service.admin_graph is not None)
    return found


class AdminGraphs:
    """Routes ``/<name>/graphql`` to subgraph ``name``."""

    def __init__(self, runtime: Runtime) -> None:
        self.apps = {f"/{name}/graphql": SubgraphApp(schema, runtime)
                     for name, schema in schemas(runtime.services).items()}

    @property
    def names(self) -> list[str]:
        """The subgraphs served."""
        return [path.split("/")[1] for path in self.apps]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.apps.get(scope.get("path", ""))
        if app is None:
            if scope["type"] == "http":
                await send_bytes(send, 404, b'{"errors":[{"message":"no admin subgraph here;'
                                 b' try /core/graphql"}]}')
            return
        await app(scope, receive, send)

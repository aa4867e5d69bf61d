"""``crossdock admin graph serve``: the admin subgraphs in a process of their own.

A production deployment runs this next to the services (it reads the same database) and
points its gateway at a supergraph from ``crossdock admin graph supergraph``, whose header
rules must propagate ``Authorization`` (docs/admin-graph.md); ``crossdock up`` serves the
same app itself.
"""

from __future__ import annotations

import asyncio

from crossdock.core.admin_graph.mount import AdminGraphs
from crossdock.core.asgi import OpsApp
from crossdock.core.logging import get_logger
from crossdock.core.runtime import Runtime
from crossdock.core.server import bind, make_server
from crossdock.core.settings import CoreSettings
from crossdock.core.up import wait_for_signal

logger = get_logger("crossdock.admin_graph")


async def serve(settings: CoreSettings, url: str, *, host: str, port: int) -> None:
    """Serve every installed admin subgraph until SIGINT, SIGTERM or SIGHUP."""
    runtime = Runtime.create(settings, url)
    sock = bind(host, port, option="--port / CROSSDOCK_ADMIN_GRAPH_PORT")
    await runtime.open()
    try:
        graphs = AdminGraphs(runtime)
        server = make_server(OpsApp(graphs, ready=runtime.readiness,
                                    refresh=runtime.refresh_metrics))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        base = f"http://{host}:{sock.getsockname()[1]}"
        logger.info("admin_graph_started", subgraphs={
            name: f"{base}/{name}/graphql" for name in graphs.names})
        await wait_for_signal()
        server.stop()
        await serving
    finally:
        sock.close()
        await runtime.close()
        logger.info("admin_graph_stopped")

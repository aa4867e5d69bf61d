"""``crossdock admin dashboard serve``: the dashboard in a process of its own.

A deployment runs it next to its gateway; it needs no database, only the gateway's GraphQL URL,
to which it forwards the pages' requests with their tokens. ``crossdock up`` serves the same
app itself, pointed at its own gateway.
"""

from __future__ import annotations

import asyncio

from crossdock.core.asgi import OpsApp
from crossdock.core.dashboard.app import DashboardApp
from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.core.server import bind, make_server
from crossdock.core.up import wait_for_signal

logger = get_logger("crossdock.dashboard")


def check_graphql_url(url: str) -> str:
    """The gateway's GraphQL URL, refused unless it is http(s)."""
    if not url.startswith(("http://", "https://")) or "\n" in url:
        raise ConfigError(f"--graphql-url must be an http:// or https:// URL, not {url!r}")
    return url


async def serve(*, host: str, port: int, graphql_url: str) -> None:
    """Serve the dashboard until SIGINT, SIGTERM or SIGHUP."""
    url = check_graphql_url(graphql_url)
    sock = bind(host, port, option="--port / CROSSDOCK_DASHBOARD_PORT")
    try:
        server = make_server(OpsApp(DashboardApp(lambda: url)))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        logger.info("dashboard_started", url=f"http://{host}:{sock.getsockname()[1]}/",
                    graphql_url=url)
        await wait_for_signal()
        server.stop()
        await serving
    finally:
        sock.close()
        logger.info("dashboard_stopped")

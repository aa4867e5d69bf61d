"""The webhooks HTTP app: the receiver on ``/webhooks/``, the admin API on ``/api/``.

A path test sends receiver traffic straight to the bare ASGI receiver; everything else goes
to the Starlette admin app. With an admin port (``--admin-port``), the receiver's port serves
the receiver only and the admin API listens on its own port. ``serve`` runs them (behind the
core's ops endpoints) until a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from crossdock.core.asgi import ASGIApp, OpsApp, Receive, Scope, Send, send_bytes
from crossdock.core.logging import get_logger
from crossdock.core.runtime import Runtime
from crossdock.core.server import bind, make_server
from crossdock.webhooks.api import build_api
from crossdock.webhooks.receiver import PREFIX, Receiver
from crossdock.webhooks.settings import WebhooksSettings

logger = get_logger("crossdock.webhooks")


def build_app(runtime: Runtime, settings: WebhooksSettings) -> ASGIApp:
    """The receiver, and the admin API too unless it has a port of its own."""
    receiver = Receiver(runtime.database, settings)
    api = (build_api(runtime.database, runtime.admin_auth()) if settings.admin_port is None
           else _not_here)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await receiver(scope, receive, send)
            return
        await api(scope, receive, send)

    return app


def build_admin_app(runtime: Runtime) -> ASGIApp:
    """The admin API alone, for its own port."""
    return build_api(runtime.database, runtime.admin_auth())


async def _not_here(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001
    if scope["type"] == "http":
        await send_bytes(send, 404, b'{"error":"not found"}')


async def serve(runtime: Runtime, settings: WebhooksSettings) -> None:
    """Serve the webhooks app (and the admin port, if set) until SIGINT or SIGTERM."""
    sockets = [bind(settings.host, settings.port, option="--port / CROSSDOCK_WEBHOOKS_PORT")]
    apps = [build_app(runtime, settings)]
    if settings.admin_port is not None:
        try:
            sockets.append(bind(settings.admin_host or settings.host, settings.admin_port,
                                option="--admin-port / CROSSDOCK_WEBHOOKS_ADMIN_PORT"))
        except BaseException:
            sockets[0].close()
            raise
        apps.append(build_admin_app(runtime))
    servers = [make_server(OpsApp(app, ready=runtime.readiness, refresh=runtime.refresh_metrics))
               for app in apps]
    tasks = [asyncio.create_task(server.serve(sockets=[sock]))
             for server, sock in zip(servers, sockets, strict=True)]
    logger.info("webhooks_serving", host=settings.host, port=sockets[0].getsockname()[1],
                admin_port=sockets[1].getsockname()[1] if len(sockets) > 1 else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({*tasks, waiter}, return_when=asyncio.FIRST_COMPLETED)
        for server in servers:
            server.stop()
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        await asyncio.gather(*tasks)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for sock in sockets:
            sock.close()

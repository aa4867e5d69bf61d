"""The webhooks HTTP app: the receiver on ``/webhooks/``, the admin API on ``/api/``.

A path test sends receiver traffic straight to the bare ASGI receiver; everything else goes
to the Starlette admin app. ``serve`` runs it (behind the core's ops endpoints) until a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from crossdock.core.asgi import ASGIApp, OpsApp, Receive, Scope, Send
from crossdock.core.logging import get_logger
from crossdock.core.runtime import Runtime
from crossdock.core.server import bind, make_server
from crossdock.webhooks.api import build_api
from crossdock.webhooks.receiver import PREFIX, Receiver
from crossdock.webhooks.settings import WebhooksSettings

logger = get_logger("crossdock.webhooks")


def build_app(runtime: Runtime, settings: WebhooksSettings) -> ASGIApp:
    """Receiver and admin API over the runtime's database and job queue."""
    receiver = Receiver(runtime.database, settings)
    api = build_api(runtime.database)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await receiver(scope, receive, send)
            return
        await api(scope, receive, send)

    return app


async def serve(runtime: Runtime, settings: WebhooksSettings) -> None:
    """Serve the webhooks app on ``settings.host:settings.port`` until SIGINT or SIGTERM."""
    sock = bind(settings.host, settings.port, option="--port / CROSSDOCK_WEBHOOKS_PORT")
    server = make_server(OpsApp(build_app(runtime, settings), ready=runtime.readiness,
                                refresh=runtime.refresh_metrics))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    logger.info("webhooks_serving", host=settings.host, port=sock.getsockname()[1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        server.stop()
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        sock.close()

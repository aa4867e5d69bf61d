"""``crossdock up`` and ``crossdock worker``: run the platform in one process.

``up`` applies the migrations, starts every installed service (each serves its own port, with
``/healthz``, ``/readyz`` and ``/metrics``), the platform's ops port, and a worker, all in one
event loop; SIGINT or SIGTERM stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket

from rich.console import Console

from crossdock.core.asgi import OpsApp, not_found
from crossdock.core.logging import get_logger
from crossdock.core.runtime import Runtime
from crossdock.core.server import Server, bind, make_server
from crossdock.core.settings import CoreSettings

logger = get_logger("crossdock.up")


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def service_workers(runtime: Runtime, queues: list[str] | None) -> list[asyncio.Task[None]]:
    """Start each service's own long-running work (all, or those named in ``queues``)."""
    return [asyncio.create_task(service.worker(runtime), name=f"{service.name}-worker")
            for service in runtime.services
            if service.worker is not None and (queues is None or service.name in queues)]


async def run_worker(
    settings: CoreSettings, url: str, *, concurrency: int, queues: list[str] | None
) -> None:
    """Run a worker for every installed service until SIGINT or SIGTERM."""
    runtime = Runtime.create(settings, url)
    await runtime.open()
    try:
        task = asyncio.create_task(runtime.jobs.run_worker(concurrency=concurrency, queues=queues))
        own = service_workers(runtime, queues)
        logger.info("worker_started", concurrency=concurrency, queues=queues)
        waiter = asyncio.create_task(_wait_for_signal())
        await asyncio.wait({task, waiter, *own}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, waiter, *own):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        for finished in (task, *own):
            if finished.done() and not finished.cancelled() and finished.exception():
                raise finished.exception()  # type: ignore[misc]
    finally:
        await runtime.close()
        logger.info("worker_stopped")


async def up(
    settings: CoreSettings,
    url: str,
    *,
    host: str,
    port: int,
    demo: bool,
    console: Console,
) -> None:
    """Run the whole platform until SIGINT or SIGTERM."""
    runtime = Runtime.create(settings, url)
    runtime.host = host
    runtime.demo = demo
    await runtime.open()
    servers: list[tuple[Server, socket.socket]] = []
    try:
        async with runtime.database.connection() as conn:
            applied = await runtime.migrator().upgrade(conn)
        logger.info("migrations_applied", count=len(applied))
        async with contextlib.AsyncExitStack() as stack:
            ops_socket = bind(host, port, option="--port / CROSSDOCK_PORT")
            ops = make_server(OpsApp(not_found, ready=runtime.readiness,
                                     refresh=runtime.refresh_metrics))
            servers.append((ops, ops_socket))
            lines = [("platform", f"http://{host}:{ops_socket.getsockname()[1]}/readyz")]
            for service in sorted(runtime.services, key=lambda s: (s.up_order, s.name)):
                if service.up is None:
                    continue
                for listener in await stack.enter_async_context(service.up(runtime)):
                    sock = bind(host, listener.port,
                                option=f"the {service.name} port setting")
                    server = make_server(OpsApp(listener.app, ready=runtime.readiness,
                                                refresh=runtime.refresh_metrics))
                    servers.append((server, sock))
                    bound = sock.getsockname()[1]
                    lines.extend((listener.name, f"http://{host}:{bound}{path}")
                                 for path in listener.paths)
            tasks = [asyncio.create_task(server.serve(sockets=[sock]))
                     for server, sock in servers]
            worker = asyncio.create_task(runtime.jobs.run_worker(concurrency=8))
            own = service_workers(runtime, None)
            for name, address in lines:
                console.print(f"[bold]{name:<12}[/bold] {address}", highlight=False)
            console.print("crossdock is up; press Ctrl-C to stop.")
            logger.info("crossdock_up", endpoints=dict(lines))
            await _wait_for_signal()
            console.print("stopping...")
            for server, _ in servers:
                server.stop()
            for running in (worker, *own):
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for _, sock in servers:
            sock.close()
        await runtime.close()
    console.print("stopped.")

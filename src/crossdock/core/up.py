"""``crossdock up`` and ``crossdock worker``: run the platform in one process.

``up`` applies the migrations, starts every installed service (each serves its own port, with
``/healthz``, ``/readyz`` and ``/metrics``), the platform's ops port, and a worker, all in one
event loop; SIGINT, SIGTERM or SIGHUP (the terminal closed) stops them in reverse order, the
embedded PostgreSQL included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import signal
import socket
import sys
from pathlib import Path

from rich.console import Console

from crossdock.core.asgi import OpsApp, not_found
from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.core.runtime import Runtime
from crossdock.core.server import Server, bind, make_server
from crossdock.core.services import DemoNote, Served
from crossdock.core.settings import CoreSettings

logger = get_logger("crossdock.up")

_MAX_PORT = 65535


#: Each stops the platform cleanly; SIGHUP is what a closed terminal sends.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def wait_for_signal() -> None:
    """Return on the first of :data:`STOP_SIGNALS`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def how_to_run_crossdock() -> str | None:
    """A line that says how to run ``crossdock`` from another terminal, when it is not obvious.

    From a checkout, ``scripts/up`` installs into the project's ``.venv``, which a new shell
    does not have on its PATH. (``uv run crossdock`` works too, but it would also install the
    development tools that ``scripts/up`` leaves out.)
    """
    venv = Path(sys.prefix)
    if venv.name != ".venv" or not (venv.parent / "pyproject.toml").is_file():
        return None
    return (f"crossdock is installed in {venv}, not on your PATH: in another terminal, run "
            f"`source {venv}/bin/activate` first (or call {venv}/bin/crossdock)")


def service_workers(runtime: Runtime, queues: list[str] | None) -> list[asyncio.Task[None]]:
    """Start each service's own long-running work (all, or those named in ``queues``)."""
    return [asyncio.create_task(service.worker(runtime), name=f"{service.name}-worker")
            for service in runtime.services
            if service.worker is not None and (queues is None or service.name in queues)]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """How ``crossdock worker`` runs: its job slots, its queues and its ops port."""

    concurrency: int = 8
    #: None: every queue.
    queues: list[str] | None = None
    host: str = "127.0.0.1"
    #: Where ``/healthz``, ``/readyz`` and ``/metrics`` are served; None: not served.
    port: int | None = None


def check_worker_options(settings: CoreSettings, options: WorkerOptions) -> None:
    """Refuse, before anything starts, a worker that could never take a job."""
    if options.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, not {options.concurrency}")
    if options.port is not None and not 0 <= options.port <= _MAX_PORT:
        raise ConfigError(f"--port must be between 0 and {_MAX_PORT}, not {options.port}")
    if options.queues:
        # Nothing is opened: the URL is never used, only the services' registrations are read.
        known = Runtime.create(settings, "").queues()
        unknown = [name for name in options.queues if name not in known]
        if unknown:
            raise ConfigError(
                f"unknown queue {', '.join(map(repr, unknown))} for --queue; the installed "
                f"services declare: {', '.join(known)}")


async def run_worker(settings: CoreSettings, url: str, options: WorkerOptions) -> None:
    """Run a worker for every installed service until SIGINT, SIGTERM or SIGHUP."""
    runtime = Runtime.create(settings, url)
    queues = options.queues or None
    ops_socket = None if options.port is None else bind(
        options.host, options.port, option="--port / CROSSDOCK_WORKER_PORT")
    await runtime.open()
    try:
        task = asyncio.create_task(runtime.jobs.run_worker(concurrency=options.concurrency,
                                                           queues=queues))
        own = service_workers(runtime, queues)
        ops = serving = None
        if ops_socket is not None:
            ops = make_server(OpsApp(
                not_found, ready=functools.partial(_worker_readiness, runtime, [task, *own]),
                refresh=runtime.refresh_metrics))
            serving = asyncio.create_task(ops.serve(sockets=[ops_socket]))
        logger.info("worker_started", concurrency=options.concurrency, queues=queues,
                    ops_port=ops_socket.getsockname()[1] if ops_socket else None)
        waiter = asyncio.create_task(wait_for_signal())
        await asyncio.wait({task, waiter, *own}, return_when=asyncio.FIRST_COMPLETED)
        if ops is not None and serving is not None:
            ops.stop()
            await asyncio.gather(serving, return_exceptions=True)
        for pending in (task, waiter, *own):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        for finished in (task, *own):
            if finished.done() and not finished.cancelled() and finished.exception():
                raise finished.exception()  # type: ignore[misc]
    finally:
        if ops_socket is not None:
            ops_socket.close()
        await runtime.close()
        logger.info("worker_stopped")


async def _worker_readiness(runtime: Runtime, running: list[asyncio.Task[None]]) -> dict[str, bool]:
    """The runtime's checks, and ``worker``: its job loop and services' loops still run."""
    checks = await runtime.readiness()
    checks["worker"] = not any(part.done() for part in running)
    return checks


async def up(
    settings: CoreSettings,
    url: str,
    *,
    host: str,
    port: int,
    demo: bool,
    console: Console,
) -> None:
    """Run the whole platform until SIGINT, SIGTERM or SIGHUP."""
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
            bases: dict[str, str] = {}
            admin = _admin_graphs(runtime, host, settings)
            if admin is not None:
                bases["admin-graph"] = f"http://{host}:{admin[1].getsockname()[1]}"
                lines.append(("admin-graph", f"{bases['admin-graph']}/core/graphql"))
                servers.extend((admin, _dashboard(host, settings, lines, bases)))
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
                    bases[listener.name] = f"http://{host}:{bound}"
                    lines.extend((listener.name, f"http://{host}:{bound}{path}")
                                 for path in listener.paths)
            if admin is not None and demo:
                runtime.demo_notes.append(await _admin_graph_note(runtime))
            tasks = [asyncio.create_task(server.serve(sockets=[sock]))
                     for server, sock in servers]
            worker = asyncio.create_task(runtime.jobs.run_worker(concurrency=8))
            own = service_workers(runtime, None)
            for name, address in lines:
                console.print(f"[bold]{name:<12}[/bold] {address}", highlight=False)
            _print_demo_notes(runtime, bases, console)
            console.print("crossdock is up; press Ctrl-C to stop.")
            logger.info("crossdock_up", endpoints=dict(lines))
            await wait_for_signal()
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


def _admin_graphs(runtime: Runtime, host: str,
                  settings: CoreSettings) -> tuple[Server, socket.socket] | None:
    """With the ``admin`` extra, the admin subgraphs' server, announced to the gateway."""
    from crossdock.core.admin_graph.mount import installed

    if not installed():
        logger.info("admin_graph_not_started", reason="the admin extra is not installed")
        return None
    from crossdock.core.admin_graph.mount import AdminGraphs
    from crossdock.core.admin_graph.supergraph import AdminSupergraph

    sock = bind(host, settings.admin_graph_port, option="CROSSDOCK_ADMIN_GRAPH_PORT")
    base = f"http://{host}:{sock.getsockname()[1]}"
    graphs = AdminGraphs(runtime)
    runtime.admin_graph = AdminSupergraph(
        urls={name: f"{base}/{name}/graphql" for name in graphs.names})
    server = make_server(OpsApp(graphs, ready=runtime.readiness,
                                refresh=runtime.refresh_metrics))
    return server, sock


def _dashboard(host: str, settings: CoreSettings, lines: list[tuple[str, str]],
               bases: dict[str, str]) -> tuple[Server, socket.socket]:
    """The dashboard's server, announced in ``lines`` and ``bases``.

    It forwards GraphQL to the gateway, whose address ``bases`` has once the services are up.
    """
    from crossdock.core.dashboard.app import DashboardApp

    sock = bind(host, settings.dashboard_port, option="CROSSDOCK_DASHBOARD_PORT")
    bases["dashboard"] = f"http://{host}:{sock.getsockname()[1]}"
    lines.append(("dashboard", f"{bases['dashboard']}/"))

    def gateway() -> str | None:
        found = bases.get("gateway")
        return None if found is None else f"{found}/graphql"

    return make_server(OpsApp(DashboardApp(gateway))), sock


async def _admin_graph_note(runtime: Runtime) -> DemoNote:
    """The admin graph's demo note, with a token of its own (new at each start)."""
    from crossdock.core.admin_graph.demo import DEMO_TOKEN_NAME, demo_note
    from crossdock.core.tokens import Role, TokenStore

    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name=DEMO_TOKEN_NAME,
                                                         replace=True)
    return functools.partial(demo_note, token)


def _print_demo_notes(runtime: Runtime, bases: dict[str, str], console: Console) -> None:
    hint = how_to_run_crossdock()
    lines = [[hint]] if hint is not None else []
    lines.extend(note(Served(urls=bases)) for note in runtime.demo_notes)
    for block in lines:
        console.print()
        for line in block:
            # Never wrapped nor styled: each line must paste into a shell as printed.
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if lines:
        console.print()

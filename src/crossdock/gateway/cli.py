"""``crossdock gateway``: serve a supergraph, or print the plan of a query."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crossdock.core.clihelp import examples
from crossdock.core.entry import database_url, run
from crossdock.core.errors import ConfigError
from crossdock.core.logging import configure_logging, get_logger
from crossdock.core.server import bind, make_server
from crossdock.core.settings import CoreSettings
from crossdock.gateway.admin_route import admin_route, check_admin_graph
from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.app import gateway_config, serving
from crossdock.gateway.errors import GatewayError
from crossdock.gateway.explain import plan_query
from crossdock.gateway.plan import render
from crossdock.gateway.planner import Planner
from crossdock.gateway.settings import GatewaySettings
from crossdock.gateway.supergraph import Supergraph, load_supergraph
from crossdock.gateway.workers import run_workers

if TYPE_CHECKING:
    import socket

    from crossdock.core.asgi import ASGIApp
    from crossdock.gateway.config import GatewayConfig

log = get_logger("crossdock.gateway")

_DEFAULTS = GatewaySettings()
SupergraphOption = Annotated[Path | None, typer.Option(
    "--supergraph", envvar="CROSSDOCK_GATEWAY_SUPERGRAPH", exists=True, dir_okay=False,
    help="The supergraph SDL file (Apollo Federation v2 or v1).")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="CROSSDOCK_GATEWAY_CONFIG", exists=True, dir_okay=False,
    help="A YAML configuration file: Apollo Router's router.yaml keys "
         "(traffic_shaping, include_subgraph_errors).")]
HostOption = Annotated[str | None, typer.Option(
    envvar="CROSSDOCK_GATEWAY_HOST", show_default=_DEFAULTS.host, help="Address to listen on.")]
PortOption = Annotated[int | None, typer.Option(
    envvar="CROSSDOCK_GATEWAY_PORT", min=0, max=65535, show_default=str(_DEFAULTS.port),
    help="Port to listen on (0: any free port).")]
WorkersOption = Annotated[int | None, typer.Option(
    "--workers", envvar="CROSSDOCK_GATEWAY_WORKERS", min=1, show_default=str(_DEFAULTS.workers),
    help="Processes serving the port (one CPU each at most).")]
AdminGraphOption = Annotated[bool | None, typer.Option(
    "--admin-graph/--no-admin-graph", envvar="CROSSDOCK_GATEWAY_ADMIN_GRAPH",
    show_default="off",
    help="Serve the gateway admin subgraph at /gateway/graphql on the gateway's port (each "
         "request needs an admin token; needs DATABASE_URL).")]
_PORT_OPTION = "--port / CROSSDOCK_GATEWAY_PORT"


def serve(settings: GatewaySettings, core: CoreSettings | None = None) -> None:
    """Serve the gateway until SIGINT or SIGTERM, in ``settings.workers`` processes.

    With ``settings.admin_graph``, ``core`` (default: from the environment) names the database
    of the admin tokens.
    """
    if settings.supergraph is None:
        raise ConfigError("no supergraph: pass --supergraph FILE or set "
                          "CROSSDOCK_GATEWAY_SUPERGRAPH")
    config = gateway_config(settings)  # a bad key is named before anything else is read
    supergraph = load_supergraph(settings.supergraph)
    admin: CoreSettings | None = None
    if settings.admin_graph:
        admin = core or CoreSettings.from_env()
        check_admin_graph(admin)
        with database_url(admin):  # stops on pending migrations, as every command does
            pass
    if settings.workers <= 1:
        sock = bind(settings.host, settings.port, option=_PORT_OPTION)
        run(serve_on(settings, supergraph, sock, config, admin=admin))
        return
    status = run_workers(settings.workers, settings.host, settings.port, option=_PORT_OPTION,
                         serve=lambda sock: run(serve_on(settings, supergraph, sock, config,
                                                         admin=admin)))
    if status:
        raise GatewayError("a gateway worker failed; see its log above")


async def serve_on(settings: GatewaySettings, supergraph: Supergraph,
                   sock: socket.socket, config: GatewayConfig | None = None, *,
                   admin: CoreSettings | None = None) -> None:
    """Serve the gateway on ``sock`` until SIGINT or SIGTERM; with ``admin`` (whose
    ``database_url`` holds the admin tokens), its admin subgraph too."""
    async with serving(settings, supergraph, config=config) as app, \
            contextlib.AsyncExitStack() as stack:
        served: ASGIApp = app
        if admin is not None and admin.database_url:
            served = await stack.enter_async_context(
                admin_route(app, admin, admin.database_url))
        tune_gc()
        server = make_server(served)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        log.info("gateway_started", host=settings.host, port=sock.getsockname()[1],
                 pid=os.getpid(), subgraphs=[s.name for s in supergraph.subgraphs.values()],
                 admin_graph=served is not app)
        try:
            await server.serve(sockets=[sock])
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            sock.close()


def tune_gc() -> None:
    """Keep the cycle collector off the hot path of a process that serves only the gateway.

    Each request allocates thousands of containers (decoded subgraph answers, merged data),
    so with the default thresholds the collector runs many times per request and its older
    generations walk the schema, the supergraph and the cached plans every time. Those are
    frozen out of its reach once loaded, and it runs after 50,000 allocations instead of 700.
    Measured under wrk on the deep query: 6.2-7.7 ms of CPU per request before, 3.7-4.6 after
    (docs/design/gateway-speed.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


app = typer.Typer(help="The Apollo Federation v2 gateway.", no_args_is_help=False,
                  invoke_without_command=True)


def build_cli() -> typer.Typer:
    """The ``crossdock gateway`` commands."""
    return app


def _start(supergraph: Path | None, host: str | None, port: int | None,
           workers: int | None, config: Path | None, admin_graph: bool | None) -> None:
    core = CoreSettings.from_env()
    configure_logging(core.log_level, core.log_format)
    serve(GatewaySettings.from_env(supergraph=supergraph, host=host, port=port, workers=workers,
                                   config=config, admin_graph=admin_graph), core)


@app.callback(epilog=examples(
    "crossdock gateway --supergraph supergraph.graphql",
    "crossdock gateway plan --supergraph supergraph.graphql query.graphql"))
def gateway(ctx: typer.Context, supergraph: SupergraphOption = None,
            host: HostOption = None, port: PortOption = None,
            workers: WorkersOption = None, config: ConfigOption = None,
            admin_graph: AdminGraphOption = None) -> None:
    """Serve the gateway when no subcommand is given (``crossdock gateway --supergraph``)."""
    if ctx.invoked_subcommand is None:
        if supergraph is None and not GatewaySettings.from_env().supergraph:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)
        _start(supergraph, host, port, workers, config, admin_graph)


@app.command("serve", epilog=examples(
    "crossdock gateway serve --supergraph supergraph.graphql --port 4000",
    "crossdock gateway serve --supergraph supergraph.graphql --workers 2",
    "crossdock gateway serve --supergraph supergraph.graphql --config gateway.yaml",
    "crossdock gateway serve --supergraph admin.graphql --config gateway.yaml --admin-graph"))
def serve_command(supergraph: SupergraphOption = None, host: HostOption = None,
                  port: PortOption = None, workers: WorkersOption = None,
                  config: ConfigOption = None, admin_graph: AdminGraphOption = None) -> None:
    """Serve GraphQL at /graphql in front of the supergraph's subgraphs."""
    _start(supergraph, host, port, workers, config, admin_graph)


@app.command("plan", epilog=examples(
    "crossdock gateway plan --supergraph supergraph.graphql query.graphql",
    "crossdock gateway plan --supergraph supergraph.graphql query.graphql "
    "--operation-name TopProducts"))
def plan_command(
    query: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, help="A file holding the GraphQL operation.")],
    supergraph: SupergraphOption = None,
    operation_name: Annotated[str | None, typer.Option(
        "--operation-name", envvar="CROSSDOCK_GATEWAY_OPERATION_NAME",
        help="Which operation of the file to plan.")] = None,
) -> None:
    """Print the query plan of an operation."""
    path = supergraph or GatewaySettings.from_env().supergraph
    if path is None:
        raise ConfigError("no supergraph: pass --supergraph FILE or set "
                          "CROSSDOCK_GATEWAY_SUPERGRAPH")
    try:
        text = query.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{query}: cannot read the query file: {exc}") from exc
    sys.stdout.write(plan_text(path, text, operation_name) + "\n")


def plan_text(supergraph_path: Path, query: str, operation_name: str | None) -> str:
    """The rendered plan of ``query`` against the supergraph in ``supergraph_path``."""
    supergraph = load_supergraph(supergraph_path)
    return render(plan_query(Planner(supergraph), build_api_schema(supergraph), query,
                             operation_name))
